"""A circuit breaker for the legacy bridge whose state every worker process shares.

Closed: calls go through; `failure_threshold` transient failures in a row open it. Open: calls
fail fast without touching the network until `reset_timeout_seconds` have passed; then ONE
caller (whichever takes the probe lease, in any process) is let through as the half-open
probe. Its success closes the breaker, its failure opens it for another full period. A probe
whose process died frees the lease after `probe_lease_seconds`.

The state and the per-operation call counters live in a `BreakerStore`: Redis for several
processes (each transition is one Lua script, so two processes never both take the probe),
or memory for one. Time comes from the Clock port and is passed into the store, so tests
move it with a fixed clock instead of sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

import attrs
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from platform_core.ports.core import Clock
from platform_core.shared.errors import ExternalServiceError, NotAttempted, ValidationError

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def gauge(self) -> int:
        """The value of `legacy_bridge_breaker_state`: 0 closed, 1 half-open, 2 open."""
        return {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}[self]


class Permit(StrEnum):
    """What the breaker allows one attempt to do."""

    PASS = "pass"  # closed: go ahead
    PROBE = "probe"  # half-open: you are the one caller testing the legacy system
    REJECTED = "rejected"  # open: fail fast


class Outcome(StrEnum):
    """How one attempt ended, as counted in `legacy_bridge_calls_total{outcome}`."""

    SUCCESS = "success"  # a 2xx answer (or 404 on a read)
    REFUSED = "refused"  # a 4xx answer: the legacy system is up and said no
    FAILURE = "failure"  # timeout, connection error or 5xx: counts towards opening
    REJECTED = "rejected"  # not attempted: the breaker was open


@attrs.frozen
class BridgeStats:
    """The breaker's state and the call counters, as every process sees them."""

    state: BreakerState
    consecutive_failures: int
    calls: Mapping[tuple[str, Outcome], int] = attrs.field(factory=dict)

    def count(self, operation: str, outcome: Outcome) -> int:
        return self.calls.get((operation, outcome), 0)


class BreakerStore(Protocol):
    """Where a breaker keeps its state and counters; each method is one atomic step."""

    async def acquire(
        self, operation: str, *, now: float, reset_timeout: float, lease_until: float
    ) -> Permit:
        """Let an attempt of `operation` through, make it the probe, or reject (and count) it."""
        ...

    async def record(
        self, operation: str, outcome: Outcome, *, now: float, threshold: int, probe: bool
    ) -> BreakerState:
        """Count an attempt's outcome and move the state; returns the state after it."""
        ...

    async def snapshot(self) -> BridgeStats: ...


class CircuitBreaker:
    """Guards each attempt of the legacy bridge: `enter` before it, `record` after it."""

    def __init__(
        self,
        store: BreakerStore,
        *,
        clock: Clock,
        failure_threshold: int = 5,
        reset_timeout_seconds: float = 30.0,
        probe_lease_seconds: float = 30.0,
    ) -> None:
        if failure_threshold < 1 or reset_timeout_seconds <= 0 or probe_lease_seconds <= 0:
            raise ValidationError(
                "the breaker needs a threshold of at least 1 and positive timeouts",
                {"field": "breaker"},
            )
        self.store = store
        self._clock = clock
        self.failure_threshold = failure_threshold
        self.reset_timeout_seconds = reset_timeout_seconds
        self.probe_lease_seconds = probe_lease_seconds

    async def enter(self, operation: str) -> Permit:
        """PASS or PROBE; raises NotAttempted (retryable) while the breaker is open."""
        now = self._now()
        permit = await self.store.acquire(
            operation,
            now=now,
            reset_timeout=self.reset_timeout_seconds,
            lease_until=now + self.probe_lease_seconds,
        )
        if permit is Permit.REJECTED:
            raise NotAttempted(
                "the legacy system is unavailable (circuit breaker open); call not attempted",
                {"breaker": "open", "operation": operation},
            )
        if permit is Permit.PROBE:
            log.info("legacy breaker half-open: probing with %s", operation)
        return permit

    async def record(self, operation: str, permit: Permit, outcome: Outcome) -> BreakerState:
        state = await self.store.record(
            operation,
            outcome,
            now=self._now(),
            threshold=self.failure_threshold,
            probe=permit is Permit.PROBE,
        )
        if outcome is Outcome.FAILURE and state is BreakerState.OPEN:
            log.warning("legacy breaker open after a failed %s", operation)
        return state

    async def snapshot(self) -> BridgeStats:
        return await self.store.snapshot()

    def _now(self) -> float:
        return self._clock.now().timestamp()


# -- one process --------------------------------------------------------------------------------


class MemoryBreakerStore:
    """The breaker's state in this process only (the embedded default, tests)."""

    def __init__(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._lease_until = 0.0
        self._calls: dict[tuple[str, Outcome], int] = {}

    # No await inside these methods: on one event loop each one is atomic.
    async def acquire(
        self, operation: str, *, now: float, reset_timeout: float, lease_until: float
    ) -> Permit:
        if self._state is BreakerState.CLOSED:
            return Permit.PASS
        if self._state is BreakerState.OPEN and now >= self._opened_at + reset_timeout:
            self._state, self._lease_until = BreakerState.HALF_OPEN, lease_until
            return Permit.PROBE
        if self._state is BreakerState.HALF_OPEN and now >= self._lease_until:
            self._lease_until = lease_until  # the last probe never reported back
            return Permit.PROBE
        self._count(operation, Outcome.REJECTED)
        return Permit.REJECTED

    async def record(
        self, operation: str, outcome: Outcome, *, now: float, threshold: int, probe: bool
    ) -> BreakerState:
        self._count(operation, outcome)
        if outcome is not Outcome.FAILURE:
            self._state, self._failures = BreakerState.CLOSED, 0
        elif probe and self._state is BreakerState.HALF_OPEN:
            self._state, self._opened_at = BreakerState.OPEN, now
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= threshold:
                self._state, self._opened_at = BreakerState.OPEN, now
        return self._state

    async def snapshot(self) -> BridgeStats:
        return BridgeStats(self._state, self._failures, dict(self._calls))

    def _count(self, operation: str, outcome: Outcome) -> None:
        key = (operation, outcome)
        self._calls[key] = self._calls.get(key, 0) + 1


# -- every process ------------------------------------------------------------------------------

# KEYS: state hash, counters hash. ARGV: now, reset_timeout, lease_until, operation.
_ACQUIRE = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return 'pass' end
local now = tonumber(ARGV[1])
if state == 'open' then
    local opened_at = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
    if now >= opened_at + tonumber(ARGV[2]) then
        redis.call('HSET', KEYS[1], 'state', 'half_open', 'lease_until', ARGV[3])
        return 'probe'
    end
elseif state == 'half_open' then
    local lease_until = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
    if now >= lease_until then
        redis.call('HSET', KEYS[1], 'lease_until', ARGV[3])
        return 'probe'
    end
end
redis.call('HINCRBY', KEYS[2], ARGV[4] .. '|rejected', 1)
return 'rejected'
"""

# KEYS: state hash, counters hash. ARGV: outcome, operation, now, threshold, probe (1/0).
_RECORD = """
redis.call('HINCRBY', KEYS[2], ARGV[2] .. '|' .. ARGV[1], 1)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if ARGV[1] ~= 'failure' then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
    redis.call('HDEL', KEYS[1], 'opened_at', 'lease_until')
    return 'closed'
end
if ARGV[5] == '1' and state == 'half_open' then
    redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[3])
    redis.call('HDEL', KEYS[1], 'lease_until')
    return 'open'
end
if state ~= 'closed' then return state end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[3])
    return 'open'
end
return 'closed'
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisBreakerStore:
    """The breaker's state in Redis, shared by every process using the same `name`.

    Keys: `legacy-breaker:<name>:state` (hash: state, failures, opened_at, lease_until) and
    `legacy-breaker:<name>:calls` (hash: `<operation>|<outcome>` -> count).
    """

    def __init__(self, redis_url: str, name: str = "legacy") -> None:
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        self.state_key = f"legacy-breaker:{name}:state"
        self.calls_key = f"legacy-breaker:{name}:calls"
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._record = self._redis.register_script(_RECORD)

    async def acquire(
        self, operation: str, *, now: float, reset_timeout: float, lease_until: float
    ) -> Permit:
        args = [repr(now), repr(reset_timeout), repr(lease_until), operation]
        answer = await self._run(self._acquire(keys=self._keys, args=args))
        return Permit(_text(answer))

    async def record(
        self, operation: str, outcome: Outcome, *, now: float, threshold: int, probe: bool
    ) -> BreakerState:
        args = [str(outcome), operation, repr(now), str(threshold), "1" if probe else "0"]
        answer = await self._run(self._record(keys=self._keys, args=args))
        return BreakerState(_text(answer))

    async def snapshot(self) -> BridgeStats:
        state = {_text(k): _text(v) for k, v in (await self._run(self._hgetall(self.state_key)))}
        raw_calls = await self._run(self._hgetall(self.calls_key))
        calls: dict[tuple[str, Outcome], int] = {}
        for field, count in raw_calls:
            operation, _, outcome = _text(field).rpartition("|")
            calls[(operation, Outcome(outcome))] = int(count)
        return BridgeStats(
            BreakerState(state.get("state", BreakerState.CLOSED)),
            int(state.get("failures", 0)),
            calls,
        )

    async def forget(self) -> None:
        """Delete this breaker's keys (tests; or Ops resetting a breaker and its counters)."""
        await self._run(self._redis.delete(self.state_key, self.calls_key))

    async def aclose(self) -> None:
        await self._redis.aclose()

    @property
    def _keys(self) -> list[str]:
        return [self.state_key, self.calls_key]

    async def _hgetall(self, key: str) -> list[tuple[bytes | str, bytes | str]]:
        found = await self._redis.hgetall(key)
        return list(found.items())

    async def _run(self, pending: Any) -> Any:
        # Without its store the breaker cannot tell whether the legacy system is up: the call
        # fails retryably rather than going ahead unguarded.
        try:
            return await pending
        except RedisError as error:
            raise ExternalServiceError(
                f"the legacy circuit breaker's store is unreachable: {error}",
                {"breaker": "store_unavailable"},
                retryable=True,
            ) from error
