"""Contract of the legacy bridge's circuit breaker, on each BreakerStore: memory and Redis.

Time is a FixedClock moved by the tests. The Redis runs use a breaker name of their own and
delete their keys afterwards; two RedisBreakerStore instances on one name stand for two
worker processes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from tests.support.network import free_port

from adapters.clock import FixedClock
from adapters.legacy.http.breaker import (
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    MemoryBreakerStore,
    Outcome,
    Permit,
    RedisBreakerStore,
)
from adapters.legacy.http.metrics import BridgeStatsCollector
from platform_core.shared.errors import ExternalServiceError

OP = "provision_device"
RESET = 30.0
LEASE = 10.0

StoreFactory = Callable[[], BreakerStore]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Makes stores sharing one breaker (Redis: one per "process"; memory: the same one)."""
    if request.param == "memory":
        shared = MemoryBreakerStore()
        yield lambda: shared
        return
    url = request.getfixturevalue("redis_url")
    name = f"test-{uuid.uuid4().hex[:12]}"
    opened: list[RedisBreakerStore] = []

    def make() -> BreakerStore:
        opened.append(RedisBreakerStore(url, name))
        return opened[-1]

    try:
        yield make
    finally:
        if opened:
            await opened[0].forget()
        for store in opened:
            await store.aclose()


def breaker_on(store: BreakerStore, clock: FixedClock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(
        store,
        clock=clock,
        failure_threshold=threshold,
        reset_timeout_seconds=RESET,
        probe_lease_seconds=LEASE,
    )


async def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        permit = await breaker.enter(OP)
        await breaker.record(OP, permit, Outcome.FAILURE)


async def state_of(breaker: CircuitBreaker) -> BreakerState:
    return (await breaker.snapshot()).state


async def assert_rejected(call: Awaitable[Permit]) -> None:
    """The call fails fast with the breaker's retryable error."""
    with pytest.raises(ExternalServiceError) as error:
        await call
    assert error.value.retryable is True
    assert error.value.details["breaker"] == "open"


async def test_opens_after_the_threshold_of_consecutive_failures(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """Two failures leave it closed; the third in a row opens it."""
    breaker = breaker_on(stores(), clock)

    await fail(breaker, 2)
    assert await state_of(breaker) is BreakerState.CLOSED
    await fail(breaker)

    assert await state_of(breaker) is BreakerState.OPEN


async def test_a_success_or_refusal_resets_the_failure_count(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """Failures must be consecutive: a success, or a 4xx refusal (the system is up), resets."""
    breaker = breaker_on(stores(), clock)

    await fail(breaker, 2)
    await breaker.record(OP, await breaker.enter(OP), Outcome.REFUSED)
    await fail(breaker, 2)
    await breaker.record(OP, await breaker.enter(OP), Outcome.SUCCESS)
    await fail(breaker, 2)

    snapshot = await breaker.snapshot()
    assert (snapshot.state, snapshot.consecutive_failures) == (BreakerState.CLOSED, 2)


async def test_open_breaker_fails_fast_and_counts_rejections(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """While open (before the reset timeout), every caller is refused and counted as rejected."""
    breaker = breaker_on(stores(), clock)
    await fail(breaker, 3)
    clock.advance(timedelta(seconds=RESET - 1))

    await assert_rejected(breaker.enter(OP))
    await assert_rejected(breaker.enter("get_company"))

    snapshot = await breaker.snapshot()
    assert snapshot.count(OP, Outcome.REJECTED) == 1
    assert snapshot.count("get_company", Outcome.REJECTED) == 1
    assert snapshot.count(OP, Outcome.FAILURE) == 3


async def test_after_the_reset_timeout_one_caller_probes(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """Once the reset timeout has passed, the first caller probes; the others stay refused."""
    breaker = breaker_on(stores(), clock)
    await fail(breaker, 3)
    clock.advance(timedelta(seconds=RESET))

    assert await breaker.enter(OP) is Permit.PROBE
    await assert_rejected(breaker.enter(OP))
    assert await state_of(breaker) is BreakerState.HALF_OPEN


async def test_a_successful_probe_closes_the_breaker(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """The probe's success closes the breaker: calls pass again, failures count from zero."""
    breaker = breaker_on(stores(), clock)
    await fail(breaker, 3)
    clock.advance(timedelta(seconds=RESET))

    probe = await breaker.enter(OP)
    state = await breaker.record(OP, probe, Outcome.SUCCESS)

    assert state is BreakerState.CLOSED
    assert await breaker.enter(OP) is Permit.PASS
    assert (await breaker.snapshot()).consecutive_failures == 0


async def test_a_failed_probe_reopens_for_a_full_period(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """A failed probe opens the breaker again, counted from the probe's failure."""
    breaker = breaker_on(stores(), clock)
    await fail(breaker, 3)
    clock.advance(timedelta(seconds=RESET))

    probe = await breaker.enter(OP)
    assert await breaker.record(OP, probe, Outcome.FAILURE) is BreakerState.OPEN
    clock.advance(timedelta(seconds=RESET - 1))
    await assert_rejected(breaker.enter(OP))
    clock.advance(timedelta(seconds=1))

    assert await breaker.enter(OP) is Permit.PROBE


async def test_a_lost_probe_frees_its_lease(stores: StoreFactory, clock: FixedClock) -> None:
    """A probe that never reports back (its process died) lets another caller probe later."""
    breaker = breaker_on(stores(), clock)
    await fail(breaker, 3)
    clock.advance(timedelta(seconds=RESET))
    assert await breaker.enter(OP) is Permit.PROBE

    clock.advance(timedelta(seconds=LEASE - 1))
    await assert_rejected(breaker.enter(OP))
    clock.advance(timedelta(seconds=1))

    assert await breaker.enter(OP) is Permit.PROBE


async def test_counters_are_kept_per_operation_and_outcome(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """The snapshot counts successes, refusals and failures by operation."""
    breaker = breaker_on(stores(), clock)
    for operation, outcome in [
        ("get_company", Outcome.SUCCESS),
        ("get_company", Outcome.SUCCESS),
        (OP, Outcome.REFUSED),
        (OP, Outcome.FAILURE),
    ]:
        await breaker.record(operation, await breaker.enter(operation), outcome)

    snapshot = await breaker.snapshot()
    assert snapshot.count("get_company", Outcome.SUCCESS) == 2
    assert snapshot.count(OP, Outcome.REFUSED) == 1
    assert snapshot.count(OP, Outcome.FAILURE) == 1
    assert snapshot.count(OP, Outcome.SUCCESS) == 0


async def test_state_is_shared_by_every_breaker_on_the_store(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """One process's failures open the breaker for another; its probe closes it for both."""
    first, second = breaker_on(stores(), clock), breaker_on(stores(), clock)

    await fail(first, 2)
    await fail(second)
    await assert_rejected(first.enter(OP))
    clock.advance(timedelta(seconds=RESET))
    probe = await second.enter(OP)
    await assert_rejected(first.enter(OP))
    await second.record(OP, probe, Outcome.SUCCESS)

    assert await first.enter(OP) is Permit.PASS
    assert (await first.snapshot()).count(OP, Outcome.REJECTED) == 2


async def test_concurrent_callers_get_exactly_one_probe(
    stores: StoreFactory, clock: FixedClock
) -> None:
    """Callers racing for the half-open probe from several processes: one wins."""
    breakers = [breaker_on(stores(), clock) for _ in range(5)]
    await fail(breakers[0], 3)
    clock.advance(timedelta(seconds=RESET))

    answers = await asyncio.gather(
        *(breaker.enter(OP) for breaker in breakers), return_exceptions=True
    )

    assert answers.count(Permit.PROBE) == 1
    assert sum(isinstance(answer, ExternalServiceError) for answer in answers) == 4


@pytest.mark.parametrize(
    ("state", "gauge"),
    [(BreakerState.CLOSED, 0), (BreakerState.HALF_OPEN, 1), (BreakerState.OPEN, 2)],
)
def test_breaker_state_gauge_values(state: BreakerState, gauge: int) -> None:
    """legacy_bridge_breaker_state reads 0 closed, 1 half-open, 2 open."""
    assert state.gauge == gauge


async def test_unreachable_redis_store_fails_the_call_retryably(clock: FixedClock) -> None:
    """Without its store the breaker refuses to guess: a retryable error, not an unguarded call."""
    store = RedisBreakerStore(f"redis://127.0.0.1:{free_port()}/0", "nowhere")
    breaker = breaker_on(store, clock)
    try:
        with pytest.raises(ExternalServiceError) as error:
            await breaker.enter(OP)
    finally:
        await store.aclose()

    assert error.value.retryable is True
    assert error.value.details["breaker"] == "store_unavailable"


async def test_snapshot_is_exported_as_prometheus_metrics(clock: FixedClock) -> None:
    """The collector renders the counters and the breaker state under their documented names."""
    breaker = breaker_on(MemoryBreakerStore(), clock, threshold=1)
    await fail(breaker)
    await assert_rejected(breaker.enter(OP))
    collector = BridgeStatsCollector()
    registry = CollectorRegistry()
    registry.register(collector)

    collector.update(await breaker.snapshot())
    text = generate_latest(registry).decode()

    assert 'legacy_bridge_calls_total{operation="provision_device",outcome="failure"} 1.0' in text
    assert 'legacy_bridge_calls_total{operation="provision_device",outcome="rejected"} 1.0' in text
    assert "legacy_bridge_breaker_state 2.0" in text
