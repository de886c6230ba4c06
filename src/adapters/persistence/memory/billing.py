"""In-memory billing repositories and the gap-free invoice number sequence."""

from __future__ import annotations

from datetime import datetime

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.billing.model import Invoice, PaymentAllocation, PaymentRecord
from platform_core.billing.ports import InvoiceQuery

INVOICE_ORDER_SCOPE = "invoice_order"
INVOICE_NUMBER_SCOPE = "invoice_number"
PAYMENT_REFERENCE_SCOPE = "payment_external_reference"
INVOICE_NUMBER_SEQUENCE = "invoice_number"


class InMemoryInvoiceRepository(InMemoryRepository[Invoice]):
    table = "invoices"
    kind = "invoice"

    async def add(self, aggregate: Invoice) -> Invoice:
        self._claim_references(aggregate)
        return await super().add(aggregate)

    async def update(self, aggregate: Invoice) -> Invoice:
        # The number is given at issue, which is an update: claim it then.
        self._claim_references(aggregate)
        return await super().update(aggregate)

    def _claim_references(self, invoice: Invoice) -> None:
        if invoice.order_id is not None:
            self._tx.claim_unique(INVOICE_ORDER_SCOPE, invoice.order_id, invoice.id)
        if invoice.number is not None:
            self._tx.claim_unique(INVOICE_NUMBER_SCOPE, invoice.number, invoice.id)

    async def for_order(self, order_id: str) -> Invoice | None:
        found = self._where(lambda invoice: invoice.order_id == order_id)
        return found[0] if found else None

    async def search(self, query: InvoiceQuery) -> list[Invoice]:
        found = sorted(self._where(query.matches), key=lambda i: (i.created_at, i.id))
        return found[query.offset : query.offset + query.limit]


class InMemoryPaymentRepository(InMemoryRepository[PaymentRecord]):
    table = "payments"
    kind = "payment"

    async def add(self, aggregate: PaymentRecord) -> PaymentRecord:
        self._tx.claim_unique(PAYMENT_REFERENCE_SCOPE, aggregate.external_reference, aggregate.id)
        return await super().add(aggregate)

    async def by_external_reference(self, reference: str) -> PaymentRecord | None:
        found = self._where(lambda payment: payment.external_reference == reference)
        return found[0] if found else None

    async def allocated_to_invoice(self, invoice_id: str) -> list[PaymentRecord]:
        latest: dict[str, tuple[PaymentAllocation, PaymentRecord]] = {}
        for payment in self._all():
            for allocation in payment.allocations:
                if allocation.invoice_id == invoice_id:
                    latest[payment.id] = (allocation, payment)
        ordered = sorted(latest.values(), key=lambda pair: _allocation_order(pair[0]))
        return [payment for _, payment in reversed(ordered)]

    async def allocations_for_invoice(self, invoice_id: str) -> list[PaymentAllocation]:
        allocations = [
            allocation
            for payment in self._all()
            for allocation in payment.allocations
            if allocation.invoice_id == invoice_id
        ]
        return sorted(allocations, key=_allocation_order)


def _allocation_order(allocation: PaymentAllocation) -> tuple[datetime, str]:
    return (allocation.allocated_at, allocation.id)


class InMemoryInvoiceNumberSequence:
    """Numbers from the transaction's sequence: they advance only when it commits."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def next_number(self) -> int:
        return self._tx.next_in_sequence(INVOICE_NUMBER_SEQUENCE)


class BillingTables:
    """Unit-of-work mixin: the billing repositories over the unit of work's transaction."""

    _tx: Transaction

    @property
    def invoices(self) -> InMemoryInvoiceRepository:
        return InMemoryInvoiceRepository(self._tx)

    @property
    def payments(self) -> InMemoryPaymentRepository:
        return InMemoryPaymentRepository(self._tx)

    @property
    def invoice_numbers(self) -> InMemoryInvoiceNumberSequence:
        return InMemoryInvoiceNumberSequence(self._tx)
