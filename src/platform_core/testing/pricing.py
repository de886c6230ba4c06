"""Strategies for pricing: products, price books and entries, agreements and quote lines.

Aggregates are built through their named constructors; the `*_for` strategies take the
aggregates they hang off (a book, a product, a company id) so generated catalogues are
consistent.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import strategies as st

from platform_core.pricing.model import (
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    Product,
    QuoteLine,
    StripeSyncStatus,
)
from platform_core.shared.money import Money
from platform_core.shared.scenarios import AutomationScenario
from platform_core.testing.customers import names, regions
from platform_core.testing.shared import EPOCH, currencies, ids, instants, money

MAX_UNIT_AMOUNT = 1_000_000


def skus() -> st.SearchStrategy[str]:
    """SKUs such as "SNS-0042"."""
    return st.builds(
        lambda prefix, number: f"{prefix}-{number:04d}",
        st.text(string.ascii_uppercase, min_size=2, max_size=4),
        st.integers(0, 9999),
    )


def scenarios() -> st.SearchStrategy[AutomationScenario | None]:
    """An automation scenario, or None."""
    return st.none() | st.sampled_from(AutomationScenario)


def unit_amounts(currency: str, max_amount: int = MAX_UNIT_AMOUNT) -> st.SearchStrategy[Money]:
    """Non-negative unit prices in `currency`."""
    return money(currency, 0, max_amount)


def products(active: bool | None = True) -> st.SearchStrategy[Product]:
    """New products; active ones unless `active` is False (or None: either)."""

    def build(
        product_id: str,
        sku: str,
        name: str,
        scenario: AutomationScenario | None,
        is_active: bool,
        at: datetime,
    ) -> Product:
        product, _ = Product.create(
            product_id=product_id,
            sku=sku,
            name=name,
            automation_scenario=scenario,
            active=is_active,
            at=at,
        )
        return product

    return st.builds(
        build,
        ids("prd"),
        skus(),
        names(),
        scenarios(),
        st.booleans() if active is None else st.just(active),
        instants(),
    )


def price_books(
    scope: PriceBookScope | None = None,
    currency: str | None = None,
    region: str | None = None,
) -> st.SearchStrategy[PriceBook]:
    """New active price books; regional ones get `region` or any region."""

    def build(
        book_id: str, name: str, kind: PriceBookScope, code: str, area: str, at: datetime
    ) -> PriceBook:
        book, _ = PriceBook.create(
            price_book_id=book_id,
            name=name,
            scope=kind,
            currency=code,
            region=area if kind is PriceBookScope.REGIONAL else None,
            at=at,
        )
        return book

    return st.builds(
        build,
        ids("pbk"),
        names(),
        st.just(scope) if scope else st.sampled_from(PriceBookScope),
        st.just(currency) if currency else currencies(),
        st.just(region) if region else regions(),
        instants(),
    )


def stripe_ids(kind: str) -> st.SearchStrategy[str]:
    """Ids shaped like Stripe's: ``price_...``, ``prod_...``."""
    return st.text(string.ascii_letters + string.digits, min_size=8, max_size=14).map(
        lambda tail: f"{kind}_{tail}"
    )


def price_book_entries_for(
    book: PriceBook, product: Product, sync: StripeSyncStatus | None = None
) -> st.SearchStrategy[PriceBookEntry]:
    """Entries pricing `product` in `book`, in the given Stripe sync status (any when None)."""

    def build(
        entry_id: str,
        amount: Money,
        status: StripeSyncStatus,
        price_id: str,
        stripe_product_id: str,
        at: datetime,
    ) -> PriceBookEntry:
        entry, _ = PriceBookEntry.create(
            entry_id=entry_id, book=book, product=product, unit_amount=amount, at=at
        )
        if status is StripeSyncStatus.SYNCED:
            entry, _ = entry.mark_synced(price_id, stripe_product_id, at=at)
        elif status is StripeSyncStatus.FAILED:
            entry, _ = entry.mark_sync_failed("Stripe said no", at=at)
        return entry

    return st.builds(
        build,
        ids("pbe"),
        unit_amounts(book.currency),
        st.just(sync) if sync else st.sampled_from(StripeSyncStatus),
        stripe_ids("price"),
        stripe_ids("prod"),
        instants(),
    )


def price_agreements_for(
    company_id: str,
    currency: str,
    product_ids: Sequence[str],
    status: AgreementStatus = AgreementStatus.DRAFT,
    start: datetime = EPOCH,
) -> st.SearchStrategy[PriceAgreement]:
    """Agreements of `company_id` pricing a non-empty subset of `product_ids`, starting within
    a year after `start`, open-ended or lasting 1-365 days; DRAFT, or ACTIVE when asked."""
    if status not in (AgreementStatus.DRAFT, AgreementStatus.ACTIVE):
        raise ValueError("generate draft or active agreements; end them with their commands")

    def build(
        agreement_id: str,
        name: str,
        begins: datetime,
        days: int | None,
        prices: dict[str, Money],
    ) -> PriceAgreement:
        agreement, _ = PriceAgreement.create(
            agreement_id=agreement_id,
            company_id=company_id,
            name=name,
            currency=currency,
            effective_from=begins,
            effective_to=None if days is None else begins + timedelta(days=days),
            prices=prices,
            at=begins,
        )
        if status is AgreementStatus.ACTIVE:
            agreement, _ = agreement.activate(at=begins)
        return agreement

    return st.builds(
        build,
        ids("pag"),
        names(),
        instants(start),
        st.none() | st.integers(1, 365),
        st.dictionaries(st.sampled_from(list(product_ids)), unit_amounts(currency), min_size=1),
    )


def quote_lines(
    product_ids: Sequence[str], bespoke_currency: str | None = None, max_quantity: int = 100
) -> st.SearchStrategy[QuoteLine]:
    """Lines for one of `product_ids`; with `bespoke_currency`, some carry a bespoke price."""
    plain = st.builds(QuoteLine, st.sampled_from(list(product_ids)), st.integers(1, max_quantity))
    if bespoke_currency is None:
        return plain
    bespoke = st.builds(
        QuoteLine,
        st.sampled_from(list(product_ids)),
        st.integers(1, max_quantity),
        unit_amounts(bespoke_currency),
        st.just("agreed by sales on the phone"),
    )
    return plain | bespoke
