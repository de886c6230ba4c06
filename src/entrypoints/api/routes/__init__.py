"""The route handlers of the API, one module per family; `ROUTES` lists them all."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from entrypoints.api.routes import (
    access,
    automation,
    catalogue,
    couriers,
    customers,
    devices,
    fulfillment,
    health,
    invoices,
    operations,
    orders,
    webhooks,
)

ROUTES: list[ControllerRouterHandler] = [
    *health.ROUTES,
    *access.ROUTES,
    *customers.ROUTES,
    *catalogue.ROUTES,
    *orders.ROUTES,
    *invoices.ROUTES,
    *fulfillment.ROUTES,
    *couriers.ROUTES,
    *automation.ROUTES,
    *devices.ROUTES,
    *operations.ROUTES,
    *webhooks.ROUTES,
]
