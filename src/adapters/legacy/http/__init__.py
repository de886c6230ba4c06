"""The legacy system over HTTP: the httpx bridge, its shared circuit breaker, the wire shapes."""

from adapters.legacy.http.breaker import (
    BreakerState,
    BreakerStore,
    BridgeStats,
    CircuitBreaker,
    MemoryBreakerStore,
    Outcome,
    RedisBreakerStore,
)
from adapters.legacy.http.client import LegacyHttpBridge

__all__ = [
    "BreakerState",
    "BreakerStore",
    "BridgeStats",
    "CircuitBreaker",
    "LegacyHttpBridge",
    "MemoryBreakerStore",
    "Outcome",
    "RedisBreakerStore",
]
