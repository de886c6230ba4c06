"""The orders metrics as COUNT queries over indexed status columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from adapters.persistence.sql.fulfillment import fulfillment_orders, shipments
from adapters.persistence.sql.orders import orders
from adapters.persistence.sql.outbox import domain_events
from adapters.persistence.sql.session import SqlSession
from platform_core.lifecycle.metrics import (
    ACTIVE_FULFILLMENT_STATUSES,
    IN_FLIGHT_SHIPMENT_STATUSES,
    PAYMENT_FAILED_EVENT,
    PAYMENT_FAILURE_WINDOW,
    OrdersMetrics,
)


def _values(statuses: frozenset[Any]) -> list[str]:
    return sorted(str(status) for status in statuses)


class SqlOrdersMetrics:
    def __init__(self, session: SqlSession) -> None:
        self._session = session

    async def orders_metrics(self, at: datetime) -> OrdersMetrics:
        by_status = select(orders.c.status, func.count()).group_by(orders.c.status)
        rows: list[Any] = list((await self._session.execute(by_status)).all())
        in_flight = shipments.c.status.in_(_values(IN_FLIGHT_SHIPMENT_STATUSES))
        return OrdersMetrics.of(
            at,
            {row[0]: int(row[1]) for row in rows},
            await self._count(
                fulfillment_orders,
                fulfillment_orders.c.status.in_(_values(ACTIVE_FULFILLMENT_STATUSES)),
            ),
            await self._count(shipments, in_flight),
            await self._count(shipments, in_flight, shipments.c.returned_at.is_not(None)),
            await self._count(
                domain_events,
                domain_events.c.type == PAYMENT_FAILED_EVENT,
                domain_events.c.occurred_at >= at - PAYMENT_FAILURE_WINDOW,
                domain_events.c.occurred_at <= at,
            ),
        )

    async def _count(self, table: Any, *conditions: Any) -> int:
        statement = select(func.count()).select_from(table).where(*conditions)
        return int((await self._session.execute(statement)).scalar_one())


class MetricsTables:
    """The metrics reader over the unit of work's session."""

    _session: SqlSession

    @property
    def metrics(self) -> SqlOrdersMetrics:
        return SqlOrdersMetrics(self._session)
