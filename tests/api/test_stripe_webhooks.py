"""Stripe webhook edge cases over the API: concurrent duplicate deliveries, out-of-order
events, delayed (async) payment methods, failures and secret rotation. Signatures are made by
the stripe library's own signing code, events by the mock gateway's builders; the basics
(valid, wrong secret, stale, tampered, duplicate, unknown types) are in test_webhooks.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import stripe
from litestar import Litestar

from adapters.payments.fake.gateway import (
    MockSession,
    checkout_session_event,
    payment_failed_event,
    stripe_event,
)
from entrypoints.bootstrap import DEFAULT_WEBHOOK_SECRET, Platform
from entrypoints.seed import SeededCatalogue
from platform_core.orders.model import Order
from platform_core.orders.service import SendCheckout, get_order, send_checkout
from platform_core.shared.money import Money
from tests.api.api_support import Client, draft_order

STRIPE = "/v1/webhooks/stripe"


async def _checkout(platform: Platform, seeded: SeededCatalogue) -> tuple[Order, MockSession]:
    """An order waiting for its customer, and what Stripe events say about its session."""
    order = await draft_order(platform, seeded, [("PRB-200", 3)])
    sent = await send_checkout(platform.deps, SendCheckout(order.id))
    assert sent.checkout is not None
    session = MockSession(sent.checkout.session_id, order.id, 1, order.total, sent.checkout.url)
    return sent, session


def _now(platform: Platform) -> int:
    return int(platform.deps.clock.now().timestamp())


def _session_event(
    platform: Platform, session: MockSession, event_type: str, payment_status: str, status: str
) -> dict[str, Any]:
    return checkout_session_event(
        event_type, session, payment_status=payment_status, status=status, created=_now(platform)
    )


def _signed(event: dict[str, Any], secret: str = DEFAULT_WEBHOOK_SECRET) -> tuple[bytes, str]:
    """The event's body and a Stripe-Signature header from the SDK's own signing code."""
    body = json.dumps(event)
    header: str = stripe.WebhookSignature.generate_signature_header(body, secret, event["created"])
    return body.encode(), header


async def _deliver(client: Client, event: dict[str, Any]) -> str:
    body, header = _signed(event)
    response = await client.post(STRIPE, content=body, headers={"Stripe-Signature": header})
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def _payments_of(platform: Platform, order: Order) -> int:
    async with platform.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
        assert invoice is not None
        return len(await uow.payments.allocated_to_invoice(invoice.id))


async def test_concurrent_duplicate_deliveries_apply_once(
    app: Litestar, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Stripe delivering one event twice at the same moment: one delivery applies it, the
    other is a duplicate, and the order gets one payment and one invoice."""
    order, session = await _checkout(platform, seeded)
    body, header = _signed(
        _session_event(platform, session, "checkout.session.completed", "paid", "complete")
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        answers = await asyncio.gather(
            *(http.post(STRIPE, content=body, headers={"Stripe-Signature": header}) for _ in "ab")
        )
    assert [a.status_code for a in answers] == [200, 200]
    assert sorted(a.json()["status"] for a in answers) == ["applied", "duplicate"]
    await platform.settle()
    paid = await get_order(platform.deps, order.id)
    assert paid.status == "paid"
    assert await _payments_of(platform, order) == 1


async def test_a_late_expiry_after_payment_changes_nothing(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """checkout.session.expired arriving after the payment is acknowledged and ignored: the
    order stays paid, its version unchanged."""
    order, session = await _checkout(platform, seeded)
    paid = _session_event(platform, session, "checkout.session.completed", "paid", "complete")
    assert await _deliver(anonymous, paid) == "applied"
    before = await get_order(platform.deps, order.id)
    expired = _session_event(platform, session, "checkout.session.expired", "unpaid", "expired")
    assert await _deliver(anonymous, expired) == "ignored"
    after = await get_order(platform.deps, order.id)
    assert (after.status, after.version) == ("paid", before.version)


async def test_a_delayed_payment_method_settles_later(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """completed with payment_status unpaid means processing; async_payment_succeeded then
    pays the order; a late repeat of the unpaid completion cannot move it back."""
    order, session = await _checkout(platform, seeded)
    unpaid = _session_event(platform, session, "checkout.session.completed", "unpaid", "complete")
    assert await _deliver(anonymous, unpaid) == "applied"
    assert (await get_order(platform.deps, order.id)).status == "payment_processing"
    settled = _session_event(
        platform, session, "checkout.session.async_payment_succeeded", "paid", "complete"
    )
    assert await _deliver(anonymous, settled) == "applied"
    paid = await get_order(platform.deps, order.id)
    assert paid.status == "paid"
    assert paid.payment is not None
    assert paid.payment.payment_intent_id == session.payment_intent_id
    replayed = {**unpaid, "id": "evt_redelivered_unpaid"}
    assert await _deliver(anonymous, replayed) == "ignored"
    assert (await get_order(platform.deps, order.id)).status == "paid"


async def test_a_delayed_payment_that_fails_can_be_sent_again(
    client: Client, anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """async_payment_failed moves a processing order to payment_failed; the checkout can then
    be re-sent as a new attempt with a new session."""
    order, session = await _checkout(platform, seeded)
    unpaid = _session_event(platform, session, "checkout.session.completed", "unpaid", "complete")
    await _deliver(anonymous, unpaid)
    failed = _session_event(
        platform, session, "checkout.session.async_payment_failed", "unpaid", "complete"
    )
    assert await _deliver(anonymous, failed) == "applied"
    assert (await get_order(platform.deps, order.id)).status == "payment_failed"
    again = await client.post(f"/v1/orders/{order.id}/send-checkout")
    assert again.status_code == 200, again.text
    assert again.json()["checkout"]["attempt"] == 2
    assert again.json()["checkout"]["session_id"] != session.session_id


async def test_a_failed_bank_debit_while_processing_fails_the_order(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """payment_intent.payment_failed for a processing order (found by the intent's metadata)
    records Stripe's reason."""
    order, session = await _checkout(platform, seeded)
    unpaid = _session_event(platform, session, "checkout.session.completed", "unpaid", "complete")
    await _deliver(anonymous, unpaid)
    event = payment_failed_event(session, "The bank account was closed.", created=_now(platform))
    assert await _deliver(anonymous, event) == "applied"
    failed = await get_order(platform.deps, order.id)
    assert (failed.status, failed.failure_reason) == (
        "payment_failed",
        "The bank account was closed.",
    )


async def test_two_signatures_during_secret_rotation_pass_when_one_matches(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """While a secret is rolled Stripe signs with both; the header carries two v1 entries and
    one valid signature is enough. Two invalid ones are still refused."""
    order, session = await _checkout(platform, seeded)
    event = _session_event(platform, session, "checkout.session.completed", "paid", "complete")
    body, valid = _signed(event)
    _, old = _signed(event, "whsec_rolled_away")
    _, other = _signed(event, "whsec_not_ours")
    old_v1 = old.split(",v1=")[1]
    refused = await anonymous.post(
        STRIPE, content=body, headers={"Stripe-Signature": f"{other},v1={old_v1}"}
    )
    assert refused.status_code == 400
    assert (await get_order(platform.deps, order.id)).status == "checkout_sent"
    rotated = f"{valid},v1={old_v1}"
    response = await anonymous.post(STRIPE, content=body, headers={"Stripe-Signature": rotated})
    assert response.json() == {"status": "applied"}
    assert (await get_order(platform.deps, order.id)).status == "paid"


async def test_the_whole_lifecycle_with_a_delayed_payment_in_mock_mode(
    client: Client, anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Through the API only: draft, send-checkout, the customer pays by bank debit (completed
    unpaid, then async_payment_succeeded), and the reactions issue a paid invoice and create
    the fulfillment order; nothing is invoiced while the payment is still processing."""
    body = {
        "company_id": seeded.company_id,
        "billing_contact_id": seeded.billing_contact_id,
        "billing_address_id": seeded.billing_address_id,
        "lines": [{"product_id": seeded.product_ids["GW-100"], "quantity": 2}],
    }
    drafted = await client.post("/v1/orders", json=body)
    assert drafted.status_code == 201, drafted.text
    order_id = drafted.json()["id"]
    sent = (await client.post(f"/v1/orders/{order_id}/send-checkout")).json()
    assert sent["status"] == "checkout_sent"
    total = sent["total"]
    session = MockSession(
        sent["checkout"]["session_id"],
        order_id,
        sent["checkout"]["attempt"],
        Money(total["amount"], total["currency"]),
        sent["checkout"]["url"],
    )
    unpaid = _session_event(platform, session, "checkout.session.completed", "unpaid", "complete")
    assert await _deliver(anonymous, unpaid) == "applied"
    await platform.settle()
    order = (await client.get(f"/v1/orders/{order_id}")).json()
    assert order["status"] == "payment_processing"
    invoices = await client.get("/v1/invoices", params={"order_id": order_id})
    assert invoices.json()["items"] == []
    settled = _session_event(
        platform, session, "checkout.session.async_payment_succeeded", "paid", "complete"
    )
    assert await _deliver(anonymous, settled) == "applied"
    await platform.settle()
    order = (await client.get(f"/v1/orders/{order_id}")).json()
    assert order["status"] == "paid"
    assert order["payment"]["payment_intent_id"] == session.payment_intent_id
    (invoice,) = (await client.get("/v1/invoices", params={"order_id": order_id})).json()["items"]
    assert invoice["status"] == "paid"
    assert invoice["balance"] == {"amount": 0, "currency": total["currency"]}
    fulfillments = await client.get("/v1/fulfillments", params={"order_id": order_id})
    (fulfillment,) = fulfillments.json()["items"]
    assert fulfillment["status"] == "ready_to_prepare"
    assert [i["quantity_ordered"] for i in fulfillment["items"]] == [2]
    timeline = (await client.get(f"/v1/orders/{order_id}/timeline")).json()["entries"]
    types = [entry["type"] for entry in timeline]
    assert types[:4] == [
        "order.created",
        "order.checkout_sent",
        "order.payment_processing",
        "order.paid",
    ]


async def test_a_dashboard_refund_reaches_the_order_and_invoice_by_webhook(
    anonymous: Client, client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """charge.refunded (a refund made on Stripe's dashboard) is recorded once: the order's
    refunded total and the invoice balance follow; a repeat delivery changes nothing."""
    order, session = await _checkout(platform, seeded)
    paid = _session_event(platform, session, "checkout.session.completed", "paid", "complete")
    assert await _deliver(anonymous, paid) == "applied"
    await platform.settle()
    charge = {
        "id": "ch_test_dashboard",
        "object": "charge",
        "amount": order.total.amount,
        "amount_refunded": 1_000,
        "currency": order.currency.lower(),
        "payment_intent": session.payment_intent_id,
        "refunded": False,
    }
    refunded = stripe_event("charge.refunded", charge, _now(platform))
    assert await _deliver(anonymous, refunded) == "applied"
    await _deliver(anonymous, refunded)  # a repeat delivery: nothing more is recorded
    shown = (await client.get(f"/v1/orders/{order.id}")).json()
    assert shown["refunded"] == {"amount": 1_000, "currency": order.currency}
    invoices = (await client.get("/v1/invoices", params={"order_id": order.id})).json()
    assert invoices["items"][0]["balance"]["amount"] == 1_000
