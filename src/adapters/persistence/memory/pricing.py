"""In-memory repositories of the pricing context and their unit-of-work mixin.

SKUs, (book, product) pairs and the (scope, region, currency) of an active price book never
change once stored, so `Transaction.claim_unique` guards them against concurrent writers.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.pricing.model import (
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    Product,
    StripeSyncStatus,
)

_OPEN_AGREEMENT = frozenset({AgreementStatus.DRAFT, AgreementStatus.ACTIVE})


class InMemoryProductRepository(InMemoryRepository[Product]):
    table = "products"
    kind = "product"

    async def add(self, aggregate: Product) -> Product:
        self._tx.claim_unique("sku", aggregate.sku, aggregate.id)
        return await super().add(aggregate)

    async def by_sku(self, sku: str) -> Product | None:
        wanted = sku.strip().upper()
        found = self._where(lambda product: product.sku == wanted)
        return found[0] if found else None

    async def by_ids(self, product_ids: Collection[str]) -> list[Product]:
        return self._where(lambda product: product.id in product_ids)

    async def list(self, limit: int, offset: int) -> list[Product]:
        rows = sorted(self._all(), key=lambda product: product.sku)
        return rows[offset : offset + limit]


def _active_book_key(book: PriceBook) -> str:
    return f"{book.scope}:{book.region or '*'}:{book.currency}"


class InMemoryPriceBookRepository(InMemoryRepository[PriceBook]):
    table = "price_books"
    kind = "price book"

    async def add(self, aggregate: PriceBook) -> PriceBook:
        # Books cannot be deactivated yet; when they can, this claim must become releasable.
        if aggregate.active:
            self._tx.claim_unique("active_price_book", _active_book_key(aggregate), aggregate.id)
        return await super().add(aggregate)

    async def by_ids(self, price_book_ids: Collection[str]) -> list[PriceBook]:
        return self._where(lambda book: book.id in price_book_ids)

    async def active_in_currency(self, currency: str) -> list[PriceBook]:
        return self._where(lambda book: book.active and book.currency == currency)

    async def active_for(
        self, scope: PriceBookScope, region: str | None, currency: str
    ) -> PriceBook | None:
        found = self._where(
            lambda book: (
                book.active
                and book.scope is scope
                and book.region == region
                and book.currency == currency
            )
        )
        return found[0] if found else None

    async def list(self, limit: int, offset: int) -> list[PriceBook]:
        rows = sorted(self._all(), key=lambda book: (book.created_at, book.id))
        return rows[offset : offset + limit]


class InMemoryPriceBookEntryRepository(InMemoryRepository[PriceBookEntry]):
    table = "price_book_entries"
    kind = "price book entry"

    async def add(self, aggregate: PriceBookEntry) -> PriceBookEntry:
        pair = f"{aggregate.price_book_id}:{aggregate.product_id}"
        self._tx.claim_unique("price_book_entry", pair, aggregate.id)
        return await super().add(aggregate)

    async def for_book_and_product(
        self, price_book_id: str, product_id: str
    ) -> PriceBookEntry | None:
        found = self._where(
            lambda entry: entry.price_book_id == price_book_id and entry.product_id == product_id
        )
        return found[0] if found else None

    async def for_books(
        self, price_book_ids: Collection[str], product_ids: Collection[str]
    ) -> list[PriceBookEntry]:
        return self._where(
            lambda entry: entry.price_book_id in price_book_ids and entry.product_id in product_ids
        )

    async def unsynced(self) -> list[PriceBookEntry]:
        rows = self._where(lambda entry: entry.stripe_sync_status is not StripeSyncStatus.SYNCED)
        return sorted(rows, key=lambda entry: (entry.created_at, entry.id))

    async def for_book(self, price_book_id: str) -> list[PriceBookEntry]:
        rows = self._where(lambda entry: entry.price_book_id == price_book_id)
        return sorted(rows, key=lambda entry: (entry.created_at, entry.id))


class InMemoryPriceAgreementRepository(InMemoryRepository[PriceAgreement]):
    table = "price_agreements"
    kind = "price agreement"

    async def for_company(
        self, company_id: str, statuses: Collection[AgreementStatus] | None = None
    ) -> list[PriceAgreement]:
        rows = self._where(
            lambda agreement: (
                agreement.company_id == company_id
                and (statuses is None or agreement.status in statuses)
            )
        )
        return sorted(rows, key=lambda agreement: (agreement.created_at, agreement.id))

    async def due_to_expire(self, at: datetime) -> list[PriceAgreement]:
        rows = self._where(
            lambda agreement: (
                agreement.status is AgreementStatus.ACTIVE
                and agreement.effective_to is not None
                and agreement.effective_to <= at
            )
        )
        return sorted(rows, key=lambda agreement: (agreement.effective_to or at, agreement.id))

    async def with_unsynced_prices(self) -> list[PriceAgreement]:
        rows = self._where(
            lambda agreement: (
                agreement.status in _OPEN_AGREEMENT
                and any(
                    price.stripe.stripe_sync_status is not StripeSyncStatus.SYNCED
                    for price in agreement.prices
                )
            )
        )
        return sorted(rows, key=lambda agreement: (agreement.created_at, agreement.id))

    async def list(self, company_id: str | None, limit: int, offset: int) -> list[PriceAgreement]:
        rows = self._where(
            lambda agreement: company_id is None or agreement.company_id == company_id
        )
        rows.sort(key=lambda agreement: (agreement.created_at, agreement.id))
        return rows[offset : offset + limit]


class PricingTables:
    """The pricing repositories, mixed into an in-memory unit of work beside
    `CustomersTables` and `InMemoryUnitOfWorkBase`; all share the unit of work's transaction."""

    _tx: Transaction

    @property
    def products(self) -> InMemoryProductRepository:
        return InMemoryProductRepository(self._tx)

    @property
    def price_books(self) -> InMemoryPriceBookRepository:
        return InMemoryPriceBookRepository(self._tx)

    @property
    def price_book_entries(self) -> InMemoryPriceBookEntryRepository:
        return InMemoryPriceBookEntryRepository(self._tx)

    @property
    def price_agreements(self) -> InMemoryPriceAgreementRepository:
        return InMemoryPriceAgreementRepository(self._tx)
