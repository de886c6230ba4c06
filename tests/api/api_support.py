"""What the API tests share: the error-payload check, API keys of any role, and the way to a
paid order, its fulfillment order, a shipment and its delivery."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import attrs
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.access.service import CreateApiKey, create_api_key
from platform_core.customers.model import Company
from platform_core.customers.service import CreateCompany, create_company
from platform_core.fulfillment.model import FulfillmentOrder, TrackingStatus
from platform_core.orders.model import Order
from platform_core.orders.service import (
    CreateDraftOrder,
    SendCheckout,
    create_draft_order,
    get_order,
    handle_payment_notification,
    send_checkout,
)
from platform_core.pricing.model import QuoteLine

Client = AsyncTestClient[Litestar]
ERROR_KEYS = {"code", "message", "details", "request_id"}
COURIER = "simulator"
DESTINATION: dict[str, Any] = {
    "name": "Northwind receiving",
    "lines": ["55 Industrial Rd"],
    "city": "Mississauga",
    "region": "ON",
    "postal_code": "L5T 2H4",
    "country": "CA",
}
# Gateways get a scenario (an automation step on delivery); the mounting kit does not.
DEFAULT_LINES = (("GW-100", 2), ("MNT-KIT", 3))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check the one error payload (status, code, the request's id, no traceback) and return
    its `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return dict(body["error"])


@attrs.define
class Keys:
    """Makes API keys straight through the core and returns ready-to-send headers."""

    platform: Platform

    async def headers(
        self, role: Role | str = Role.ADMIN, company_id: str | None = None
    ) -> dict[str, str]:
        token = "pck_test_" + secrets.token_urlsafe(32)
        await create_api_key(
            self.platform.deps, CreateApiKey(f"test {role}", Role(role), token, company_id)
        )
        return {"Authorization": f"Bearer {token}"}


async def draft_order(
    platform: Platform, seeded: SeededCatalogue, lines: Sequence[tuple[str, int]] = DEFAULT_LINES
) -> Order:
    """A draft order of the seeded company for (sku, quantity) lines."""
    quote = [QuoteLine(seeded.product_ids[sku], quantity) for sku, quantity in lines]
    command = CreateDraftOrder(
        seeded.company_id, seeded.billing_contact_id, seeded.billing_address_id, quote
    )
    return await create_draft_order(platform.deps, command)


async def paid_order(
    platform: Platform, seeded: SeededCatalogue, lines: Sequence[tuple[str, int]] = DEFAULT_LINES
) -> Order:
    """An order paid by card through the mock Stripe, with its reactions (fulfillment order,
    invoice) already run."""
    deps = platform.deps
    order = await draft_order(platform, seeded, lines)
    sent = await send_checkout(deps, SendCheckout(order.id))
    assert sent.checkout is not None
    body, headers = deps.payments.complete(sent.checkout.session_id)
    await handle_payment_notification(deps, deps.payments.parse_webhook(body, headers))
    await platform.settle()
    return await get_order(deps, order.id)


async def fulfillment_of(platform: Platform, order: Order) -> FulfillmentOrder:
    """The fulfillment order that order.paid created for `order`."""
    async with platform.deps.uow() as uow:
        found = await uow.fulfillment_orders.find_by_order(order.id)
    assert found is not None, "order.paid should have created the fulfillment order"
    return found


async def other_company(platform: Platform) -> Company:
    """A second company, for company-scope checks."""
    return await create_company(
        platform.deps, CreateCompany("Southwind Farms", "legacy-cmp-2002", "CAD", "CA-ON")
    )


async def draft_shipment(
    client: Client,
    fulfillment: FulfillmentOrder,
    tracking_number: str | None = "SIM000000001",
    quantities: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Draft a shipment through the API carrying `quantities` (by order item id; default all)."""
    if quantities is None:
        wanted = {item.id: item.quantity_ordered for item in fulfillment.items}
    else:
        wanted = {
            item.id: quantities[item.order_item_id]
            for item in fulfillment.items
            if item.order_item_id in quantities
        }
    body: dict[str, Any] = {
        "destination": DESTINATION,
        "items": [{"fulfillment_item_id": key, "quantity": n} for key, n in wanted.items()],
    }
    if tracking_number is not None:
        body |= {"courier_code": COURIER, "tracking_number": tracking_number}
    response = await client.post(f"/v1/fulfillments/{fulfillment.id}/shipments", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deliver_by_courier(
    platform: Platform, client: Client, clock: FixedClock, tracking_number: str
) -> dict[str, Any]:
    """The simulated courier scans the parcel in transit and delivered, and says so by webhook."""
    couriers = platform.deps.courier_simulator
    scans = couriers.script(
        tracking_number, [TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED], start=clock.now()
    )
    clock.advance(timedelta(days=1))
    headers, body = couriers.signed_webhook(scans)
    response = await client.post(f"/v1/webhooks/couriers/{COURIER}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await platform.settle()
    return dict(response.json())
