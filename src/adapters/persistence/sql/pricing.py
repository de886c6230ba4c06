"""Tables, mappers and repositories of the pricing catalogue.

A SKU belongs to one product, a (book, product) pair has one entry and an active book is the
only one for its (scope, region, currency): unique keys, so concurrent writers cannot break
them. Stripe sync state is kept whole in JSON, with its status in a column for the sync job.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from adapters.persistence.sql.mapper import ChildMapper, RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.pricing.model import (
    AgreementPrice,
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    Product,
    StripeSyncStatus,
)

# Stands for "no region" in the active-book key: NULLs never collide in a unique index.
ANY_REGION = "*"

products = Table(
    "products",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("automation_scenario", String(50)),
    Column("created_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
)

price_books = Table(
    "price_books",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("region", String(10)),
    Column("currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False),
    # scope:region:currency while active, NULL once inactive.
    Column("active_key", String(40), unique=True),
    Column("created_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "currency", "active"),
    Index(None, "created_at", "id"),
)

price_book_entries = Table(
    "price_book_entries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("price_book_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("unit_amount_amount", BigInteger, nullable=False),
    Column("unit_amount_currency", String(3), nullable=False),
    Column("stripe", Json, nullable=False),
    Column("stripe_sync_status", String(20), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("price_book_id", "product_id"),
    Index(None, "product_id"),
    Index(None, "stripe_sync_status", "created_at"),
)

price_agreements = Table(
    "price_agreements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("effective_from", Instant, nullable=False),
    Column("effective_to", Instant),
    Column("created_at", Instant, nullable=False),
    Column("activated_at", Instant),
    Column("ended_at", Instant),
    Column("cancellation_reason", String(500)),
    Column("has_unsynced_prices", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "company_id", "status", "created_at"),
    Index(None, "status", "effective_to"),
    # The agreement listing, oldest first, of every company or one.
    Index(None, "created_at", "id"),
    Index(None, "company_id", "created_at", "id"),
)

price_agreement_prices = Table(
    "price_agreement_prices",
    metadata,
    Column(
        "price_agreement_id",
        String(64),
        ForeignKey("price_agreements.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("unit_amount_amount", BigInteger, nullable=False),
    Column("unit_amount_currency", String(3), nullable=False),
    Column("stripe", Json, nullable=False),
)

_OPEN_AGREEMENT = (AgreementStatus.DRAFT.value, AgreementStatus.ACTIVE.value)


def _book_columns(book: PriceBook) -> dict[str, Any]:
    key = f"{book.scope}:{book.region or ANY_REGION}:{book.currency}" if book.active else None
    return {"active_key": key}


def _entry_columns(entry: PriceBookEntry) -> dict[str, Any]:
    return {"stripe_sync_status": entry.stripe_sync_status.value}


def _agreement_columns(agreement: PriceAgreement) -> dict[str, Any]:
    unsynced = any(
        price.stripe.stripe_sync_status is not StripeSyncStatus.SYNCED for price in agreement.prices
    )
    return {"has_unsynced_prices": unsynced}


class SqlProductRepository(SqlRepository[Product]):
    mapper = RowMapper(Product, products)
    kind = "product"

    def unique_details(self, aggregate: Product) -> dict[str, Any]:
        return {"field": "sku", "sku": aggregate.sku}

    async def by_sku(self, sku: str) -> Product | None:
        return await self._first(products.c.sku == sku.strip().upper())

    async def by_ids(self, product_ids: Collection[str]) -> list[Product]:
        if not product_ids:
            return []
        return await self._where(products.c.id.in_(list(product_ids)), order_by=(products.c.id,))

    async def list(self, limit: int, offset: int) -> list[Product]:
        return await self._where(order_by=(products.c.sku,), limit=limit, offset=offset)


class SqlPriceBookRepository(SqlRepository[PriceBook]):
    mapper = RowMapper(PriceBook, price_books, derived=_book_columns)
    kind = "price book"

    def unique_details(self, aggregate: PriceBook) -> dict[str, Any]:
        return {"field": "scope", "region": aggregate.region, "currency": aggregate.currency}

    async def by_ids(self, price_book_ids: Collection[str]) -> list[PriceBook]:
        if not price_book_ids:
            return []
        return await self._where(
            price_books.c.id.in_(list(price_book_ids)), order_by=(price_books.c.id,)
        )

    async def active_in_currency(self, currency: str) -> list[PriceBook]:
        return await self._where(
            price_books.c.currency == currency,
            price_books.c.active.is_(True),
            order_by=(price_books.c.id,),
        )

    async def active_for(
        self, scope: PriceBookScope, region: str | None, currency: str
    ) -> PriceBook | None:
        key = f"{scope}:{region or ANY_REGION}:{currency}"
        return await self._first(price_books.c.active_key == key)

    async def list(self, limit: int, offset: int) -> list[PriceBook]:
        return await self._where(
            order_by=(price_books.c.created_at, price_books.c.id), limit=limit, offset=offset
        )


class SqlPriceBookEntryRepository(SqlRepository[PriceBookEntry]):
    mapper = RowMapper(PriceBookEntry, price_book_entries, derived=_entry_columns)
    kind = "price book entry"

    def unique_details(self, aggregate: PriceBookEntry) -> dict[str, Any]:
        return {"price_book_id": aggregate.price_book_id, "product_id": aggregate.product_id}

    async def for_book_and_product(
        self, price_book_id: str, product_id: str
    ) -> PriceBookEntry | None:
        return await self._first(
            price_book_entries.c.price_book_id == price_book_id,
            price_book_entries.c.product_id == product_id,
        )

    async def for_books(
        self, price_book_ids: Collection[str], product_ids: Collection[str]
    ) -> list[PriceBookEntry]:
        if not price_book_ids or not product_ids:
            return []
        return await self._where(
            price_book_entries.c.price_book_id.in_(list(price_book_ids)),
            price_book_entries.c.product_id.in_(list(product_ids)),
            order_by=(price_book_entries.c.id,),
        )

    async def unsynced(self) -> list[PriceBookEntry]:
        return await self._where(
            price_book_entries.c.stripe_sync_status != StripeSyncStatus.SYNCED.value,
            order_by=(price_book_entries.c.created_at, price_book_entries.c.id),
        )

    async def for_book(self, price_book_id: str) -> list[PriceBookEntry]:
        return await self._where(
            price_book_entries.c.price_book_id == price_book_id,
            order_by=(price_book_entries.c.created_at, price_book_entries.c.id),
        )


class SqlPriceAgreementRepository(SqlRepository[PriceAgreement]):
    mapper = RowMapper(
        PriceAgreement,
        price_agreements,
        children={
            "prices": ChildMapper(AgreementPrice, price_agreement_prices, "price_agreement_id")
        },
        derived=_agreement_columns,
    )
    kind = "price agreement"

    async def for_company(
        self, company_id: str, statuses: Collection[AgreementStatus] | None = None
    ) -> list[PriceAgreement]:
        conditions = [price_agreements.c.company_id == company_id]
        if statuses is not None:
            conditions.append(price_agreements.c.status.in_([str(s) for s in statuses] or [""]))
        return await self._where(
            *conditions, order_by=(price_agreements.c.created_at, price_agreements.c.id)
        )

    async def due_to_expire(self, at: datetime) -> list[PriceAgreement]:
        return await self._where(
            price_agreements.c.status == AgreementStatus.ACTIVE.value,
            price_agreements.c.effective_to.is_not(None),
            price_agreements.c.effective_to <= at,
            order_by=(price_agreements.c.effective_to, price_agreements.c.id),
        )

    async def with_unsynced_prices(self) -> list[PriceAgreement]:
        return await self._where(
            price_agreements.c.status.in_(_OPEN_AGREEMENT),
            price_agreements.c.has_unsynced_prices.is_(True),
            order_by=(price_agreements.c.created_at, price_agreements.c.id),
        )

    async def list(self, company_id: str | None, limit: int, offset: int) -> list[PriceAgreement]:
        conditions = []
        if company_id is not None:
            conditions.append(price_agreements.c.company_id == company_id)
        return await self._where(
            *conditions,
            order_by=(price_agreements.c.created_at, price_agreements.c.id),
            limit=limit,
            offset=offset,
        )


class PricingTables:
    """The pricing repositories over the unit of work's session."""

    _session: SqlSession

    @property
    def products(self) -> SqlProductRepository:
        return SqlProductRepository(self._session)

    @property
    def price_books(self) -> SqlPriceBookRepository:
        return SqlPriceBookRepository(self._session)

    @property
    def price_book_entries(self) -> SqlPriceBookEntryRepository:
        return SqlPriceBookEntryRepository(self._session)

    @property
    def price_agreements(self) -> SqlPriceAgreementRepository:
        return SqlPriceAgreementRepository(self._session)
