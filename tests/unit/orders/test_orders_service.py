"""Order use cases on the seeded embedded platform: drafting, strict checkout, payments."""

from __future__ import annotations

import io

import attrs
import pytest

from entrypoints.demo import Demo
from entrypoints.seed import CURRENCY
from platform_core.customers.service import AddAddress, CreateCompany, add_address, create_company
from platform_core.orders.model import OrderStatus
from platform_core.orders.ports import OrderFilter, PaymentNotification, PaymentOutcome
from platform_core.orders.service import (
    CancelUnpaidOrder,
    CreateDraftOrder,
    RecordManualOrderPayment,
    SendCheckout,
    cancel_unpaid_order,
    create_draft_order,
    handle_payment_notification,
    list_orders,
    record_manual_order_payment,
    send_checkout,
)
from platform_core.pricing.model import QuoteLine
from platform_core.pricing.service import (
    ChangeEntryPrice,
    CreateProduct,
    change_entry_price,
    create_product,
)
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError
from platform_core.shared.money import Money


@pytest.fixture
async def demo() -> Demo:
    return await Demo.start(io.StringIO())


def draft_command(demo: Demo, lines: list[QuoteLine], **changes: object) -> CreateDraftOrder:
    command = CreateDraftOrder(
        demo.seeded.company_id, demo.seeded.billing_contact_id,
        demo.seeded.billing_address_id, lines,
    )  # fmt: skip
    return attrs.evolve(command, **changes)


async def test_draft_keeps_each_lines_price_provenance(demo: Demo) -> None:
    """Agreement, regional and global prices are snapshotted with where they came from."""
    order = await demo.draft([("GW-100", 1), ("PRB-200", 1), ("MNT-KIT", 1)])
    sources = {item.sku: str(item.price.price_type) for item in order.items}
    assert sources == {
        "GW-100": "PRICE_AGREEMENT",
        "PRB-200": "PRICEBOOK_REGIONAL",
        "MNT-KIT": "PRICEBOOK_GLOBAL",
    }
    agreement_line = order.items[0]
    assert agreement_line.price.price_agreement_id is not None
    assert agreement_line.unit_amount == Money(44_900, CURRENCY)
    assert order.total == Money(44_900 + 11_900 + 2_500, CURRENCY)


async def test_billing_party_must_belong_to_the_company(demo: Demo) -> None:
    """An unknown contact, another company's address or an unknown currency refuse the draft."""
    other = await create_company(demo.deps, CreateCompany("Other Co", "legacy-cmp-9", "CAD"))
    foreign = await add_address(demo.deps, AddAddress(other.id, ("1 Elm St",), "Ottawa", "CA"))
    lines = [QuoteLine(demo.seeded.gateway_product_id, 1)]
    unknown_contact = draft_command(demo, lines, billing_contact_id="con_x")
    foreign_address = draft_command(demo, lines, billing_address_id=foreign.id)
    bad_currency = draft_command(demo, lines, currency="XXX")
    with pytest.raises(NotFoundError):
        await create_draft_order(demo.deps, unknown_contact)
    with pytest.raises(ValidationError) as raised:
        await create_draft_order(demo.deps, foreign_address)
    assert raised.value.details["field"] == "billing_address_id"
    with pytest.raises(ValidationError):
        await create_draft_order(demo.deps, bad_currency)
    assert await list_orders(demo.deps, OrderFilter()) == []


async def test_bad_quantities_change_nothing(demo: Demo) -> None:
    """Zero and negative quantities are refused when the line is made; nothing is stored."""
    for quantity in (0, -2):
        with pytest.raises(ValidationError):
            QuoteLine(demo.seeded.gateway_product_id, quantity)
    assert await list_orders(demo.deps, OrderFilter()) == []


async def test_checkout_is_blocked_naming_every_unsynced_line(demo: Demo) -> None:
    """Strict Stripe mode refuses the checkout and lists all lines without a synced price."""
    gadget = await create_product(demo.deps, CreateProduct("NEW-1", "Unsynced gadget"))
    bespoke = QuoteLine(demo.seeded.product_ids["MNT-KIT"], 1, Money(100, CURRENCY), "promo")
    lines = [QuoteLine(gadget.id, 1), bespoke, QuoteLine(demo.seeded.gateway_product_id, 1)]
    with pytest.raises(ValidationError):  # no price anywhere for the new product
        await create_draft_order(demo.deps, draft_command(demo, lines))
    order = await create_draft_order(demo.deps, draft_command(demo, lines[1:]))
    with pytest.raises(ValidationError) as raised:
        await send_checkout(demo.deps, SendCheckout(order.id))
    unsynced = raised.value.details["unsynced_lines"]
    assert [line["index"] for line in unsynced] == [0]
    assert demo.deps.payments.sessions == {}


async def test_checkout_refuses_a_price_changed_since_drafting(demo: Demo) -> None:
    """A repriced entry blocks the checkout (the quoted snapshot is what the customer saw)."""
    order = await demo.draft([("MNT-KIT", 1)])
    entry_id = order.items[0].price.price_book_entry_id
    assert entry_id is not None
    await change_entry_price(demo.deps, ChangeEntryPrice(entry_id, Money(2_600, CURRENCY)))
    with pytest.raises(ValidationError):  # repriced, so also unsynced
        await send_checkout(demo.deps, SendCheckout(order.id))


async def test_retried_checkout_reuses_the_session(demo: Demo) -> None:
    """Calling send_checkout again for a sent attempt is refused and opens no new session."""
    order = await demo.draft([("GW-100", 1)])
    sent = await send_checkout(demo.deps, SendCheckout(order.id))
    with pytest.raises(ConflictError):
        await send_checkout(demo.deps, SendCheckout(order.id))
    assert len(demo.deps.payments.sessions) == 1
    assert sent.status is OrderStatus.CHECKOUT_SENT


async def test_notification_for_an_unknown_order_is_ignored(demo: Demo) -> None:
    """A verified event about no order of ours is acknowledged and changes nothing."""
    note = PaymentNotification("evt_1", "checkout.session.completed", PaymentOutcome.PAID,
                               demo.clock.now(), order_id="ord_unknown")  # fmt: skip
    result = await handle_payment_notification(demo.deps, note)
    assert (result.outcome, result.order) == ("ignored", None)


async def test_manual_payment_must_match_the_total(demo: Demo) -> None:
    """A wire transfer pays the order only for its exact total, and emits order.paid."""
    order = await demo.draft([("GW-100", 1)])
    await send_checkout(demo.deps, SendCheckout(order.id))
    with pytest.raises(ConflictError):
        await record_manual_order_payment(
            demo.deps, RecordManualOrderPayment(order.id, "WIRE-1", Money(1, CURRENCY))
        )
    paid = await record_manual_order_payment(
        demo.deps, RecordManualOrderPayment(order.id, "WIRE-1", order.total)
    )
    await demo.platform.settle()
    assert paid.status is OrderStatus.PAID
    assert (await demo.fulfillment(order)).order_id == order.id


async def test_unpaid_cancel_refuses_paid_orders(demo: Demo) -> None:
    """cancel_unpaid_order cancels a draft but refuses a paid order."""
    draft = await demo.draft([("MNT-KIT", 1)])
    cancelled = await cancel_unpaid_order(demo.deps, CancelUnpaidOrder(draft.id, "typo"))
    assert cancelled.status is OrderStatus.CANCELLED
    paid = await demo.draft([("MNT-KIT", 1)])
    await demo.pay(paid)
    with pytest.raises(ConflictError):
        await cancel_unpaid_order(demo.deps, CancelUnpaidOrder(paid.id, "no"))


async def test_list_filters_by_status_and_paginates(demo: Demo) -> None:
    """The order list filters by status and pages newest first."""
    first = await demo.draft([("MNT-KIT", 1)])
    second = await demo.draft([("MNT-KIT", 2)])
    await demo.pay(second)
    paid = await list_orders(demo.deps, OrderFilter(status=OrderStatus.PAID))
    drafts = await list_orders(demo.deps, OrderFilter(status=OrderStatus.DRAFT))
    page = await list_orders(demo.deps, OrderFilter(), limit=1, offset=1)
    assert [o.id for o in paid] == [second.id]
    assert [o.id for o in drafts] == [first.id]
    assert len(page) == 1
    with pytest.raises(ValidationError):
        await list_orders(demo.deps, OrderFilter(), limit=0)
