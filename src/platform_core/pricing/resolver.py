"""The price resolver: a pure function from a request and a catalogue to a priced line.

Precedence, first applicable wins:
1. a bespoke price given on the line;
2. the company's active price agreement covering the product at the requested instant;
3. an active regional price book for the company's region (its subdivision's book before its
   country's book);
4. an active global price book.
Agreements and books in another currency than the requested one do not apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cached_property
from typing import Any, Final

import attrs

from platform_core.pricing.model import (
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    PriceResolution,
    PriceSource,
    Product,
    QuoteLine,
    StripeLink,
    StripeSyncStatus,
    format_amount,
    unit_amount_in,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.events import JsonValue
from platform_core.shared.ids import id_field
from platform_core.shared.money import Money, validate_currency
from platform_core.shared.time import aware


def _currency_field(_: Any, __: attrs.Attribute[Any], value: object) -> None:
    validate_currency(value)


@attrs.frozen
class PriceRequest:
    """Price `line` for a company (known by id and pricing region) in `currency` at `at`."""

    company_id: str = attrs.field(validator=id_field)
    region: str | None
    currency: str = attrs.field(validator=_currency_field)
    line: QuoteLine
    at: datetime = attrs.field(validator=aware)


def _products(value: Iterable[Product]) -> tuple[Product, ...]:
    return tuple(value)


def _books(value: Iterable[PriceBook]) -> tuple[PriceBook, ...]:
    return tuple(value)


def _entries(value: Iterable[PriceBookEntry]) -> tuple[PriceBookEntry, ...]:
    return tuple(value)


def _agreements(value: Iterable[PriceAgreement]) -> tuple[PriceAgreement, ...]:
    return tuple(value)


@attrs.frozen
class PricingCatalogue:
    """Everything the resolver may consult. It may hold more than one request needs (the
    resolver filters), but must hold every applicable book, entry and agreement."""

    products: tuple[Product, ...] = attrs.field(default=(), converter=_products)
    price_books: tuple[PriceBook, ...] = attrs.field(default=(), converter=_books)
    entries: tuple[PriceBookEntry, ...] = attrs.field(default=(), converter=_entries)
    agreements: tuple[PriceAgreement, ...] = attrs.field(default=(), converter=_agreements)

    @cached_property
    def _products_by_id(self) -> dict[str, Product]:
        return {product.id: product for product in self.products}

    @cached_property
    def _entries_by_book_and_product(self) -> dict[tuple[str, str], PriceBookEntry]:
        return {(entry.price_book_id, entry.product_id): entry for entry in self.entries}

    def product(self, product_id: str) -> Product | None:
        return self._products_by_id.get(product_id)

    def entry(self, price_book_id: str, product_id: str) -> PriceBookEntry | None:
        return self._entries_by_book_and_product.get((price_book_id, product_id))


Level = Callable[[PriceRequest, Product, PricingCatalogue], PriceResolution | None]


def resolve_price(request: PriceRequest, catalogue: PricingCatalogue) -> PriceResolution:
    """The price of `request.line`, from the first level of precedence that has one.

    ValidationError when the product is unknown or no longer sold, when a bespoke amount is
    in another currency, and when no level prices the product (naming it).
    """
    product = _sellable_product(request.line.product_id, catalogue)
    for level in PRECEDENCE:
        resolution = level(request, product, catalogue)
        if resolution is not None:
            return resolution
    raise ValidationError(
        f"no price for product {product.sku} in {request.currency}",
        {
            "field": "product_id",
            "product_id": product.id,
            "sku": product.sku,
            "currency": request.currency,
        },
    )


def _sellable_product(product_id: str, catalogue: PricingCatalogue) -> Product:
    product = catalogue.product(product_id)
    if product is None:
        raise ValidationError(
            f"unknown product {product_id}", {"field": "product_id", "product_id": product_id}
        )
    if not product.active:
        raise ValidationError(
            f"product {product.sku} is no longer sold",
            {"field": "product_id", "product_id": product_id, "sku": product.sku},
        )
    return product


def _bespoke(
    request: PriceRequest, product: Product, _: PricingCatalogue
) -> PriceResolution | None:
    bespoke = request.line.bespoke
    if bespoke is None:
        return None
    # An explicit amount in the wrong currency is a mistake to report, not a level to skip.
    amount = unit_amount_in(bespoke.unit_amount, request.currency, "bespoke_unit_amount")
    label = f"Bespoke price ({format_amount(amount)})"
    return _resolution(request, product, PriceSource.BESPOKE, amount, label, notes=bespoke.notes)


def _agreement(
    request: PriceRequest, product: Product, catalogue: PricingCatalogue
) -> PriceResolution | None:
    candidates = [
        (agreement, price)
        for agreement in catalogue.agreements
        if agreement.applies(request.company_id, request.currency, request.at)
        and (price := agreement.price_for(product.id)) is not None
    ]
    if not candidates:
        return None
    # Activation refuses overlaps; should two still apply, the most recent one wins.
    agreement, price = max(candidates, key=lambda pair: (pair[0].effective_from, pair[0].id))
    label = f"Agreement '{agreement.name}' ({format_amount(price.unit_amount)})"
    return _resolution(
        request,
        product,
        PriceSource.PRICE_AGREEMENT,
        price.unit_amount,
        label,
        agreement_id=agreement.id,
        stripe=price.stripe,
    )


def _book_level(scope: PriceBookScope, source: PriceSource, title: str) -> Level:
    def level(
        request: PriceRequest, product: Product, catalogue: PricingCatalogue
    ) -> PriceResolution | None:
        books = [
            book
            for book in catalogue.price_books
            if book.active
            and book.scope is scope
            and book.currency == request.currency
            and book.serves_region(request.region)
        ]
        # The book of the company's exact region before its country's; ids keep it stable.
        books.sort(key=lambda book: (book.region != request.region, book.id))
        for book in books:
            entry = catalogue.entry(book.id, product.id)
            if entry is not None:
                label = f"{title} '{book.name}' ({format_amount(entry.unit_amount)})"
                return _resolution(
                    request,
                    product,
                    source,
                    entry.unit_amount,
                    label,
                    entry_id=entry.id,
                    stripe=entry.stripe,
                )
        return None

    return level


PRECEDENCE: Final[tuple[Level, ...]] = (
    _bespoke,
    _agreement,
    _book_level(PriceBookScope.REGIONAL, PriceSource.PRICEBOOK_REGIONAL, "Regional price book"),
    _book_level(PriceBookScope.GLOBAL, PriceSource.PRICEBOOK_GLOBAL, "Price book"),
)


def _resolution(
    request: PriceRequest,
    product: Product,
    source: PriceSource,
    unit_amount: Money,
    label: str,
    *,
    entry_id: str | None = None,
    agreement_id: str | None = None,
    stripe: StripeLink | None = None,
    notes: str | None = None,
) -> PriceResolution:
    # Bespoke amounts have no Stripe price: the default link says "not synced".
    link = stripe or StripeLink()
    return PriceResolution(
        product_id=product.id,
        sku=product.sku,
        product_name=product.name,
        quantity=request.line.quantity,
        source=source,
        unit_amount=unit_amount,
        line_total=unit_amount * request.line.quantity,
        price_book_entry_id=entry_id,
        price_agreement_id=agreement_id,
        stripe_price_id=link.stripe_price_id,
        stripe_product_id=link.stripe_product_id,
        stripe_sync_status=link.stripe_sync_status,
        label=label,
        bespoke_notes=notes,
        automation_scenario=product.automation_scenario,
    )


def stripe_blockers(resolutions: Iterable[PriceResolution]) -> list[dict[str, JsonValue]]:
    """Every line that cannot be paid through Stripe yet, with the reason, in line order."""
    return [
        {
            "index": index,
            "product_id": resolution.product_id,
            "sku": resolution.sku,
            "source": resolution.source.value,
            "reason": _unsynced_reason(resolution),
        }
        for index, resolution in enumerate(resolutions)
        if not resolution.is_synced
    ]


def _unsynced_reason(resolution: PriceResolution) -> str:
    if resolution.source is PriceSource.BESPOKE:
        return "a bespoke price has no Stripe price"
    if resolution.stripe_sync_status is StripeSyncStatus.FAILED:
        return "syncing this price with Stripe failed; retry the price sync"
    return "this price is not synced with Stripe yet"
