"""The orders and operations metrics Support and Ops watch: what is waiting, moving or failing
right now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from platform_core.automation.model import StepStatus, TaskStatus
from platform_core.fulfillment.model import FulfillmentStatus, ShipmentStatus
from platform_core.jobs.model import JobStatus
from platform_core.orders.model import OrderStatus
from platform_core.ports.outbox import OutboxStatus

# Orders that wait on the customer's payment (sent, processing, or to be re-sent).
OUTSTANDING_ORDER_STATUSES = frozenset(
    {
        OrderStatus.CHECKOUT_SENT,
        OrderStatus.PAYMENT_PROCESSING,
        OrderStatus.PAYMENT_FAILED,
        OrderStatus.CHECKOUT_EXPIRED,
    }
)
ACTIVE_FULFILLMENT_STATUSES = frozenset(
    {
        FulfillmentStatus.READY_TO_PREPARE,
        FulfillmentStatus.AWAITING_SHIPMENT,
        FulfillmentStatus.IN_TRANSIT,
    }
)
IN_FLIGHT_SHIPMENT_STATUSES = frozenset({ShipmentStatus.READY, ShipmentStatus.IN_TRANSIT})
PAYMENT_FAILED_EVENT = "order.payment_failed"
PAYMENT_FAILURE_WINDOW = timedelta(hours=24)

# The statuses the operations metrics count. A failed step only counts when no automatic retry
# is scheduled (its next_attempt_at is empty): a step waiting for its retry still heals itself.
OUTBOX_PENDING_STATUS = OutboxStatus.PENDING
OUTBOX_DEAD_STATUS = OutboxStatus.DEAD_LETTERED
FAILED_STEP_STATUS = StepStatus.FAILED
OPEN_TASK_STATUS = TaskStatus.OPEN
FAILED_JOB_STATUS = JobStatus.FAILED


@attrs.frozen
class OrdersMetrics:
    """Counts at `at`.

    - `outstanding_orders`: orders waiting on payment (statuses in OUTSTANDING_ORDER_STATUSES);
    - `active_fulfillments`: fulfillment orders neither completed nor cancelled;
    - `shipments_in_flight`: shipments ready or in transit;
    - `returns_pending`: shipments the courier reported returned that are still open (ready or
      in transit), waiting for Ops to re-ship or cancel them;
    - `payment_failures`: orders now in payment_failed; `payment_failures_24h`: payment
      failures recorded in the 24 hours before `at`.
    """

    at: datetime
    orders_by_status: Mapping[str, int]
    outstanding_orders: int
    active_fulfillments: int
    shipments_in_flight: int
    returns_pending: int
    payment_failures: int
    payment_failures_24h: int

    @classmethod
    def of(
        cls,
        at: datetime,
        orders_by_status: Mapping[str, int],
        active_fulfillments: int,
        shipments_in_flight: int,
        returns_pending: int,
        payment_failures_24h: int,
    ) -> OrdersMetrics:
        counts = {str(status): orders_by_status.get(str(status), 0) for status in OrderStatus}
        return cls(
            at=at,
            orders_by_status=counts,
            outstanding_orders=sum(counts[str(s)] for s in OUTSTANDING_ORDER_STATUSES),
            active_fulfillments=active_fulfillments,
            shipments_in_flight=shipments_in_flight,
            returns_pending=returns_pending,
            payment_failures=counts[str(OrderStatus.PAYMENT_FAILED)],
            payment_failures_24h=payment_failures_24h,
        )


@attrs.frozen
class OperationsMetrics:
    """The health of the machinery behind the lifecycle at `at`.

    - `outbox_pending`: recorded events not yet delivered to their subscribers and not given
      up on (outbox status pending, including those leased to a dispatcher right now);
    - `outbox_dead`: events whose delivery gave up (dead-lettered), waiting for someone to look;
    - `outbox_oldest_pending_at`: when the oldest pending event occurred (None when nothing is
      pending), so `at - outbox_oldest_pending_at` is the dispatch lag;
    - `automation_steps_failed`: steps failed past their attempts (status failed with no
      automatic retry scheduled), whose manual task or fallback is now up to Ops;
    - `manual_tasks_open`: Ops tasks not yet resolved;
    - `job_runs_failed`: job runs in their failed state (failed for good, until retried by hand).
    """

    at: datetime
    outbox_pending: int
    outbox_dead: int
    outbox_oldest_pending_at: datetime | None
    automation_steps_failed: int
    manual_tasks_open: int
    job_runs_failed: int


class OrdersMetricsReader(Protocol):
    """Counts the orders and operations metrics straight from storage (no aggregate is
    loaded)."""

    async def orders_metrics(self, at: datetime) -> OrdersMetrics: ...

    async def operations_metrics(self, at: datetime) -> OperationsMetrics: ...
