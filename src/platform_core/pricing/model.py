"""Pricing model: products, price books and their entries, price agreements, quote values.

Prices in Stripe are immutable, so every sellable price (a price-book entry, a product price of
an agreement) carries its own Stripe ids and a sync status moved by STRIPE_SYNC_MACHINE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import attrs

from platform_core.customers.cleaning import clean_optional_text, clean_text
from platform_core.customers.geography import validate_region
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import check_id, id_field, non_empty_text, positive_int
from platform_core.shared.money import Money, validate_currency
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE: Final = "pricing"
MAX_ERROR_LENGTH: Final = 500
_SKU = re.compile(r"[A-Z0-9][A-Z0-9._\-]{0,63}")


class PricingEvent(StrEnum):
    PRODUCT_CREATED = "product.created"
    PRICE_BOOK_CREATED = "price_book.created"
    PRICE_BOOK_ENTRY_ADDED = "price_book_entry.added"
    PRICE_BOOK_ENTRY_REPRICED = "price_book_entry.repriced"
    PRICE_BOOK_ENTRY_SYNCED = "price_book_entry.synced"
    PRICE_BOOK_ENTRY_SYNC_FAILED = "price_book_entry.sync_failed"
    PRICE_AGREEMENT_CREATED = "price_agreement.created"
    PRICE_AGREEMENT_ACTIVATED = "price_agreement.activated"
    PRICE_AGREEMENT_CANCELLED = "price_agreement.cancelled"
    PRICE_AGREEMENT_EXPIRED = "price_agreement.expired"
    PRICE_AGREEMENT_PRICE_SYNCED = "price_agreement.price_synced"
    PRICE_AGREEMENT_PRICE_SYNC_FAILED = "price_agreement.price_sync_failed"


class PriceSource(StrEnum):
    """Where a resolved price came from.

    Precedence: BESPOKE > PRICE_AGREEMENT > PRICEBOOK_REGIONAL > PRICEBOOK_GLOBAL.
    """

    PRICEBOOK_GLOBAL = "PRICEBOOK_GLOBAL"
    PRICEBOOK_REGIONAL = "PRICEBOOK_REGIONAL"
    PRICE_AGREEMENT = "PRICE_AGREEMENT"
    BESPOKE = "BESPOKE"


class StripeSyncStatus(StrEnum):
    NOT_SYNCED = "not_synced"
    SYNCED = "synced"
    FAILED = "failed"


class StripeSyncTrigger(StrEnum):
    MARK_SYNCED = "mark_synced"
    MARK_FAILED = "mark_failed"
    REPRICE = "reprice"


# A late failure report must not un-sync a synced price, and a synced price keeps its Stripe
# ids until it is repriced (Stripe prices are immutable: a new amount needs a new Stripe price).
STRIPE_SYNC_MACHINE: Final[StateMachine[StripeSyncStatus, StripeSyncTrigger]] = StateMachine(
    name="stripe_price_sync",
    initial=StripeSyncStatus.NOT_SYNCED,
    transitions={
        (StripeSyncStatus.NOT_SYNCED, StripeSyncTrigger.MARK_SYNCED): StripeSyncStatus.SYNCED,
        (StripeSyncStatus.NOT_SYNCED, StripeSyncTrigger.MARK_FAILED): StripeSyncStatus.FAILED,
        (StripeSyncStatus.NOT_SYNCED, StripeSyncTrigger.REPRICE): StripeSyncStatus.NOT_SYNCED,
        (StripeSyncStatus.FAILED, StripeSyncTrigger.MARK_SYNCED): StripeSyncStatus.SYNCED,
        (StripeSyncStatus.FAILED, StripeSyncTrigger.MARK_FAILED): StripeSyncStatus.FAILED,
        (StripeSyncStatus.FAILED, StripeSyncTrigger.REPRICE): StripeSyncStatus.NOT_SYNCED,
        (StripeSyncStatus.SYNCED, StripeSyncTrigger.REPRICE): StripeSyncStatus.NOT_SYNCED,
    },
)


class PriceBookScope(StrEnum):
    GLOBAL = "global"
    REGIONAL = "regional"


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class AgreementTrigger(StrEnum):
    ACTIVATE = "activate"
    EXPIRE = "expire"
    CANCEL = "cancel"


PRICE_AGREEMENT_MACHINE: Final[StateMachine[AgreementStatus, AgreementTrigger]] = StateMachine(
    name="price_agreement",
    initial=AgreementStatus.DRAFT,
    transitions={
        (AgreementStatus.DRAFT, AgreementTrigger.ACTIVATE): AgreementStatus.ACTIVE,
        (AgreementStatus.DRAFT, AgreementTrigger.CANCEL): AgreementStatus.CANCELLED,
        (AgreementStatus.ACTIVE, AgreementTrigger.EXPIRE): AgreementStatus.EXPIRED,
        (AgreementStatus.ACTIVE, AgreementTrigger.CANCEL): AgreementStatus.CANCELLED,
    },
    terminal=frozenset({AgreementStatus.EXPIRED, AgreementStatus.CANCELLED}),
)


# -- helpers shared by the aggregates --------------------------------------------------------


def format_amount(amount: Money) -> str:
    """Money for people, currency first: "CAD 12.00"."""
    figure, _, currency = str(amount).rpartition(" ")
    return f"{currency} {figure}"


def clean_sku(value: object) -> str:
    """SKUs are compared case-insensitively, so they are stored in upper case."""
    sku = value.strip().upper() if isinstance(value, str) else ""
    if not _SKU.fullmatch(sku):
        raise ValidationError(
            "sku must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            {"field": "sku", "value": repr(value)},
        )
    return sku


def to_scenario(value: object) -> AutomationScenario | None:
    if value is None:
        return None
    if isinstance(value, str) and value in AutomationScenario.__members__.values():
        return AutomationScenario(value)
    raise ValidationError(
        f"unknown automation scenario {value!r}",
        {"field": "automation_scenario", "value": repr(value)},
    )


def unit_amount_in(value: object, currency: str, field: str = "unit_amount") -> Money:
    """A non-negative Money in `currency`; another currency is refused, never converted."""
    if not isinstance(value, Money):
        raise ValidationError(f"{field} must be money", {"field": field})
    if value.currency != currency:
        raise ValidationError(
            f"{field} is in {value.currency}, expected {currency}",
            {"field": field, "currencies": [value.currency, currency]},
        )
    if value.is_negative:
        raise ValidationError(f"{field} must not be negative", {"field": field})
    return value


def _clean_error(value: object) -> str:
    return clean_text(value, "error", MAX_ERROR_LENGTH)


def _event(
    kind: PricingEvent,
    aggregate_type: str,
    aggregate_id: str,
    at: datetime,
    payload: Mapping[str, JsonValue],
) -> DomainEvent:
    return DomainEvent(
        type=kind.value,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        occurred_at=at,
        source_module=SOURCE_MODULE,
    )


def _currency_field(_: Any, __: attrs.Attribute[Any], value: object) -> None:
    validate_currency(value)


def _non_negative_money(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money) or value.is_negative:
        raise ValidationError(
            f"{attribute.name} must be non-negative money", {"field": attribute.name}
        )


def _sync_consistent(instance: Any, _: attrs.Attribute[Any], status: StripeSyncStatus) -> None:
    # A synced price is usable at checkout only with both Stripe ids.
    if status is StripeSyncStatus.SYNCED and not (
        instance.stripe_price_id and instance.stripe_product_id
    ):
        raise ValidationError(
            "a synced price needs its Stripe price and product ids",
            {"field": "stripe_sync_status"},
        )


@attrs.frozen(kw_only=True)
class StripeLink:
    """The Stripe side of one sellable price: ids, sync status and the last sync error."""

    stripe_price_id: str | None = None
    stripe_product_id: str | None = None
    stripe_sync_status: StripeSyncStatus = attrs.field(
        default=StripeSyncStatus.NOT_SYNCED, validator=_sync_consistent
    )
    stripe_sync_error: str | None = None

    def synced(self, stripe_price_id: str, stripe_product_id: str) -> StripeLink | None:
        """The link once Stripe holds the price; None when it already holds exactly these ids
        (a retried sync job changes nothing)."""
        price_id = check_id(stripe_price_id, "stripe_price_id")
        product_id = check_id(stripe_product_id, "stripe_product_id")
        if self.stripe_sync_status is StripeSyncStatus.SYNCED and (
            self.stripe_price_id,
            self.stripe_product_id,
        ) == (price_id, product_id):
            return None
        STRIPE_SYNC_MACHINE.next_state(self.stripe_sync_status, StripeSyncTrigger.MARK_SYNCED)
        return StripeLink(
            stripe_price_id=price_id,
            stripe_product_id=product_id,
            stripe_sync_status=StripeSyncStatus.SYNCED,
        )

    def failed(self, error: str) -> StripeLink:
        status = STRIPE_SYNC_MACHINE.next_state(
            self.stripe_sync_status, StripeSyncTrigger.MARK_FAILED
        )
        return attrs.evolve(self, stripe_sync_status=status, stripe_sync_error=_clean_error(error))

    def repriced(self) -> StripeLink:
        """A new amount needs a new Stripe price; the Stripe product stays."""
        status = STRIPE_SYNC_MACHINE.next_state(self.stripe_sync_status, StripeSyncTrigger.REPRICE)
        return StripeLink(stripe_product_id=self.stripe_product_id, stripe_sync_status=status)

    def payload(self) -> dict[str, JsonValue]:
        return {
            "stripe_price_id": self.stripe_price_id,
            "stripe_product_id": self.stripe_product_id,
            "stripe_sync_status": self.stripe_sync_status.value,
            "stripe_sync_error": self.stripe_sync_error,
        }


# -- Product ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Product:
    """Something we sell; `automation_scenario` is what the legacy system does by default
    once a unit is delivered."""

    id: str = attrs.field(validator=id_field)
    sku: str = attrs.field(validator=non_empty_text)
    name: str = attrs.field(validator=non_empty_text)
    active: bool = True
    automation_scenario: AutomationScenario | None = attrs.field(
        default=None, converter=to_scenario
    )
    created_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        product_id: str,
        sku: str,
        name: str,
        automation_scenario: AutomationScenario | None = None,
        active: bool = True,
        at: datetime,
    ) -> tuple[Product, list[DomainEvent]]:
        """A new product. Unique SKUs are the service's check (it needs the repository)."""
        product = cls(
            id=product_id,
            sku=clean_sku(sku),
            name=clean_text(name, "name"),
            active=bool(active),
            automation_scenario=to_scenario(automation_scenario),
            created_at=require_aware(at, "at"),
        )
        payload: dict[str, JsonValue] = {
            "product_id": product.id,
            "sku": product.sku,
            "name": product.name,
            "active": product.active,
            "automation_scenario": (
                None if product.automation_scenario is None else product.automation_scenario.value
            ),
        }
        return product, [_event(PricingEvent.PRODUCT_CREATED, "product", product.id, at, payload)]


# -- PriceBook and PriceBookEntry ------------------------------------------------------------


def _region_matches_scope(instance: Any, _: attrs.Attribute[Any], region: str | None) -> None:
    if (instance.scope is PriceBookScope.REGIONAL) != (region is not None):
        raise ValidationError(
            "a regional price book needs a region and a global one must not have one",
            {"field": "region"},
        )
    if region is not None and validate_region(region) != region:
        raise ValidationError("region must be in canonical form", {"field": "region"})


@attrs.frozen(kw_only=True)
class PriceBook:
    """A list price per product in one currency, for everyone (global) or one region.

    A regional book for a country ("CA") also serves companies in its subdivisions ("CA-ON");
    a book for the subdivision itself wins over it.
    """

    id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    scope: PriceBookScope
    region: str | None = attrs.field(default=None, validator=_region_matches_scope)
    currency: str = attrs.field(validator=_currency_field)
    active: bool = True
    created_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        price_book_id: str,
        name: str,
        scope: PriceBookScope,
        currency: str,
        region: str | None = None,
        active: bool = True,
        at: datetime,
    ) -> tuple[PriceBook, list[DomainEvent]]:
        """A new price book. One active book per (scope, region, currency) is the service's
        check."""
        if scope not in PriceBookScope.__members__.values():
            raise ValidationError(f"unknown price book scope {scope!r}", {"field": "scope"})
        book = cls(
            id=price_book_id,
            name=clean_text(name, "name"),
            scope=PriceBookScope(scope),
            region=None if region is None else validate_region(region),
            currency=validate_currency(currency),
            active=bool(active),
            created_at=require_aware(at, "at"),
        )
        payload: dict[str, JsonValue] = {
            "price_book_id": book.id,
            "name": book.name,
            "scope": book.scope.value,
            "region": book.region,
            "currency": book.currency,
            "active": book.active,
        }
        return book, [_event(PricingEvent.PRICE_BOOK_CREATED, "price_book", book.id, at, payload)]

    def serves_region(self, region: str | None) -> bool:
        """Whether this book may price a company in `region` (global books serve everyone)."""
        if self.scope is PriceBookScope.GLOBAL:
            return True
        return region is not None and (
            region == self.region or region.partition("-")[0] == self.region
        )


@attrs.frozen(kw_only=True)
class PriceBookEntry:
    """The price of one product in one price book, with its Stripe price."""

    id: str = attrs.field(validator=id_field)
    price_book_id: str = attrs.field(validator=id_field)
    product_id: str = attrs.field(validator=id_field)
    unit_amount: Money = attrs.field(validator=_non_negative_money)
    stripe: StripeLink = StripeLink()
    created_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        entry_id: str,
        book: PriceBook,
        product: Product,
        unit_amount: Money,
        at: datetime,
    ) -> tuple[PriceBookEntry, list[DomainEvent]]:
        """A not-yet-synced entry; its amount is non-negative and in the book's currency.
        One entry per (book, product) is the service's check."""
        entry = cls(
            id=entry_id,
            price_book_id=book.id,
            product_id=product.id,
            unit_amount=unit_amount_in(unit_amount, book.currency),
            created_at=require_aware(at, "at"),
        )
        return entry, [entry._event(PricingEvent.PRICE_BOOK_ENTRY_ADDED, at)]

    @property
    def stripe_price_id(self) -> str | None:
        return self.stripe.stripe_price_id

    @property
    def stripe_product_id(self) -> str | None:
        return self.stripe.stripe_product_id

    @property
    def stripe_sync_status(self) -> StripeSyncStatus:
        return self.stripe.stripe_sync_status

    def change_price(
        self, unit_amount: Money, *, at: datetime
    ) -> tuple[PriceBookEntry, list[DomainEvent]]:
        """A new amount in the same currency; it needs a new Stripe price, so it is not synced."""
        require_aware(at, "at")
        amount = unit_amount_in(unit_amount, self.unit_amount.currency)
        if amount == self.unit_amount:
            return self, []
        entry = attrs.evolve(self, unit_amount=amount, stripe=self.stripe.repriced())
        extra: dict[str, JsonValue] = {"previous_unit_amount": self.unit_amount.to_payload()}
        return entry, [entry._event(PricingEvent.PRICE_BOOK_ENTRY_REPRICED, at, extra)]

    def mark_synced(
        self, stripe_price_id: str, stripe_product_id: str, *, at: datetime
    ) -> tuple[PriceBookEntry, list[DomainEvent]]:
        """Stripe now holds this price. Repeating the same report changes nothing; a synced
        entry cannot be re-pointed at other Stripe ids (CONFLICT)."""
        require_aware(at, "at")
        link = self.stripe.synced(stripe_price_id, stripe_product_id)
        if link is None:
            return self, []
        entry = attrs.evolve(self, stripe=link)
        return entry, [entry._event(PricingEvent.PRICE_BOOK_ENTRY_SYNCED, at)]

    def mark_sync_failed(
        self, error: str, *, at: datetime
    ) -> tuple[PriceBookEntry, list[DomainEvent]]:
        """Syncing failed; a synced entry refuses a late failure report (CONFLICT)."""
        require_aware(at, "at")
        entry = attrs.evolve(self, stripe=self.stripe.failed(error))
        return entry, [entry._event(PricingEvent.PRICE_BOOK_ENTRY_SYNC_FAILED, at)]

    def _event(
        self, kind: PricingEvent, at: datetime, extra: Mapping[str, JsonValue] | None = None
    ) -> DomainEvent:
        payload: dict[str, JsonValue] = {
            "price_book_entry_id": self.id,
            "price_book_id": self.price_book_id,
            "product_id": self.product_id,
            "unit_amount": self.unit_amount.to_payload(),
            **self.stripe.payload(),
            **(extra or {}),
        }
        return _event(kind, "price_book_entry", self.id, at, payload)


# -- PriceAgreement --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AgreementPrice:
    """The agreed price of one product within a price agreement, with its Stripe price."""

    product_id: str = attrs.field(validator=id_field)
    unit_amount: Money = attrs.field(validator=_non_negative_money)
    stripe: StripeLink = StripeLink()

    def payload(self) -> dict[str, JsonValue]:
        return {
            "product_id": self.product_id,
            "unit_amount": self.unit_amount.to_payload(),
            **self.stripe.payload(),
        }


def _agreement_prices(
    value: Mapping[str, Money] | Iterable[AgreementPrice],
) -> tuple[AgreementPrice, ...]:
    """Agreement prices sorted by product id; a mapping gives fresh, unsynced prices."""
    if isinstance(value, Mapping):
        prices = [AgreementPrice(product_id=pid, unit_amount=amt) for pid, amt in value.items()]
    else:
        prices = list(value)
    return tuple(sorted(prices, key=lambda price: price.product_id))


def _valid_prices(
    instance: Any, _: attrs.Attribute[Any], prices: tuple[AgreementPrice, ...]
) -> None:
    if not prices:
        raise ValidationError("an agreement needs at least one product price", {"field": "prices"})
    product_ids = [price.product_id for price in prices]
    if len(set(product_ids)) != len(product_ids):
        raise ValidationError("a product is priced twice", {"field": "prices"})
    for price in prices:
        unit_amount_in(price.unit_amount, instance.currency, "prices")


def _ends_after_start(instance: Any, _: attrs.Attribute[Any], end: datetime | None) -> None:
    if end is not None:
        require_aware(end, "effective_to")
        if end <= instance.effective_from:
            raise ValidationError(
                "effective_to must be after effective_from", {"field": "effective_to"}
            )


@attrs.frozen(kw_only=True)
class PriceAgreement:
    """Negotiated prices for one company and a set of products, in one currency, valid from
    `effective_from` (inclusive) to `effective_to` (exclusive; open-ended when None)."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    currency: str = attrs.field(validator=_currency_field)
    status: AgreementStatus = AgreementStatus.DRAFT
    effective_from: datetime = attrs.field(validator=aware)
    effective_to: datetime | None = attrs.field(default=None, validator=_ends_after_start)
    prices: tuple[AgreementPrice, ...] = attrs.field(
        converter=_agreement_prices, validator=_valid_prices
    )
    created_at: datetime = attrs.field(validator=aware)
    activated_at: datetime | None = attrs.field(default=None, validator=aware)
    ended_at: datetime | None = attrs.field(default=None, validator=aware)
    cancellation_reason: str | None = None
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        agreement_id: str,
        company_id: str,
        name: str,
        currency: str,
        effective_from: datetime,
        effective_to: datetime | None = None,
        prices: Mapping[str, Money],
        at: datetime,
    ) -> tuple[PriceAgreement, list[DomainEvent]]:
        """A draft agreement; every price is non-negative and in the agreement's currency."""
        code = validate_currency(currency)
        agreement = cls(
            id=agreement_id,
            company_id=check_id(company_id, "company_id"),
            name=clean_text(name, "name"),
            currency=code,
            effective_from=require_aware(effective_from, "effective_from"),
            effective_to=effective_to,
            prices=_checked_price_map(prices, code),
            created_at=require_aware(at, "at"),
        )
        priced: list[JsonValue] = [price.payload() for price in agreement.prices]
        payload = {**agreement._identity(), "name": agreement.name, "prices": priced}
        return agreement, [agreement._event(PricingEvent.PRICE_AGREEMENT_CREATED, at, payload)]

    def price_for(self, product_id: str) -> AgreementPrice | None:
        for price in self.prices:
            if price.product_id == product_id:
                return price
        return None

    @property
    def product_ids(self) -> frozenset[str]:
        return frozenset(price.product_id for price in self.prices)

    def covers(self, at: datetime) -> bool:
        """Whether `at` lies in the effective window."""
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)

    def applies(self, company_id: str, currency: str, at: datetime) -> bool:
        """Whether this agreement prices `company_id`'s lines in `currency` at `at`."""
        return (
            self.status is AgreementStatus.ACTIVE
            and self.company_id == company_id
            and self.currency == currency
            and self.covers(at)
        )

    def overlaps(self, other: PriceAgreement) -> bool:
        """Whether both could price the same product for the same company at the same time."""
        return (
            other.id != self.id
            and other.company_id == self.company_id
            and other.currency == self.currency
            and bool(self.product_ids & other.product_ids)
            and _windows_meet(self, other)
        )

    def activate(
        self, *, at: datetime, active_agreements: Iterable[PriceAgreement] = ()
    ) -> tuple[PriceAgreement, list[DomainEvent]]:
        """Make the agreement usable by the resolver.

        Refused (CONFLICT) when its window has already ended, or when an active agreement of
        the company overlaps it: same currency, a common product and intersecting dates.
        """
        status = PRICE_AGREEMENT_MACHINE.next_state(self.status, AgreementTrigger.ACTIVATE)
        require_aware(at, "at")
        if self.effective_to is not None and self.effective_to <= at:
            raise ConflictError(
                f"agreement {self.id} ended on {self.effective_to.isoformat()}",
                {"field": "effective_to", "agreement_id": self.id},
            )
        self._refuse_overlaps(active_agreements)
        agreement = attrs.evolve(self, status=status, activated_at=at)
        payload = {**agreement._identity(), "activated_at": at.isoformat()}
        return agreement, [agreement._event(PricingEvent.PRICE_AGREEMENT_ACTIVATED, at, payload)]

    def cancel(
        self, *, at: datetime, reason: str | None = None
    ) -> tuple[PriceAgreement, list[DomainEvent]]:
        """Stop a draft or active agreement for good."""
        status = PRICE_AGREEMENT_MACHINE.next_state(self.status, AgreementTrigger.CANCEL)
        require_aware(at, "at")
        agreement = attrs.evolve(
            self,
            status=status,
            ended_at=at,
            cancellation_reason=clean_optional_text(reason, "reason", MAX_ERROR_LENGTH),
        )
        payload = {
            **agreement._identity(),
            "previous_status": self.status.value,
            "reason": agreement.cancellation_reason,
        }
        return agreement, [agreement._event(PricingEvent.PRICE_AGREEMENT_CANCELLED, at, payload)]

    def expire(self, *, at: datetime) -> tuple[PriceAgreement, list[DomainEvent]]:
        """Close an active agreement whose window has ended (CONFLICT before `effective_to`)."""
        status = PRICE_AGREEMENT_MACHINE.next_state(self.status, AgreementTrigger.EXPIRE)
        require_aware(at, "at")
        if self.effective_to is None or at < self.effective_to:
            raise ConflictError(
                f"agreement {self.id} is still in effect",
                {"field": "effective_to", "agreement_id": self.id},
            )
        agreement = attrs.evolve(self, status=status, ended_at=at)
        event = agreement._event(PricingEvent.PRICE_AGREEMENT_EXPIRED, at, agreement._identity())
        return agreement, [event]

    def mark_price_synced(
        self, product_id: str, stripe_price_id: str, stripe_product_id: str, *, at: datetime
    ) -> tuple[PriceAgreement, list[DomainEvent]]:
        """Stripe now holds the agreed price of `product_id` (same rules as for entries)."""
        require_aware(at, "at")
        price = self._price(product_id)
        link = price.stripe.synced(stripe_price_id, stripe_product_id)
        if link is None:
            return self, []
        return self._with_price(
            attrs.evolve(price, stripe=link), PricingEvent.PRICE_AGREEMENT_PRICE_SYNCED, at
        )

    def mark_price_sync_failed(
        self, product_id: str, error: str, *, at: datetime
    ) -> tuple[PriceAgreement, list[DomainEvent]]:
        require_aware(at, "at")
        price = self._price(product_id)
        updated = attrs.evolve(price, stripe=price.stripe.failed(error))
        return self._with_price(updated, PricingEvent.PRICE_AGREEMENT_PRICE_SYNC_FAILED, at)

    def _price(self, product_id: str) -> AgreementPrice:
        price = self.price_for(product_id)
        if price is None:
            raise ValidationError(
                f"agreement {self.id} has no price for product {product_id}",
                {"field": "product_id", "product_id": product_id},
            )
        return price

    def _with_price(
        self, price: AgreementPrice, kind: PricingEvent, at: datetime
    ) -> tuple[PriceAgreement, list[DomainEvent]]:
        others = [p for p in self.prices if p.product_id != price.product_id]
        agreement = attrs.evolve(self, prices=(*others, price))
        payload = {**agreement._identity(), **price.payload()}
        return agreement, [agreement._event(kind, at, payload)]

    def _refuse_overlaps(self, active_agreements: Iterable[PriceAgreement]) -> None:
        clashes = sorted(
            other.id
            for other in active_agreements
            if other.status is AgreementStatus.ACTIVE and self.overlaps(other)
        )
        if clashes:
            raise ConflictError(
                f"agreement {self.id} overlaps active agreement(s) {', '.join(clashes)}",
                {"field": "agreement_id", "agreement_id": self.id, "overlapping": list(clashes)},
            )

    def _identity(self) -> dict[str, JsonValue]:
        return {
            "price_agreement_id": self.id,
            "company_id": self.company_id,
            "currency": self.currency,
            "status": self.status.value,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": None if self.effective_to is None else self.effective_to.isoformat(),
        }

    def _event(
        self, kind: PricingEvent, at: datetime, payload: Mapping[str, JsonValue]
    ) -> DomainEvent:
        return _event(kind, "price_agreement", self.id, at, payload)


def _checked_price_map(prices: object, currency: str) -> dict[str, Money]:
    if not isinstance(prices, Mapping):
        raise ValidationError("prices must map product ids to amounts", {"field": "prices"})
    return {
        check_id(product_id, "prices"): unit_amount_in(amount, currency, "prices")
        for product_id, amount in prices.items()
    }


def _windows_meet(first: PriceAgreement, second: PriceAgreement) -> bool:
    # Half-open windows [from, to) intersect when each starts before the other ends.
    first_starts_in_time = second.effective_to is None or first.effective_from < second.effective_to
    second_starts_in_time = first.effective_to is None or second.effective_from < first.effective_to
    return first_starts_in_time and second_starts_in_time


# -- quoting ---------------------------------------------------------------------------------


@attrs.frozen
class BespokePrice:
    """A price agreed for one line only; the notes say who agreed it and why."""

    unit_amount: Money = attrs.field(validator=_non_negative_money)
    notes: str = attrs.field(validator=non_empty_text)


def _bespoke_pair(instance: Any, _: attrs.Attribute[Any], notes: str | None) -> None:
    amount = instance.bespoke_unit_amount
    if amount is not None:
        _non_negative_money(instance, attrs.fields(QuoteLine).bespoke_unit_amount, amount)
        if notes is None or not notes.strip():
            raise ValidationError(
                "a bespoke price needs notes saying who agreed it and why",
                {"field": "bespoke_notes", "product_id": instance.product_id},
            )
    elif notes is not None:
        raise ValidationError(
            "bespoke notes without a bespoke amount",
            {"field": "bespoke_unit_amount", "product_id": instance.product_id},
        )


@attrs.frozen
class QuoteLine:
    """One requested line: a product and a quantity, optionally at a bespoke unit price."""

    product_id: str = attrs.field(validator=id_field)
    quantity: int = attrs.field(validator=positive_int)
    bespoke_unit_amount: Money | None = None
    bespoke_notes: str | None = attrs.field(default=None, validator=_bespoke_pair)

    @property
    def bespoke(self) -> BespokePrice | None:
        if self.bespoke_unit_amount is None or self.bespoke_notes is None:
            return None
        return BespokePrice(self.bespoke_unit_amount, self.bespoke_notes.strip())


@attrs.frozen
class PriceResolution:
    """The price of one line and where it came from (the snapshot an order item keeps).

    Bespoke lines are never synced with Stripe: no Stripe price exists for a one-off amount.
    """

    product_id: str
    sku: str
    product_name: str
    quantity: int
    source: PriceSource
    unit_amount: Money
    line_total: Money
    price_book_entry_id: str | None
    price_agreement_id: str | None
    stripe_price_id: str | None
    stripe_product_id: str | None
    stripe_sync_status: StripeSyncStatus
    label: str
    bespoke_notes: str | None
    automation_scenario: AutomationScenario | None

    @property
    def is_synced(self) -> bool:
        return self.stripe_sync_status is StripeSyncStatus.SYNCED
