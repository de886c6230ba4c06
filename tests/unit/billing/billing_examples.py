"""Example values (amounts in cents, fixed instants) and in-memory wiring for billing tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.billing import BillingTables
from adapters.persistence.memory.customers import CustomersTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.billing.model import (
    Adjustment,
    Invoice,
    InvoiceLine,
    PaymentMethod,
    PaymentRecord,
)
from platform_core.customers.model import Address, Company, Contact
from platform_core.shared.money import Money

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class BillingUnitOfWorkForTests(BillingTables, CustomersTables, InMemoryUnitOfWorkBase):
    """The billing mixin composed the way the application's in-memory unit of work composes it,
    with the customers tables a manual invoice's company, contact and address are read from."""


def example_customers(db: InMemoryDatabase | None = None) -> InMemoryDatabase:
    """`db` (a new one by default) holding the companies the examples bill: co_1, with its
    contact ct_1 and address addr_1, and co_2."""
    db = db or InMemoryDatabase()
    for company_id in ("co_1", "co_2"):
        company, _ = Company.create(
            company_id=company_id,
            name=f"Company {company_id}",
            company_mirror_id=f"legacy-{company_id}",
            currency="USD",
            at=START,
        )
        db.table("companies")[company.id] = company
    contact, _ = Contact.create(
        contact_id="ct_1", company_id="co_1", name="Ada Payer", email="ada@co1.example", at=START
    )
    db.table("contacts")[contact.id] = contact
    address, _ = Address.create(
        address_id="addr_1",
        company_id="co_1",
        lines=["1 King Street"],
        city="Toronto",
        country="CA",
        at=START,
    )
    db.table("addresses")[address.id] = address
    return db


@attrs.define
class BillingDepsForTests:
    """Satisfies BillingDeps with real in-memory adapters."""

    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase

    def uow(self) -> BillingUnitOfWorkForTests:
        return BillingUnitOfWorkForTests(self.db, self.ids)

    @classmethod
    def fresh(cls, db: InMemoryDatabase | None = None) -> BillingDepsForTests:
        return cls(FixedClock(START), SequentialIdGenerator(), db or example_customers())


def usd(cents: int) -> Money:
    return Money(cents, "USD")


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


def line(
    line_id: str = "invl_1",
    *,
    quantity: int = 1,
    unit_amount: Money | None = None,
    adjustments: Sequence[Adjustment] = (),
) -> InvoiceLine:
    return InvoiceLine(
        id=line_id,
        description="Sensor kit",
        quantity=quantity,
        unit_amount=unit_amount or usd(10_000),
        adjustments=tuple(adjustments),
    )


def draft_invoice(
    *lines: InvoiceLine,
    invoice_id: str = "inv_1",
    company_id: str = "co_1",
    currency: str = "USD",
    order_id: str | None = None,
) -> Invoice:
    invoice, _ = Invoice.draft(
        invoice_id=invoice_id,
        company_id=company_id,
        currency=currency,
        at=START,
        lines=lines,
        order_id=order_id,
    )
    return invoice


def issued_invoice(
    total: Money | None = None,
    *,
    invoice_id: str = "inv_1",
    company_id: str = "co_1",
    number: int = 1,
    terms_days: int = 30,
) -> Invoice:
    """An issued invoice of one line worth `total` (default 100.00 USD)."""
    amount = total or usd(10_000)
    draft = draft_invoice(
        line(unit_amount=amount),
        invoice_id=invoice_id,
        company_id=company_id,
        currency=amount.currency,
    )
    invoice, _ = draft.issue(number=number, at=START, payment_terms_days=terms_days)
    return invoice


def payment(
    amount: Money | None = None,
    *,
    payment_id: str = "pay_1",
    company_id: str = "co_1",
    reference: str = "pi_1",
) -> PaymentRecord:
    """A Stripe payment just recorded (default 100.00 USD), nothing allocated yet."""
    recorded, _ = PaymentRecord.record(
        payment_id=payment_id,
        company_id=company_id,
        method=PaymentMethod.STRIPE,
        external_reference=reference,
        amount=amount or usd(10_000),
        received_at=START,
        at=START,
    )
    return recorded
