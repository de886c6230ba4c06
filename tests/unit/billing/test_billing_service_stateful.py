"""Stateful property test of the billing use cases over the in-memory store.

Random sequences of use cases, legal and illegal, run against one database. A refused use case
must leave the database exactly as it was (one transaction, all or nothing). After every step
the stored state keeps the money invariants, one invoice per order, gap-free numbers, and at
most one overdue announcement per invoice.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from billing_examples import START, BillingDepsForTests, usd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from platform_core.billing.model import Invoice, InvoiceStatus, PaymentMethod, PaymentRecord
from platform_core.billing.service import (
    AllocatePayment,
    CreateDraftInvoice,
    InvoiceLineSpec,
    IssueInvoice,
    IssueInvoiceForPaidOrder,
    MarkOverdueInvoices,
    NewInvoiceLine,
    PaymentSpec,
    RecordManualPayment,
    RefundOrderPayment,
    RefundPayment,
    VoidInvoice,
    allocate_payment,
    create_draft_invoice,
    issue_invoice,
    issue_invoice_for_paid_order,
    mark_overdue_invoices,
    record_manual_payment,
    refund_order_payment,
    refund_payment,
    void_invoice,
)
from platform_core.shared.errors import DomainError
from platform_core.shared.money import Money

T = TypeVar("T")
ORDERS = ("ord_1", "ord_2", "ord_3")
SHARES = {"less": (1, 2), "exactly": (1, 1), "more": (3, 2)}


class BillingBooks(RuleBasedStateMachine):
    """The billing use cases, driven in random order against one in-memory database."""

    invoice_ids = Bundle("invoice_ids")

    def __init__(self) -> None:
        super().__init__()
        self.deps = BillingDepsForTests.fresh()
        self.references = 0

    def _run(self, use_case: Coroutine[Any, Any, T]) -> T | None:
        """Run a use case; if it is refused, check the database did not change at all."""
        before = self._snapshot()
        try:
            return asyncio.run(use_case)
        except DomainError:
            assert self._snapshot() == before
            return None

    def _snapshot(self) -> tuple[object, ...]:
        db = self.deps.db
        return copy.deepcopy((db.tables, db.sequences, len(db.events), db.unique_keys))

    def _reference(self, kind: str) -> str:
        self.references += 1
        return f"{kind}-{self.references}"

    def _invoices(self) -> list[Invoice]:
        return list(self.deps.db.table("invoices").values())

    def _payments(self) -> list[PaymentRecord]:
        return list(self.deps.db.table("payments").values())

    # -- rules ----------------------------------------------------------------------------

    @rule(
        target=invoice_ids,
        order_id=st.sampled_from(ORDERS),
        paid=st.sampled_from(sorted(SHARES)),
        quantity=st.integers(1, 3),
    )
    def order_is_paid(self, order_id: str, paid: str, quantity: int) -> str:
        """order.paid arrives, possibly again for an order already invoiced."""
        numerator, denominator = SHARES[paid]
        events_before = len(self.deps.db.events)
        existing = [i for i in self._invoices() if i.order_id == order_id]
        command = IssueInvoiceForPaidOrder(
            order_id=order_id,
            company_id="co_1",
            currency="USD",
            billing_contact_id=None,
            billing_address_id=None,
            lines=(InvoiceLineSpec("item_1", "prod_1", "Sensor", quantity, usd(5_000)),),
            payment=PaymentSpec(
                PaymentMethod.STRIPE,
                f"pi_{order_id}",
                usd(5_000 * quantity * numerator // denominator),
                START,
            ),
        )
        invoice = self._run(issue_invoice_for_paid_order(self.deps, command))
        if existing:
            assert invoice == existing[0]
            assert len(self.deps.db.events) == events_before
        if invoice is None:
            return existing[0].id if existing else "inv_missing"
        return invoice.id

    @rule(target=invoice_ids, company=st.sampled_from(("co_1", "co_2")), lines=st.integers(0, 2))
    def manual_invoice(self, company: str, lines: int) -> str:
        command = CreateDraftInvoice(
            company, "USD", tuple(NewInvoiceLine("Gateway", 1, usd(3_000)) for _ in range(lines))
        )
        invoice = self._run(create_draft_invoice(self.deps, command))
        assert invoice is not None
        return invoice.id

    @rule(invoice_id=invoice_ids, terms=st.sampled_from((0, 30)))
    def issue(self, invoice_id: str, terms: int) -> None:
        self._run(issue_invoice(self.deps, IssueInvoice(invoice_id, terms)))

    @rule(invoice_id=invoice_ids)
    def void(self, invoice_id: str) -> None:
        self._run(void_invoice(self.deps, VoidInvoice(invoice_id, "customer cancelled")))

    @rule(invoice_id=invoice_ids, amount=st.sampled_from((1, 1_500, 3_000)))
    def manual_payment(self, invoice_id: str, amount: int) -> None:
        command = RecordManualPayment(invoice_id, self._reference("bank"), usd(amount))
        self._run(record_manual_payment(self.deps, command))

    @precondition(lambda self: self._payments())
    @rule(invoice_id=invoice_ids, data=st.data())
    def allocate(self, invoice_id: str, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(sorted(p.id for p in self._payments())))
        self._run(allocate_payment(self.deps, AllocatePayment(payment_id, invoice_id)))

    @precondition(lambda self: self._payments())
    @rule(amount=st.sampled_from((None, 1, 1_000, 50_000)), data=st.data())
    def refund(self, amount: int | None, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(sorted(p.id for p in self._payments())))
        money = None if amount is None else usd(amount)
        reference = self._reference("re")
        self._run(refund_payment(self.deps, RefundPayment(payment_id, reference, money)))
        events_before = len(self.deps.db.events)
        self._run(refund_payment(self.deps, RefundPayment(payment_id, reference, money)))
        assert len(self.deps.db.events) == events_before  # a replayed refund is a no-op

    @precondition(lambda self: any(i.order_id for i in self._invoices()))
    @rule(amount=st.sampled_from((None, 1, 2_500, 99_000)), data=st.data())
    def refund_order(self, amount: int | None, data: st.DataObject) -> None:
        orders = sorted({i.order_id for i in self._invoices() if i.order_id is not None})
        order_id = data.draw(st.sampled_from(orders))
        money = None if amount is None else usd(amount)
        command = RefundOrderPayment(order_id, money, self._reference("re"))
        self._run(refund_order_payment(self.deps, command))

    @rule(days=st.sampled_from((1, 31)))
    def overdue_run(self, days: int) -> None:
        self.deps.clock.advance(timedelta(days=days))
        self._run(mark_overdue_invoices(self.deps, MarkOverdueInvoices()))

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def payments_never_allocate_more_than_they_have(self) -> None:
        for payment in self._payments():
            assert payment.allocated + payment.refunded <= payment.amount

    @invariant()
    def invoices_hold_exactly_their_allocations(self) -> None:
        allocated: Counter[str] = Counter()
        for payment in self._payments():
            for allocation in payment.allocations:
                allocated[allocation.invoice_id] += allocation.outstanding.amount
        for invoice in self._invoices():
            assert invoice.allocated == Money(allocated[invoice.id], invoice.currency)
            assert invoice.allocated <= invoice.total
            assert invoice.balance == invoice.total - invoice.allocated
            paid = invoice.status is InvoiceStatus.PAID
            assert paid == (invoice.allocated.amount > 0 and invoice.balance.is_zero)

    @invariant()
    def one_invoice_per_order(self) -> None:
        orders = [i.order_id for i in self._invoices() if i.order_id is not None]
        assert len(orders) == len(set(orders))

    @invariant()
    def numbers_are_gap_free(self) -> None:
        numbers = sorted(i.number for i in self._invoices() if i.number is not None)
        drawn = self.deps.db.sequences.get("invoice_number", 0)
        assert numbers == [f"INV-{n:06d}" for n in range(1, drawn + 1)]

    @invariant()
    def overdue_is_announced_at_most_once(self) -> None:
        announced = Counter(
            stored.event.aggregate_id
            for stored in self.deps.db.events
            if stored.event.type == "invoice.overdue"
        )
        assert all(count == 1 for count in announced.values())


TestBillingBooks = BillingBooks.TestCase
TestBillingBooks.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
