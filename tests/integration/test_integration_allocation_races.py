"""Allocation limits under real concurrency on PostgreSQL: units of a fulfillment order and
money of payments and invoices are never over-allocated, whatever many processes do at once,
and requests that collide on a shipment end in a conflict, not an outage."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime

import pytest
from integration_support import Admin, Platforms, new_company, retry_stale

from entrypoints.bootstrap import Platform
from entrypoints.demo import Demo
from platform_core.billing.model import Invoice, PaymentMethod, PaymentRecord
from platform_core.billing.service import (
    AllocatePayment,
    CreateDraftInvoice,
    InvoiceLineSpec,
    IssueInvoice,
    IssueInvoiceForPaidOrder,
    NewInvoiceLine,
    PaymentSpec,
    allocate_payment,
    create_draft_invoice,
    get_invoice,
    get_payment,
    issue_invoice,
    issue_invoice_for_paid_order,
)
from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    FulfillmentOrder,
    Shipment,
    ShipmentStatus,
)
from platform_core.fulfillment.service import (
    CancelShipment,
    CreateShipment,
    MarkShipmentInTransit,
    MarkShipmentReady,
    cancel_shipment,
    create_shipment,
    mark_shipment_in_transit,
    mark_shipment_ready,
)
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.money import Money

pytestmark = pytest.mark.integration

ORDERED = 5
CONTENDERS = 24
PROCESSES = 4
CURRENCY = "CAD"
DESTINATION = AddressSnapshot(
    name="Northwind receiving", lines=("55 Industrial Rd",), city="Mississauga",
    region="ON", postal_code="L5T 2H4", country="CA",
)  # fmt: skip


async def paid_fulfillment(demo: Demo, quantity: int) -> FulfillmentOrder:
    """A paid order of `quantity` probes and the fulfillment order its payment created."""
    order = await demo.draft([("PRB-200", quantity)])
    await demo.pay(order)
    return await demo.fulfillment(order)


async def ship_one(platform: Platform, fulfillment: FulfillmentOrder) -> Shipment | Exception:
    """One unit on a new shipment, retried while another writer got there first (each lost
    race means someone else committed, so ORDERED + 1 attempts always reach an answer)."""
    command = CreateShipment(fulfillment.id, DESTINATION, (Allocation(fulfillment.items[0].id, 1),))
    try:
        return await retry_stale(lambda: create_shipment(platform.deps, command), ORDERED + 1)
    except (ConflictError, ValidationError) as refused:
        return refused


async def stored_allocation(platform: Platform, fulfillment_id: str) -> tuple[int, list[Shipment]]:
    """The fulfillment item's stored allocated count and the shipments still holding units."""
    async with platform.deps.uow() as uow:
        stored = await uow.fulfillment_orders.get(fulfillment_id)
        shipments = await uow.shipments.for_fulfillment(fulfillment_id)
    holding = [s for s in shipments if s.status is not ShipmentStatus.CANCELLED]
    return stored.items[0].quantity_allocated, holding


async def test_concurrent_shipments_never_allocate_more_than_ordered(
    demo: Demo, platforms: Platforms
) -> None:
    """24 processes race to ship one unit each of 5 ordered: exactly 5 win, the stored count,
    the shipments' items and the winners agree, and every loser was refused with a
    conflict or validation error, never anything else."""
    fulfillment = await paid_fulfillment(demo, ORDERED)
    processes = platforms.open_many(PROCESSES)

    outcomes = await asyncio.gather(
        *(ship_one(processes[i % PROCESSES], fulfillment) for i in range(CONTENDERS))
    )

    winners = [o for o in outcomes if isinstance(o, Shipment)]
    losers = [o for o in outcomes if not isinstance(o, Shipment)]
    allocated, holding = await stored_allocation(demo.platform, fulfillment.id)
    assert allocated == len(winners) == ORDERED
    assert sum(item.quantity for s in holding for item in s.items) == ORDERED
    assert {s.id for s in holding} == {s.id for s in winners}
    assert all(isinstance(refused, ConflictError | ValidationError) for refused in losers)


async def test_cancellations_racing_new_shipments_keep_the_count_exact(
    demo: Demo, platforms: Platforms
) -> None:
    """While two of five full shipments are cancelled, 12 processes try to ship the released
    units: the stored count always equals the units on non-cancelled shipments, never more
    than ordered, whichever transaction commits first."""
    fulfillment = await paid_fulfillment(demo, ORDERED)
    first_wave = [await ship_one(demo.platform, fulfillment) for _ in range(ORDERED)]
    shipped = [s for s in first_wave if isinstance(s, Shipment)]
    processes = platforms.open_many(PROCESSES)

    async def cancel(platform: Platform, shipment: Shipment) -> Shipment:
        command = CancelShipment(shipment.id, reason="packed twice")
        return await retry_stale(lambda: cancel_shipment(platform.deps, command), 2 * ORDERED)

    cancellations = [cancel(processes[i], s) for i, s in enumerate(shipped[:2])]
    contenders = [ship_one(processes[i % PROCESSES], fulfillment) for i in range(12)]
    await asyncio.gather(*cancellations, *contenders)

    allocated, holding = await stored_allocation(demo.platform, fulfillment.id)
    assert allocated == sum(item.quantity for s in holding for item in s.items) <= ORDERED
    assert not {s.id for s in shipped[:2]} & {s.id for s in holding}


async def ready_shipment(demo: Demo) -> Shipment:
    fulfillment = await paid_fulfillment(demo, 1)
    allocation = (Allocation(fulfillment.items[0].id, 1),)
    shipment = await create_shipment(
        demo.deps, CreateShipment(fulfillment.id, DESTINATION, allocation)
    )
    return await mark_shipment_ready(demo.deps, MarkShipmentReady(shipment.id))


async def refused_or_done(work: Awaitable[Shipment]) -> Shipment | Exception:
    try:
        return await work
    except Exception as error:  # the test asserts on which error it is
        return error


async def test_cancelling_a_shipment_while_it_is_handed_over_is_a_conflict(
    demo: Demo, platforms: Platforms, admin: Admin
) -> None:
    """The warehouse marks a ready shipment handed over while Ops cancels it, the hand-over
    reaching the shipment first: one request wins and the other is refused as a conflict,
    never reported as the database being unavailable."""
    shipment = await ready_shipment(demo)
    ops, warehouse = platforms.open_many(2)

    # A slow transaction holding the shipment's row lines both requests up behind it.
    async with admin.row_locked("shipments", shipment.id):
        handing_over = asyncio.create_task(
            refused_or_done(
                mark_shipment_in_transit(warehouse.deps, MarkShipmentInTransit(shipment.id))
            )
        )
        await admin.wait_for_lock_waiters(1)
        cancelling = asyncio.create_task(
            refused_or_done(cancel_shipment(ops.deps, CancelShipment(shipment.id, "lost")))
        )
        await admin.wait_for_lock_waiters(2)
    outcomes = [await handing_over, await cancelling]

    winners = [o for o in outcomes if isinstance(o, Shipment)]
    (refused,) = [o for o in outcomes if not isinstance(o, Shipment)]
    assert len(winners) == 1
    assert isinstance(refused, ConflictError), refused


# -- money ----------------------------------------------------------------------------------

PAYERS = 3
INVOICES = 4
SPARE = Money(500_00, CURRENCY)  # what each payment has left after paying its own order
INVOICE_TOTAL = Money(300_00, CURRENCY)
SHARE = Money(150_00, CURRENCY)  # 4 shares would overdraw a payment, 3 overpay an invoice


async def payment_with_spare_money(platform: Platform, company_id: str) -> PaymentRecord:
    """A paid order's invoice whose payment was larger than the order, leaving SPARE."""
    order_amount = Money(40_00, CURRENCY)
    line = InvoiceLineSpec(f"oit_{uuid.uuid4().hex}", "prd_probe", "Soil probe", 1, order_amount)
    spec = PaymentSpec(
        PaymentMethod.MANUAL, f"wire-{uuid.uuid4().hex}", order_amount + SPARE, datetime.now(UTC)
    )
    command = IssueInvoiceForPaidOrder(
        f"ord_{uuid.uuid4().hex}", company_id, CURRENCY, None, None, (line,), spec
    )
    invoice = await issue_invoice_for_paid_order(platform.deps, command)
    async with platform.deps.uow() as uow:
        (payment,) = await uow.payments.allocated_to_invoice(invoice.id)
    assert payment.available == SPARE
    return payment


async def issued_invoice(platform: Platform, company_id: str) -> Invoice:
    line = NewInvoiceLine("Installation visit", 1, INVOICE_TOTAL)
    draft = await create_draft_invoice(
        platform.deps, CreateDraftInvoice(company_id, CURRENCY, (line,))
    )
    return await issue_invoice(platform.deps, IssueInvoice(draft.id))


async def test_concurrent_payment_allocations_stay_within_payments_and_invoices(
    platforms: Platforms,
) -> None:
    """Every payment is allocated to every invoice at once (12 concurrent allocations, losers
    retried while they only lost a race): no payment is allocated beyond its amount, no invoice
    beyond its total, the payments' allocation records add up to what each invoice holds, and
    every refusal was justified by what is stored at the end."""
    setup, *processes = platforms.open_many(1 + PROCESSES)
    company_id = await new_company(setup, CURRENCY)
    payments = [await payment_with_spare_money(setup, company_id) for _ in range(PAYERS)]
    invoices = [await issued_invoice(setup, company_id) for _ in range(INVOICES)]
    pairs = list(itertools.product(payments, invoices))

    async def allocate(index: int, payment: PaymentRecord, invoice: Invoice) -> object:
        deps = processes[index % PROCESSES].deps
        command = AllocatePayment(payment.id, invoice.id, SHARE)
        # At most one commit per pair can make another pair stale: len(pairs) + 1 attempts
        # always end in an allocation or a refusal on the merits.
        try:
            return await retry_stale(lambda: allocate_payment(deps, command), len(pairs) + 1)
        except (ConflictError, ValidationError) as refused:
            return refused

    outcomes = await asyncio.gather(*(allocate(i, p, v) for i, (p, v) in enumerate(pairs)))

    stored_payments = {p.id: await get_payment(setup.deps, p.id) for p in payments}
    stored_invoices = {v.id: await get_invoice(setup.deps, v.id) for v in invoices}
    for payment in stored_payments.values():
        assert payment.allocated <= payment.amount
    for invoice in stored_invoices.values():
        assert invoice.allocated <= invoice.total
        held = [a.amount for p in stored_payments.values() for a in p.allocations
                if a.invoice_id == invoice.id]  # fmt: skip
        assert invoice.allocated == Money.total(held, CURRENCY)
    won = [o for o in outcomes if not isinstance(o, Exception)]
    allocated_here = Money.total((v.allocated for v in stored_invoices.values()), CURRENCY)
    assert allocated_here == Money(SHARE.amount * len(won), CURRENCY)
    for (payment, invoice), outcome in zip(pairs, outcomes, strict=True):
        if isinstance(outcome, Exception):
            no_room = (
                stored_payments[payment.id].available < SHARE
                or stored_invoices[invoice.id].balance < SHARE
            )
            assert no_room, f"{payment.id} -> {invoice.id} refused with room left: {outcome!r}"
