"""The in-memory billing repositories: uniqueness, queries, and the gap-free number sequence."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from billing_examples import (
    START,
    BillingDepsForTests,
    draft_invoice,
    issued_invoice,
    line,
    payment,
    usd,
)

from platform_core.billing.model import InvoiceStatus, allocate, refund
from platform_core.billing.ports import InvoiceQuery
from platform_core.shared.errors import ConflictError, StaleVersion, ValidationError


async def test_one_invoice_per_order(deps: BillingDepsForTests) -> None:
    """A second invoice for an order is refused, within a transaction and across commits."""
    async with deps.uow() as uow:
        await uow.invoices.add(draft_invoice(invoice_id="inv_1", order_id="ord_1"))
        with pytest.raises(ConflictError):
            await uow.invoices.add(draft_invoice(invoice_id="inv_2", order_id="ord_1"))
        await uow.commit()
    async with deps.uow() as uow:
        with pytest.raises(ConflictError):
            await uow.invoices.add(draft_invoice(invoice_id="inv_3", order_id="ord_1"))
        assert (await uow.invoices.for_order("ord_1")).id == "inv_1"  # type: ignore[union-attr]
        assert await uow.invoices.for_order("ord_2") is None


async def test_invoice_numbers_are_unique(deps: BillingDepsForTests) -> None:
    """Two invoices cannot carry the same number, even if a caller tries."""
    async with deps.uow() as uow:
        await uow.invoices.add(issued_invoice(invoice_id="inv_1", number=7))
        await uow.commit()
    async with deps.uow() as uow:
        await uow.invoices.add(draft_invoice(line(), invoice_id="inv_2"))
        await uow.commit()
    async with deps.uow() as uow:
        stored = await uow.invoices.get("inv_2")
        renumbered, _ = stored.issue(number=7, at=START)
        with pytest.raises(ConflictError):
            await uow.invoices.update(renumbered)


async def test_stale_invoice_update_is_refused(deps: BillingDepsForTests) -> None:
    """Optimistic concurrency: an update based on an old version fails."""
    async with deps.uow() as uow:
        await uow.invoices.add(draft_invoice(line()))
        await uow.commit()
    async with deps.uow() as first, deps.uow() as second:
        mine = await first.invoices.get("inv_1")
        theirs = await second.invoices.get("inv_1")
        await first.invoices.update(mine.void(reason="dup", at=START)[0])
        await first.commit()
        with pytest.raises(StaleVersion):
            await second.invoices.update(theirs.issue(number=1, at=START)[0])


async def test_payment_external_reference_is_unique(deps: BillingDepsForTests) -> None:
    """A payment reference is claimed once across all payments."""
    async with deps.uow() as uow:
        await uow.payments.add(payment(payment_id="pay_1", reference="pi_1"))
        await uow.commit()
    async with deps.uow() as uow:
        with pytest.raises(ConflictError):
            await uow.payments.add(payment(payment_id="pay_2", reference="pi_1"))
        found = await uow.payments.by_external_reference("pi_1")
        assert found is not None
        assert found.id == "pay_1"
        assert await uow.payments.by_external_reference("pi_2") is None


async def test_invoice_numbers_are_gap_free_across_rollbacks(deps: BillingDepsForTests) -> None:
    """A number drawn in a transaction that does not commit is drawn again by the next one."""
    async with deps.uow() as uow:
        assert await uow.invoice_numbers.next_number() == 1
        assert await uow.invoice_numbers.next_number() == 2
    async with deps.uow() as uow:
        assert await uow.invoice_numbers.next_number() == 1
        await uow.commit()
    async with deps.uow() as uow:
        assert await uow.invoice_numbers.next_number() == 2


async def test_concurrent_number_draws_cannot_both_commit(deps: BillingDepsForTests) -> None:
    """Two transactions drawing the same number: the second commit is refused."""
    async with deps.uow() as first, deps.uow() as second:
        assert await first.invoice_numbers.next_number() == 1
        assert await second.invoice_numbers.next_number() == 1
        await first.commit()
        with pytest.raises(ConflictError):
            await second.commit()


async def test_allocation_queries(deps: BillingDepsForTests) -> None:
    """Payments of an invoice come latest allocation first; its allocations oldest first."""
    older = payment(usd(6_000), payment_id="pay_1", reference="pi_1")
    newer = payment(usd(6_000), payment_id="pay_2", reference="pi_2")
    invoice = issued_invoice()
    older, invoice, _ = allocate(older, invoice, allocation_id="a1", amount=usd(6_000), at=START)
    later = START + timedelta(hours=1)
    newer, invoice, _ = allocate(newer, invoice, allocation_id="a2", amount=usd(4_000), at=later)
    newer, _, _ = refund(newer, {invoice.id: invoice}, amount=usd(6_000), at=later, reference="r")
    async with deps.uow() as uow:
        await uow.payments.add(newer)
        await uow.payments.add(older)
        await uow.commit()
    async with deps.uow() as uow:
        payments = await uow.payments.allocated_to_invoice("inv_1")
        allocations = await uow.payments.allocations_for_invoice("inv_1")
        assert await uow.payments.allocations_for_invoice("inv_2") == []
    assert [p.id for p in payments] == ["pay_2", "pay_1"]
    assert [(a.id, a.outstanding) for a in allocations] == [("a1", usd(6_000)), ("a2", usd(0))]


async def seed_invoices(deps: BillingDepsForTests) -> None:
    """inv_1 draft (co_1), inv_2 issued day 0 (co_1), inv_3 issued day 10 (co_2), inv_4 paid."""
    later = START + timedelta(days=10)
    third, _ = draft_invoice(line(), invoice_id="inv_3", company_id="co_2").issue(
        number=3, at=later
    )
    third = attrs.evolve(third, created_at=later)
    fourth = issued_invoice(invoice_id="inv_4", number=4)
    fourth, _ = fourth.allocate(payment_id="p", allocation_id="a", amount=fourth.total, at=START)
    async with deps.uow() as uow:
        for invoice in (
            draft_invoice(line(), invoice_id="inv_1", order_id="ord_1"),
            issued_invoice(invoice_id="inv_2", number=2),
            third,
            fourth,
        ):
            await uow.invoices.add(invoice)
        await uow.commit()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (InvoiceQuery(), ["inv_1", "inv_2", "inv_4", "inv_3"]),
        (InvoiceQuery(company_id="co_2"), ["inv_3"]),
        (InvoiceQuery(statuses={InvoiceStatus.DRAFT, InvoiceStatus.PAID}), ["inv_1", "inv_4"]),
        (InvoiceQuery(order_id="ord_1"), ["inv_1"]),
        (InvoiceQuery(issued_from=START + timedelta(days=1)), ["inv_3"]),
        (InvoiceQuery(issued_until=START + timedelta(days=10)), ["inv_2", "inv_4"]),
        (InvoiceQuery(overdue_at=START + timedelta(days=31)), ["inv_2"]),
        (InvoiceQuery(overdue_at=START + timedelta(days=41)), ["inv_2", "inv_3"]),
        (InvoiceQuery(overdue_notified=True), []),
        (InvoiceQuery(limit=2), ["inv_1", "inv_2"]),
        (InvoiceQuery(limit=2, offset=2), ["inv_4", "inv_3"]),
    ],
)
async def test_search_applies_every_filter(
    deps: BillingDepsForTests, query: InvoiceQuery, expected: list[str]
) -> None:
    """Each filter narrows the list; results are ordered by creation time, then id."""
    await seed_invoices(deps)
    async with deps.uow() as uow:
        found = await uow.invoices.search(query)
    assert [invoice.id for invoice in found] == expected


@pytest.mark.parametrize(
    "arguments",
    [
        {"statuses": {InvoiceStatus.OVERDUE}},
        {"statuses": {"late"}},
        {"limit": 0},
        {"limit": 1_001},
        {"offset": -1},
        {"company_id": ""},
    ],
)
def test_invalid_queries_are_refused(arguments: dict[str, object]) -> None:
    """Derived statuses, unknown statuses and out-of-range pages are validation errors."""
    with pytest.raises(ValidationError):
        InvoiceQuery(**arguments)  # type: ignore[arg-type]
