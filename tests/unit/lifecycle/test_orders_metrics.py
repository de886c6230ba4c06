"""The orders metrics count the same on every store, straight from storage."""

from __future__ import annotations

from datetime import timedelta

from entrypoints.demo import COURIER, Demo
from platform_core.fulfillment.couriers import ReceiveCourierWebhook, receive_courier_webhook
from platform_core.fulfillment.model import TrackingStatus
from platform_core.lifecycle.service import orders_metrics


async def test_empty_store_counts_nothing(demo: Demo) -> None:
    """Every count is zero and every order status is listed (with 0)."""
    metrics = await orders_metrics(demo.deps)
    assert metrics.outstanding_orders == 0
    assert metrics.active_fulfillments == metrics.shipments_in_flight == 0
    assert metrics.returns_pending == metrics.payment_failures == 0
    assert set(metrics.orders_by_status) >= {"draft", "paid", "cancelled"}


async def test_counts_follow_the_lifecycle(demo: Demo) -> None:
    """A failed payment, an outstanding checkout, a shipment in flight and a returned one."""
    failed = await demo.draft([("GW-100", 1)])
    session = await demo.checkout(failed)
    await demo.stripe_webhook(demo.deps.payments.fail(session))
    outstanding = await demo.draft([("GW-100", 1)])
    await demo.checkout(outstanding)
    moving = await demo.draft([("GW-100", 1)])
    await demo.pay(moving)
    await demo.ship(moving)
    returned = await demo.draft([("PRB-200", 2)])
    await demo.pay(returned)
    parcel = await demo.ship(returned)
    assert parcel.tracking_number is not None
    scans = demo.deps.courier_simulator.script(
        parcel.tracking_number,
        [TrackingStatus.IN_TRANSIT, TrackingStatus.RETURNED],
        every=timedelta(hours=1),
    )
    demo.clock.advance(timedelta(hours=3))
    headers, body = demo.deps.courier_simulator.signed_webhook(scans)
    await receive_courier_webhook(demo.deps, ReceiveCourierWebhook(COURIER, headers, body))
    await demo.platform.settle()

    metrics = await orders_metrics(demo.deps)

    assert metrics.orders_by_status["paid"] == 2
    assert metrics.orders_by_status["payment_failed"] == 1
    assert metrics.outstanding_orders == 2  # the failed one may be re-sent, the other is open
    assert metrics.payment_failures == metrics.payment_failures_24h == 1
    assert metrics.active_fulfillments == 2
    assert metrics.shipments_in_flight == 2
    assert metrics.returns_pending == 1
    demo.clock.advance(timedelta(days=2))
    assert (await orders_metrics(demo.deps)).payment_failures_24h == 0
