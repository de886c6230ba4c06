"""Contract of the billing repositories (invoices, payments, invoice numbers) on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique, update

from platform_core.billing.model import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentMethod,
    PaymentRecord,
    format_invoice_number,
)
from platform_core.billing.ports import InvoiceQuery
from platform_core.shared.errors import ConflictError
from platform_core.shared.money import Money
from platform_core.testing.billing import draft_invoices, issued_invoices, payment_records

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# Invoice numbers are unique for good: every invoice these tests issue takes a new one.
NUMBERS = count(1)


def _invoices(uow: Any) -> Any:
    return uow.invoices


def _payments(uow: Any) -> Any:
    return uow.payments


def line(amount: int = 10_000) -> InvoiceLine:
    return InvoiceLine(
        id=unique("invl"), description="Sensor kit", quantity=1, unit_amount=Money(amount, "CAD")
    )


def draft(
    invoice_id: str, company_id: str = "cmp_1", order_id: str | None = None, minutes: int = 0
) -> Invoice:
    created, _ = Invoice.draft(
        invoice_id=invoice_id,
        company_id=company_id,
        currency="CAD",
        at=AT + timedelta(minutes=minutes),
        lines=[line()],
        order_id=order_id,
    )
    return created


def issued(invoice: Invoice, days: int = 0) -> Invoice:
    """The invoice issued `days` after AT with a fresh number, due 30 days later."""
    done, _ = invoice.issue(
        number=next(NUMBERS), at=AT + timedelta(days=days), payment_terms_days=30
    )
    return done


def allocated(invoice: Invoice, amount: int) -> Invoice:
    paid, _ = invoice.allocate(
        payment_id="pay_1", allocation_id=unique("pal"), amount=Money(amount, "CAD"), at=AT
    )
    return paid


def payment(payment_id: str, reference: str | None = None, amount: int = 10_000) -> PaymentRecord:
    recorded, _ = PaymentRecord.record(
        payment_id=payment_id,
        company_id="cmp_1",
        method=PaymentMethod.MANUAL,
        external_reference=reference or unique("ref"),
        amount=Money(amount, "CAD"),
        received_at=AT,
        at=AT,
    )
    return recorded


def allocate_to(
    paying: PaymentRecord, invoice_id: str, allocation_id: str, minutes: int
) -> PaymentRecord:
    done, _ = paying.allocate(
        allocation_id=allocation_id,
        invoice_id=invoice_id,
        amount=Money(1_000, "CAD"),
        at=AT + timedelta(minutes=minutes),
    )
    return done


def fresh_invoice(drawn: Invoice) -> Invoice:
    """The drawn invoice under ids, order id and number no other example uses."""
    lines = tuple(attrs.evolve(each, id=unique("invl")) for each in drawn.lines)
    number = None if drawn.number is None else format_invoice_number(next(NUMBERS))
    order_id = None if drawn.order_id is None else unique("ord")
    return attrs.evolve(
        drawn, id=unique("inv"), company_id=unique("cmp"), order_id=order_id, lines=lines,
        number=number,
    )  # fmt: skip


def invoice_changed(invoice: Invoice) -> Invoice:
    """A draft gets one more line and is issued; an issued invoice is notified overdue (or
    voided when it owes nothing)."""
    if invoice.status is InvoiceStatus.DRAFT:
        longer, _ = invoice.add_line(attrs.evolve(line(), unit_amount=Money(500, invoice.currency)))
        return issued(longer)
    assert invoice.due_date is not None
    if invoice.balance.amount > 0:
        notified, _ = invoice.notify_overdue(invoice.due_date + timedelta(days=1))
        return notified
    voided, _ = invoice.void(reason="issued by mistake", at=invoice.due_date)
    return voided


def payment_changed(paying: PaymentRecord) -> PaymentRecord:
    """Part of the payment allocated to an invoice, then all of it refunded."""
    share = Money(max(1, paying.amount.amount // 2), paying.currency)
    with_allocation, _ = paying.allocate(
        allocation_id=unique("pal"), invoice_id="inv_1", amount=share, at=AT
    )
    refunded, _ = with_allocation.refund(amount=paying.amount, at=AT, reference="re_1")
    return attrs.evolve(refunded, notes="refunded in full")


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=st.one_of(draft_invoices(), issued_invoices()))
    async def test_invoice(self, backend: Backend, drawn: Invoice) -> None:
        """An invoice and its lines (with adjustments) are stored and read back whole; issue,
        new lines, overdue notice and void are stored by update."""
        stored = fresh_invoice(drawn)
        await assert_round_trip(backend, _invoices, stored, invoice_changed(stored))

    @ROUND_TRIP
    @given(drawn=payment_records())
    async def test_payment(self, backend: Backend, drawn: PaymentRecord) -> None:
        """A payment is stored and read back whole; its allocations and refunds by update."""
        stored = attrs.evolve(drawn, id=unique("pay"), external_reference=unique("ref"))
        await assert_round_trip(backend, _payments, stored, payment_changed(stored))


class TestInvoices:
    async def test_for_order_and_one_invoice_per_order(self, backend: Backend) -> None:
        """for_order finds the order's invoice (None without one); a second invoice for the
        same order is a conflict."""
        first = draft("inv_1", order_id="ord_1")
        await add_all(backend, _invoices, first, draft("inv_2"))
        with pytest.raises(ConflictError):
            await add_all(backend, _invoices, draft("inv_3", order_id="ord_1"))
        async with backend.uow() as uow:
            assert await uow.invoices.for_order("ord_1") == first
            assert await uow.invoices.for_order("ord_unknown") is None

    async def test_an_invoice_number_is_used_once(self, backend: Backend) -> None:
        """Issuing a second invoice under a number already given is a conflict, and so is
        adding an invoice that carries it."""
        number = next(NUMBERS)
        first, _ = draft("inv_1").issue(number=number, at=AT)
        await add_all(backend, _invoices, first, draft("inv_2"))
        second, _ = draft("inv_2").issue(number=number, at=AT)
        with pytest.raises(ConflictError):
            await update(backend, _invoices, second)
        with pytest.raises(ConflictError):
            await add_all(backend, _invoices, attrs.evolve(first, id="inv_3"))

    async def test_search_filters(self, backend: Backend) -> None:
        """Company, stored statuses, order and the issue window (from inclusive, until
        exclusive, drafts never in it) must all match; results come by creation, then id."""
        await add_all(
            backend,
            _invoices,
            draft("inv_1", "cmp_1", "ord_1", minutes=0),
            issued(draft("inv_2", "cmp_1", minutes=1), days=1),
            allocated(issued(draft("inv_3", "cmp_2", minutes=1), days=2), 4_000),
            issued(draft("inv_4", "cmp_2", minutes=3), days=3),
            allocated(issued(draft("inv_5", "cmp_1", minutes=4), days=4), 10_000),
        )

        async def ids(**filters: Any) -> list[str]:
            async with backend.uow() as uow:
                return [i.id for i in await uow.invoices.search(InvoiceQuery(**filters))]

        assert await ids() == ["inv_1", "inv_2", "inv_3", "inv_4", "inv_5"]
        assert await ids(company_id="cmp_2") == ["inv_3", "inv_4"]
        assert await ids(statuses={InvoiceStatus.ISSUED}) == ["inv_2", "inv_4"]
        assert await ids(statuses={"draft", "paid"}) == ["inv_1", "inv_5"]
        assert await ids(company_id="cmp_1", statuses={InvoiceStatus.PAID}) == ["inv_5"]
        assert await ids(order_id="ord_1") == ["inv_1"]
        assert await ids(issued_from=AT + timedelta(days=2)) == ["inv_3", "inv_4", "inv_5"]
        assert await ids(issued_until=AT + timedelta(days=2)) == ["inv_2"]
        window = {"issued_from": AT + timedelta(days=1), "issued_until": AT + timedelta(days=3)}
        assert await ids(**window) == ["inv_2", "inv_3"]
        assert await ids(company_id="cmp_unknown") == []

    async def test_search_pages(self, backend: Backend) -> None:
        """limit and offset page through the results in their order."""
        await add_all(backend, _invoices, *(draft(f"inv_{n}", minutes=n) for n in range(5)))

        async def ids(limit: int, offset: int) -> list[str]:
            query = InvoiceQuery(limit=limit, offset=offset)
            async with backend.uow() as uow:
                return [i.id for i in await uow.invoices.search(query)]

        assert await ids(2, 0) == ["inv_0", "inv_1"]
        assert await ids(2, 3) == ["inv_3", "inv_4"]
        assert await ids(10, 5) == []

    async def test_search_by_overdue_state(self, backend: Backend) -> None:
        """overdue_at keeps open invoices past their due date that still owe money;
        overdue_notified tells whether the overdue notice went out."""
        due = AT + timedelta(days=30)
        notified, _ = issued(draft("inv_4", minutes=4)).notify_overdue(due + timedelta(days=1))
        voided, _ = issued(draft("inv_6", minutes=6)).void(reason="duplicate", at=AT)
        await add_all(
            backend,
            _invoices,
            draft("inv_1", minutes=1),
            issued(draft("inv_2", minutes=2)),
            allocated(issued(draft("inv_3", minutes=3)), 4_000),
            notified,
            allocated(issued(draft("inv_5", minutes=5)), 10_000),
            voided,
            issued(draft("inv_7", minutes=7), days=10),
        )

        async def ids(**filters: Any) -> list[str]:
            async with backend.uow() as uow:
                return [i.id for i in await uow.invoices.search(InvoiceQuery(**filters))]

        assert await ids(overdue_at=due) == []
        assert await ids(overdue_at=due + timedelta(seconds=1)) == ["inv_2", "inv_3", "inv_4"]
        later = due + timedelta(days=11)
        assert await ids(overdue_at=later) == ["inv_2", "inv_3", "inv_4", "inv_7"]
        assert await ids(overdue_at=later, overdue_notified=False) == ["inv_2", "inv_3", "inv_7"]
        assert await ids(overdue_notified=True) == ["inv_4"]
        assert await ids(overdue_at=later, statuses={"partially_paid"}) == ["inv_3"]


class TestPayments:
    async def test_by_external_reference_and_its_uniqueness(self, backend: Backend) -> None:
        """by_external_reference finds the payment (None when unknown); recording a second
        payment under a used reference is a conflict."""
        first = payment("pay_1", "pi_1")
        await add_all(backend, _payments, first)
        with pytest.raises(ConflictError):
            await add_all(backend, _payments, payment("pay_2", "pi_1"))
        with pytest.raises(ConflictError):
            await add_all(backend, _payments, payment("pay_3", "pi_3"), payment("pay_4", "pi_3"))
        async with backend.uow() as uow:
            assert await uow.payments.by_external_reference("pi_1") == first
            assert await uow.payments.by_external_reference("pi_3") is None
            assert await uow.payments.find("pay_2") is None

    async def test_allocations_of_an_invoice(self, backend: Backend) -> None:
        """allocated_to_invoice: the paying payments, latest allocation first;
        allocations_for_invoice: every allocation, released ones too, oldest first."""
        first = allocate_to(allocate_to(payment("pay_1"), "inv_1", "pal_a", 1), "inv_1", "pal_d", 4)
        second = allocate_to(payment("pay_2"), "inv_1", "pal_c", 3)
        third = allocate_to(allocate_to(payment("pay_3"), "inv_1", "pal_b", 2), "inv_2", "pal_e", 5)
        third, _ = third.refund(amount=third.amount, at=AT, reference="re_1")
        await add_all(backend, _payments, first, second, third, payment("pay_4"))
        async with backend.uow() as uow:
            paying = await uow.payments.allocated_to_invoice("inv_1")
            allocations = await uow.payments.allocations_for_invoice("inv_1")
            assert await uow.payments.allocated_to_invoice("inv_unknown") == []
            assert await uow.payments.allocations_for_invoice("inv_unknown") == []
        assert [p.id for p in paying] == ["pay_1", "pay_2", "pay_3"]
        assert paying[2] == third
        assert [a.id for a in allocations] == ["pal_a", "pal_b", "pal_c", "pal_d"]
        assert allocations[1] == third.allocations[0]
        assert allocations[1].released == Money(1_000, "CAD")


class TestInvoiceNumbers:
    async def test_numbers_are_gap_free(self, backend: Backend) -> None:
        """Numbers follow each other; those drawn by a unit of work that did not commit are
        drawn again."""
        async with backend.uow() as uow:
            drawn = [await uow.invoice_numbers.next_number() for _ in range(2)]
            await uow.commit()
        async with backend.uow() as uow:
            lost = await uow.invoice_numbers.next_number()
        async with backend.uow() as uow:
            again = await uow.invoice_numbers.next_number()
            await uow.commit()
        assert drawn == [1, 2]
        assert lost == again == 3
