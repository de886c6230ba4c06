"""Billing ports: invoice and payment repositories, the invoice number sequence, the billing
unit of work, the invoice renderer and what billing use cases need from their caller."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from platform_core.billing.model import Invoice, InvoiceStatus, PaymentAllocation, PaymentRecord
from platform_core.customers.model import Address, Company, Contact
from platform_core.customers.ports import CustomersUnitOfWork
from platform_core.ports.core import Repository, ServiceDeps, UnitOfWork
from platform_core.shared.errors import ValidationError
from platform_core.shared.ids import optional_id_field
from platform_core.shared.time import aware

MAX_PAGE_SIZE = 1_000


def _page_size(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_PAGE_SIZE:
        raise ValidationError(
            f"limit must be 1 to {MAX_PAGE_SIZE}", {"field": attribute.name, "value": repr(value)}
        )


def _offset(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(
            "offset must not be negative", {"field": attribute.name, "value": repr(value)}
        )


def _status_set(value: Iterable[InvoiceStatus | str]) -> frozenset[InvoiceStatus]:
    try:
        return frozenset(InvoiceStatus(status) for status in value)
    except ValueError as error:
        raise ValidationError(str(error), {"field": "statuses"}) from None


def _stored_statuses(_: Any, attribute: attrs.Attribute[Any], value: frozenset[object]) -> None:
    if InvoiceStatus.OVERDUE in value:
        raise ValidationError(
            "overdue is derived: filter with overdue_at instead", {"field": attribute.name}
        )


@attrs.frozen(kw_only=True)
class InvoiceQuery:
    """Which invoices to list: every filter that is set must match.

    `statuses` match the stored status; overdue is derived, so ask for it with `overdue_at`
    (invoices overdue at that instant); `overdue_notified` tells whether invoice.overdue was
    already announced. `issued_from` is inclusive, `issued_until` exclusive.
    Results are ordered by creation time, then id.
    """

    company_id: str | None = attrs.field(default=None, validator=optional_id_field)
    statuses: frozenset[InvoiceStatus] = attrs.field(
        default=frozenset(), converter=_status_set, validator=_stored_statuses
    )
    order_id: str | None = attrs.field(default=None, validator=optional_id_field)
    issued_from: datetime | None = attrs.field(default=None, validator=aware)
    issued_until: datetime | None = attrs.field(default=None, validator=aware)
    overdue_at: datetime | None = attrs.field(default=None, validator=aware)
    overdue_notified: bool | None = None
    limit: int = attrs.field(default=100, validator=_page_size)
    offset: int = attrs.field(default=0, validator=_offset)

    def matches(self, invoice: Invoice) -> bool:
        """The filters as a predicate, for in-memory stores and tests."""
        return (
            (self.company_id is None or invoice.company_id == self.company_id)
            and (not self.statuses or invoice.status in self.statuses)
            and (self.order_id is None or invoice.order_id == self.order_id)
            and self._issued_in_range(invoice.issued_at)
            and (self.overdue_at is None or invoice.is_overdue(self.overdue_at))
            and (
                self.overdue_notified is None
                or (invoice.overdue_notified_at is not None) == self.overdue_notified
            )
        )

    def _issued_in_range(self, issued_at: datetime | None) -> bool:
        if self.issued_from is None and self.issued_until is None:
            return True
        if issued_at is None:
            return False
        after_start = self.issued_from is None or issued_at >= self.issued_from
        before_end = self.issued_until is None or issued_at < self.issued_until
        return after_start and before_end


class InvoiceRepository(Repository[Invoice], Protocol):
    """Invoices; at most one per order and each number used once."""

    async def for_order(self, order_id: str) -> Invoice | None: ...

    async def search(self, query: InvoiceQuery) -> list[Invoice]: ...


class PaymentRepository(Repository[PaymentRecord], Protocol):
    """Payment records with their allocations and refunds; external references are unique.

    The allocations of one payment are `PaymentRecord.allocations`; those of an invoice are
    found with `allocations_for_invoice`.
    """

    async def by_external_reference(self, reference: str) -> PaymentRecord | None: ...

    async def allocated_to_invoice(self, invoice_id: str) -> list[PaymentRecord]:
        """Payments with an allocation to the invoice, latest allocation first."""
        ...

    async def allocations_for_invoice(self, invoice_id: str) -> list[PaymentAllocation]:
        """Every allocation ever made to the invoice (released ones too), oldest first."""
        ...


class InvoiceNumberSequence(Protocol):
    """Gap-free invoice numbers: a number drawn counts only if its unit of work commits."""

    async def next_number(self) -> int: ...


class BillingUnitOfWork(UnitOfWork, Protocol):
    """One billing transaction over invoices, payments and the invoice number sequence."""

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def invoice_numbers(self) -> InvoiceNumberSequence: ...


class BillingDeps(ServiceDeps, Protocol):
    """What billing use cases need: clock, ids and a billing unit of work."""

    def uow(self) -> BillingUnitOfWork: ...


class InvoiceRenderer(Protocol):
    """Prints an invoice, with who it bills and the payments counted against it, as PDF bytes."""

    def render(
        self,
        invoice: Invoice,
        company: Company,
        *,
        payments: Sequence[PaymentRecord] = (),
        billing_contact: Contact | None = None,
        billing_address: Address | None = None,
        at: datetime,
    ) -> bytes:
        """`payments` are those with an allocation to the invoice; `at` is when it is printed
        (the status shown is the one at `at`, so an invoice past due prints as overdue)."""
        ...


class InvoicePrintingUnitOfWork(BillingUnitOfWork, CustomersUnitOfWork, Protocol):
    """A billing transaction that can also read the company, contact and address it bills."""


class InvoiceDraftingDeps(ServiceDeps, Protocol):
    """What drafting a manual invoice needs: the billing records, and the company, contact and
    address it bills, to check them."""

    def uow(self) -> InvoicePrintingUnitOfWork: ...


class InvoicePrintingDeps(ServiceDeps, Protocol):
    """What printing an invoice needs: the billing and customers records, and a renderer."""

    def uow(self) -> InvoicePrintingUnitOfWork: ...

    @property
    def renderer(self) -> InvoiceRenderer: ...
