"""Contract of the operations metrics reader (`uow.metrics.operations_metrics`) on every adapter:
outbox backlog and dead letters, automation failures, open Ops tasks and failed job runs,
counted straight from storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import attrs
from tests.contract.conftest import Backend

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from platform_core.automation.model import AutomationStep, ManualTask, ScenarioConfig, StepPayload
from platform_core.jobs.service import (
    CancelJob,
    RecordJobEnqueued,
    RecordJobFailed,
    RecordJobStarted,
    RecordJobSucceeded,
    RetryJob,
    cancel_job,
    record_job_enqueued,
    record_job_failed,
    record_job_started,
    record_job_succeeded,
    retry_job,
)
from platform_core.lifecycle.metrics import OperationsMetrics
from platform_core.lifecycle.ports import LifecycleDeps
from platform_core.lifecycle.service import operations_metrics
from platform_core.orders.model import Order, OrderItem, PriceSnapshot
from platform_core.ports.outbox import OutboxStatus
from platform_core.pricing.model import PriceSource
from platform_core.shared.events import DomainEvent
from platform_core.shared.money import Money
from platform_core.shared.scenarios import AutomationScenario

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RETURN = AutomationScenario.SENSOR_RETURN
CONFIG = ScenarioConfig.default(RETURN)
OPS = "ops@example.com"


@attrs.define
class Deps:
    """What the jobs use cases and `operations_metrics` use: a clock, ids and the backend's
    units of work."""

    backend: Backend
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(AT))
    ids: SequentialIdGenerator = attrs.field(factory=SequentialIdGenerator)

    def uow(self) -> Any:
        return self.backend.uow()

    def lifecycle(self) -> LifecycleDeps:
        # Only clock and uow() are used by the read model; the other gateways stay out.
        return cast(LifecycleDeps, self)


async def read(backend: Backend, at: datetime = AT) -> OperationsMetrics:
    async with backend.uow() as uow:
        return await uow.metrics.operations_metrics(at)


async def outbox_as_listed(backend: Backend) -> tuple[int, int, datetime | None]:
    """Pending count, dead-letter count and oldest pending occurrence, from the outbox port's
    own listing: a second route to the figures the metrics count."""
    async with backend.uow() as uow:
        entries = await uow.outbox.entries(limit=10_000)
    pending = [e for e in entries if e.status is OutboxStatus.PENDING]
    dead = [e for e in entries if e.status is OutboxStatus.DEAD_LETTERED]
    oldest = min((e.stored.event.occurred_at for e in pending), default=None)
    return len(pending), len(dead), oldest


async def save(backend: Backend, *changes: tuple[Any, list[DomainEvent]], new: bool) -> None:
    """Store aggregates and record their events in one unit of work, as a use case does."""
    async with backend.uow() as uow:
        for aggregate, events in changes:
            repository = (
                uow.manual_tasks if isinstance(aggregate, ManualTask) else uow.automation_steps
            )
            await (repository.add(aggregate) if new else repository.update(aggregate))
            await uow.events.record(events)
        await uow.commit()


def order_created(order_id: str, minutes: int) -> list[DomainEvent]:
    item = OrderItem(
        "oit_1", "prd_1", "S-1", "Sensor", 1, Money(100, "CAD"),
        PriceSnapshot(PriceSource.PRICEBOOK_GLOBAL, "global"),
    )  # fmt: skip
    _, events = Order.draft(
        order_id, "cmp_1", "CAD", "con_1", "adr_1", [item], AT + timedelta(minutes=minutes)
    )
    return events


def new_step(step_id: str) -> tuple[AutomationStep, list[DomainEvent]]:
    return AutomationStep.create(
        step_id,
        shipment_id="shp_1",
        shipment_item_id=f"shi_{step_id}",
        fulfillment_order_id="ful_1",
        order_id="ord_1",
        company_id="cmp_1",
        scenario=RETURN,
        payload=StepPayload(product_id="prd_1", quantity=1),
        config=CONFIG,
        at=AT,
    )


def ran(step: AutomationStep) -> tuple[AutomationStep, list[DomainEvent]]:
    """One attempt started from pending: queued then running."""
    queued, queued_events = step.queue(AT)
    running, started_events = queued.start(AT + timedelta(minutes=1))
    return running, [*queued_events, *started_events]


def failed(step: AutomationStep, *, retryable: bool) -> tuple[AutomationStep, list[DomainEvent]]:
    running, events = ran(step)
    done, failed_events = running.fail(
        "legacy system unavailable",
        retryable=retryable,
        retry_delay=timedelta(minutes=10),
        at=AT + timedelta(minutes=2),
    )
    return done, [*events, *failed_events]


def metrics_are_empty(metrics: OperationsMetrics) -> bool:
    return (
        metrics.outbox_pending,
        metrics.outbox_dead,
        metrics.outbox_oldest_pending_at,
        metrics.automation_steps_failed,
        metrics.manual_tasks_open,
        metrics.job_runs_failed,
    ) == (0, 0, None, 0, 0, 0)


class TestOperationsMetrics:
    async def test_an_empty_store_counts_nothing(self, backend: Backend) -> None:
        """Every count is zero, no pending event has an age, and `at` is the time asked for."""
        metrics = await read(backend)
        assert metrics.at == AT
        assert metrics_are_empty(metrics)

    async def test_outbox_pending_dead_and_oldest_pending(self, backend: Backend) -> None:
        """Pending counts events neither dispatched nor dead-lettered, including one waiting
        for its retry and one leased to a dispatcher; the oldest pending time is the earliest
        occurrence among those, not among dispatched or dead ones."""
        async with backend.uow() as uow:
            recorded = await uow.events.record(
                [event for i in range(5) for event in order_created(f"ord_{i}", minutes=i)]
            )
            await uow.commit()
        dispatched, dead, retrying, leased, waiting = (s.event_id for s in recorded)
        async with backend.uow() as uow:
            await uow.outbox.mark_dispatched(dispatched, AT + timedelta(minutes=5))
            await uow.outbox.mark_failed(dead, "subscriber crashed", None)
            await uow.outbox.mark_failed(retrying, "timeout", AT + timedelta(hours=1))
            await uow.commit()
        async with backend.uow() as uow:
            (claimed,) = await uow.outbox.claim_due(AT + timedelta(minutes=10), limit=1)
            await uow.commit()
        assert claimed.event_id == leased
        async with backend.uow() as uow:
            still_pending = await uow.outbox.entries(OutboxStatus.PENDING)
        assert {e.event_id for e in still_pending} == {retrying, leased, waiting}

        metrics = await read(backend, AT + timedelta(minutes=10))

        assert (metrics.outbox_pending, metrics.outbox_dead) == (3, 1)
        assert metrics.outbox_oldest_pending_at == AT + timedelta(minutes=2)
        assert metrics.at == AT + timedelta(minutes=10)
        assert (metrics.automation_steps_failed, metrics.manual_tasks_open) == (0, 0)
        assert metrics.job_runs_failed == 0
        assert await outbox_as_listed(backend) == (3, 1, AT + timedelta(minutes=2))

    async def test_automation_failures_and_open_tasks(self, backend: Backend) -> None:
        """Only steps failed for good count as failed (not one waiting for its automatic retry,
        nor one Ops settled with its fallback); only unresolved tasks count as open."""
        changes = [new_step(f"stp_{name}") for name in ("new", "ok", "retry", "a", "b", "fb")]
        await save(backend, *changes, new=True)
        _, ok, retrying, a, b, fallback = (step for step, _ in changes)
        succeeded, ok_events = ran(ok)
        succeeded, done = succeeded.succeed(
            legacy_reference="LEG-1", device_legacy_ids=["D1"], at=AT + timedelta(minutes=2)
        )
        outcomes = [
            (succeeded, [*ok_events, *done]),
            failed(retrying, retryable=True),
            failed(a, retryable=False),
            failed(b, retryable=False),
            failed(fallback, retryable=False),
        ]
        await save(backend, *outcomes, new=False)
        tasks = [
            ManualTask.open(f"mt_{step.id}", step, CONFIG, AT + timedelta(minutes=3))
            for step, _ in outcomes[2:]
        ]
        await save(backend, *tasks, new=True)
        (settled, fallback_events) = (await self._stored(backend, fallback.id)).trigger_fallback(
            notes="provisioned by hand", actor=OPS, at=AT + timedelta(minutes=4)
        )
        resolved = tasks[2][0].resolve(
            notes="provisioned by hand", actor=OPS, at=AT + timedelta(minutes=4)
        )
        await save(backend, (settled, fallback_events), resolved, new=False)
        async with backend.uow() as uow:
            stored = {s.id: s for s in await uow.automation_steps.for_shipment("shp_1")}
        assert stored["stp_retry"].awaiting_retry  # failed, but its retry heals it
        assert [s.id for s in stored.values() if s.is_terminally_failed] == ["stp_a", "stp_b"]

        metrics = await read(backend)

        assert metrics.automation_steps_failed == 2
        assert metrics.manual_tasks_open == 2
        assert metrics.job_runs_failed == 0
        assert await outbox_as_listed(backend) == (
            metrics.outbox_pending,
            metrics.outbox_dead,
            metrics.outbox_oldest_pending_at,
        )
        assert metrics.outbox_pending > 0
        assert metrics.outbox_oldest_pending_at == AT

    async def test_failed_job_runs_through_the_jobs_use_cases(self, backend: Backend) -> None:
        """Only runs failed for good count: not one delayed for a retry, not one Ops put back
        on its queue, not queued, completed or cancelled ones. The use case counts at the
        clock's now, and the oldest pending event is the first enqueue's."""
        deps = Deps(backend)

        async def enqueue(key: str) -> str:
            command = RecordJobEnqueued("orders", "orders.send_checkout", key)
            job = await record_job_enqueued(deps, command)
            deps.clock.advance(timedelta(minutes=1))
            return job.id

        async def fail(key: str, *, retryable: bool) -> None:
            await record_job_started(deps, RecordJobStarted(key))
            await record_job_failed(deps, RecordJobFailed(key, "boom", retryable=retryable))

        for key in ("queued", "completed", "delayed", "failed_a", "failed_b", "retried"):
            await enqueue(key)
        cancelled = await enqueue("cancelled")
        await record_job_started(deps, RecordJobStarted("completed"))
        await record_job_succeeded(deps, RecordJobSucceeded("completed"))
        await fail("delayed", retryable=True)
        await fail("failed_a", retryable=False)
        await fail("failed_b", retryable=False)
        await fail("retried", retryable=False)
        async with backend.uow() as uow:
            retried = (await uow.job_runs.get_by_key("retried")).id
        await retry_job(deps, RetryJob(retried))
        await cancel_job(deps, CancelJob(cancelled))
        deps.clock.advance(timedelta(minutes=30))

        metrics = await operations_metrics(deps.lifecycle())

        assert metrics.at == deps.clock.now()
        assert metrics.job_runs_failed == 2
        assert (metrics.automation_steps_failed, metrics.manual_tasks_open) == (0, 0)
        assert (metrics.outbox_dead, metrics.outbox_oldest_pending_at) == (0, AT)
        assert await outbox_as_listed(backend) == (metrics.outbox_pending, 0, AT)

    async def _stored(self, backend: Backend, step_id: str) -> AutomationStep:
        async with backend.uow() as uow:
            step: AutomationStep = await uow.automation_steps.get(step_id)
        return step
