"""The cross-context flows: invoicing a paid order (idempotently) and refunding an order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest
from billing_examples import START, BillingDepsForTests, BillingUnitOfWorkForTests, eur, usd

from adapters.persistence.memory.billing import InMemoryInvoiceRepository
from adapters.persistence.memory.store import InMemoryDatabase
from platform_core.billing.model import (
    BillingEvent,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    PaymentRecord,
    allocate,
)
from platform_core.billing.ports import BillingDeps, BillingUnitOfWork, InvoiceQuery
from platform_core.billing.service import (
    InvoiceLineSpec,
    IssueInvoiceForPaidOrder,
    PaymentSpec,
    RefundOrderPayment,
    RefundPayment,
    get_invoice,
    get_payment,
    issue_invoice_for_paid_order,
    list_invoices,
    refund_order_payment,
    refund_payment,
)
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError
from platform_core.shared.money import Money

ITEMS = (
    InvoiceLineSpec("item_1", "prod_sensor", "Soil sensor", 3, usd(2_500)),
    InvoiceLineSpec("item_2", "prod_gateway", "LoRa gateway", 1, usd(2_500)),
)


def paid_order(
    amount: Money | None = None,
    *,
    order_id: str = "ord_1",
    company_id: str = "co_1",
    reference: str = "pi_1",
    lines: tuple[InvoiceLineSpec, ...] = ITEMS,
) -> IssueInvoiceForPaidOrder:
    return IssueInvoiceForPaidOrder(
        order_id=order_id,
        company_id=company_id,
        currency="USD",
        billing_contact_id="ct_1",
        billing_address_id="addr_1",
        lines=lines,
        payment=PaymentSpec(
            method=PaymentMethod.STRIPE,
            external_reference=reference,
            amount=amount or usd(10_000),
            received_at=START - timedelta(minutes=5),
            stripe_payment_intent_id=reference,
            stripe_charge_id="ch_1",
        ),
        correlation_id="corr-ord_1",
    )


def event_types(db: InMemoryDatabase) -> list[str]:
    return [stored.event.type for stored in db.events]


async def order_payment_id(deps: BillingDeps, invoice: Invoice) -> str:
    async with deps.uow() as uow:
        (payment,) = await uow.payments.allocated_to_invoice(invoice.id)
    return payment.id


# -- issuing ------------------------------------------------------------------------------


async def test_fully_paid_order_gives_a_paid_invoice(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """Lines mirror the order items, the invoice is numbered, and the payment pays it."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order())
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.number == "INV-000001"
    assert invoice.order_id == "ord_1"
    assert (invoice.billing_contact_id, invoice.billing_address_id) == ("ct_1", "addr_1")
    assert [(line.order_item_id, line.product_id, line.total) for line in invoice.lines] == [
        ("item_1", "prod_sensor", usd(7_500)),
        ("item_2", "prod_gateway", usd(2_500)),
    ]
    assert await get_invoice(deps, invoice.id) == invoice
    payment = await get_payment(deps, await order_payment_id(deps, invoice))
    assert payment.stripe_charge_id == "ch_1"
    assert payment.available == usd(0)
    assert event_types(db) == [
        BillingEvent.INVOICE_ISSUED,
        BillingEvent.PAYMENT_RECORDED,
        BillingEvent.INVOICE_PAYMENT_ALLOCATED,
        BillingEvent.INVOICE_PAID,
    ]
    assert {stored.event.correlation_id for stored in db.events} == {"corr-ord_1"}


async def test_second_call_for_the_same_order_returns_the_invoice_and_records_nothing(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """A redelivered order.paid is harmless: one invoice, one number, no new events."""
    first = await issue_invoice_for_paid_order(deps, paid_order())
    events_before = len(db.events)
    second = await issue_invoice_for_paid_order(deps, paid_order())
    assert second == first
    assert len(db.events) == events_before
    assert db.sequences["invoice_number"] == 1
    assert len(await list_invoices(deps, InvoiceQuery(order_id="ord_1"))) == 1


async def test_concurrent_deliveries_make_one_invoice(db: InMemoryDatabase) -> None:
    """Two deliveries racing through the same steps still leave one invoice; both get it."""
    deps = RacingDeps.fresh(db)
    first, second = await asyncio.gather(
        issue_invoice_for_paid_order(deps, paid_order()),
        issue_invoice_for_paid_order(deps, paid_order()),
    )
    assert first.id == second.id
    assert len(db.table("invoices")) == 1
    assert len(db.table("payments")) == 1
    assert event_types(db).count(BillingEvent.INVOICE_ISSUED) == 1


async def test_underpaid_order_gives_a_partially_paid_invoice(deps: BillingDeps) -> None:
    """A payment below the total is allocated whole and leaves a balance."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order(usd(6_000)))
    assert invoice.status is InvoiceStatus.PARTIALLY_PAID
    assert invoice.balance == usd(4_000)


async def test_overpaid_order_keeps_the_rest_on_the_payment(deps: BillingDeps) -> None:
    """Only the balance is allocated; the rest stays available on the payment."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order(usd(12_000)))
    payment = await get_payment(deps, await order_payment_id(deps, invoice))
    assert invoice.status is InvoiceStatus.PAID
    assert payment.available == usd(2_000)


async def test_payment_already_recorded_is_reused(deps: BillingDeps, db: InMemoryDatabase) -> None:
    """The same payment reference for a second order reuses the payment's remaining money."""
    first = await issue_invoice_for_paid_order(deps, paid_order(usd(15_000)))
    one_item = (InvoiceLineSpec("item_9", "prod_sensor", "Soil sensor", 1, usd(5_000)),)
    second = await issue_invoice_for_paid_order(
        deps, paid_order(usd(15_000), order_id="ord_2", lines=one_item)
    )
    assert second.status is InvoiceStatus.PAID
    assert len(db.table("payments")) == 1
    assert event_types(db).count(BillingEvent.PAYMENT_RECORDED) == 1
    payment = await get_payment(deps, await order_payment_id(deps, first))
    assert payment.available == usd(0)


async def test_payment_reference_of_another_company_is_a_conflict(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """A reference already recorded for another company stops the flow with nothing stored."""
    await issue_invoice_for_paid_order(deps, paid_order())
    events_before = len(db.events)
    with pytest.raises(ConflictError):
        await issue_invoice_for_paid_order(deps, paid_order(order_id="ord_2", company_id="co_2"))
    assert await list_invoices(deps, InvoiceQuery(order_id="ord_2")) == []
    assert len(db.events) == events_before
    assert db.sequences["invoice_number"] == 1


async def test_items_in_another_currency_are_refused_without_using_a_number(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """Bad event data is a validation error; the number sequence does not move."""
    bad = (InvoiceLineSpec("item_1", "prod_1", "Sensor", 1, eur(100)),)
    with pytest.raises(ValidationError):
        await issue_invoice_for_paid_order(deps, paid_order(lines=bad))
    assert db.sequences.get("invoice_number", 0) == 0
    assert db.events == []


async def test_payment_in_another_currency_is_refused(deps: BillingDeps) -> None:
    """The order's payment must be in the invoice currency."""
    command = paid_order()
    command = attrs.evolve(command, payment=attrs.evolve(command.payment, amount=eur(10_000)))
    with pytest.raises(ValidationError):
        await issue_invoice_for_paid_order(deps, command)


# -- refunding ----------------------------------------------------------------------------


async def test_full_order_refund_reopens_the_invoice(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """No amount refunds everything paid: the invoice is issued again with its whole balance."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order())
    refunded = await refund_order_payment(deps, RefundOrderPayment("ord_1", None, "re_1"))
    assert refunded.id == invoice.id
    assert refunded.status is InvoiceStatus.ISSUED
    assert refunded.balance == usd(10_000)
    assert await get_invoice(deps, invoice.id) == refunded
    assert event_types(db)[-2:] == [BillingEvent.PAYMENT_REFUNDED, BillingEvent.INVOICE_REFUNDED]


async def test_partial_order_refund_leaves_it_partially_paid(deps: BillingDeps) -> None:
    """Refunding part re-opens that part of the balance."""
    await issue_invoice_for_paid_order(deps, paid_order())
    invoice = await refund_order_payment(deps, RefundOrderPayment("ord_1", usd(2_500), "re_1"))
    assert invoice.status is InvoiceStatus.PARTIALLY_PAID
    assert invoice.balance == usd(2_500)


async def test_order_refund_is_idempotent_per_reference(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """The same refund delivered twice changes the books once."""
    await issue_invoice_for_paid_order(deps, paid_order())
    first = await refund_order_payment(deps, RefundOrderPayment("ord_1", usd(2_500), "re_1"))
    events_before = len(db.events)
    second = await refund_order_payment(deps, RefundOrderPayment("ord_1", usd(2_500), "re_1"))
    assert second == first
    assert len(db.events) == events_before


async def test_order_refund_spreads_over_the_order_s_payments(deps: BillingDeps) -> None:
    """An order paid twice is refunded from its latest payment first, then the earlier one."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order(usd(6_000)))
    async with deps.uow() as uow:
        await _record_second_payment(deps, uow, invoice)
    refunded = await refund_order_payment(deps, RefundOrderPayment("ord_1", usd(7_000), "re_1"))
    assert refunded.allocated == usd(3_000)
    async with deps.uow() as uow:
        latest, earliest = await uow.payments.allocated_to_invoice(invoice.id)
    assert latest.refunded == usd(4_000)
    assert earliest.refunded == usd(3_000)


async def test_order_refund_above_what_was_paid_is_refused(deps: BillingDeps) -> None:
    """More than the order's refundable money is refused and nothing changes."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order())
    with pytest.raises(ValidationError) as error:
        await refund_order_payment(deps, RefundOrderPayment("ord_1", usd(10_001), "re_1"))
    assert error.value.details["field"] == "amount"
    assert await get_invoice(deps, invoice.id) == invoice


async def test_order_refund_in_another_currency_is_refused(deps: BillingDeps) -> None:
    """The refund is in the order's currency."""
    await issue_invoice_for_paid_order(deps, paid_order())
    with pytest.raises(ValidationError) as error:
        await refund_order_payment(deps, RefundOrderPayment("ord_1", eur(100), "re_1"))
    assert error.value.details["field"] == "currency"


async def test_fully_refunded_order_refuses_another_refund(deps: BillingDeps) -> None:
    """Once everything is refunded, a new refund has nothing to take."""
    invoice = await issue_invoice_for_paid_order(deps, paid_order())
    await refund_payment(
        deps, RefundPayment(await order_payment_id(deps, invoice), "re_1", usd(10_000))
    )
    with pytest.raises(ValidationError):
        await refund_order_payment(deps, RefundOrderPayment("ord_1", None, "re_2"))


async def test_refund_of_an_order_without_invoice_is_not_found(deps: BillingDeps) -> None:
    """Billing cannot refund an order it never invoiced."""
    with pytest.raises(NotFoundError):
        await refund_order_payment(deps, RefundOrderPayment("ord_404", None, "re_1"))


# -- wiring for the tests above -----------------------------------------------------------


async def _record_second_payment(
    deps: BillingDeps, uow: BillingUnitOfWork, invoice: Invoice
) -> None:
    """A second (manual) payment of 40.00 for the order's invoice, allocated a minute later."""
    payment, events = PaymentRecord.record(
        payment_id="pay_manual",
        company_id=invoice.company_id,
        method=PaymentMethod.MANUAL,
        external_reference="BANK-1",
        amount=usd(4_000),
        received_at=START,
        at=START,
    )
    stored = await uow.invoices.get(invoice.id)
    payment, stored, more = allocate(
        payment,
        stored,
        allocation_id="alloc_manual",
        amount=usd(4_000),
        at=START + timedelta(minutes=1),
    )
    await uow.payments.add(payment)
    await uow.invoices.update(stored)
    await uow.events.record([*events, *more])
    await uow.commit()


class YieldingInvoiceRepository(InMemoryInvoiceRepository):
    """Lets other tasks run between reading and answering, so two deliveries both see "no
    invoice yet" before either commits, as they can with real I/O."""

    async def for_order(self, order_id: str) -> Invoice | None:
        found = await super().for_order(order_id)
        await asyncio.sleep(0)
        return found


class RacingUnitOfWork(BillingUnitOfWorkForTests):
    @property
    def invoices(self) -> YieldingInvoiceRepository:
        return YieldingInvoiceRepository(self._tx)


class RacingDeps(BillingDepsForTests):
    def uow(self) -> RacingUnitOfWork:
        return RacingUnitOfWork(self.db, self.ids)
