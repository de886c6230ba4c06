"""The public billing strategies draw valid values of the shapes they promise."""

from __future__ import annotations

from hypothesis import given, settings

from platform_core.billing.model import Invoice, InvoiceStatus, PaymentRecord
from platform_core.testing.billing import draft_invoices, issued_invoices, payment_records


@settings(max_examples=30)
@given(draft_invoices(currency="EUR", min_lines=1))
def test_draft_invoices_are_drafts_in_the_asked_currency(invoice: Invoice) -> None:
    """Drafts have no number, the asked currency and at least the asked number of lines."""
    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.number is None
    assert invoice.currency == "EUR"
    assert len(invoice.lines) >= 1
    assert invoice.balance == invoice.total


@settings(max_examples=30)
@given(issued_invoices())
def test_issued_invoices_are_numbered_and_unpaid(invoice: Invoice) -> None:
    """Issued invoices carry a number and a due date not before their issue."""
    assert invoice.status is InvoiceStatus.ISSUED
    assert invoice.number is not None
    assert invoice.issued_at is not None
    assert invoice.due_date is not None
    assert invoice.due_date >= invoice.issued_at
    assert invoice.allocated.is_zero


@settings(max_examples=30)
@given(payment_records(currency="USD", company_id="co_1"))
def test_payment_records_are_fresh_payments(payment: PaymentRecord) -> None:
    """Generated payments are positive, of the asked company and fully available."""
    assert payment.company_id == "co_1"
    assert payment.amount.currency == "USD"
    assert payment.amount.amount > 0
    assert payment.available == payment.amount
