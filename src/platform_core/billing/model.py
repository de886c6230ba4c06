"""Billing model: invoices and their lines, payments, allocations and refunds as immutable values.

Who holds what: an `Invoice` keeps the sum of the allocations made to it (`allocated`); a
`PaymentRecord` keeps its own `PaymentAllocation`s and `PaymentRefund`s, so the rule "a payment
never allocates more than it has left" is checked inside one aggregate. The functions `allocate`
and `refund` at the bottom change a payment and its invoices together, so both sides always agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias

import attrs

from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import id_field, non_empty_text, optional_id_field, positive_int
from platform_core.shared.money import Money, validate_currency
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import require_aware

SOURCE_MODULE = "billing"
DEFAULT_PAYMENT_TERMS_DAYS = 30
MAX_PAYMENT_TERMS_DAYS = 365
MAX_REFERENCE_LENGTH = 255
MAX_BASIS_POINTS = 10_000
_INVOICE_NUMBER = re.compile(r"INV-\d{6,}")


class BillingEvent(StrEnum):
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_PAYMENT_ALLOCATED = "invoice.payment_allocated"
    INVOICE_PAID = "invoice.paid"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_OVERDUE = "invoice.overdue"
    INVOICE_REFUNDED = "invoice.refunded"
    PAYMENT_RECORDED = "payment.recorded"
    PAYMENT_REFUNDED = "payment.refunded"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    # Derived: an open invoice past its due date with money owing. Shown, never stored.
    OVERDUE = "overdue"


class InvoiceTrigger(StrEnum):
    EDIT_LINES = "edit_lines"
    ISSUE = "issue"
    ALLOCATE_PARTIAL = "allocate_partial"
    ALLOCATE_FULL = "allocate_full"
    # A refund takes allocations back: "partial" leaves some paid, "full" re-opens everything.
    REFUND_PARTIAL = "refund_partial"
    REFUND_FULL = "refund_full"
    NOTIFY_OVERDUE = "notify_overdue"
    VOID = "void"


_S = InvoiceStatus
_T = InvoiceTrigger

INVOICE_MACHINE: StateMachine[InvoiceStatus, InvoiceTrigger] = StateMachine(
    name="invoice",
    initial=_S.DRAFT,
    transitions=MappingProxyType(
        {
            (_S.DRAFT, _T.EDIT_LINES): _S.DRAFT,
            (_S.DRAFT, _T.ISSUE): _S.ISSUED,
            (_S.DRAFT, _T.VOID): _S.VOID,
            (_S.ISSUED, _T.ALLOCATE_PARTIAL): _S.PARTIALLY_PAID,
            (_S.ISSUED, _T.ALLOCATE_FULL): _S.PAID,
            (_S.ISSUED, _T.NOTIFY_OVERDUE): _S.ISSUED,
            (_S.ISSUED, _T.VOID): _S.VOID,
            (_S.PARTIALLY_PAID, _T.ALLOCATE_PARTIAL): _S.PARTIALLY_PAID,
            (_S.PARTIALLY_PAID, _T.ALLOCATE_FULL): _S.PAID,
            (_S.PARTIALLY_PAID, _T.REFUND_PARTIAL): _S.PARTIALLY_PAID,
            (_S.PARTIALLY_PAID, _T.REFUND_FULL): _S.ISSUED,
            (_S.PARTIALLY_PAID, _T.NOTIFY_OVERDUE): _S.PARTIALLY_PAID,
            (_S.PAID, _T.REFUND_PARTIAL): _S.PARTIALLY_PAID,
            (_S.PAID, _T.REFUND_FULL): _S.ISSUED,
        }
    ),
    terminal=frozenset({_S.VOID}),
    derived=frozenset({_S.OVERDUE}),
)

# Issued and waiting for (more) money: the only states that can fall overdue.
OPEN_INVOICE_STATUSES = frozenset({_S.ISSUED, _S.PARTIALLY_PAID})


def format_invoice_number(sequence_number: int) -> str:
    """``INV-000123``: at least six digits, more once the sequence passes 999999."""
    if not isinstance(sequence_number, int) or isinstance(sequence_number, bool):
        raise ValidationError("invoice number must be an integer", {"field": "number"})
    if sequence_number <= 0:
        raise ValidationError("invoice number must be positive", {"field": "number"})
    return f"INV-{sequence_number:06d}"


# -- validators -------------------------------------------------------------------------------


def _invalid(field: str, message: str, **details: Any) -> ValidationError:
    return ValidationError(message, {"field": field, **details})


def _instant(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: a required, timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise _invalid(attribute.name, f"{attribute.name} must be a datetime")
    require_aware(value, attribute.name)


def _optional_instant(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _instant(instance, attribute, value)


def _money(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money):
        raise _invalid(attribute.name, f"{attribute.name} must be Money")


def _positive_money(instance: Any, attribute: attrs.Attribute[Any], value: Money) -> None:
    _money(instance, attribute, value)
    if value.amount <= 0:
        raise _invalid(attribute.name, f"{attribute.name} must be positive", value=str(value))


def _non_negative_money(instance: Any, attribute: attrs.Attribute[Any], value: Money) -> None:
    _money(instance, attribute, value)
    if value.is_negative:
        raise _invalid(attribute.name, f"{attribute.name} must not be negative", value=str(value))


def _currency(_: Any, __: attrs.Attribute[Any], value: object) -> None:
    validate_currency(value)


def _reference(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: an external reference (payment intent id, bank reference, refund id)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REFERENCE_LENGTH:
        raise _invalid(
            attribute.name,
            f"{attribute.name} must be a non-empty reference of at most "
            f"{MAX_REFERENCE_LENGTH} characters",
        )


def _optional_text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _invalid(attribute.name, f"{attribute.name} must be text when given")


def _require_positive(amount: object, field: str) -> Money:
    if not isinstance(amount, Money):
        raise _invalid(field, f"{field} must be Money")
    if amount.amount <= 0:
        raise _invalid(field, f"{field} must be positive", value=str(amount))
    return amount


def _require_currency(amount: Money, currency: str, field: str) -> None:
    # Checked before any arithmetic so the error names the field, not just the currencies.
    if amount.currency != currency:
        raise _invalid(
            field,
            f"{field} is in {amount.currency} but {currency} is expected",
            currency=amount.currency,
            expected_currency=currency,
        )


# -- lines and adjustments --------------------------------------------------------------------


@attrs.frozen
class AmountAdjustment:
    """A fixed change to a line's amount: negative is a discount, positive a surcharge."""

    label: str = attrs.field(validator=non_empty_text)
    amount: Money = attrs.field(validator=_money)

    def delta(self, gross: Money) -> Money:
        return self.amount


def _basis_points(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_BASIS_POINTS:
        raise _invalid(
            attribute.name,
            f"a percent discount is 1 to {MAX_BASIS_POINTS} basis points (0.01% to 100%)",
            value=repr(value),
        )


@attrs.frozen
class PercentDiscount:
    """A discount of `basis_points`/10000 of the line's gross amount (1% is 100 basis points).

    Every percentage applies to the gross amount (quantity x unit amount), never to an already
    discounted one, so the order of a line's adjustments does not change its total.
    """

    label: str = attrs.field(validator=non_empty_text)
    basis_points: int = attrs.field(validator=_basis_points)

    def delta(self, gross: Money) -> Money:
        return -gross.percent(self.basis_points)


Adjustment: TypeAlias = AmountAdjustment | PercentDiscount


def _adjustment_tuple(value: Iterable[Adjustment]) -> tuple[Adjustment, ...]:
    return tuple(value)


def _adjustments(_: Any, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
    for item in value:
        if not isinstance(item, AmountAdjustment | PercentDiscount):
            raise _invalid(attribute.name, "adjustments must be amounts or percent discounts")


@attrs.frozen(kw_only=True)
class InvoiceLine:
    """One billed item: quantity x unit amount, plus labelled adjustments; never below zero."""

    id: str = attrs.field(validator=id_field)
    description: str = attrs.field(validator=non_empty_text)
    quantity: int = attrs.field(validator=positive_int)
    unit_amount: Money = attrs.field(validator=_non_negative_money)
    adjustments: tuple[Adjustment, ...] = attrs.field(
        default=(), converter=_adjustment_tuple, validator=_adjustments
    )
    order_item_id: str | None = attrs.field(default=None, validator=optional_id_field)
    product_id: str | None = attrs.field(default=None, validator=optional_id_field)

    def __attrs_post_init__(self) -> None:
        for adjustment in self.adjustments:
            if isinstance(adjustment, AmountAdjustment):
                _require_currency(adjustment.amount, self.currency, "adjustments")
        if self.total.is_negative:
            raise _invalid(
                "adjustments",
                f"line {self.id} would total {self.total}; adjustments cannot take it below zero",
                line_id=self.id,
            )

    @property
    def currency(self) -> str:
        return self.unit_amount.currency

    @property
    def gross(self) -> Money:
        return self.unit_amount * self.quantity

    @property
    def adjustment_total(self) -> Money:
        gross = self.gross
        return Money.total((a.delta(gross) for a in self.adjustments), self.currency)

    @property
    def total(self) -> Money:
        return self.gross + self.adjustment_total

    def with_adjustment(self, adjustment: Adjustment) -> InvoiceLine:
        return attrs.evolve(self, adjustments=(*self.adjustments, adjustment))


def _line_tuple(value: Iterable[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    return tuple(value)


def _lines(_: Any, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
    seen: set[str] = set()
    for line in value:
        if not isinstance(line, InvoiceLine):
            raise _invalid(attribute.name, "lines must be InvoiceLine values")
        if line.id in seen:
            raise _invalid(attribute.name, f"line id {line.id} appears twice", line_id=line.id)
        seen.add(line.id)


def _invoice_number(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not _INVOICE_NUMBER.fullmatch(value)):
        raise _invalid(attribute.name, "invoice number must look like INV-000123")


# -- invoice ----------------------------------------------------------------------------------


def _invoice_status(value: str) -> InvoiceStatus:
    try:
        return InvoiceStatus(value)
    except ValueError:
        raise _invalid("status", f"unknown invoice status {value!r}") from None


def _optional_terms(_: Any, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_terms(value)


def _zero_allocated(invoice: Invoice) -> Money:
    return Money.zero(invoice.currency)


@attrs.frozen(kw_only=True)
class Invoice:
    """A bill to a company. Stored status is one of draft/issued/partially_paid/paid/void;
    `status_at(at)` adds the derived overdue. `allocated` is the sum of the payment allocations
    made to it, so `balance = total - allocated` is what is still owed."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    currency: str = attrs.field(validator=_currency)
    created_at: datetime = attrs.field(validator=_instant)
    status: InvoiceStatus = attrs.field(default=InvoiceStatus.DRAFT, converter=_invoice_status)
    lines: tuple[InvoiceLine, ...] = attrs.field(
        default=(), converter=_line_tuple, validator=_lines
    )
    allocated: Money = attrs.field(
        default=attrs.Factory(_zero_allocated, takes_self=True), validator=_non_negative_money
    )
    order_id: str | None = attrs.field(default=None, validator=optional_id_field)
    number: str | None = attrs.field(default=None, validator=_invoice_number)
    issued_at: datetime | None = attrs.field(default=None, validator=_optional_instant)
    payment_terms_days: int | None = attrs.field(default=None, validator=_optional_terms)
    due_date: datetime | None = attrs.field(default=None, validator=_optional_instant)
    paid_at: datetime | None = attrs.field(default=None, validator=_optional_instant)
    voided_at: datetime | None = attrs.field(default=None, validator=_optional_instant)
    void_reason: str | None = attrs.field(default=None, validator=_optional_text)
    overdue_notified_at: datetime | None = attrs.field(default=None, validator=_optional_instant)
    billing_contact_id: str | None = attrs.field(default=None, validator=optional_id_field)
    billing_address_id: str | None = attrs.field(default=None, validator=optional_id_field)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if self.status is InvoiceStatus.OVERDUE:
            raise _invalid("status", "overdue is derived from the due date and never stored")
        for line in self.lines:
            _require_currency(line.unit_amount, self.currency, "lines")
        _require_currency(self.allocated, self.currency, "allocated")
        self._check_allocated_matches_status()
        if self.status is InvoiceStatus.DRAFT and self.number is not None:
            raise _invalid("number", "a draft invoice has no number: it is assigned at issue")

    def _check_allocated_matches_status(self) -> None:
        allocated, total = self.allocated.amount, self.total.amount
        consistent = {
            InvoiceStatus.DRAFT: allocated == 0,
            InvoiceStatus.ISSUED: allocated == 0,
            InvoiceStatus.VOID: allocated == 0,
            InvoiceStatus.PARTIALLY_PAID: 0 < allocated < total,
            InvoiceStatus.PAID: 0 < allocated == total,
        }[self.status]
        if not consistent:
            raise _invalid(
                "allocated",
                f"{self.allocated} allocated does not fit a {self.status} invoice of {self.total}",
            )

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def draft(
        cls,
        *,
        invoice_id: str,
        company_id: str,
        currency: str,
        at: datetime,
        lines: Iterable[InvoiceLine] = (),
        order_id: str | None = None,
        billing_contact_id: str | None = None,
        billing_address_id: str | None = None,
    ) -> tuple[Invoice, list[DomainEvent]]:
        """A new draft; drafts are internal, so creating one announces nothing."""
        invoice = cls(
            id=invoice_id,
            company_id=company_id,
            currency=currency,
            created_at=at,
            lines=tuple(lines),
            order_id=order_id,
            billing_contact_id=billing_contact_id,
            billing_address_id=billing_address_id,
        )
        return invoice, []

    # -- reading ----------------------------------------------------------------------------

    @property
    def total(self) -> Money:
        return Money.total((line.total for line in self.lines), self.currency)

    @property
    def balance(self) -> Money:
        return self.total - self.allocated

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_INVOICE_STATUSES

    def is_overdue(self, at: datetime) -> bool:
        """Open, past its due date at `at`, and still owing money."""
        return (
            self.is_open
            and self.due_date is not None
            and self.due_date < at
            and self.balance.amount > 0
        )

    def status_at(self, at: datetime) -> InvoiceStatus:
        """The status to show at `at`: the stored one, or overdue when it is."""
        return InvoiceStatus.OVERDUE if self.is_overdue(at) else self.status

    def line(self, line_id: str) -> InvoiceLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise _invalid("line_id", f"invoice {self.id} has no line {line_id}", line_id=line_id)

    # -- editing (draft only) ---------------------------------------------------------------

    def _with_lines(self, lines: Iterable[InvoiceLine]) -> tuple[Invoice, list[DomainEvent]]:
        # Drafts are internal: editing them announces nothing.
        return attrs.evolve(self, lines=tuple(lines)), []

    def add_line(self, line: InvoiceLine) -> tuple[Invoice, list[DomainEvent]]:
        INVOICE_MACHINE.next_state(self.status, InvoiceTrigger.EDIT_LINES)
        if not isinstance(line, InvoiceLine):
            raise _invalid("line", "line must be an InvoiceLine")
        return self._with_lines((*self.lines, line))

    def remove_line(self, line_id: str) -> tuple[Invoice, list[DomainEvent]]:
        INVOICE_MACHINE.next_state(self.status, InvoiceTrigger.EDIT_LINES)
        removed = self.line(line_id)
        return self._with_lines(line for line in self.lines if line is not removed)

    def adjust_line(
        self, line_id: str, adjustment: Adjustment
    ) -> tuple[Invoice, list[DomainEvent]]:
        INVOICE_MACHINE.next_state(self.status, InvoiceTrigger.EDIT_LINES)
        adjusted = self.line(line_id).with_adjustment(adjustment)
        return self._with_lines(adjusted if line.id == line_id else line for line in self.lines)

    # -- lifecycle --------------------------------------------------------------------------

    def issue(
        self,
        *,
        number: int,
        at: datetime,
        payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS,
    ) -> tuple[Invoice, list[DomainEvent]]:
        """Give the invoice its number and due date (`at` + terms); it is then owed."""
        status = INVOICE_MACHINE.next_state(self.status, InvoiceTrigger.ISSUE)
        require_aware(at, "at")
        if not self.lines:
            raise _invalid("lines", "an invoice needs at least one line to be issued")
        _check_terms(payment_terms_days)
        issued = attrs.evolve(
            self,
            status=status,
            number=format_invoice_number(number),
            issued_at=at,
            payment_terms_days=payment_terms_days,
            due_date=at + timedelta(days=payment_terms_days),
        )
        return issued, [
            issued._event(
                BillingEvent.INVOICE_ISSUED,
                at,
                total=issued.total.to_payload(),
                balance=issued.balance.to_payload(),
                issued_at=at.isoformat(),
                due_date=_iso(issued.due_date),
                payment_terms_days=payment_terms_days,
                line_count=len(issued.lines),
                billing_contact_id=issued.billing_contact_id,
                billing_address_id=issued.billing_address_id,
            )
        ]

    def allocate(
        self, *, payment_id: str, allocation_id: str, amount: Money, at: datetime
    ) -> tuple[Invoice, list[DomainEvent]]:
        """Count `amount` of a payment against the balance; paying it off makes it paid.

        Use the module function `allocate`, which records the same allocation on the payment.
        """
        _require_positive(amount, "amount")
        _require_currency(amount, self.currency, "currency")
        settles = amount >= self.balance
        trigger = InvoiceTrigger.ALLOCATE_FULL if settles else InvoiceTrigger.ALLOCATE_PARTIAL
        status = INVOICE_MACHINE.next_state(self.status, trigger)
        if amount > self.balance:
            raise _invalid(
                "amount",
                f"cannot allocate {amount} to invoice {self.id}: its balance is {self.balance}",
                balance=self.balance.to_payload(),
            )
        allocated = attrs.evolve(
            self, status=status, allocated=self.allocated + amount, paid_at=at if settles else None
        )
        events = [
            allocated._event(
                BillingEvent.INVOICE_PAYMENT_ALLOCATED,
                at,
                payment_id=payment_id,
                allocation_id=allocation_id,
                amount=amount.to_payload(),
                allocated=allocated.allocated.to_payload(),
                balance=allocated.balance.to_payload(),
                status=str(status),
            )
        ]
        if settles:
            events.append(
                allocated._event(
                    BillingEvent.INVOICE_PAID,
                    at,
                    total=allocated.total.to_payload(),
                    paid_at=at.isoformat(),
                )
            )
        return allocated, events

    def release(
        self, *, payment_id: str, amount: Money, at: datetime, reference: str
    ) -> tuple[Invoice, list[DomainEvent]]:
        """Take back `amount` of what a refunded payment had allocated: the balance re-opens.

        Use the module function `refund`, which decides the amounts from the payment's side.
        """
        _require_positive(amount, "amount")
        _require_currency(amount, self.currency, "currency")
        releases_all = amount >= self.allocated
        trigger = InvoiceTrigger.REFUND_FULL if releases_all else InvoiceTrigger.REFUND_PARTIAL
        status = INVOICE_MACHINE.next_state(self.status, trigger)
        if amount > self.allocated:
            raise _invalid(
                "amount",
                f"cannot release {amount} from invoice {self.id}: only {self.allocated} allocated",
            )
        released = attrs.evolve(
            self, status=status, allocated=self.allocated - amount, paid_at=None
        )
        return released, [
            released._event(
                BillingEvent.INVOICE_REFUNDED,
                at,
                payment_id=payment_id,
                reference=reference,
                amount=amount.to_payload(),
                allocated=released.allocated.to_payload(),
                balance=released.balance.to_payload(),
                status=str(status),
            )
        ]

    def void(self, *, reason: str, at: datetime) -> tuple[Invoice, list[DomainEvent]]:
        """Cancel a draft or an unpaid issued invoice; its number, if any, stays used."""
        status = INVOICE_MACHINE.next_state(self.status, InvoiceTrigger.VOID)
        require_aware(at, "at")
        if not isinstance(reason, str) or not reason.strip():
            raise _invalid("reason", "a reason is required to void an invoice")
        voided = attrs.evolve(self, status=status, voided_at=at, void_reason=reason.strip())
        return voided, [
            voided._event(
                BillingEvent.INVOICE_VOIDED, at, reason=voided.void_reason, voided_at=at.isoformat()
            )
        ]

    def notify_overdue(self, at: datetime) -> tuple[Invoice, list[DomainEvent]]:
        """Announce once that the invoice is overdue; asking again changes nothing."""
        if self.overdue_notified_at is not None:
            return self, []
        INVOICE_MACHINE.next_state(self.status, InvoiceTrigger.NOTIFY_OVERDUE)
        due_date = self.due_date
        if due_date is None or not self.is_overdue(at):
            raise ConflictError(
                f"invoice {self.id} is not overdue at {at.isoformat()}",
                {"invoice_id": self.id, "due_date": _iso(due_date)},
            )
        notified = attrs.evolve(self, overdue_notified_at=at)
        return notified, [
            notified._event(
                BillingEvent.INVOICE_OVERDUE,
                at,
                balance=notified.balance.to_payload(),
                due_date=_iso(notified.due_date),
                days_overdue=(at - due_date).days,
            )
        ]

    def _event(self, event_type: BillingEvent, at: datetime, **payload: JsonValue) -> DomainEvent:
        return DomainEvent(
            type=event_type.value,
            aggregate_type="invoice",
            aggregate_id=self.id,
            payload={
                "invoice_id": self.id,
                "number": self.number,
                "company_id": self.company_id,
                "order_id": self.order_id,
                **payload,
            },
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )


def _check_terms(days: object) -> None:
    if (
        not isinstance(days, int)
        or isinstance(days, bool)
        or not 0 <= days <= MAX_PAYMENT_TERMS_DAYS
    ):
        raise _invalid(
            "payment_terms_days",
            f"payment terms must be 0 to {MAX_PAYMENT_TERMS_DAYS} days",
            value=repr(days),
        )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# -- payments ---------------------------------------------------------------------------------


class PaymentMethod(StrEnum):
    STRIPE = "stripe"
    MANUAL = "manual"


@attrs.frozen(kw_only=True)
class PaymentAllocation:
    """Part of a payment counted against one invoice. A refund may later `release` some or all
    of it; the allocation stays as history and only `outstanding` still counts."""

    id: str = attrs.field(validator=id_field)
    payment_id: str = attrs.field(validator=id_field)
    invoice_id: str = attrs.field(validator=id_field)
    amount: Money = attrs.field(validator=_positive_money)
    allocated_at: datetime = attrs.field(validator=_instant)
    released: Money = attrs.field(
        default=attrs.Factory(lambda self: Money.zero(self.amount.currency), takes_self=True),
        validator=_non_negative_money,
    )

    def __attrs_post_init__(self) -> None:
        _require_currency(self.released, self.amount.currency, "released")
        if self.released > self.amount:
            raise _invalid("released", f"cannot release more than the {self.amount} allocated")

    @property
    def outstanding(self) -> Money:
        return self.amount - self.released


@attrs.frozen(kw_only=True)
class AllocationRelease:
    """How much one refund took back from one allocation (re-opening that invoice's balance)."""

    allocation_id: str = attrs.field(validator=id_field)
    invoice_id: str = attrs.field(validator=id_field)
    amount: Money = attrs.field(validator=_positive_money)

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "allocation_id": self.allocation_id,
            "invoice_id": self.invoice_id,
            "amount": self.amount.to_payload(),
        }


def _release_tuple(value: Iterable[AllocationRelease]) -> tuple[AllocationRelease, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class PaymentRefund:
    """Money given back from a payment, identified by its external `reference` (e.g. a Stripe
    refund id), with the allocations it had to release."""

    reference: str = attrs.field(validator=_reference)
    amount: Money = attrs.field(validator=_positive_money)
    refunded_at: datetime = attrs.field(validator=_instant)
    releases: tuple[AllocationRelease, ...] = attrs.field(default=(), converter=_release_tuple)

    def released_by_invoice(self) -> dict[str, Money]:
        """Released amount per invoice, in the order the invoices were first released."""
        totals: dict[str, Money] = {}
        for release in self.releases:
            previous = totals.get(release.invoice_id, Money.zero(release.amount.currency))
            totals[release.invoice_id] = previous + release.amount
        return totals


def _payment_method(value: str) -> PaymentMethod:
    try:
        return PaymentMethod(value)
    except ValueError:
        raise _invalid("method", f"unknown payment method {value!r}") from None


def _allocation_tuple(value: Iterable[PaymentAllocation]) -> tuple[PaymentAllocation, ...]:
    return tuple(value)


def _refund_tuple(value: Iterable[PaymentRefund]) -> tuple[PaymentRefund, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class PaymentRecord:
    """Money received from a company, by Stripe or manually. `available` is what is left to
    allocate: amount - refunded - allocated (outstanding allocations only)."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    method: PaymentMethod = attrs.field(converter=_payment_method)
    external_reference: str = attrs.field(validator=_reference)
    amount: Money = attrs.field(validator=_positive_money)
    received_at: datetime = attrs.field(validator=_instant)
    allocations: tuple[PaymentAllocation, ...] = attrs.field(
        default=(), converter=_allocation_tuple
    )
    refunds: tuple[PaymentRefund, ...] = attrs.field(default=(), converter=_refund_tuple)
    stripe_payment_intent_id: str | None = attrs.field(default=None, validator=_optional_text)
    stripe_charge_id: str | None = attrs.field(default=None, validator=_optional_text)
    notes: str | None = attrs.field(default=None, validator=_optional_text)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        for allocation in self.allocations:
            _require_currency(allocation.amount, self.currency, "allocations")
            if allocation.payment_id != self.id:
                raise _invalid("allocations", f"allocation {allocation.id} is not of {self.id}")
        for refund in self.refunds:
            _require_currency(refund.amount, self.currency, "refunds")
        _require_unique([a.id for a in self.allocations], "allocations")
        _require_unique([r.reference for r in self.refunds], "refunds")
        if self.refunded > self.amount:
            raise _invalid("refunds", f"refunds exceed the payment of {self.amount}")
        if self.allocated > self.amount - self.refunded:
            raise _invalid("allocations", "allocations exceed what is left of the payment")

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def record(
        cls,
        *,
        payment_id: str,
        company_id: str,
        method: PaymentMethod,
        external_reference: str,
        amount: Money,
        received_at: datetime,
        at: datetime,
        stripe_payment_intent_id: str | None = None,
        stripe_charge_id: str | None = None,
        notes: str | None = None,
    ) -> tuple[PaymentRecord, list[DomainEvent]]:
        """Record money received at `received_at`, entered into the books at `at`.

        A payment cannot be received after it is recorded, so `received_at` <= `at`.
        """
        require_aware(at, "at")
        payment = cls(
            id=payment_id,
            company_id=company_id,
            method=method,
            external_reference=external_reference,
            amount=amount,
            received_at=received_at,
            stripe_payment_intent_id=stripe_payment_intent_id,
            stripe_charge_id=stripe_charge_id,
            notes=notes,
        )
        if received_at > at:
            raise _invalid("received_at", "a payment cannot be received in the future")
        return payment, [
            payment._event(
                BillingEvent.PAYMENT_RECORDED,
                at,
                method=str(payment.method),
                amount=amount.to_payload(),
                received_at=received_at.isoformat(),
                stripe_payment_intent_id=stripe_payment_intent_id,
                stripe_charge_id=stripe_charge_id,
            )
        ]

    # -- reading ----------------------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def refunded(self) -> Money:
        return Money.total((r.amount for r in self.refunds), self.currency)

    @property
    def allocated(self) -> Money:
        return Money.total((a.outstanding for a in self.allocations), self.currency)

    @property
    def available(self) -> Money:
        """What can still be allocated to invoices."""
        return self.amount - self.refunded - self.allocated

    @property
    def refundable(self) -> Money:
        return self.amount - self.refunded

    def refund_for(self, reference: str) -> PaymentRefund | None:
        return next((r for r in self.refunds if r.reference == reference), None)

    def invoice_ids_with_outstanding_allocations(self) -> list[str]:
        """Invoices a refund of this payment may re-open, latest allocation first."""
        ids: dict[str, None] = {}
        for allocation in reversed(self.allocations):
            if allocation.outstanding.amount > 0:
                ids.setdefault(allocation.invoice_id)
        return list(ids)

    # -- commands ---------------------------------------------------------------------------

    def allocate(
        self, *, allocation_id: str, invoice_id: str, amount: Money, at: datetime
    ) -> tuple[PaymentRecord, list[DomainEvent]]:
        """Set `amount` aside for an invoice; the invoice side announces it, so no event here.

        Use the module function `allocate`, which changes the invoice in the same step.
        """
        _require_positive(amount, "amount")
        _require_currency(amount, self.currency, "currency")
        if amount > self.available:
            raise _invalid(
                "amount",
                f"payment {self.id} has only {self.available} left to allocate",
                available=self.available.to_payload(),
            )
        allocation = PaymentAllocation(
            id=allocation_id,
            payment_id=self.id,
            invoice_id=invoice_id,
            amount=amount,
            allocated_at=at,
        )
        return attrs.evolve(self, allocations=(*self.allocations, allocation)), []

    def refund(
        self, *, amount: Money, at: datetime, reference: str
    ) -> tuple[PaymentRecord, list[DomainEvent]]:
        """Give back `amount`. Unallocated money goes first; only if that is not enough are
        allocations released, latest first, so what stays allocated never exceeds what stays
        paid. A refund whose `reference` is already recorded with the same amount is a no-op.
        """
        _require_positive(amount, "amount")
        _require_currency(amount, self.currency, "currency")
        existing = self.refund_for(reference)
        if existing is not None:
            if existing.amount != amount:
                raise ConflictError(
                    f"refund {reference} of payment {self.id} was recorded as {existing.amount}",
                    {"field": "reference", "reference": reference},
                )
            return self, []
        if amount > self.refundable:
            raise _invalid(
                "amount",
                f"payment {self.id} has only {self.refundable} left to refund",
                refundable=self.refundable.to_payload(),
            )
        # Unallocated money is refunded first; only the rest has to come out of allocations.
        shortfall = max(amount.amount - self.available.amount, 0)
        allocations, releases = self._release_latest_first(Money(shortfall, self.currency))
        refund = PaymentRefund(
            reference=reference, amount=amount, refunded_at=at, releases=releases
        )
        refunded = attrs.evolve(self, allocations=allocations, refunds=(*self.refunds, refund))
        return refunded, [
            refunded._event(
                BillingEvent.PAYMENT_REFUNDED,
                at,
                reference=reference,
                amount=amount.to_payload(),
                refunded=refunded.refunded.to_payload(),
                refunded_at=at.isoformat(),
                releases=[release.to_payload() for release in releases],
            )
        ]

    def _release_latest_first(
        self, to_release: Money
    ) -> tuple[tuple[PaymentAllocation, ...], tuple[AllocationRelease, ...]]:
        """Release `to_release` from the outstanding allocations, newest first."""
        allocations = list(self.allocations)
        releases: list[AllocationRelease] = []
        for index in range(len(allocations) - 1, -1, -1):
            if to_release.amount <= 0:
                break
            allocation = allocations[index]
            take = min(allocation.outstanding.amount, to_release.amount)
            if take <= 0:
                continue
            portion = Money(take, self.currency)
            allocations[index] = attrs.evolve(allocation, released=allocation.released + portion)
            releases.append(
                AllocationRelease(
                    allocation_id=allocation.id, invoice_id=allocation.invoice_id, amount=portion
                )
            )
            to_release = to_release - portion
        return tuple(allocations), tuple(releases)

    def _event(self, event_type: BillingEvent, at: datetime, **payload: JsonValue) -> DomainEvent:
        return DomainEvent(
            type=event_type.value,
            aggregate_type="payment",
            aggregate_id=self.id,
            payload={
                "payment_id": self.id,
                "company_id": self.company_id,
                "external_reference": self.external_reference,
                **payload,
            },
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )


def _require_unique(values: list[str], field: str) -> None:
    if len(set(values)) != len(values):
        raise _invalid(field, f"{field} must not repeat an id or reference")


# -- changing a payment and its invoices together ---------------------------------------------


def allocatable_amount(payment: PaymentRecord, invoice: Invoice) -> Money:
    """The most of `payment` that can go to `invoice` now: min(available, balance).

    Refuses (ValidationError) a payment and an invoice of different companies or currencies.
    """
    _require_same_payer(payment, invoice)
    available, balance = payment.available, invoice.balance
    return available if available < balance else balance


def _require_same_payer(payment: PaymentRecord, invoice: Invoice) -> None:
    if payment.company_id != invoice.company_id:
        raise _invalid(
            "invoice_id",
            f"payment {payment.id} of company {payment.company_id} cannot pay invoice "
            f"{invoice.id} of company {invoice.company_id}",
        )
    if payment.currency != invoice.currency:
        raise _invalid(
            "currency",
            f"payment {payment.id} is in {payment.currency}, invoice {invoice.id} in "
            f"{invoice.currency}",
            currency=payment.currency,
            expected_currency=invoice.currency,
        )


def allocate(
    payment: PaymentRecord,
    invoice: Invoice,
    *,
    allocation_id: str,
    amount: Money,
    at: datetime,
) -> tuple[PaymentRecord, Invoice, list[DomainEvent]]:
    """Allocate `amount` of `payment` to `invoice`, changing both or neither.

    Rules: same company, same currency, amount positive, within the payment's available money
    and the invoice's balance, and the invoice issued or partially paid.
    """
    _require_same_payer(payment, invoice)
    allocated_invoice, events = invoice.allocate(
        payment_id=payment.id, allocation_id=allocation_id, amount=amount, at=at
    )
    allocated_payment, _ = payment.allocate(
        allocation_id=allocation_id, invoice_id=invoice.id, amount=amount, at=at
    )
    return allocated_payment, allocated_invoice, events


def refund(
    payment: PaymentRecord,
    invoices: Mapping[str, Invoice],
    *,
    amount: Money,
    at: datetime,
    reference: str,
) -> tuple[PaymentRecord, list[Invoice], list[DomainEvent]]:
    """Refund `amount` of `payment` and re-open the balances of the invoices it releases.

    `invoices` must hold every invoice in `payment.invoice_ids_with_outstanding_allocations()`.
    Returns the payment, the invoices that changed, and the events (payment.refunded first).
    """
    refunded, events = payment.refund(amount=amount, at=at, reference=reference)
    if not events:
        return payment, [], []
    changed: list[Invoice] = []
    for invoice_id, released in refunded.refunds[-1].released_by_invoice().items():
        invoice = invoices.get(invoice_id)
        if invoice is None:
            raise NotFoundError.of("invoice", invoice_id)
        reopened, invoice_events = invoice.release(
            payment_id=payment.id, amount=released, at=at, reference=reference
        )
        changed.append(reopened)
        events.extend(invoice_events)
    return refunded, changed, events
