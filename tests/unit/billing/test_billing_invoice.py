"""The Invoice aggregate: drafting, editing, issuing, allocating, releasing, voiding, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from billing_examples import START, draft_invoice, eur, issued_invoice, line, usd

from platform_core.billing.model import (
    INVOICE_MACHINE,
    BillingEvent,
    Invoice,
    InvoiceStatus,
    InvoiceTrigger,
    PercentDiscount,
    format_invoice_number,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError

S, T = InvoiceStatus, InvoiceTrigger

EXPECTED_TRANSITIONS = {
    (S.DRAFT, T.ISSUE): S.ISSUED,
    (S.ISSUED, T.ALLOCATE_PARTIAL): S.PARTIALLY_PAID,
    (S.ISSUED, T.ALLOCATE_FULL): S.PAID,
    (S.PARTIALLY_PAID, T.ALLOCATE_FULL): S.PAID,
    (S.PARTIALLY_PAID, T.ALLOCATE_PARTIAL): S.PARTIALLY_PAID,
    (S.PAID, T.REFUND_PARTIAL): S.PARTIALLY_PAID,
    (S.PAID, T.REFUND_FULL): S.ISSUED,
    (S.PARTIALLY_PAID, T.REFUND_PARTIAL): S.PARTIALLY_PAID,
    (S.PARTIALLY_PAID, T.REFUND_FULL): S.ISSUED,
    (S.DRAFT, T.VOID): S.VOID,
    (S.ISSUED, T.VOID): S.VOID,
    # Guards expressed as self-loops: lines are edited only in draft, and only open
    # invoices are announced overdue.
    (S.DRAFT, T.EDIT_LINES): S.DRAFT,
    (S.ISSUED, T.NOTIFY_OVERDUE): S.ISSUED,
    (S.PARTIALLY_PAID, T.NOTIFY_OVERDUE): S.PARTIALLY_PAID,
}


def partially_paid(paid: int = 4_000, total: int = 10_000) -> Invoice:
    invoice, _ = issued_invoice(usd(total)).allocate(
        payment_id="pay_1", allocation_id="alloc_1", amount=usd(paid), at=START
    )
    return invoice


def paid(total: int = 10_000) -> Invoice:
    invoice, _ = issued_invoice(usd(total)).allocate(
        payment_id="pay_1", allocation_id="alloc_1", amount=usd(total), at=START
    )
    return invoice


def voided() -> Invoice:
    invoice, _ = draft_invoice(line()).void(reason="duplicate", at=START)
    return invoice


# -- the transition table -----------------------------------------------------------------


def test_transition_table_is_exactly_the_invoice_lifecycle() -> None:
    """The machine holds the documented transitions and nothing else."""
    assert dict(INVOICE_MACHINE.transitions) == EXPECTED_TRANSITIONS
    assert INVOICE_MACHINE.initial is S.DRAFT
    assert INVOICE_MACHINE.terminal == {S.VOID}
    assert INVOICE_MACHINE.derived == {S.OVERDUE}


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(s, t) for s in InvoiceStatus for t in InvoiceTrigger if (s, t) not in EXPECTED_TRANSITIONS],
)
def test_every_other_state_trigger_pair_is_refused(
    state: InvoiceStatus, trigger: InvoiceTrigger
) -> None:
    """Anything outside the table raises IllegalTransition (CONFLICT at the edges)."""
    with pytest.raises(IllegalTransition):
        INVOICE_MACHINE.next_state(state, trigger)


# -- drafting and editing -----------------------------------------------------------------


def test_draft_totals_its_lines_and_announces_nothing() -> None:
    """A new draft owes the sum of its lines, has no number and emits no event."""
    invoice, events = Invoice.draft(
        invoice_id="inv_1",
        company_id="co_1",
        currency="USD",
        at=START,
        lines=[line("invl_1", quantity=2), line("invl_2", unit_amount=usd(550))],
    )
    assert events == []
    assert invoice.status is S.DRAFT
    assert invoice.number is None
    assert invoice.total == usd(20_550)
    assert invoice.balance == invoice.total
    assert invoice.allocated == usd(0)
    assert invoice.version == 1


def test_draft_refuses_lines_in_another_currency() -> None:
    """Mixed currencies on one invoice are refused with the lines field."""
    with pytest.raises(ValidationError) as error:
        draft_invoice(line("invl_1"), line("invl_2", unit_amount=eur(100)))
    assert error.value.details["field"] == "lines"


def test_draft_refuses_unknown_currency() -> None:
    """An invoice currency must be a known ISO 4217 code."""
    with pytest.raises(ValidationError) as error:
        draft_invoice(currency="ABC")
    assert error.value.details["field"] == "currency"


def test_draft_refuses_repeated_line_ids() -> None:
    """Two lines with one id would make edits ambiguous."""
    with pytest.raises(ValidationError) as error:
        draft_invoice(line("invl_1"), line("invl_1"))
    assert error.value.details["field"] == "lines"


@pytest.mark.parametrize(("invoice_id", "company_id"), [(" ", "co_1"), ("inv_1", "")])
def test_draft_refuses_empty_ids(invoice_id: str, company_id: str) -> None:
    """Ids are required."""
    with pytest.raises(ValidationError):
        Invoice.draft(invoice_id=invoice_id, company_id=company_id, currency="USD", at=START)


def test_draft_refuses_a_naive_datetime() -> None:
    """Every instant in the core carries a time zone."""
    with pytest.raises(ValidationError) as error:
        Invoice.draft(
            invoice_id="inv_1", company_id="co_1", currency="USD", at=datetime(2026, 1, 1)
        )
    assert error.value.details["field"] == "created_at"


def test_stored_status_can_never_be_overdue() -> None:
    """Overdue is derived; an invoice built with it is refused."""
    with pytest.raises(ValidationError) as error:
        attrs.evolve(issued_invoice(), status=S.OVERDUE)
    assert error.value.details["field"] == "status"


def test_allocated_must_fit_the_status() -> None:
    """A paid invoice whose allocations do not cover the total cannot exist."""
    with pytest.raises(ValidationError) as error:
        attrs.evolve(issued_invoice(), status=S.PAID, allocated=usd(10))
    assert error.value.details["field"] == "allocated"


def test_add_remove_and_adjust_lines_in_draft() -> None:
    """A draft's lines can be added, adjusted and removed; the old value never changes."""
    original = draft_invoice(line("invl_1"))
    added, _ = original.add_line(line("invl_2", unit_amount=usd(500)))
    adjusted, _ = added.adjust_line("invl_1", PercentDiscount("Partner", 1_000))
    removed, events = adjusted.remove_line("invl_2")
    assert events == []
    assert original.total == usd(10_000)
    assert added.total == usd(10_500)
    assert adjusted.total == usd(9_500)
    assert removed.total == usd(9_000)
    assert [item.id for item in removed.lines] == ["invl_1"]


def test_unknown_line_is_refused() -> None:
    """Removing or adjusting a line the invoice does not have is a validation error."""
    invoice = draft_invoice(line("invl_1"))
    with pytest.raises(ValidationError) as error:
        invoice.remove_line("invl_9")
    assert error.value.details["field"] == "line_id"


def test_adding_a_line_with_a_used_id_is_refused() -> None:
    """Line ids stay unique within an invoice."""
    with pytest.raises(ValidationError):
        draft_invoice(line("invl_1")).add_line(line("invl_1"))


def test_adding_a_line_in_another_currency_is_refused() -> None:
    """A draft stays in one currency."""
    invoice = draft_invoice(line("invl_1"))
    with pytest.raises(ValidationError) as error:
        invoice.add_line(line("invl_2", unit_amount=eur(100)))
    assert error.value.details["field"] == "lines"
    assert invoice.lines == (line("invl_1"),)


@pytest.mark.parametrize("make", [issued_invoice, partially_paid, paid, voided])
def test_lines_are_editable_only_in_draft(make: object) -> None:
    """Editing a non-draft invoice is an illegal transition and changes nothing."""
    invoice = make()  # type: ignore[operator]
    before = attrs.asdict(invoice, recurse=False)
    with pytest.raises(IllegalTransition):
        invoice.add_line(line("invl_9"))
    with pytest.raises(IllegalTransition):
        invoice.remove_line("invl_1")
    with pytest.raises(IllegalTransition):
        invoice.adjust_line("invl_1", PercentDiscount("Late", 100))
    assert attrs.asdict(invoice, recurse=False) == before


# -- issuing ------------------------------------------------------------------------------


def test_issue_assigns_number_and_due_date_and_announces_it() -> None:
    """Issuing gives INV-000042, a due date 30 days on, and emits invoice.issued."""
    draft = draft_invoice(line(), order_id="ord_1")
    invoice, events = draft.issue(number=42, at=START)
    assert invoice.status is S.ISSUED
    assert invoice.number == "INV-000042"
    assert invoice.issued_at == START
    assert invoice.due_date == START + timedelta(days=30)
    assert [event.type for event in events] == [BillingEvent.INVOICE_ISSUED]
    event = events[0]
    assert event.aggregate_type == "invoice"
    assert event.aggregate_id == "inv_1"
    assert event.source_module == "billing"
    assert event.occurred_at == START
    assert event.payload["number"] == "INV-000042"
    assert event.payload["order_id"] == "ord_1"
    assert event.payload["total"] == {"amount": 10_000, "currency": "USD"}
    assert event.payload["due_date"] == (START + timedelta(days=30)).isoformat()
    assert draft.number is None


def test_issue_uses_the_given_payment_terms() -> None:
    """Net terms set the due date; zero means due on issue."""
    invoice, _ = draft_invoice(line()).issue(number=1, at=START, payment_terms_days=0)
    assert invoice.due_date == START
    assert invoice.payment_terms_days == 0


def test_invoice_numbers_have_at_least_six_digits() -> None:
    """Numbers are zero-padded to six digits and grow past a million."""
    assert format_invoice_number(123) == "INV-000123"
    assert format_invoice_number(1_234_567) == "INV-1234567"


@pytest.mark.parametrize("number", [0, -1, True])
def test_invoice_number_must_be_positive(number: int) -> None:
    """A sequence value of zero or less is never a valid number."""
    invoice = draft_invoice(line())
    with pytest.raises(ValidationError) as error:
        invoice.issue(number=number, at=START)
    assert error.value.details["field"] == "number"


def test_invoice_without_lines_cannot_be_issued() -> None:
    """An empty invoice bills nothing; issuing it is refused."""
    with pytest.raises(ValidationError) as error:
        draft_invoice().issue(number=1, at=START)
    assert error.value.details["field"] == "lines"


@pytest.mark.parametrize("days", [-1, 366, True])
def test_payment_terms_must_be_zero_to_a_year(days: int) -> None:
    """Terms are 0 to 365 days."""
    with pytest.raises(ValidationError) as error:
        draft_invoice(line()).issue(number=1, at=START, payment_terms_days=days)
    assert error.value.details["field"] == "payment_terms_days"


@pytest.mark.parametrize("make", [issued_invoice, partially_paid, paid, voided])
def test_only_a_draft_can_be_issued(make: object) -> None:
    """Issuing twice, or issuing a void invoice, is refused and changes nothing."""
    invoice = make()  # type: ignore[operator]
    with pytest.raises(IllegalTransition) as error:
        invoice.issue(number=99, at=START)
    assert error.value.trigger == "issue"
    assert invoice.number != "INV-000099"


def test_draft_with_a_number_cannot_exist() -> None:
    """Numbers are assigned only at issue."""
    with pytest.raises(ValidationError) as error:
        attrs.evolve(draft_invoice(line()), number="INV-000001")
    assert error.value.details["field"] == "number"


# -- allocating and releasing -------------------------------------------------------------


def test_partial_allocation_makes_it_partially_paid() -> None:
    """Part of the balance paid: partially_paid, one payment_allocated event."""
    invoice, events = issued_invoice().allocate(
        payment_id="pay_1", allocation_id="alloc_1", amount=usd(4_000), at=START
    )
    assert invoice.status is S.PARTIALLY_PAID
    assert invoice.allocated == usd(4_000)
    assert invoice.balance == usd(6_000)
    assert invoice.paid_at is None
    assert [event.type for event in events] == [BillingEvent.INVOICE_PAYMENT_ALLOCATED]
    assert events[0].payload["amount"] == {"amount": 4_000, "currency": "USD"}
    assert events[0].payload["balance"] == {"amount": 6_000, "currency": "USD"}
    assert events[0].payload["status"] == "partially_paid"


def test_allocation_of_the_balance_makes_it_paid() -> None:
    """Paying the rest makes it paid and emits payment_allocated then paid."""
    invoice, events = partially_paid().allocate(
        payment_id="pay_2", allocation_id="alloc_2", amount=usd(6_000), at=START
    )
    assert invoice.status is S.PAID
    assert invoice.balance == usd(0)
    assert invoice.paid_at == START
    assert [event.type for event in events] == [
        BillingEvent.INVOICE_PAYMENT_ALLOCATED,
        BillingEvent.INVOICE_PAID,
    ]


def test_allocation_above_the_balance_is_refused() -> None:
    """An invoice never collects more than its total."""
    invoice = partially_paid()
    with pytest.raises(ValidationError) as error:
        invoice.allocate(payment_id="pay_2", allocation_id="a", amount=usd(6_001), at=START)
    assert error.value.details["field"] == "amount"
    assert invoice.allocated == usd(4_000)


@pytest.mark.parametrize("amount", [0, -100])
def test_allocation_must_be_positive(amount: int) -> None:
    """Zero and negative allocations are refused."""
    with pytest.raises(ValidationError) as error:
        issued_invoice().allocate(
            payment_id="pay_1", allocation_id="a", amount=usd(amount), at=START
        )
    assert error.value.details["field"] == "amount"


def test_allocation_in_another_currency_is_refused() -> None:
    """EUR money cannot pay a USD invoice."""
    with pytest.raises(ValidationError) as error:
        issued_invoice().allocate(payment_id="pay_1", allocation_id="a", amount=eur(1), at=START)
    assert error.value.details["field"] == "currency"


@pytest.mark.parametrize("make", [lambda: draft_invoice(line()), paid, voided])
def test_allocation_needs_an_open_invoice(make: object) -> None:
    """Drafts, paid and void invoices take no allocation."""
    invoice = make()  # type: ignore[operator]
    with pytest.raises(IllegalTransition):
        invoice.allocate(payment_id="pay_1", allocation_id="a", amount=usd(1), at=START)


def test_releasing_part_of_a_paid_invoice_makes_it_partially_paid() -> None:
    """A partial refund re-opens part of the balance and emits invoice.refunded."""
    invoice, events = paid().release(
        payment_id="pay_1", amount=usd(2_500), at=START, reference="re_1"
    )
    assert invoice.status is S.PARTIALLY_PAID
    assert invoice.balance == usd(2_500)
    assert invoice.paid_at is None
    assert [event.type for event in events] == [BillingEvent.INVOICE_REFUNDED]
    assert events[0].payload["reference"] == "re_1"
    assert events[0].payload["status"] == "partially_paid"


def test_releasing_everything_makes_it_issued_again() -> None:
    """Releasing every allocation re-opens the whole balance."""
    invoice, _ = paid().release(payment_id="pay_1", amount=usd(10_000), at=START, reference="r")
    assert invoice.status is S.ISSUED
    assert invoice.balance == invoice.total


def test_releasing_more_than_allocated_is_refused() -> None:
    """An invoice cannot give back money it did not receive."""
    with pytest.raises(ValidationError) as error:
        partially_paid().release(payment_id="pay_1", amount=usd(4_001), at=START, reference="r")
    assert error.value.details["field"] == "amount"


def test_release_from_an_unpaid_invoice_is_illegal() -> None:
    """Nothing was allocated to an issued invoice, so nothing can be released."""
    with pytest.raises(IllegalTransition):
        issued_invoice().release(payment_id="pay_1", amount=usd(1), at=START, reference="r")


# -- voiding ------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: draft_invoice(line()), issued_invoice])
def test_draft_and_issued_invoices_can_be_voided_with_a_reason(make: object) -> None:
    """Voiding records when and why, and emits invoice.voided."""
    invoice, events = make().void(reason="  Duplicate of INV-000002 ", at=START)  # type: ignore[operator]
    assert invoice.status is S.VOID
    assert invoice.voided_at == START
    assert invoice.void_reason == "Duplicate of INV-000002"
    assert [event.type for event in events] == [BillingEvent.INVOICE_VOIDED]
    assert events[0].payload["reason"] == "Duplicate of INV-000002"


@pytest.mark.parametrize("reason", ["", "   "])
def test_void_needs_a_reason(reason: str) -> None:
    """A void without a reason is refused."""
    invoice = issued_invoice()
    with pytest.raises(ValidationError) as error:
        invoice.void(reason=reason, at=START)
    assert error.value.details["field"] == "reason"
    assert invoice.status is S.ISSUED


@pytest.mark.parametrize("make", [partially_paid, paid, voided])
def test_invoices_with_money_on_them_or_void_cannot_be_voided(make: object) -> None:
    """Partially paid, paid and void invoices refuse to be voided, unchanged."""
    invoice = make()  # type: ignore[operator]
    with pytest.raises(IllegalTransition):
        invoice.void(reason="mistake", at=START)
    assert invoice == make()  # type: ignore[operator]


# -- overdue ------------------------------------------------------------------------------


def test_overdue_is_derived_from_due_date_and_balance() -> None:
    """Open invoices are overdue only after the due date and while money is owed."""
    invoice = issued_invoice(terms_days=30)
    due = START + timedelta(days=30)
    assert not invoice.is_overdue(due)
    assert invoice.is_overdue(due + timedelta(seconds=1))
    assert invoice.status_at(due + timedelta(days=1)) is S.OVERDUE
    assert invoice.status is S.ISSUED
    assert partially_paid().is_overdue(due + timedelta(days=1))
    assert not paid().is_overdue(due + timedelta(days=1))
    assert not draft_invoice(line()).is_overdue(due + timedelta(days=1))
    assert paid().status_at(due + timedelta(days=1)) is S.PAID


def test_zero_total_invoice_is_never_overdue() -> None:
    """Nothing owed means nothing late."""
    free = issued_invoice(usd(0), terms_days=0)
    assert not free.is_overdue(START + timedelta(days=400))


def test_notify_overdue_announces_once() -> None:
    """invoice.overdue is emitted the first time; asking again changes nothing."""
    later = START + timedelta(days=31)
    invoice, events = issued_invoice().notify_overdue(later)
    again, more = invoice.notify_overdue(later + timedelta(days=1))
    assert [event.type for event in events] == [BillingEvent.INVOICE_OVERDUE]
    assert events[0].payload["days_overdue"] == 1
    assert invoice.overdue_notified_at == later
    assert again is invoice
    assert more == []


def test_notify_overdue_before_the_due_date_is_a_conflict() -> None:
    """An invoice that is not yet overdue cannot be announced as overdue."""
    invoice = issued_invoice()
    with pytest.raises(ConflictError):
        invoice.notify_overdue(START + timedelta(days=1))
    assert invoice.overdue_notified_at is None


def test_notify_overdue_needs_an_open_invoice() -> None:
    """Drafts and paid invoices are never announced overdue."""
    with pytest.raises(IllegalTransition):
        paid().notify_overdue(datetime(2030, 1, 1, tzinfo=UTC))
