"""The outbox dispatcher: at-least-once delivery, backoff, dead letter, per-subscriber inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.unit_of_work import InMemoryUnitOfWork
from platform_core.lifecycle.dispatcher import DeliveryPolicy, Subscription, dispatch_due
from platform_core.ports.outbox import OutboxStatus
from platform_core.shared.events import DomainEvent, StoredEvent

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@attrs.define
class Deps:
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(AT))
    ids: SequentialIdGenerator = attrs.field(factory=SequentialIdGenerator)
    db: InMemoryDatabase = attrs.field(factory=InMemoryDatabase)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.db, self.ids)


@attrs.define
class Recorder:
    """A subscriber that fails its first `failures` calls, then records what it saw."""

    failures: int = 0
    seen: list[str] = attrs.field(factory=list)

    async def __call__(self, stored: StoredEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("subscriber down")
        self.seen.append(stored.event_id)


def event(kind: str = "order.paid") -> DomainEvent:
    return DomainEvent(kind, "order", "ord_1", {}, AT, "orders")


@pytest.fixture
async def deps() -> Deps:
    deps = Deps()
    async with deps.uow() as uow:
        await uow.events.record([event(), event("order.created")])
        await uow.commit()
    return deps


async def test_each_event_reaches_its_subscribers_once(deps: Deps) -> None:
    """Subscribers get the events of their type; a second run delivers nothing again."""
    paid, created = Recorder(), Recorder()
    subs = [Subscription("a", "order.paid", paid), Subscription("b", "order.created", created)]
    report = await dispatch_due(deps, subs)
    again = await dispatch_due(deps, subs)
    assert (report.dispatched, again.claimed) == (2, 0)
    assert (len(paid.seen), len(created.seen)) == (1, 1)


async def test_failure_is_retried_with_backoff_and_only_for_the_failed_subscriber(
    deps: Deps,
) -> None:
    """A failing subscriber is retried after the backoff; the one that succeeded is not re-run."""
    flaky, steady = Recorder(failures=1), Recorder()
    subs = [
        Subscription("flaky", "order.paid", flaky),
        Subscription("steady", "order.paid", steady),
    ]
    policy = DeliveryPolicy(base_seconds=30)
    first = await dispatch_due(deps, subs, policy=policy)
    assert first.failed == 1
    assert (await dispatch_due(deps, subs, policy=policy)).claimed == 0  # not due yet
    deps.clock.advance(timedelta(seconds=30))
    second = await dispatch_due(deps, subs, policy=policy)
    assert second.dispatched == 1
    assert len(flaky.seen) == 1
    assert len(steady.seen) == 1
    async with deps.uow() as uow:
        entries = await uow.outbox.entries(OutboxStatus.DISPATCHED)
    retried = next(e for e in entries if e.stored.event.type == "order.paid")
    assert retried.attempts == 2


async def test_event_is_dead_lettered_after_max_attempts(deps: Deps) -> None:
    """A subscriber that never recovers sends the event to the dead letter with its error."""
    broken = Recorder(failures=99)
    subs = [Subscription("broken", "order.paid", broken)]
    policy = DeliveryPolicy(base_seconds=1, max_attempts=3)
    for _ in range(3):
        await dispatch_due(deps, subs, policy=policy)
        deps.clock.advance(timedelta(hours=1))
    async with deps.uow() as uow:
        (dead,) = await uow.outbox.entries(OutboxStatus.DEAD_LETTERED)
    assert dead.attempts == 3
    assert dead.last_error is not None
    assert "subscriber down" in dead.last_error


def test_backoff_is_exponential_and_capped() -> None:
    """Delays double per attempt up to the cap."""
    policy = DeliveryPolicy(base_seconds=5, max_delay_seconds=60)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


async def test_events_without_subscribers_are_marked_dispatched(deps: Deps) -> None:
    """An event nobody listens to does not stay pending forever."""
    report = await dispatch_due(deps, [])
    assert report.dispatched == 2
