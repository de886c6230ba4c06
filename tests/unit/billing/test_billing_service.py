"""Billing use cases over the in-memory adapters: drafts, issue, void, payments, overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from billing_examples import START, eur, usd

from adapters.clock import FixedClock
from adapters.persistence.memory.store import InMemoryDatabase
from platform_core.billing.model import (
    BillingEvent,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    PaymentRecord,
    PercentDiscount,
)
from platform_core.billing.ports import BillingDeps, InvoiceQuery
from platform_core.billing.service import (
    AddInvoiceLine,
    AdjustInvoiceLine,
    AllocatePayment,
    CreateDraftInvoice,
    IssueInvoice,
    MarkOverdueInvoices,
    NewInvoiceLine,
    RecordManualPayment,
    RefundPayment,
    RemoveInvoiceLine,
    VoidInvoice,
    add_invoice_line,
    adjust_invoice_line,
    allocate_payment,
    create_draft_invoice,
    get_invoice,
    get_payment,
    issue_invoice,
    list_invoice_allocations,
    list_invoices,
    mark_overdue_invoices,
    record_manual_payment,
    refund_payment,
    remove_invoice_line,
    void_invoice,
)
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    NotFoundError,
    ValidationError,
)
from platform_core.shared.money import Money

SENSOR = NewInvoiceLine("Sensor kit", 2, usd(5_000), product_id="prod_1")


def recorded_types(db: InMemoryDatabase) -> list[str]:
    return [stored.event.type for stored in db.events]


async def draft(deps: BillingDeps, *lines: NewInvoiceLine, company_id: str = "co_1") -> Invoice:
    return await create_draft_invoice(
        deps, CreateDraftInvoice(company_id, "USD", lines or (SENSOR,))
    )


async def issued(deps: BillingDeps, *lines: NewInvoiceLine, company_id: str = "co_1") -> Invoice:
    invoice = await draft(deps, *lines, company_id=company_id)
    return await issue_invoice(deps, IssueInvoice(invoice.id))


# -- drafts -------------------------------------------------------------------------------


async def test_create_draft_invoice_stores_a_draft_with_new_line_ids(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """A manual draft is stored with generated ids and announces nothing."""
    invoice = await create_draft_invoice(
        deps,
        CreateDraftInvoice(
            "co_1", "USD", (SENSOR,), billing_contact_id="ct_1", billing_address_id="addr_1"
        ),
    )
    assert invoice.id == "inv_000001"
    assert [line.id for line in invoice.lines] == ["invl_000001"]
    assert invoice.total == usd(10_000)
    assert invoice.created_at == START
    assert invoice.billing_contact_id == "ct_1"
    assert await get_invoice(deps, invoice.id) == invoice
    assert recorded_types(db) == []


async def test_create_draft_invoice_refuses_mixed_currencies(deps: BillingDeps) -> None:
    """A EUR line on a USD invoice is refused and nothing is stored."""
    command = CreateDraftInvoice("co_1", "USD", (SENSOR, NewInvoiceLine("Gateway", 1, eur(100))))
    with pytest.raises(ValidationError) as error:
        await create_draft_invoice(deps, command)
    assert error.value.details["field"] == "lines"
    assert await list_invoices(deps, InvoiceQuery()) == []


async def test_create_draft_invoice_refuses_negative_quantity(deps: BillingDeps) -> None:
    """Negative quantities never reach the store."""
    with pytest.raises(ValidationError) as error:
        await create_draft_invoice(
            deps, CreateDraftInvoice("co_1", "USD", (NewInvoiceLine("Sensor", -1, usd(100)),))
        )
    assert error.value.details["field"] == "quantity"


async def test_draft_lines_can_be_added_adjusted_and_removed(deps: BillingDeps) -> None:
    """Each edit is stored and bumps the version."""
    invoice = await draft(deps)
    invoice = await add_invoice_line(
        deps, AddInvoiceLine(invoice.id, NewInvoiceLine("Bracket", 4, usd(250)))
    )
    invoice = await adjust_invoice_line(
        deps, AdjustInvoiceLine(invoice.id, "invl_000001", PercentDiscount("Partner", 1_000))
    )
    assert invoice.total == usd(9_000 + 1_000)
    invoice = await remove_invoice_line(deps, RemoveInvoiceLine(invoice.id, "invl_000002"))
    assert invoice.total == usd(9_000)
    assert invoice.version == 4
    assert await get_invoice(deps, invoice.id) == invoice


async def test_issued_invoice_lines_cannot_be_edited(deps: BillingDeps) -> None:
    """After issue every edit is an illegal transition and the stored invoice is unchanged."""
    invoice = await issued(deps)
    with pytest.raises(IllegalTransition):
        await add_invoice_line(deps, AddInvoiceLine(invoice.id, SENSOR))
    with pytest.raises(IllegalTransition):
        await remove_invoice_line(deps, RemoveInvoiceLine(invoice.id, "invl_000001"))
    assert await get_invoice(deps, invoice.id) == invoice


async def test_editing_an_unknown_invoice_is_not_found(deps: BillingDeps) -> None:
    """Unknown ids map to NOT_FOUND."""
    with pytest.raises(NotFoundError):
        await add_invoice_line(deps, AddInvoiceLine("inv_404", SENSOR))


# -- issue and void -----------------------------------------------------------------------


async def test_issue_invoice_numbers_invoices_in_order(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """Invoices get INV-000001, INV-000002... and a due date from their terms."""
    first = await issued(deps)
    second_draft = await draft(deps)
    second = await issue_invoice(deps, IssueInvoice(second_draft.id, payment_terms_days=15))
    assert (first.number, second.number) == ("INV-000001", "INV-000002")
    assert first.due_date == START + timedelta(days=30)
    assert second.due_date == START + timedelta(days=15)
    assert recorded_types(db) == [BillingEvent.INVOICE_ISSUED] * 2


async def test_failed_issue_does_not_use_up_a_number(deps: BillingDeps) -> None:
    """Numbers are gap-free: a refused issue leaves its number for the next invoice."""
    empty = await create_draft_invoice(deps, CreateDraftInvoice("co_1", "USD"))
    with pytest.raises(ValidationError):
        await issue_invoice(deps, IssueInvoice(empty.id))
    invoice = await issued(deps)
    assert invoice.number == "INV-000001"
    assert (await get_invoice(deps, empty.id)).status is InvoiceStatus.DRAFT


async def test_issue_stamps_the_correlation_id(deps: BillingDeps, db: InMemoryDatabase) -> None:
    """Events carry the flow's correlation id."""
    invoice = await draft(deps)
    await issue_invoice(deps, IssueInvoice(invoice.id, correlation_id="req-1"))
    assert [s.event.correlation_id for s in db.events] == ["req-1"]


async def test_void_invoice_records_reason_and_event(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """Voiding an issued invoice stores the reason and emits invoice.voided."""
    invoice = await issued(deps)
    voided = await void_invoice(deps, VoidInvoice(invoice.id, "Issued to the wrong company"))
    assert voided.status is InvoiceStatus.VOID
    assert voided.void_reason == "Issued to the wrong company"
    assert voided.number == "INV-000001"
    assert recorded_types(db)[-1] == BillingEvent.INVOICE_VOIDED


async def test_void_invoice_requires_a_reason(deps: BillingDeps) -> None:
    """A blank reason is refused and the invoice stays issued."""
    invoice = await issued(deps)
    with pytest.raises(ValidationError):
        await void_invoice(deps, VoidInvoice(invoice.id, " "))
    assert (await get_invoice(deps, invoice.id)).status is InvoiceStatus.ISSUED


async def test_paid_invoice_cannot_be_voided(deps: BillingDeps) -> None:
    """Money on an invoice blocks voiding; refund it first."""
    invoice = await issued(deps)
    await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", usd(10_000)))
    with pytest.raises(IllegalTransition):
        await void_invoice(deps, VoidInvoice(invoice.id, "mistake"))


# -- manual payments ----------------------------------------------------------------------


async def test_manual_payment_of_the_balance_pays_the_invoice(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """The payment is recorded, allocated, and the invoice becomes paid, in one transaction."""
    invoice = await issued(deps)
    payment = await record_manual_payment(
        deps, RecordManualPayment(invoice.id, "BANK-2026-01", usd(10_000), notes="wire")
    )
    assert payment.method is PaymentMethod.MANUAL
    assert payment.company_id == "co_1"
    assert payment.received_at == START
    assert payment.available == usd(0)
    assert (await get_invoice(deps, invoice.id)).status is InvoiceStatus.PAID
    assert recorded_types(db)[1:] == [
        BillingEvent.PAYMENT_RECORDED,
        BillingEvent.INVOICE_PAYMENT_ALLOCATED,
        BillingEvent.INVOICE_PAID,
    ]
    allocations = await list_invoice_allocations(deps, invoice.id)
    assert [(a.payment_id, a.amount) for a in allocations] == [(payment.id, usd(10_000))]


async def test_manual_payment_of_part_makes_it_partially_paid(deps: BillingDeps) -> None:
    """A smaller payment leaves a balance."""
    invoice = await issued(deps)
    await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", usd(2_500)))
    stored = await get_invoice(deps, invoice.id)
    assert stored.status is InvoiceStatus.PARTIALLY_PAID
    assert stored.balance == usd(7_500)


async def test_manual_payment_above_the_balance_is_refused(
    deps: BillingDeps, db: InMemoryDatabase
) -> None:
    """More than the balance is a validation error and nothing is recorded."""
    invoice = await issued(deps)
    with pytest.raises(ValidationError) as error:
        await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", usd(10_001)))
    assert error.value.details["field"] == "amount"
    assert await get_invoice(deps, invoice.id) == invoice
    assert recorded_types(db) == [BillingEvent.INVOICE_ISSUED]


async def test_manual_payment_in_another_currency_is_refused(deps: BillingDeps) -> None:
    """An EUR payment for a USD invoice is refused."""
    invoice = await issued(deps)
    with pytest.raises(ValidationError):
        await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", eur(100)))


async def test_manual_payment_reference_is_unique(deps: BillingDeps) -> None:
    """The same external reference cannot be recorded twice."""
    invoice = await issued(deps)
    await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", usd(1_000)))
    with pytest.raises(ConflictError) as error:
        await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", usd(1_000)))
    assert error.value.details["field"] == "external_reference"
    assert (await get_invoice(deps, invoice.id)).allocated == usd(1_000)


async def test_manual_payment_to_a_draft_is_illegal(deps: BillingDeps) -> None:
    """Drafts are not owed yet."""
    invoice = await draft(deps)
    with pytest.raises(IllegalTransition):
        await record_manual_payment(deps, RecordManualPayment(invoice.id, "BANK-1", usd(1_000)))


async def test_manual_payment_received_in_the_future_is_refused(
    deps: BillingDeps, clock: FixedClock
) -> None:
    """A payment cannot be received after it is recorded."""
    invoice = await issued(deps)
    command = RecordManualPayment(
        invoice.id, "BANK-1", usd(1_000), received_at=clock.now() + timedelta(days=1)
    )
    with pytest.raises(ValidationError) as error:
        await record_manual_payment(deps, command)
    assert error.value.details["field"] == "received_at"


# -- allocating existing payments ---------------------------------------------------------


async def seed_payment(deps: BillingDeps, amount: Money, company_id: str = "co_1") -> str:
    """A payment with nothing allocated yet, as another flow (e.g. Stripe) would record it."""
    payment, events = PaymentRecord.record(
        payment_id=deps.ids.new_id("pay"),
        company_id=company_id,
        method=PaymentMethod.STRIPE,
        external_reference=deps.ids.new_id("pi"),
        amount=amount,
        received_at=START,
        at=START,
    )
    async with deps.uow() as uow:
        await uow.payments.add(payment)
        await uow.events.record(events)
        await uow.commit()
    return payment.id


async def test_allocate_payment_defaults_to_what_both_allow(deps: BillingDeps) -> None:
    """Without an amount, min(payment available, invoice balance) is allocated each time."""
    payment_id = await seed_payment(deps, usd(15_000))
    small = await issued(deps, NewInvoiceLine("Sensor", 1, usd(4_000)))
    large = await issued(deps, NewInvoiceLine("Gateway", 1, usd(9_000)))
    rest = await issued(deps, NewInvoiceLine("Bracket", 1, usd(5_000)))

    amounts = [
        (await allocate_payment(deps, AllocatePayment(payment_id, invoice.id))).amount
        for invoice in (small, large, rest)
    ]

    assert amounts == [usd(4_000), usd(9_000), usd(2_000)]
    assert (await get_payment(deps, payment_id)).available == usd(0)
    assert (await get_invoice(deps, large.id)).status is InvoiceStatus.PAID
    assert (await get_invoice(deps, rest.id)).status is InvoiceStatus.PARTIALLY_PAID
    with pytest.raises(ValidationError) as error:
        await allocate_payment(deps, AllocatePayment(payment_id, rest.id))
    assert error.value.details["field"] == "amount"


async def test_allocate_payment_with_an_explicit_amount(deps: BillingDeps) -> None:
    """An explicit amount is allocated as asked, never above the balance."""
    payment_id = await seed_payment(deps, usd(10_000))
    invoice = await issued(deps, NewInvoiceLine("Sensor", 1, usd(9_000)))
    allocation = await allocate_payment(deps, AllocatePayment(payment_id, invoice.id, usd(3_000)))
    assert (allocation.payment_id, allocation.invoice_id) == (payment_id, invoice.id)
    with pytest.raises(ValidationError) as error:
        await allocate_payment(deps, AllocatePayment(payment_id, invoice.id, usd(6_001)))
    assert error.value.details["field"] == "amount"
    assert (await get_payment(deps, payment_id)).available == usd(7_000)
    assert (await get_invoice(deps, invoice.id)).balance == usd(6_000)


async def test_allocate_payment_refuses_another_company_s_invoice(deps: BillingDeps) -> None:
    """A payment only pays its own company's invoices; nothing changes."""
    payment_id = await seed_payment(deps, usd(10_000), company_id="co_1")
    foreign = await issued(deps, company_id="co_2")
    with pytest.raises(ValidationError) as error:
        await allocate_payment(deps, AllocatePayment(payment_id, foreign.id, usd(100)))
    assert error.value.details["field"] == "invoice_id"
    assert (await get_invoice(deps, foreign.id)).allocated == usd(0)


async def test_allocate_payment_refuses_mixed_currencies(deps: BillingDeps) -> None:
    """An EUR payment cannot be allocated to a USD invoice, with or without an amount."""
    payment_id = await seed_payment(deps, eur(10_000))
    invoice = await issued(deps)
    for amount in (None, eur(100), usd(100)):
        with pytest.raises(ValidationError):
            await allocate_payment(deps, AllocatePayment(payment_id, invoice.id, amount))
    assert (await get_payment(deps, payment_id)).allocations == ()


async def test_allocate_payment_needs_both_to_exist(deps: BillingDeps) -> None:
    """Unknown payments or invoices map to NOT_FOUND."""
    payment_id = await seed_payment(deps, usd(100))
    with pytest.raises(NotFoundError):
        await allocate_payment(deps, AllocatePayment(payment_id, "inv_404"))
    with pytest.raises(NotFoundError):
        await allocate_payment(deps, AllocatePayment("pay_404", "inv_404"))


# -- refunds ------------------------------------------------------------------------------


async def test_full_refund_reopens_the_invoice(deps: BillingDeps, db: InMemoryDatabase) -> None:
    """Refunding everything makes the paid invoice issued again with its whole balance."""
    invoice = await issued(deps)
    payment = await record_manual_payment(deps, RecordManualPayment(invoice.id, "B", usd(10_000)))
    refunded = await refund_payment(deps, RefundPayment(payment.id, "re_1"))
    assert refunded.refunded == usd(10_000)
    reopened = await get_invoice(deps, invoice.id)
    assert reopened.status is InvoiceStatus.ISSUED
    assert reopened.balance == usd(10_000)
    assert recorded_types(db)[-2:] == [
        BillingEvent.PAYMENT_REFUNDED,
        BillingEvent.INVOICE_REFUNDED,
    ]


async def test_refund_is_idempotent_per_reference(deps: BillingDeps, db: InMemoryDatabase) -> None:
    """Repeating a refund with its reference records nothing more."""
    invoice = await issued(deps)
    payment = await record_manual_payment(deps, RecordManualPayment(invoice.id, "B", usd(10_000)))
    await refund_payment(deps, RefundPayment(payment.id, "re_1", usd(3_000)))
    events_before = len(recorded_types(db))
    again = await refund_payment(deps, RefundPayment(payment.id, "re_1", usd(3_000)))
    whole_again = await refund_payment(deps, RefundPayment(payment.id, "re_1"))
    assert again.refunded == whole_again.refunded == usd(3_000)
    assert len(recorded_types(db)) == events_before
    assert (await get_invoice(deps, invoice.id)).balance == usd(3_000)


async def test_refund_beyond_the_payment_is_refused(deps: BillingDeps) -> None:
    """Refunds never exceed what was paid; a fully refunded payment refuses more."""
    invoice = await issued(deps)
    payment = await record_manual_payment(deps, RecordManualPayment(invoice.id, "B", usd(10_000)))
    with pytest.raises(ValidationError):
        await refund_payment(deps, RefundPayment(payment.id, "re_1", usd(10_001)))
    await refund_payment(deps, RefundPayment(payment.id, "re_1"))
    with pytest.raises(ValidationError):
        await refund_payment(deps, RefundPayment(payment.id, "re_2"))


async def test_refunding_an_unknown_payment_is_not_found(deps: BillingDeps) -> None:
    """Unknown payments map to NOT_FOUND."""
    with pytest.raises(NotFoundError):
        await refund_payment(deps, RefundPayment("pay_404", "re_1"))


# -- overdue ------------------------------------------------------------------------------


async def test_mark_overdue_invoices_announces_each_once(
    deps: BillingDeps, db: InMemoryDatabase, clock: FixedClock
) -> None:
    """Past-due open invoices get one invoice.overdue each; paid and current ones none."""
    late = await issued(deps)
    late_partly_paid = await issued(deps)
    await record_manual_payment(deps, RecordManualPayment(late_partly_paid.id, "B", usd(100)))
    paid = await issued(deps)
    await record_manual_payment(deps, RecordManualPayment(paid.id, "B2", usd(10_000)))
    clock.advance(timedelta(days=20))
    current = await issued(deps)
    clock.advance(timedelta(days=11))

    flagged = await mark_overdue_invoices(deps, MarkOverdueInvoices(correlation_id="cron-1"))
    again = await mark_overdue_invoices(deps, MarkOverdueInvoices())

    assert sorted(invoice.id for invoice in flagged) == sorted([late.id, late_partly_paid.id])
    assert again == []
    overdue_events = [s.event for s in db.events if s.event.type == "invoice.overdue"]
    assert len(overdue_events) == 2
    assert {event.correlation_id for event in overdue_events} == {"cron-1"}
    assert (await get_invoice(deps, current.id)).overdue_notified_at is None


async def test_mark_overdue_invoices_works_through_a_backlog(
    deps: BillingDeps, clock: FixedClock
) -> None:
    """With a small limit, successive runs reach every overdue invoice."""
    for _ in range(3):
        await issued(deps)
    clock.advance(timedelta(days=31))
    runs = [await mark_overdue_invoices(deps, MarkOverdueInvoices(limit=2)) for _ in range(3)]
    assert [len(run) for run in runs] == [2, 1, 0]


# -- reading ------------------------------------------------------------------------------


async def test_list_invoices_filters_by_company_and_status(deps: BillingDeps) -> None:
    """Listing applies every filter given."""
    a_draft = await draft(deps)
    an_issued = await issued(deps)
    other_company = await issued(deps, company_id="co_2")
    by_company = await list_invoices(deps, InvoiceQuery(company_id="co_1"))
    issued_only = await list_invoices(deps, InvoiceQuery(statuses={InvoiceStatus.ISSUED}))
    assert [i.id for i in by_company] == [a_draft.id, an_issued.id]
    assert [i.id for i in issued_only] == [an_issued.id, other_company.id]


async def test_listing_allocations_of_an_unknown_invoice_is_not_found(deps: BillingDeps) -> None:
    """An unknown invoice is NOT_FOUND rather than an empty list."""
    with pytest.raises(NotFoundError):
        await list_invoice_allocations(deps, "inv_404")
