"""The orders and operations metrics as COUNT and MIN queries over indexed status columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from adapters.persistence.sql.automation import automation_manual_tasks, automation_steps
from adapters.persistence.sql.fulfillment import fulfillment_orders, shipments
from adapters.persistence.sql.jobs import job_runs
from adapters.persistence.sql.orders import orders
from adapters.persistence.sql.outbox import domain_events, outbox
from adapters.persistence.sql.session import SqlSession
from platform_core.lifecycle.metrics import (
    ACTIVE_FULFILLMENT_STATUSES,
    FAILED_JOB_STATUS,
    FAILED_STEP_STATUS,
    IN_FLIGHT_SHIPMENT_STATUSES,
    OPEN_TASK_STATUS,
    OUTBOX_DEAD_STATUS,
    OUTBOX_PENDING_STATUS,
    PAYMENT_FAILED_EVENT,
    PAYMENT_FAILURE_WINDOW,
    OperationsMetrics,
    OrdersMetrics,
)


def _values(statuses: frozenset[Any]) -> list[str]:
    return sorted(str(status) for status in statuses)


class SqlMetrics:
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

    async def operations_metrics(self, at: datetime) -> OperationsMetrics:
        pending = outbox.c.status == OUTBOX_PENDING_STATUS.value
        # The occurrence time lives on the event row; the pending rows are found through the
        # outbox's (status, position) index and joined by the events' unique event_id.
        oldest = (
            select(func.min(domain_events.c.occurred_at))
            .select_from(outbox.join(domain_events, domain_events.c.event_id == outbox.c.event_id))
            .where(pending)
        )
        return OperationsMetrics(
            at=at,
            outbox_pending=await self._count(outbox, pending),
            outbox_dead=await self._count(outbox, outbox.c.status == OUTBOX_DEAD_STATUS.value),
            outbox_oldest_pending_at=(await self._session.execute(oldest)).scalar_one(),
            automation_steps_failed=await self._count(
                automation_steps,
                automation_steps.c.status == FAILED_STEP_STATUS.value,
                automation_steps.c.next_attempt_at.is_(None),
            ),
            manual_tasks_open=await self._count(
                automation_manual_tasks,
                automation_manual_tasks.c.status == OPEN_TASK_STATUS.value,
            ),
            job_runs_failed=await self._count(
                job_runs, job_runs.c.status == FAILED_JOB_STATUS.value
            ),
        )

    async def _count(self, table: Any, *conditions: Any) -> int:
        statement = select(func.count()).select_from(table).where(*conditions)
        return int((await self._session.execute(statement)).scalar_one())


class MetricsTables:
    """The metrics reader over the unit of work's session."""

    _session: SqlSession

    @property
    def metrics(self) -> SqlMetrics:
        return SqlMetrics(self._session)
