"""The Ops status override (`set_order_status`) and reading one order item, on the seeded
embedded platform."""

from __future__ import annotations

import io

import pytest

from entrypoints.demo import Demo
from platform_core.lifecycle.service import order_timeline
from platform_core.orders.model import OrderStatus
from platform_core.orders.service import (
    OPS_STATUS_TARGETS,
    SendCheckout,
    SetOrderStatus,
    get_order,
    get_order_item,
    send_checkout,
    set_order_status,
)
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    NotFoundError,
    ValidationError,
)


@pytest.fixture
async def demo() -> Demo:
    return await Demo.start(io.StringIO())


async def sent_order(demo: Demo) -> str:
    order = await demo.draft([("GW-100", 1), ("MNT-KIT", 2)])
    await send_checkout(demo.deps, SendCheckout(order.id))
    return order.id


async def event_types(demo: Demo, order_id: str) -> list[str]:
    return [entry.type for entry in await order_timeline(demo.deps, order_id)]


async def test_paid_records_a_manual_payment_of_the_total(demo: Demo) -> None:
    """Marking an order paid records a manual payment of its total under the reference, emits
    order.paid, and the fulfillment order and invoice follow as for a card payment."""
    order_id = await sent_order(demo)
    paid = await set_order_status(
        demo.deps,
        SetOrderStatus(order_id, OrderStatus.PAID, reference=" WIRE-778 ", correlation_id="ops-1"),
    )
    assert paid.status is OrderStatus.PAID
    assert paid.payment is not None
    assert (str(paid.payment.provider), paid.payment.reference) == ("manual", "WIRE-778")
    assert paid.payment.amount == paid.total
    await demo.platform.settle()
    assert (await demo.fulfillment(paid)).order_id == order_id
    assert "invoice.paid" in await event_types(demo, order_id)


@pytest.mark.parametrize("reference", [None, "", "   "])
async def test_paid_needs_a_reference(demo: Demo, reference: str | None) -> None:
    """Without the payment's reference, marking paid is a ValidationError and changes nothing."""
    order_id = await sent_order(demo)
    with pytest.raises(ValidationError) as raised:
        await set_order_status(
            demo.deps, SetOrderStatus(order_id, OrderStatus.PAID, reference=reference)
        )
    assert raised.value.details["field"] == "reference"
    assert (await get_order(demo.deps, order_id)).status is OrderStatus.CHECKOUT_SENT


async def test_paid_from_draft_is_an_illegal_transition(demo: Demo) -> None:
    """A draft has no checkout to pay: the machine refuses it with a conflict."""
    order = await demo.draft([("MNT-KIT", 1)])
    with pytest.raises(IllegalTransition):
        await set_order_status(
            demo.deps, SetOrderStatus(order.id, OrderStatus.PAID, reference="WIRE-1")
        )


async def test_cancelled_cancels_an_unpaid_order_with_its_reason(demo: Demo) -> None:
    """An unpaid order is cancelled with the given reason; a reason is required."""
    order_id = await sent_order(demo)
    with pytest.raises(ValidationError) as raised:
        await set_order_status(demo.deps, SetOrderStatus(order_id, OrderStatus.CANCELLED))
    assert raised.value.details["field"] == "reason"
    cancelled = await set_order_status(
        demo.deps, SetOrderStatus(order_id, OrderStatus.CANCELLED, reason="customer withdrew")
    )
    assert (cancelled.status, cancelled.cancellation_reason) == (
        OrderStatus.CANCELLED,
        "customer withdrew",
    )
    assert (await event_types(demo, order_id))[-1] == "order.cancelled"


async def test_cancelled_refuses_a_paid_order(demo: Demo) -> None:
    """A paid order is cancelled with its refund by the lifecycle, never by the override."""
    order = await demo.draft([("MNT-KIT", 1)])
    await demo.pay(order)
    with pytest.raises(ConflictError):
        await set_order_status(
            demo.deps, SetOrderStatus(order.id, OrderStatus.CANCELLED, reason="oops")
        )
    assert (await get_order(demo.deps, order.id)).status is OrderStatus.PAID


async def test_provider_outcomes_apply_the_webhook_transitions(demo: Demo) -> None:
    """payment_processing, payment_failed (with its reason) and checkout_expired move the
    order as a provider notification would and write the same events."""
    order_id = await sent_order(demo)
    processing = await set_order_status(
        demo.deps, SetOrderStatus(order_id, OrderStatus.PAYMENT_PROCESSING)
    )
    assert processing.status is OrderStatus.PAYMENT_PROCESSING
    failed = await set_order_status(
        demo.deps,
        SetOrderStatus(order_id, OrderStatus.PAYMENT_FAILED, reason="bank declined the debit"),
    )
    assert (failed.status, failed.failure_reason) == (
        OrderStatus.PAYMENT_FAILED,
        "bank declined the debit",
    )
    other_id = await sent_order(demo)
    expired = await set_order_status(
        demo.deps, SetOrderStatus(other_id, OrderStatus.CHECKOUT_EXPIRED)
    )
    assert expired.status is OrderStatus.CHECKOUT_EXPIRED
    assert (await event_types(demo, order_id))[-2:] == [
        "order.payment_processing",
        "order.payment_failed",
    ]
    assert (await event_types(demo, other_id))[-1] == "order.checkout_expired"


async def test_failed_without_a_reason_says_payment_failed(demo: Demo) -> None:
    """A failure set without a reason carries the webhook path's default reason."""
    order_id = await sent_order(demo)
    failed = await set_order_status(demo.deps, SetOrderStatus(order_id, OrderStatus.PAYMENT_FAILED))
    assert failed.failure_reason == "payment failed"


async def test_an_illegal_override_stays_a_conflict(demo: Demo) -> None:
    """The machine still decides: a draft cannot expire, a paid order cannot fail."""
    draft = await demo.draft([("MNT-KIT", 1)])
    with pytest.raises(IllegalTransition):
        await set_order_status(demo.deps, SetOrderStatus(draft.id, OrderStatus.CHECKOUT_EXPIRED))
    paid = await demo.draft([("MNT-KIT", 1)])
    await demo.pay(paid)
    with pytest.raises(IllegalTransition):
        await set_order_status(demo.deps, SetOrderStatus(paid.id, OrderStatus.PAYMENT_FAILED))
    assert (await get_order(demo.deps, draft.id)).status is OrderStatus.DRAFT


@pytest.mark.parametrize("target", [OrderStatus.DRAFT, OrderStatus.CHECKOUT_SENT, "shipped"])
async def test_other_targets_are_refused_listing_the_allowed_ones(demo: Demo, target: str) -> None:
    """Only the override targets are accepted; the error lists them."""
    order = await demo.draft([("MNT-KIT", 1)])
    with pytest.raises(ValidationError) as raised:
        await set_order_status(demo.deps, SetOrderStatus(order.id, target))  # type: ignore[arg-type]
    assert raised.value.details["allowed"] == [str(s) for s in OPS_STATUS_TARGETS]
    assert raised.value.details["field"] == "status"


async def test_unknown_order_is_not_found(demo: Demo) -> None:
    """Every override of an unknown order is NotFound."""
    for target, extra in (
        (OrderStatus.PAID, {"reference": "WIRE-1"}),
        (OrderStatus.CANCELLED, {"reason": "gone"}),
        (OrderStatus.PAYMENT_FAILED, {}),
    ):
        with pytest.raises(NotFoundError):
            await set_order_status(demo.deps, SetOrderStatus("ord_missing", target, **extra))


async def test_get_order_item_returns_the_item_with_its_order(demo: Demo) -> None:
    """An item is found with its order and its price snapshot; an unknown item is NotFound."""
    order = await demo.draft([("GW-100", 1), ("MNT-KIT", 2)])
    second = order.items[1]
    found_order, item = await get_order_item(demo.deps, second.id)
    assert (found_order, item) == (order, second)
    assert item.price.price_book_entry_id is not None
    with pytest.raises(NotFoundError) as raised:
        await get_order_item(demo.deps, "oit_missing")
    assert raised.value.details == {"kind": "order_item", "id": "oit_missing"}
