"""Normalises Stripe webhook events (dict form) into the core's PaymentNotification.

Shared by the fake gateway and the real Stripe adapter so both read events the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import stripe

from platform_core.orders.ports import PaymentNotification, PaymentOutcome
from platform_core.shared.errors import AuthenticationError, ValidationError
from platform_core.shared.money import Money


def _session_outcome(event_type: str, session: Mapping[str, Any]) -> PaymentOutcome:
    if event_type == "checkout.session.completed":
        paid = session.get("payment_status") in {"paid", "no_payment_required"}
        return PaymentOutcome.PAID if paid else PaymentOutcome.PROCESSING
    return {
        "checkout.session.async_payment_succeeded": PaymentOutcome.PAID,
        "checkout.session.async_payment_failed": PaymentOutcome.FAILED,
        "checkout.session.expired": PaymentOutcome.EXPIRED,
    }.get(event_type, PaymentOutcome.IGNORED)


def _money(obj: Mapping[str, Any], field: str) -> Money | None:
    amount, currency = obj.get(field), obj.get("currency")
    if not isinstance(amount, int) or not isinstance(currency, str):
        return None
    return Money(amount, currency.upper())


def normalise_event(event: Mapping[str, Any]) -> PaymentNotification:
    """Map one Stripe event to what it means for an order; unknown types are IGNORED."""
    try:
        event_id, event_type = str(event["id"]), str(event["type"])
        obj: Mapping[str, Any] = event["data"]["object"]
        created = datetime.fromtimestamp(int(event["created"]), UTC)
    except (KeyError, TypeError, ValueError) as bad:
        raise ValidationError("not a Stripe event", {"missing": str(bad)}) from None
    base = PaymentNotification(event_id, event_type, PaymentOutcome.IGNORED, created)
    if event_type.startswith("checkout.session."):
        metadata = obj.get("metadata") or {}
        return attrs.evolve(
            base,
            outcome=_session_outcome(event_type, obj),
            order_id=obj.get("client_reference_id") or metadata.get("order_id"),
            session_id=obj.get("id"),
            payment_intent_id=obj.get("payment_intent"),
            amount=_money(obj, "amount_total"),
        )
    if event_type == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        return attrs.evolve(
            base,
            outcome=PaymentOutcome.FAILED,
            order_id=(obj.get("metadata") or {}).get("order_id"),
            payment_intent_id=obj.get("id"),
            reason=error.get("message") or "payment failed",
        )
    if event_type == "charge.refunded" or event_type.startswith("refund."):
        return attrs.evolve(
            base,
            outcome=PaymentOutcome.REFUNDED,
            order_id=(obj.get("metadata") or {}).get("order_id"),
            payment_intent_id=obj.get("payment_intent"),
            charge_id=obj.get("id") if event_type == "charge.refunded" else obj.get("charge"),
            amount=_money(obj, "amount_refunded" if event_type == "charge.refunded" else "amount"),
        )
    return base


SIGNATURE_HEADER = "stripe-signature"
# Stripe's default: a signed event older (or newer) than this is refused as a replay.
TOLERANCE_SECONDS = 300


def verify_stripe_event(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime
) -> dict[str, Any]:
    """The event a ``Stripe-Signature``-signed raw body carries, checked with the SDK's
    `stripe.Webhook.construct_event`; both the Stripe adapter and mock mode verify with it.

    Missing or wrong signature, or a timestamp more than TOLERANCE_SECONDS from `now`:
    AuthenticationError. A signed body that is not a v1 snapshot event (bad JSON, a thin v2
    notification, no ``data.object``): ValidationError.
    """
    header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    if not header:
        raise AuthenticationError("missing Stripe-Signature header")
    try:
        # tolerance=0 turns off the SDK's own age check, which reads the system time; the
        # age is checked against the Clock port's `now` instead, like every other time here.
        event = stripe.Webhook.construct_event(body, header, secret, tolerance=0)
    except stripe.SignatureVerificationError:
        raise AuthenticationError("Stripe signature does not match the body") from None
    except UnicodeDecodeError:
        raise ValidationError("webhook body is not UTF-8 text") from None
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        # Raised only after the signature matched: bad JSON, JSON that is not an object, or a
        # thin (v2) notification. A stale replay is still refused as such first.
        _check_fresh(header, now)
        raise ValidationError(
            "webhook body is not a Stripe snapshot (v1) event", {"reason": str(error)[:200]}
        ) from None
    _check_fresh(header, now)
    payload: dict[str, Any] = event.to_dict()
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise ValidationError("webhook event carries no data.object snapshot")
    return payload


def _check_fresh(header: str, now: datetime) -> None:
    """Refuse replays: the signed timestamp must be within TOLERANCE_SECONDS of `now` (a
    far-future one is as suspicious as a stale one)."""
    stamps = [part.strip()[2:] for part in header.split(",") if part.strip().startswith("t=")]
    if not stamps or not stamps[0].isdigit():
        raise AuthenticationError("malformed Stripe-Signature header")
    if abs(now.timestamp() - int(stamps[0])) > TOLERANCE_SECONDS:
        raise AuthenticationError("Stripe signature timestamp is outside the tolerance")
