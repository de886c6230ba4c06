"""The orders and operations metrics counted over the in-memory tables."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from adapters.persistence.memory.store import Transaction
from platform_core.automation.model import AutomationStep, ManualTask
from platform_core.fulfillment.model import FulfillmentOrder, Shipment
from platform_core.jobs.model import JobRun
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
from platform_core.orders.model import Order
from platform_core.ports.outbox import OutboxEntry


class InMemoryMetrics:
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

    async def operations_metrics(self, at: datetime) -> OperationsMetrics:
        # Delivery updates staged in this transaction win over the committed entries, as the
        # staged rows do for the tables.
        outbox: dict[str, OutboxEntry] = {**self._tx.db.outbox, **self._tx.outbox_updates}
        pending = [e for e in outbox.values() if e.status is OUTBOX_PENDING_STATUS]
        steps: list[AutomationStep] = list(self._tx.rows("automation_steps"))
        tasks: list[ManualTask] = list(self._tx.rows("automation_manual_tasks"))
        jobs: list[JobRun] = list(self._tx.rows("job_runs"))
        return OperationsMetrics(
            at=at,
            outbox_pending=len(pending),
            outbox_dead=sum(1 for e in outbox.values() if e.status is OUTBOX_DEAD_STATUS),
            outbox_oldest_pending_at=min(
                (e.stored.event.occurred_at for e in pending), default=None
            ),
            automation_steps_failed=sum(
                1
                for step in steps
                if step.status is FAILED_STEP_STATUS and step.next_attempt_at is None
            ),
            manual_tasks_open=sum(1 for task in tasks if task.status is OPEN_TASK_STATUS),
            job_runs_failed=sum(1 for job in jobs if job.status is FAILED_JOB_STATUS),
        )


class MetricsTables:
    """Mixin for the in-memory unit of work: the metrics reader over its transaction."""

    _tx: Transaction

    @property
    def metrics(self) -> InMemoryMetrics:
        return InMemoryMetrics(self._tx)
