"""`/metrics`: HTTP metrics from Litestar's Prometheus middleware plus business gauges.

The gauges are read from the store when Prometheus scrapes, so every API process reports the
same figures and none has to keep them in memory between scrapes.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from adapters.legacy.http.metrics import BridgeStatsCollector
from entrypoints.bootstrap import Platform
from platform_core.legacy.model import MirrorKind, SyncReport
from platform_core.legacy.service import latest_sync_reports
from platform_core.lifecycle.service import operations_metrics, orders_metrics

PREFIX = "platform"

ORDERS = Gauge(f"{PREFIX}_orders", "Orders by status", ["status"])
ORDERS_PAID = Gauge(f"{PREFIX}_orders_paid", "Orders paid (current count in status paid)")
OUTSTANDING = Gauge(f"{PREFIX}_orders_outstanding", "Orders waiting on payment")
PAYMENT_FAILURES_24H = Gauge(
    f"{PREFIX}_payment_failures_24h", "Payment failures recorded in the last 24 hours"
)
SHIPMENTS_IN_FLIGHT = Gauge(f"{PREFIX}_shipments_in_flight", "Shipments ready or in transit")
RETURNS_PENDING = Gauge(f"{PREFIX}_returns_pending", "Returned shipments still open")
QUEUE_DEPTH = Gauge(f"{PREFIX}_queue_depth", "Jobs waiting on each queue", ["queue"])
OUTBOX_PENDING = Gauge(f"{PREFIX}_outbox_pending", "Outbox events not yet delivered")
OUTBOX_DEAD = Gauge(f"{PREFIX}_outbox_dead_letters", "Outbox events that gave up (dead letters)")
OUTBOX_LAG = Gauge(
    f"{PREFIX}_outbox_lag_seconds", "Age of the oldest undelivered outbox event (0 when none)"
)
AUTOMATION_FAILED = Gauge(
    f"{PREFIX}_automation_steps_failed", "Automation steps failed past their attempts"
)
MANUAL_TASKS_OPEN = Gauge(f"{PREFIX}_manual_tasks_open", "Manual fallback tasks waiting for Ops")
LEGACY_DRIFT = Gauge(
    f"{PREFIX}_legacy_drift_findings",
    "Findings of the latest drift report of each legacy entity kind (absent: never checked)",
    ["kind", "finding"],
)
# The bridge's counters and breaker state live in the breaker's store (Redis when shared), so
# every scrape reads them from there: legacy_bridge_calls_total, legacy_bridge_breaker_state.
LEGACY_BRIDGE = BridgeStatsCollector()
REGISTRY.register(LEGACY_BRIDGE)


async def refresh(platform: Platform) -> None:
    deps = platform.deps
    orders = await orders_metrics(deps)
    for status, count in orders.orders_by_status.items():
        ORDERS.labels(status=status).set(count)
    ORDERS_PAID.set(orders.orders_by_status.get("paid", 0))
    OUTSTANDING.set(orders.outstanding_orders)
    PAYMENT_FAILURES_24H.set(orders.payment_failures_24h)
    SHIPMENTS_IN_FLIGHT.set(orders.shipments_in_flight)
    RETURNS_PENDING.set(orders.returns_pending)
    operations = await operations_metrics(deps)
    OUTBOX_PENDING.set(operations.outbox_pending)
    OUTBOX_DEAD.set(operations.outbox_dead)
    oldest = operations.outbox_oldest_pending_at
    OUTBOX_LAG.set(0 if oldest is None else max(0.0, (operations.at - oldest).total_seconds()))
    AUTOMATION_FAILED.set(operations.automation_steps_failed)
    MANUAL_TASKS_OPEN.set(operations.manual_tasks_open)
    _set_drift(await latest_sync_reports(deps))
    LEGACY_BRIDGE.update(await deps.breaker.snapshot())
    for queue, depth in (await platform.queue_depth()).items():
        QUEUE_DEPTH.labels(queue=queue).set(depth)


def _set_drift(latest: dict[MirrorKind, SyncReport]) -> None:
    # Cleared first: a kind that has no report yet shows no series rather than a stale one.
    LEGACY_DRIFT.clear()
    for kind, report in latest.items():
        for finding, count in report.counts.items():
            LEGACY_DRIFT.labels(kind=str(kind), finding=finding).set(count)


async def render_metrics(platform: Platform) -> tuple[bytes, str]:
    await refresh(platform)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
