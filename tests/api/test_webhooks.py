"""Webhook routes: Stripe and courier events, verified on the raw body, handled once, public."""

from __future__ import annotations

import json
from datetime import timedelta

from adapters.clock import FixedClock
from adapters.payments.fake import sign_stripe_payload
from entrypoints.bootstrap import DEFAULT_WEBHOOK_SECRET, Platform
from entrypoints.seed import SeededCatalogue
from platform_core.fulfillment.couriers import get_courier_webhook
from platform_core.fulfillment.model import TrackingStatus, WebhookStatus
from platform_core.orders.model import Order
from platform_core.orders.service import (
    CreateDraftOrder,
    SendCheckout,
    create_draft_order,
    get_order,
    send_checkout,
)
from platform_core.pricing.model import QuoteLine
from tests.api.api_support import (
    COURIER,
    Client,
    assert_error,
    draft_shipment,
    fulfillment_of,
    paid_order,
)

STRIPE = "/v1/webhooks/stripe"


async def checkout_sent(platform: Platform, seeded: SeededCatalogue) -> tuple[Order, str]:
    """An order waiting for the customer to pay: its id and its Checkout Session id."""
    deps = platform.deps
    quote = [QuoteLine(seeded.product_ids["PRB-200"], 2)]
    command = CreateDraftOrder(
        seeded.company_id, seeded.billing_contact_id, seeded.billing_address_id, quote
    )
    order = await create_draft_order(deps, command)
    sent = await send_checkout(deps, SendCheckout(order.id))
    assert sent.checkout is not None
    return sent, sent.checkout.session_id


# -- Stripe ------------------------------------------------------------------------------------


async def test_a_signed_stripe_event_pays_the_order_once(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """No API key is needed; the first delivery is applied, a repeat is a duplicate and
    changes nothing more."""
    order, session = await checkout_sent(platform, seeded)
    body, headers = platform.deps.payments.complete(session)
    first = await anonymous.post(STRIPE, content=body, headers=headers)
    assert (first.status_code, first.json()) == (200, {"status": "applied"})
    paid = await get_order(platform.deps, order.id)
    assert paid.status == "paid"
    again = await anonymous.post(STRIPE, content=body, headers=headers)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert (await get_order(platform.deps, order.id)).version == paid.version


async def test_a_declined_card_is_recorded_on_the_order(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """payment_intent.payment_failed moves the order to payment_failed with Stripe's reason."""
    order, session = await checkout_sent(platform, seeded)
    body, headers = platform.deps.payments.fail(session, "Your card has insufficient funds.")
    response = await anonymous.post(STRIPE, content=body, headers=headers)
    assert response.json() == {"status": "applied"}
    failed = await get_order(platform.deps, order.id)
    assert failed.status == "payment_failed"
    assert failed.failure_reason == "Your card has insufficient funds."


async def test_an_event_for_no_order_is_acknowledged_and_ignored(
    anonymous: Client, platform: Platform
) -> None:
    """A verified event the platform has no order for answers 200 ignored (Stripe stops
    retrying), and so does an event type the platform does not act on."""
    event = {
        "id": "evt_unrelated",
        "type": "checkout.session.completed",
        "created": int(platform.deps.clock.now().timestamp()),
        "data": {"object": {"id": "cs_unknown", "payment_status": "paid"}},
    }
    body = json.dumps(event).encode()
    response = await anonymous.post(STRIPE, content=body, headers=platform.deps.payments.sign(body))
    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    other = json.dumps({**event, "id": "evt_customer", "type": "customer.created"}).encode()
    response = await anonymous.post(
        STRIPE, content=other, headers=platform.deps.payments.sign(other)
    )
    assert response.json() == {"status": "ignored"}


async def test_a_bad_stripe_signature_is_400_and_changes_nothing(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A wrong secret, a tampered body, a stale timestamp or no header: 400 VALIDATION, and
    the order stays as it was, so the genuine event still applies afterwards."""
    order, session = await checkout_sent(platform, seeded)
    body, headers = platform.deps.payments.complete(session)
    now = int(platform.deps.clock.now().timestamp())
    attempts = [
        {"Stripe-Signature": sign_stripe_payload(body, "whsec_wrong", now)},
        {"Stripe-Signature": sign_stripe_payload(body, DEFAULT_WEBHOOK_SECRET, now - 3600)},
        {},
    ]
    for attempt in attempts:
        error = assert_error(
            await anonymous.post(STRIPE, content=body, headers=attempt), 400, "VALIDATION"
        )
        assert "signature" in error["message"].lower()
    tampered = body.replace(b'"paid"', b'"unpaid"')
    assert_error(await anonymous.post(STRIPE, content=tampered, headers=headers), 400, "VALIDATION")
    assert (await get_order(platform.deps, order.id)).status == "checkout_sent"
    genuine = await anonymous.post(STRIPE, content=body, headers=headers)
    assert genuine.json() == {"status": "applied"}


async def test_a_signed_body_that_is_not_an_event_is_400(
    anonymous: Client, platform: Platform
) -> None:
    """Correctly signed garbage is still refused as unreadable."""
    for body in [b"not json", b"[1, 2]", b'{"id": "evt_1"}']:
        response = await anonymous.post(
            STRIPE, content=body, headers=platform.deps.payments.sign(body)
        )
        assert_error(response, 400, "VALIDATION")


# -- couriers ----------------------------------------------------------------------------------


async def test_courier_scans_move_the_shipment_and_repeat_harmlessly(
    anonymous: Client,
    client: Client,
    platform: Platform,
    seeded: SeededCatalogue,
    clock: FixedClock,
) -> None:
    """A signed courier webhook records its scans and delivers the shipment; the same webhook
    again records nothing; numbers no shipment carries are listed, not refused."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment, "SIM000000101")
    await client.post(f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"})
    couriers = platform.deps.courier_simulator
    scans = couriers.script(
        "SIM000000101", [TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED], start=clock.now()
    )
    stray = couriers.script("SIM999999999", [TrackingStatus.IN_TRANSIT], start=clock.now())
    clock.advance(timedelta(days=1))
    headers, body = couriers.signed_webhook([*scans, *stray])
    url = f"/v1/webhooks/couriers/{COURIER}"
    first = await anonymous.post(url, content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    await platform.settle()
    stored = await get_courier_webhook(platform.deps, first.json()["webhook_id"])
    assert (stored.status, stored.recorded, stored.duplicates, stored.unmatched) == (
        WebhookStatus.PROCESSED,
        2,
        0,
        ("SIM999999999",),
    )
    assert stored.body == body.decode()
    shown = (await client.get(f"/v1/shipments/{shipment['id']}")).json()
    assert shown["status"] == "delivered"
    again = await anonymous.post(url, content=body, headers=headers)
    assert again.status_code == 202
    await platform.settle()
    repeat = await get_courier_webhook(platform.deps, again.json()["webhook_id"])
    assert (repeat.recorded, repeat.duplicates) == (0, 2)
    events = (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert len(events) == 2


async def test_a_wrong_courier_signature_is_401_and_stores_nothing(
    anonymous: Client,
    client: Client,
    platform: Platform,
    seeded: SeededCatalogue,
    clock: FixedClock,
) -> None:
    """A webhook signed with another secret, or not signed, answers 401 AUTHN and no scan is
    recorded."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment, "SIM000000202")
    await client.post(f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"})
    scans = platform.deps.courier_simulator.script(
        "SIM000000202", [TrackingStatus.IN_TRANSIT], start=clock.now()
    )
    headers, body = platform.deps.courier_simulator.signed_webhook(scans)
    url = f"/v1/webhooks/couriers/{COURIER}"
    forged = {**headers, "X-Simulator-Signature": "sha256=" + "0" * 64}
    assert_error(await anonymous.post(url, content=body, headers=forged), 401, "AUTHN")
    unsigned = {"Content-Type": "application/json"}
    assert_error(await anonymous.post(url, content=body, headers=unsigned), 401, "AUTHN")
    events = (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert events == []
    assert (await client.get(f"/v1/shipments/{shipment['id']}")).json()["status"] == "ready"


async def test_an_unknown_courier_is_404_and_an_unreadable_payload_400(
    anonymous: Client, platform: Platform
) -> None:
    """A courier the registry does not hold is 404; a signed body it cannot read, or one that
    is not JSON, is 400; neither is stored."""
    couriers = platform.deps.courier_simulator
    headers, body = couriers.signed_webhook([])
    unknown = await anonymous.post(
        "/v1/webhooks/couriers/pony_express", content=body, headers=headers
    )
    assert_error(unknown, 404, "NOT_FOUND")
    not_json = b"<events/>"
    response = await anonymous.post(
        f"/v1/webhooks/couriers/{COURIER}",
        content=not_json,
        headers={"X-Simulator-Signature": couriers.sign(not_json)},
    )
    assert_error(response, 400, "VALIDATION")
    garbage = b'{"events": [{"tracking_number": "SIM1"}]}'
    response = await anonymous.post(
        f"/v1/webhooks/couriers/{COURIER}",
        content=garbage,
        headers={"X-Simulator-Signature": couriers.sign(garbage)},
    )
    error = assert_error(response, 400, "VALIDATION")
    assert error["details"]["field"] == "events[0].code"
