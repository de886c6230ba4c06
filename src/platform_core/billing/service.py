"""Billing use cases: draft, edit, issue and void invoices; record, allocate and refund payments;
announce overdue invoices; invoice a paid order and refund it; print an invoice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from platform_core.billing.model import (
    DEFAULT_PAYMENT_TERMS_DAYS,
    Adjustment,
    Invoice,
    InvoiceLine,
    PaymentAllocation,
    PaymentMethod,
    PaymentRecord,
    allocatable_amount,
    allocate,
    refund,
)
from platform_core.billing.ports import (
    BillingDeps,
    BillingUnitOfWork,
    InvoiceDraftingDeps,
    InvoicePrintingDeps,
    InvoicePrintingUnitOfWork,
    InvoiceQuery,
)
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.money import Money

# -- commands ---------------------------------------------------------------------------------


@attrs.frozen
class NewInvoiceLine:
    """A line to put on a draft invoice; its id is given when it is added."""

    description: str
    quantity: int
    unit_amount: Money
    adjustments: tuple[Adjustment, ...] = ()
    product_id: str | None = None
    order_item_id: str | None = None

    def to_line(self, line_id: str) -> InvoiceLine:
        return InvoiceLine(
            id=line_id,
            description=self.description,
            quantity=self.quantity,
            unit_amount=self.unit_amount,
            adjustments=self.adjustments,
            product_id=self.product_id,
            order_item_id=self.order_item_id,
        )


@attrs.frozen
class CreateDraftInvoice:
    company_id: str
    currency: str
    lines: tuple[NewInvoiceLine, ...] = ()
    billing_contact_id: str | None = None
    billing_address_id: str | None = None
    correlation_id: str | None = None


@attrs.frozen
class AddInvoiceLine:
    invoice_id: str
    line: NewInvoiceLine
    correlation_id: str | None = None


@attrs.frozen
class RemoveInvoiceLine:
    invoice_id: str
    line_id: str
    correlation_id: str | None = None


@attrs.frozen
class AdjustInvoiceLine:
    invoice_id: str
    line_id: str
    adjustment: Adjustment
    correlation_id: str | None = None


@attrs.frozen
class IssueInvoice:
    invoice_id: str
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    correlation_id: str | None = None


@attrs.frozen
class VoidInvoice:
    invoice_id: str
    reason: str
    correlation_id: str | None = None


@attrs.frozen
class RecordManualPayment:
    invoice_id: str
    external_reference: str
    amount: Money
    received_at: datetime | None = None
    notes: str | None = None
    correlation_id: str | None = None


@attrs.frozen
class AllocatePayment:
    payment_id: str
    invoice_id: str
    amount: Money | None = None
    correlation_id: str | None = None


@attrs.frozen
class RefundPayment:
    payment_id: str
    reference: str
    amount: Money | None = None
    correlation_id: str | None = None


@attrs.frozen
class MarkOverdueInvoices:
    limit: int = 500
    correlation_id: str | None = None


@attrs.frozen
class InvoiceLineSpec:
    """An order item as billing needs it (carried by the order.paid event)."""

    order_item_id: str
    product_id: str
    description: str
    quantity: int
    unit_amount: Money

    def to_line(self, line_id: str) -> InvoiceLine:
        return InvoiceLine(
            id=line_id,
            description=self.description,
            quantity=self.quantity,
            unit_amount=self.unit_amount,
            order_item_id=self.order_item_id,
            product_id=self.product_id,
        )


@attrs.frozen
class PaymentSpec:
    """The payment that paid an order, as the payment provider confirmed it."""

    method: PaymentMethod
    external_reference: str
    amount: Money
    received_at: datetime
    stripe_payment_intent_id: str | None = None
    stripe_charge_id: str | None = None


@attrs.frozen
class IssueInvoiceForPaidOrder:
    order_id: str
    company_id: str
    currency: str
    billing_contact_id: str | None
    billing_address_id: str | None
    lines: tuple[InvoiceLineSpec, ...]
    payment: PaymentSpec
    correlation_id: str | None = None


@attrs.frozen
class RefundOrderPayment:
    """`amount` None refunds everything still refundable on the order's payments."""

    order_id: str
    amount: Money | None
    reference: str
    correlation_id: str | None = None


# -- reading ----------------------------------------------------------------------------------


async def get_invoice(deps: BillingDeps, invoice_id: str) -> Invoice:
    async with deps.uow() as uow:
        return await uow.invoices.get(invoice_id)


async def list_invoices(deps: BillingDeps, query: InvoiceQuery) -> list[Invoice]:
    async with deps.uow() as uow:
        return await uow.invoices.search(query)


async def get_payment(deps: BillingDeps, payment_id: str) -> PaymentRecord:
    async with deps.uow() as uow:
        return await uow.payments.get(payment_id)


async def list_invoice_allocations(deps: BillingDeps, invoice_id: str) -> list[PaymentAllocation]:
    async with deps.uow() as uow:
        await uow.invoices.get(invoice_id)  # NOT_FOUND for an unknown invoice, not []
        return await uow.payments.allocations_for_invoice(invoice_id)


@attrs.frozen
class InvoiceDetails:
    """An invoice with every allocation ever made to it (released ones too), oldest first."""

    invoice: Invoice
    allocations: tuple[PaymentAllocation, ...]


async def get_invoice_details(deps: BillingDeps, invoice_id: str) -> InvoiceDetails:
    """An invoice and its allocations, read in one transaction so they agree."""
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(invoice_id)
        allocations = await uow.payments.allocations_for_invoice(invoice_id)
    return InvoiceDetails(invoice, tuple(allocations))


async def render_invoice_pdf(deps: InvoicePrintingDeps, invoice_id: str) -> bytes:
    """The invoice as a PDF: number, dates, the company billed, lines, totals, payments, balance.

    - Any invoice prints, drafts and void ones too; the document says which it is.
    - The status printed is the one now, so an open invoice past its due date prints overdue.
    - A billing contact or address that no longer exists is left off, not an error.
    - Rendering happens after the transaction has closed: no lock is held while it runs.
    """
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(invoice_id)
        company = await uow.companies.get(invoice.company_id)
        payments = await uow.payments.allocated_to_invoice(invoice_id)
        contact_id, address_id = invoice.billing_contact_id, invoice.billing_address_id
        contact = None if contact_id is None else await uow.contacts.find(contact_id)
        address = None if address_id is None else await uow.addresses.find(address_id)
    return deps.renderer.render(
        invoice,
        company,
        payments=payments,
        billing_contact=contact,
        billing_address=address,
        at=deps.clock.now(),
    )


# -- drafts -----------------------------------------------------------------------------------


async def create_draft_invoice(deps: InvoiceDraftingDeps, command: CreateDraftInvoice) -> Invoice:
    """Start a manual invoice.

    - The company exists (NotFoundError otherwise).
    - A billing contact, when given, is an active contact of that company, and a billing
      address, when given, one of its addresses (ValidationError naming the field otherwise).
    - Lines share the invoice's currency; each line totals zero or more.
    - Manual invoices belong to no order: order invoices come only from a paid order.
    """
    async with deps.uow() as uow:
        await uow.companies.get(command.company_id)
        await _check_billed_party(uow, command)
        invoice, events = Invoice.draft(
            invoice_id=deps.ids.new_id("inv"),
            company_id=command.company_id,
            currency=command.currency,
            at=deps.clock.now(),
            lines=_new_lines(deps, command.lines),
            billing_contact_id=command.billing_contact_id,
            billing_address_id=command.billing_address_id,
        )
        invoice = await uow.invoices.add(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


async def _check_billed_party(uow: InvoicePrintingUnitOfWork, command: CreateDraftInvoice) -> None:
    # An unknown id is refused like another company's: a company-scoped caller must not
    # learn which ids exist elsewhere from the answer.
    if command.billing_contact_id is not None:
        contact = await uow.contacts.find(command.billing_contact_id)
        if contact is None or contact.company_id != command.company_id or contact.is_archived:
            raise ValidationError(
                "the billing contact must be an active contact of the company",
                {"field": "billing_contact_id"},
            )
    if command.billing_address_id is not None:
        address = await uow.addresses.find(command.billing_address_id)
        if address is None or address.company_id != command.company_id:
            raise ValidationError(
                "the billing address must be an address of the company",
                {"field": "billing_address_id"},
            )


async def add_invoice_line(deps: BillingDeps, command: AddInvoiceLine) -> Invoice:
    """Add a line to a draft invoice; issued invoices are never edited."""
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(command.invoice_id)
        line = command.line.to_line(deps.ids.new_id("invl"))
        invoice, events = invoice.add_line(line)
        invoice = await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


async def remove_invoice_line(deps: BillingDeps, command: RemoveInvoiceLine) -> Invoice:
    """Remove a line from a draft invoice."""
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(command.invoice_id)
        invoice, events = invoice.remove_line(command.line_id)
        invoice = await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


async def adjust_invoice_line(deps: BillingDeps, command: AdjustInvoiceLine) -> Invoice:
    """Add an adjustment or discount to a draft invoice's line.

    - A line's total never goes below zero.
    - Percent discounts apply to the line's gross amount.
    """
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(command.invoice_id)
        invoice, events = invoice.adjust_line(command.line_id, command.adjustment)
        invoice = await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


# -- lifecycle --------------------------------------------------------------------------------


async def issue_invoice(deps: BillingDeps, command: IssueInvoice) -> Invoice:
    """Issue a draft invoice.

    - Only a draft with at least one line can be issued.
    - It gets the next number (INV-000123) from a gap-free sequence: a number drawn in a
      transaction that does not commit is never used.
    - Due date = issue time + payment terms (default 30 days).
    """
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(command.invoice_id)
        number = await uow.invoice_numbers.next_number()
        invoice, events = invoice.issue(
            number=number, at=deps.clock.now(), payment_terms_days=command.payment_terms_days
        )
        invoice = await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


async def void_invoice(deps: BillingDeps, command: VoidInvoice) -> Invoice:
    """Void a draft or an issued invoice that nothing has been paid on.

    - A reason is required.
    - A voided invoice keeps its number; numbers are never reused.
    """
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(command.invoice_id)
        invoice, events = invoice.void(reason=command.reason, at=deps.clock.now())
        invoice = await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


async def mark_overdue_invoices(deps: BillingDeps, command: MarkOverdueInvoices) -> list[Invoice]:
    """Announce invoice.overdue for every open invoice past due with money owing.

    - Each invoice is announced once, ever: running it again announces nothing new.
    - At most `limit` invoices per run; the next run picks up the rest.
    """
    now = deps.clock.now()
    query = InvoiceQuery(overdue_at=now, overdue_notified=False, limit=command.limit)
    async with deps.uow() as uow:
        notified: list[Invoice] = []
        events: list[DomainEvent] = []
        for invoice in await uow.invoices.search(query):
            invoice, invoice_events = invoice.notify_overdue(now)
            notified.append(await uow.invoices.update(invoice))
            events.extend(invoice_events)
        await _record_and_commit(uow, events, command.correlation_id)
    return notified


# -- payments ---------------------------------------------------------------------------------


async def record_manual_payment(deps: BillingDeps, command: RecordManualPayment) -> PaymentRecord:
    """Record money received outside Stripe (bank transfer, cheque) and allocate it to an invoice.

    - The external reference is unique across all payments.
    - The amount is positive, in the invoice's currency, and at most the invoice's balance.
    - The invoice is issued or partially paid; paying its balance makes it paid.
    - It cannot be received in the future (`received_at` defaults to now).
    """
    async with deps.uow() as uow:
        invoice = await uow.invoices.get(command.invoice_id)
        await _require_unused_reference(uow, command.external_reference)
        now = deps.clock.now()
        payment, events = PaymentRecord.record(
            payment_id=deps.ids.new_id("pay"),
            company_id=invoice.company_id,
            method=PaymentMethod.MANUAL,
            external_reference=command.external_reference,
            amount=command.amount,
            received_at=now if command.received_at is None else command.received_at,
            at=now,
            notes=command.notes,
        )
        payment, invoice, allocation_events = allocate(
            payment, invoice, allocation_id=deps.ids.new_id("alloc"), amount=command.amount, at=now
        )
        payment = await uow.payments.add(payment)
        await uow.invoices.update(invoice)
        await _record_and_commit(uow, [*events, *allocation_events], command.correlation_id)
    return payment


async def allocate_payment(deps: BillingDeps, command: AllocatePayment) -> PaymentAllocation:
    """Allocate (part of) an existing payment to an invoice.

    - Payment and invoice belong to the same company and currency.
    - The amount (default: as much as both allow) is positive, at most what the payment has
      left and at most the invoice's balance.
    """
    async with deps.uow() as uow:
        payment = await uow.payments.get(command.payment_id)
        invoice = await uow.invoices.get(command.invoice_id)
        amount = allocatable_amount(payment, invoice) if command.amount is None else command.amount
        if amount.is_zero:
            raise ValidationError(
                f"nothing to allocate: payment {payment.id} has {payment.available} left, "
                f"invoice {invoice.id} owes {invoice.balance}",
                {"field": "amount"},
            )
        payment, invoice, events = allocate(
            payment,
            invoice,
            allocation_id=deps.ids.new_id("alloc"),
            amount=amount,
            at=deps.clock.now(),
        )
        payment = await uow.payments.update(payment)
        await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return payment.allocations[-1]


async def refund_payment(deps: BillingDeps, command: RefundPayment) -> PaymentRecord:
    """Refund a payment in full (no amount) or in part.

    - Never more than was paid and not yet refunded.
    - Unallocated money is refunded first; then allocations are released latest first, and
      the invoices they paid re-open (paid -> partially paid or issued).
    - Idempotent per `reference`: the same refund again changes nothing; the same reference
      with another amount is a conflict.
    """
    async with deps.uow() as uow:
        payment = await uow.payments.get(command.payment_id)
        if command.amount is None and payment.refund_for(command.reference) is not None:
            return payment
        amount = _whole_refundable(payment) if command.amount is None else command.amount
        invoices = await _invoices_by_id(uow, payment.invoice_ids_with_outstanding_allocations())
        refunded, changed, events = refund(
            payment, invoices, amount=amount, at=deps.clock.now(), reference=command.reference
        )
        if not events:
            return payment
        refunded = await uow.payments.update(refunded)
        for invoice in changed:
            await uow.invoices.update(invoice)
        await _record_and_commit(uow, events, command.correlation_id)
    return refunded


# -- the paid-order flow ----------------------------------------------------------------------


async def issue_invoice_for_paid_order(
    deps: BillingDeps, command: IssueInvoiceForPaidOrder
) -> Invoice:
    """Invoice a paid order and allocate its payment, in one transaction.

    - One invoice per order: a second call (or a redelivered order.paid) returns the existing
      invoice and records nothing, also when two deliveries race.
    - The invoice mirrors the order's items, is issued at once (number, due date) and gets
      min(payment available, balance) allocated, so a fully paid order gives a paid invoice;
      an overpayment's rest stays available on the payment.
    - The payment is recorded once per external reference: an existing one is reused if it
      is the same company's payment of the same amount, otherwise it is a conflict.
    """
    try:
        return await _invoice_paid_order(deps, command)
    except ConflictError:
        # Another delivery of the same event may have committed first: its invoice is ours.
        async with deps.uow() as uow:
            existing = await uow.invoices.for_order(command.order_id)
        if existing is None:
            raise
        return existing


async def _invoice_paid_order(deps: BillingDeps, command: IssueInvoiceForPaidOrder) -> Invoice:
    async with deps.uow() as uow:
        existing = await uow.invoices.for_order(command.order_id)
        if existing is not None:
            return existing
        now = deps.clock.now()
        invoice, events = Invoice.draft(
            invoice_id=deps.ids.new_id("inv"),
            company_id=command.company_id,
            currency=command.currency,
            at=now,
            lines=[spec.to_line(deps.ids.new_id("invl")) for spec in command.lines],
            order_id=command.order_id,
            billing_contact_id=command.billing_contact_id,
            billing_address_id=command.billing_address_id,
        )
        number = await uow.invoice_numbers.next_number()
        invoice, issue_events = invoice.issue(number=number, at=now)
        payment, payment_events, is_new_payment = await _order_payment(uow, deps, command, now)
        events = [*events, *issue_events, *payment_events]
        amount = allocatable_amount(payment, invoice)
        if not amount.is_zero:
            payment, invoice, allocation_events = allocate(
                payment, invoice, allocation_id=deps.ids.new_id("alloc"), amount=amount, at=now
            )
            events.extend(allocation_events)
        invoice = await uow.invoices.add(invoice)
        if is_new_payment:
            await uow.payments.add(payment)
        else:
            await uow.payments.update(payment)
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


async def _order_payment(
    uow: BillingUnitOfWork, deps: BillingDeps, command: IssueInvoiceForPaidOrder, now: datetime
) -> tuple[PaymentRecord, list[DomainEvent], bool]:
    """The order's payment: the one already recorded under its reference, or a new one."""
    spec = command.payment
    existing = await uow.payments.by_external_reference(spec.external_reference)
    if existing is not None:
        if existing.company_id != command.company_id or existing.amount != spec.amount:
            raise ConflictError(
                f"payment {spec.external_reference} is already recorded for another "
                "company or amount",
                {"field": "external_reference", "payment_id": existing.id},
            )
        return existing, [], False
    payment, events = PaymentRecord.record(
        payment_id=deps.ids.new_id("pay"),
        company_id=command.company_id,
        method=spec.method,
        external_reference=spec.external_reference,
        amount=spec.amount,
        received_at=spec.received_at,
        at=now,
        stripe_payment_intent_id=spec.stripe_payment_intent_id,
        stripe_charge_id=spec.stripe_charge_id,
    )
    return payment, events, True


async def refund_order_payment(deps: BillingDeps, command: RefundOrderPayment) -> Invoice:
    """Refund (part of) what was paid for an order and re-open its invoice's balance.

    - The order's payments are those allocated to its invoice, refunded latest first.
    - No amount refunds everything still refundable on them; more than that is refused.
    - Idempotent per `reference`: once any of the order's payments holds a refund with this
      reference, the call changes nothing and returns the invoice.
    """
    async with deps.uow() as uow:
        invoice = await uow.invoices.for_order(command.order_id)
        if invoice is None:
            raise NotFoundError(
                f"order {command.order_id} has no invoice",
                {"kind": "invoice", "order_id": command.order_id},
            )
        payments = await uow.payments.allocated_to_invoice(invoice.id)
        if any(payment.refund_for(command.reference) for payment in payments):
            return invoice
        refundable = Money.total((p.refundable for p in payments), invoice.currency)
        amount = refundable if command.amount is None else command.amount
        _check_order_refund(amount, refundable, command.order_id)
        changed, events = await _refund_across(uow, payments, invoice, amount, deps, command)
        for reopened in changed.values():
            stored = await uow.invoices.update(reopened)
            invoice = stored if stored.id == invoice.id else invoice
        await _record_and_commit(uow, events, command.correlation_id)
    return invoice


def _check_order_refund(amount: Money, refundable: Money, order_id: str) -> None:
    if amount.currency != refundable.currency:
        raise ValidationError(
            f"the refund is in {amount.currency}, the order was paid in {refundable.currency}",
            {"field": "currency"},
        )
    if amount.amount <= 0 or amount > refundable:
        raise ValidationError(
            f"order {order_id} has {refundable} refundable; cannot refund {amount}",
            {"field": "amount", "refundable": refundable.to_payload()},
        )


async def _refund_across(
    uow: BillingUnitOfWork,
    payments: Sequence[PaymentRecord],
    invoice: Invoice,
    amount: Money,
    deps: BillingDeps,
    command: RefundOrderPayment,
) -> tuple[dict[str, Invoice], list[DomainEvent]]:
    """Refund `amount` from `payments` in order; returns the changed invoices and the events."""
    now = deps.clock.now()
    known: dict[str, Invoice] = {invoice.id: invoice}
    changed: dict[str, Invoice] = {}
    events: list[DomainEvent] = []
    remaining = amount
    for payment in payments:
        share = remaining if remaining < payment.refundable else payment.refundable
        if share.amount <= 0:
            continue
        wanted = payment.invoice_ids_with_outstanding_allocations()
        known.update(await _invoices_by_id(uow, [i for i in wanted if i not in known]))
        refunded, reopened, refund_events = refund(
            payment, known, amount=share, at=now, reference=command.reference
        )
        await uow.payments.update(refunded)
        for changed_invoice in reopened:
            known[changed_invoice.id] = changed[changed_invoice.id] = changed_invoice
        events.extend(refund_events)
        remaining = remaining - share
    return changed, events


# -- shared steps -----------------------------------------------------------------------------


def _new_lines(deps: BillingDeps, lines: Iterable[NewInvoiceLine]) -> list[InvoiceLine]:
    return [line.to_line(deps.ids.new_id("invl")) for line in lines]


def _whole_refundable(payment: PaymentRecord) -> Money:
    if payment.refundable.is_zero:
        raise ValidationError(
            f"payment {payment.id} is already refunded in full", {"field": "amount"}
        )
    return payment.refundable


async def _require_unused_reference(uow: BillingUnitOfWork, reference: str) -> None:
    existing = await uow.payments.by_external_reference(reference)
    if existing is not None:
        raise ConflictError(
            f"a payment with reference {reference!r} is already recorded",
            {"field": "external_reference", "payment_id": existing.id},
        )


async def _invoices_by_id(uow: BillingUnitOfWork, invoice_ids: Iterable[str]) -> dict[str, Invoice]:
    return {invoice_id: await uow.invoices.get(invoice_id) for invoice_id in invoice_ids}


async def _record_and_commit(
    uow: BillingUnitOfWork, events: Sequence[DomainEvent], correlation_id: str | None
) -> None:
    await uow.events.record(events, correlation_id)
    await uow.commit()
