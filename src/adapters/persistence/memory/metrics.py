"""The orders metrics counted over the in-memory tables."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from adapters.persistence.memory.store import Transaction
from platform_core.fulfillment.model import FulfillmentOrder, Shipment
from platform_core.lifecycle.metrics import (
    ACTIVE_FULFILLMENT_STATUSES,
    IN_FLIGHT_SHIPMENT_STATUSES,
    PAYMENT_FAILED_EVENT,
    PAYMENT_FAILURE_WINDOW,
    OrdersMetrics,
)
from platform_core.orders.model import Order


class InMemoryOrdersMetrics:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def orders_metrics(self, at: datetime) -> OrdersMetrics:
        orders: list[Order] = list(self._tx.rows("orders"))
        fulfillments: list[FulfillmentOrder] = list(self._tx.rows("fulfillment_orders"))
        shipments: list[Shipment] = list(self._tx.rows("shipments"))
        in_flight = [s for s in shipments if s.status in IN_FLIGHT_SHIPMENT_STATUSES]
        since = at - PAYMENT_FAILURE_WINDOW
        failures = [
            stored
            for stored in self._tx.db.events
            if stored.event.type == PAYMENT_FAILED_EVENT and since <= stored.event.occurred_at <= at
        ]
        return OrdersMetrics.of(
            at,
            Counter(str(order.status) for order in orders),
            sum(1 for f in fulfillments if f.status in ACTIVE_FULFILLMENT_STATUSES),
            len(in_flight),
            sum(1 for s in in_flight if s.returned_at is not None),
            len(failures),
        )


class MetricsTables:
    """Mixin for the in-memory unit of work: the metrics reader over its transaction."""

    _tx: Transaction

    @property
    def metrics(self) -> InMemoryOrdersMetrics:
        return InMemoryOrdersMetrics(self._tx)
