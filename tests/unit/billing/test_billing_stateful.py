"""Stateful property test of the billing model: invoices, payments, allocations and refunds.

Hypothesis drives random sequences of commands, legal and illegal, over two companies and two
currencies. A refused command must raise the expected error and change nothing. After every
step the money invariants are checked: allocations of a payment <= its amount - refunds;
allocations of an invoice <= its total; balance = total - allocations; status follows the
money; invoice numbers are unique and gap-free.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from billing_examples import START, usd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from platform_core.billing.model import (
    OPEN_INVOICE_STATUSES,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentMethod,
    PaymentRecord,
    PercentDiscount,
    allocate,
    format_invoice_number,
    refund,
)
from platform_core.shared.errors import (
    ConflictError,
    DomainError,
    IllegalTransition,
    ValidationError,
)
from platform_core.shared.money import Money
from platform_core.testing.billing import invoice_lines

COMPANIES = ("co_1", "co_2")
CURRENCIES = ("USD", "EUR")


class BillingLedger(RuleBasedStateMachine):
    """Invoices and payments changed only through the billing model."""

    invoice_ids = Bundle("invoice_ids")
    payment_ids = Bundle("payment_ids")

    def __init__(self) -> None:
        super().__init__()
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, PaymentRecord] = {}
        self.numbers_issued = 0
        self.now = START
        self.counter = 0

    def _new_id(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}_{self.counter:06d}"

    def _expect_refused(self, error: type[DomainError], command: Callable[[], Any]) -> None:
        """Run a command that must fail with `error`, and check nothing changed."""
        invoices, payments = dict(self.invoices), dict(self.payments)
        with pytest.raises(error):
            command()
        assert self.invoices == invoices
        assert self.payments == payments

    # -- starting point -------------------------------------------------------------------

    @initialize(target=invoice_ids)
    def empty_draft(self) -> str:
        return self._draft("co_1", "USD", [])

    @initialize(target=invoice_ids)
    def issued_invoice(self) -> str:
        line = InvoiceLine(id="invl_seed", description="Sensor", quantity=2, unit_amount=usd(5_000))
        invoice_id = self._draft("co_1", "USD", [line])
        self.issue(invoice_id, terms=30)
        return invoice_id

    # -- invoices -------------------------------------------------------------------------

    @rule(target=invoice_ids, company=st.sampled_from(COMPANIES), data=st.data())
    def draft_invoice(self, company: str, data: st.DataObject) -> str:
        currency = data.draw(st.sampled_from(CURRENCIES))
        lines = data.draw(st.lists(invoice_lines(currency, max_adjustments=2), max_size=3))
        return self._draft(company, currency, lines)

    def _draft(self, company: str, currency: str, lines: list[InvoiceLine]) -> str:
        # Strategies draw random ids; give each line a fresh one so lines never collide.
        renamed = [attrs.evolve(line, id=self._new_id("invl")) for line in lines]
        invoice, events = Invoice.draft(
            invoice_id=self._new_id("inv"),
            company_id=company,
            currency=currency,
            at=self.now,
            lines=renamed,
        )
        assert events == []
        self.invoices[invoice.id] = invoice
        return invoice.id

    @rule(invoice_id=invoice_ids, data=st.data())
    def add_line(self, invoice_id: str, data: st.DataObject) -> None:
        invoice = self.invoices[invoice_id]
        drawn = data.draw(invoice_lines(invoice.currency, max_adjustments=1))
        line = attrs.evolve(drawn, id=self._new_id("invl"))
        if invoice.status is not InvoiceStatus.DRAFT:
            self._expect_refused(IllegalTransition, lambda: invoice.add_line(line))
            return
        self.invoices[invoice_id], _ = invoice.add_line(line)

    @rule(invoice_id=invoice_ids, basis_points=st.integers(1, 10_000))
    def discount_first_line(self, invoice_id: str, basis_points: int) -> None:
        invoice = self.invoices[invoice_id]
        discount = PercentDiscount("Promo", basis_points)
        line_id = invoice.lines[0].id if invoice.lines else "invl_missing"

        def command() -> tuple[Invoice, list[Any]]:
            return invoice.adjust_line(line_id, discount)

        if invoice.status is not InvoiceStatus.DRAFT:
            self._expect_refused(IllegalTransition, command)
        elif not invoice.lines:
            self._expect_refused(ValidationError, command)
        elif invoice.lines[0].total < invoice.lines[0].gross.percent(basis_points):
            # Earlier adjustments left less than this discount takes: the line stays >= 0.
            self._expect_refused(ValidationError, command)
        else:
            self.invoices[invoice_id], _ = command()

    @rule(invoice_id=invoice_ids, terms=st.sampled_from((0, 30)))
    def issue(self, invoice_id: str, terms: int) -> None:
        invoice = self.invoices[invoice_id]
        number = self.numbers_issued + 1

        def command() -> tuple[Invoice, list[Any]]:
            return invoice.issue(number=number, at=self.now, payment_terms_days=terms)

        if invoice.status is not InvoiceStatus.DRAFT:
            self._expect_refused(IllegalTransition, command)
        elif not invoice.lines:
            self._expect_refused(ValidationError, command)
        else:
            issued, events = command()
            assert issued.number == format_invoice_number(number)
            assert issued.due_date == self.now + timedelta(days=terms)
            assert [event.type for event in events] == ["invoice.issued"]
            self.invoices[invoice_id] = issued
            self.numbers_issued = number

    @precondition(lambda self: any(_issuable(i) for i in self.invoices.values()))
    @rule(terms=st.sampled_from((0, 30)), data=st.data())
    def issue_a_draft(self, terms: int, data: st.DataObject) -> None:
        drafts = sorted(i.id for i in self.invoices.values() if _issuable(i))
        self.issue(data.draw(st.sampled_from(drafts)), terms=terms)

    @rule(invoice_id=invoice_ids)
    def void(self, invoice_id: str) -> None:
        invoice = self.invoices[invoice_id]

        def command() -> tuple[Invoice, list[Any]]:
            return invoice.void(reason="cancelled", at=self.now)

        if invoice.status in {InvoiceStatus.DRAFT, InvoiceStatus.ISSUED}:
            self.invoices[invoice_id], _ = command()
        else:
            self._expect_refused(IllegalTransition, command)

    @rule(days=st.sampled_from((1, 15, 31)))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(invoice_id=invoice_ids)
    def notify_overdue(self, invoice_id: str) -> None:
        invoice = self.invoices[invoice_id]

        def command() -> tuple[Invoice, list[Any]]:
            return invoice.notify_overdue(self.now)

        if invoice.overdue_notified_at is not None:
            assert command() == (invoice, [])
        elif invoice.status not in OPEN_INVOICE_STATUSES:
            self._expect_refused(IllegalTransition, command)
        elif not invoice.is_overdue(self.now):
            self._expect_refused(ConflictError, command)
        else:
            self.invoices[invoice_id], events = command()
            assert [event.type for event in events] == ["invoice.overdue"]

    @precondition(
        lambda self: any(_unannounced_overdue(i, self.now) for i in self.invoices.values())
    )
    @rule(data=st.data())
    def announce_an_overdue_invoice(self, data: st.DataObject) -> None:
        overdue = sorted(i.id for i in self.invoices.values() if _unannounced_overdue(i, self.now))
        self.notify_overdue(data.draw(st.sampled_from(overdue)))

    # -- payments -------------------------------------------------------------------------

    @rule(
        target=payment_ids,
        company=st.sampled_from(COMPANIES),
        currency=st.sampled_from(CURRENCIES),
        amount=st.integers(1, 5_000_000),
    )
    def record_payment(self, company: str, currency: str, amount: int) -> str:
        return self._record_payment(company, Money(amount, currency))

    def _record_payment(self, company: str, amount: Money) -> str:
        payment_id = self._new_id("pay")
        payment, events = PaymentRecord.record(
            payment_id=payment_id,
            company_id=company,
            method=PaymentMethod.MANUAL,
            external_reference=f"ref-{payment_id}",
            amount=amount,
            received_at=self.now,
            at=self.now,
        )
        assert [event.type for event in events] == ["payment.recorded"]
        self.payments[payment_id] = payment
        return payment_id

    @precondition(lambda self: any(_payable(i) for i in self.invoices.values()))
    @rule(target=payment_ids, paid=st.sampled_from(("exactly", "less", "more")), data=st.data())
    def pay_an_open_invoice(self, paid: str, data: st.DataObject) -> str:
        """A payment from the invoice's company in its currency, allocated to it at once."""
        payable = sorted(i.id for i in self.invoices.values() if _payable(i))
        invoice = self.invoices[data.draw(st.sampled_from(payable))]
        balance = invoice.balance.amount
        amount = {"exactly": balance, "less": balance // 2, "more": balance + 500}[paid]
        payment_id = self._record_payment(
            invoice.company_id, Money(max(amount, 1), invoice.currency)
        )
        self.allocate(payment_id, invoice.id, "all")
        return payment_id

    @rule(
        payment_id=payment_ids,
        invoice_id=invoice_ids,
        share=st.sampled_from(("all", "half", "more", "one")),
    )
    def allocate(self, payment_id: str, invoice_id: str, share: str) -> None:
        payment, invoice = self.payments[payment_id], self.invoices[invoice_id]
        amount = _allocation_amount(share, payment, invoice)
        allocation_id = self._new_id("alloc")

        def command() -> tuple[PaymentRecord, Invoice, list[Any]]:
            return allocate(
                payment, invoice, allocation_id=allocation_id, amount=amount, at=self.now
            )

        expected = _expected_allocation_error(payment, invoice, amount)
        if expected is not None:
            self._expect_refused(expected, command)
            return
        paid_payment, paid_invoice, events = command()
        assert paid_payment.available == payment.available - amount
        assert paid_invoice.balance == invoice.balance - amount
        assert events[0].type == "invoice.payment_allocated"
        self.payments[payment_id], self.invoices[invoice_id] = paid_payment, paid_invoice

    @rule(
        payment_id=payment_ids,
        share=st.sampled_from(("all", "half", "one", "too_much")),
        reuse_reference=st.booleans(),
    )
    def refund(self, payment_id: str, share: str, reuse_reference: bool) -> None:
        payment = self.payments[payment_id]
        amount = _refund_amount(share, payment)
        previous = payment.refunds[-1] if payment.refunds and reuse_reference else None
        reference = previous.reference if previous else self._new_id("re")

        def command() -> tuple[PaymentRecord, list[Invoice], list[Any]]:
            return refund(payment, self.invoices, amount=amount, at=self.now, reference=reference)

        if amount.amount <= 0:
            self._expect_refused(ValidationError, command)
        elif previous is not None and previous.amount == amount:
            assert command() == (payment, [], [])
        elif previous is not None:
            self._expect_refused(ConflictError, command)
        elif amount > payment.refundable:
            self._expect_refused(ValidationError, command)
        else:
            self._apply_refund(payment, amount, command)

    @precondition(lambda self: any(p.refundable.amount > 0 for p in self.payments.values()))
    @rule(share=st.sampled_from(("all", "half", "one")), data=st.data())
    def refund_a_payment(self, share: str, data: st.DataObject) -> None:
        refundable = sorted(p.id for p in self.payments.values() if p.refundable.amount > 0)
        self.refund(data.draw(st.sampled_from(refundable)), share, reuse_reference=False)

    def _apply_refund(
        self,
        payment: PaymentRecord,
        amount: Money,
        command: Callable[[], tuple[PaymentRecord, list[Invoice], list[Any]]],
    ) -> None:
        refunded, changed, events = command()
        assert refunded.refunded == payment.refunded + amount
        # Only what unallocated money could not cover comes out of invoices.
        released = Money.total((i.allocated for i in changed), payment.currency)
        before = Money.total((self.invoices[i.id].allocated for i in changed), payment.currency)
        shortfall = max(amount.amount - payment.available.amount, 0)
        assert (before - released).amount == shortfall
        assert len(events) == 1 + len(changed)
        self.payments[payment.id] = refunded
        for invoice in changed:
            assert invoice.status in {InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID}
            self.invoices[invoice.id] = invoice

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def payments_never_allocate_more_than_they_have(self) -> None:
        for payment in self.payments.values():
            zero = Money.zero(payment.currency)
            assert zero <= payment.allocated
            assert payment.allocated + payment.refunded <= payment.amount
            assert payment.available >= zero
            for allocation in payment.allocations:
                assert allocation.amount.currency == payment.currency
                assert zero <= allocation.released <= allocation.amount

    @invariant()
    def invoices_hold_exactly_their_allocations(self) -> None:
        allocated: dict[str, int] = {}
        for payment in self.payments.values():
            for allocation in payment.allocations:
                invoice = self.invoices[allocation.invoice_id]
                assert invoice.currency == payment.currency
                assert invoice.company_id == payment.company_id
                outstanding = allocation.outstanding.amount
                allocated[invoice.id] = allocated.get(invoice.id, 0) + outstanding
        for invoice in self.invoices.values():
            assert invoice.allocated.amount == allocated.get(invoice.id, 0)
            assert invoice.allocated <= invoice.total
            assert invoice.balance == invoice.total - invoice.allocated

    @invariant()
    def status_follows_the_money(self) -> None:
        for invoice in self.invoices.values():
            assert invoice.status is not InvoiceStatus.OVERDUE
            if invoice.status is InvoiceStatus.PAID:
                assert invoice.balance.is_zero
                assert invoice.paid_at is not None
            elif invoice.status is InvoiceStatus.PARTIALLY_PAID:
                assert 0 < invoice.allocated.amount < invoice.total.amount
            else:
                assert invoice.allocated.is_zero
            assert invoice.status_at(self.now) in {invoice.status, InvoiceStatus.OVERDUE}

    @invariant()
    def numbers_are_unique_and_gap_free(self) -> None:
        numbers = sorted(i.number for i in self.invoices.values() if i.number is not None)
        expected = [format_invoice_number(n) for n in range(1, self.numbers_issued + 1)]
        assert numbers == expected


def _issuable(invoice: Invoice) -> bool:
    return invoice.status is InvoiceStatus.DRAFT and bool(invoice.lines)


def _unannounced_overdue(invoice: Invoice, now: datetime) -> bool:
    return invoice.is_overdue(now) and invoice.overdue_notified_at is None


def _payable(invoice: Invoice) -> bool:
    return invoice.status in OPEN_INVOICE_STATUSES and invoice.balance.amount > 0


def _allocation_amount(share: str, payment: PaymentRecord, invoice: Invoice) -> Money:
    fits = min(payment.available.amount, invoice.balance.amount)
    larger = max(payment.available.amount, invoice.balance.amount)
    amounts = {"all": fits, "half": fits // 2, "more": larger + 1, "one": 1}
    return Money(amounts[share], payment.currency)


def _expected_allocation_error(
    payment: PaymentRecord, invoice: Invoice, amount: Money
) -> type[DomainError] | None:
    """The error the model must raise, checked in the model's order; None if it must succeed."""
    if payment.company_id != invoice.company_id or payment.currency != invoice.currency:
        return ValidationError
    if amount.amount <= 0:
        return ValidationError
    if invoice.status not in OPEN_INVOICE_STATUSES:
        return IllegalTransition
    if amount > invoice.balance or amount > payment.available:
        return ValidationError
    return None


def _refund_amount(share: str, payment: PaymentRecord) -> Money:
    refundable = payment.refundable.amount
    amounts = {"all": refundable, "half": refundable // 2, "one": 1, "too_much": refundable + 1}
    return Money(amounts[share], payment.currency)


TestBillingLedger = BillingLedger.TestCase
TestBillingLedger.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
