"""Tables, mappers and repositories of invoices, payments and their allocations.

Beside the guarded (versioned) updates, the schema itself refuses over-allocation: an invoice
never has more allocated than its total, a payment never more allocated than its amount.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
)

from adapters.persistence.sql.codec import CONVERTER
from adapters.persistence.sql.mapper import ChildMapper, RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.outbox import SqlSequence
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.billing.model import (
    OPEN_INVOICE_STATUSES,
    Invoice,
    InvoiceLine,
    PaymentAllocation,
    PaymentRecord,
)
from platform_core.billing.ports import InvoiceQuery

INVOICE_NUMBER_SEQUENCE = "invoice_number"

invoices = Table(
    "invoices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("status", String(20), nullable=False),
    Column("allocated_amount", BigInteger, nullable=False),
    Column("allocated_currency", String(3), nullable=False),
    Column("total_amount", BigInteger, nullable=False),
    Column("balance_amount", BigInteger, nullable=False),
    Column("order_id", String(64), unique=True),
    Column("number", String(32), unique=True),
    Column("issued_at", Instant),
    Column("payment_terms_days", Integer),
    Column("due_date", Instant),
    Column("paid_at", Instant),
    Column("voided_at", Instant),
    Column("void_reason", Text),
    Column("overdue_notified_at", Instant),
    Column("billing_contact_id", String(64)),
    Column("billing_address_id", String(64)),
    Column("version", Integer, nullable=False),
    CheckConstraint("allocated_amount <= total_amount", name="allocated_within_total"),
    Index(None, "created_at", "id"),
    Index(None, "company_id", "created_at", "id"),
    Index(None, "status", "created_at", "id"),
    Index(None, "issued_at"),
    Index(None, "status", "due_date"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", String(64), ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("id", String(64), primary_key=True),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_amount_amount", BigInteger, nullable=False),
    Column("unit_amount_currency", String(3), nullable=False),
    Column("adjustments", Json, nullable=False),
    Column("order_item_id", String(64)),
    Column("product_id", String(64)),
    Index(None, "invoice_id", "position"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("method", String(20), nullable=False),
    Column("external_reference", String(255), nullable=False, unique=True),
    Column("amount_amount", BigInteger, nullable=False),
    Column("amount_currency", String(3), nullable=False),
    Column("allocated_amount", BigInteger, nullable=False),
    Column("received_at", Instant, nullable=False),
    Column("refunds", Json, nullable=False),
    Column("stripe_payment_intent_id", String(255)),
    Column("stripe_charge_id", String(255)),
    Column("notes", Text),
    Column("version", Integer, nullable=False),
    CheckConstraint("allocated_amount <= amount_amount", name="allocated_within_amount"),
    Index(None, "company_id", "received_at"),
    Index(None, "stripe_payment_intent_id"),
)

payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("payment_id", String(64), ForeignKey("payments.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("id", String(64), primary_key=True),
    Column("invoice_id", String(64), nullable=False),
    Column("amount_amount", BigInteger, nullable=False),
    Column("amount_currency", String(3), nullable=False),
    Column("allocated_at", Instant, nullable=False),
    Column("released_amount", BigInteger, nullable=False),
    Column("released_currency", String(3), nullable=False),
    CheckConstraint("released_amount <= amount_amount", name="released_within_amount"),
    Index(None, "invoice_id", "allocated_at"),
    Index(None, "payment_id", "position"),
)


def _invoice_columns(invoice: Invoice) -> dict[str, Any]:
    return {"total_amount": invoice.total.amount, "balance_amount": invoice.balance.amount}


def _payment_columns(payment: PaymentRecord) -> dict[str, Any]:
    return {"allocated_amount": payment.allocated.amount}


ALLOCATIONS = ChildMapper(PaymentAllocation, payment_allocations, "payment_id")


class SqlInvoiceRepository(SqlRepository[Invoice]):
    mapper = RowMapper(
        Invoice,
        invoices,
        children={"lines": ChildMapper(InvoiceLine, invoice_lines, "invoice_id")},
        derived=_invoice_columns,
    )
    kind = "invoice"

    def unique_details(self, aggregate: Invoice) -> dict[str, Any]:
        return {"order_id": aggregate.order_id, "number": aggregate.number}

    async def for_order(self, order_id: str) -> Invoice | None:
        return await self._first(invoices.c.order_id == order_id)

    async def search(self, query: InvoiceQuery) -> list[Invoice]:
        return await self._where(
            *_conditions(query),
            order_by=(invoices.c.created_at, invoices.c.id),
            limit=query.limit,
            offset=query.offset,
        )


def _conditions(query: InvoiceQuery) -> list[Any]:
    c = invoices.c
    conditions: list[Any] = []
    if query.company_id is not None:
        conditions.append(c.company_id == query.company_id)
    if query.statuses:
        conditions.append(c.status.in_(sorted(status.value for status in query.statuses)))
    if query.order_id is not None:
        conditions.append(c.order_id == query.order_id)
    if query.issued_from is not None:
        conditions.append(c.issued_at >= query.issued_from)
    if query.issued_until is not None:
        conditions.append(c.issued_at < query.issued_until)
    if query.overdue_at is not None:
        conditions.extend(_overdue_at(query.overdue_at))
    if query.overdue_notified is not None:
        notified = c.overdue_notified_at
        conditions.append(notified.is_not(None) if query.overdue_notified else notified.is_(None))
    return conditions


def _overdue_at(at: datetime) -> list[Any]:
    """`Invoice.is_overdue` in SQL: open, past due and still owing."""
    c = invoices.c
    open_statuses = sorted(status.value for status in OPEN_INVOICE_STATUSES)
    return [c.status.in_(open_statuses), c.due_date < at, c.balance_amount > 0]


class SqlPaymentRepository(SqlRepository[PaymentRecord]):
    mapper = RowMapper(
        PaymentRecord, payments, children={"allocations": ALLOCATIONS}, derived=_payment_columns
    )
    kind = "payment"

    def unique_details(self, aggregate: PaymentRecord) -> dict[str, Any]:
        return {"field": "external_reference", "external_reference": aggregate.external_reference}

    async def by_external_reference(self, reference: str) -> PaymentRecord | None:
        return await self._first(payments.c.external_reference == reference)

    async def allocated_to_invoice(self, invoice_id: str) -> list[PaymentRecord]:
        latest: dict[str, int] = {}
        for rank, allocation in enumerate(await self.allocations_for_invoice(invoice_id)):
            latest[allocation.payment_id] = rank
        if not latest:
            return []
        found = await self._where(payments.c.id.in_(list(latest)))
        return sorted(found, key=lambda payment: latest[payment.id], reverse=True)

    async def allocations_for_invoice(self, invoice_id: str) -> list[PaymentAllocation]:
        statement = (
            select(payment_allocations)
            .where(payment_allocations.c.invoice_id == invoice_id)
            .order_by(payment_allocations.c.allocated_at, payment_allocations.c.id)
        )
        rows = [dict(row) for row in (await self._session.execute(statement)).mappings()]
        # Positions only order one payment's allocations; here time does.
        plain = [ALLOCATIONS.plain([row])[0] for row in rows]
        return [CONVERTER.structure(item, PaymentAllocation) for item in plain]


class BillingTables:
    """The billing repositories and the invoice number sequence over the session."""

    _session: SqlSession

    @property
    def invoices(self) -> SqlInvoiceRepository:
        return SqlInvoiceRepository(self._session)

    @property
    def payments(self) -> SqlPaymentRepository:
        return SqlPaymentRepository(self._session)

    @property
    def invoice_numbers(self) -> SqlSequence:
        return SqlSequence(self._session, INVOICE_NUMBER_SEQUENCE)
