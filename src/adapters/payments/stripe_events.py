"""Normalises Stripe webhook events (dict form) into the core's PaymentNotification.

Shared by the fake gateway and the real Stripe adapter so both read events the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from platform_core.orders.ports import PaymentNotification, PaymentOutcome
from platform_core.shared.errors import ValidationError
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
