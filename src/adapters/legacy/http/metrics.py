"""The bridge's counters and breaker state as Prometheus metrics, from a `BridgeStats`.

The figures live in the breaker's store (Redis when several processes run), so the process
serving /metrics reads a snapshot at scrape time and hands it to this collector:

    LEGACY = BridgeStatsCollector(); REGISTRY.register(LEGACY)
    ...  # before generate_latest:
    LEGACY.update(await breaker.snapshot())
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.legacy.http.breaker import BreakerState, BridgeStats

CALLS = "legacy_bridge_calls"  # exposed as legacy_bridge_calls_total
STATE = "legacy_bridge_breaker_state"


class BridgeStatsCollector(Collector):
    """Exposes the last snapshot given to `update` (closed and no calls until then)."""

    def __init__(self) -> None:
        self._stats = BridgeStats(BreakerState.CLOSED, 0)

    def update(self, stats: BridgeStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            CALLS,
            "Legacy bridge attempts by operation and outcome "
            "(success, refused, failure, rejected by the open breaker)",
            labels=["operation", "outcome"],
        )
        for (operation, outcome), count in sorted(self._stats.calls.items()):
            calls.add_metric([operation, str(outcome)], count)
        yield calls
        yield GaugeMetricFamily(
            STATE,
            "Legacy bridge circuit breaker: 0 closed, 1 half-open, 2 open",
            value=self._stats.state.gauge,
        )
