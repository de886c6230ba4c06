"""Ports of the pricing context: its repositories, unit of work and use-case dependencies."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

import attrs

from platform_core.customers.ports import CustomersUnitOfWork
from platform_core.ports.core import Repository, ServiceDeps
from platform_core.pricing.model import (
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    Product,
)
from platform_core.shared.money import Money


class ProductRepository(Repository[Product], Protocol):
    """Products; a SKU belongs to one product only."""

    async def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU (SKUs are compared in upper case)."""
        ...

    async def by_ids(self, product_ids: Collection[str]) -> list[Product]:
        """The products among `product_ids` that exist (unknown ids are skipped)."""
        ...

    async def list(self, limit: int, offset: int) -> list[Product]:
        """Products in SKU order."""
        ...


class PriceBookRepository(Repository[PriceBook], Protocol):
    """Price books; at most one active book per (scope, region, currency)."""

    async def by_ids(self, price_book_ids: Collection[str]) -> list[PriceBook]:
        """The books among `price_book_ids` that exist."""
        ...

    async def active_in_currency(self, currency: str) -> list[PriceBook]:
        """Every active book, global or regional, priced in `currency`."""
        ...

    async def active_for(
        self, scope: PriceBookScope, region: str | None, currency: str
    ) -> PriceBook | None:
        """The active book with exactly this scope, region and currency, if any."""
        ...

    async def list(self, limit: int, offset: int) -> list[PriceBook]:
        """Books oldest first (ties by id), inactive ones included."""
        ...


class PriceBookEntryRepository(Repository[PriceBookEntry], Protocol):
    """Price-book entries; at most one per (book, product)."""

    async def for_book_and_product(
        self, price_book_id: str, product_id: str
    ) -> PriceBookEntry | None: ...

    async def for_books(
        self, price_book_ids: Collection[str], product_ids: Collection[str]
    ) -> list[PriceBookEntry]:
        """The entries of these books for these products."""
        ...

    async def unsynced(self) -> list[PriceBookEntry]:
        """Entries whose Stripe price is not synced (never synced, failed or repriced)."""
        ...

    async def for_book(self, price_book_id: str) -> list[PriceBookEntry]:
        """The book's entries, oldest first (ties by id)."""
        ...


class PriceAgreementRepository(Repository[PriceAgreement], Protocol):
    """Company price agreements."""

    async def for_company(
        self, company_id: str, statuses: Collection[AgreementStatus] | None = None
    ) -> list[PriceAgreement]:
        """The company's agreements, optionally only those in `statuses`, oldest first."""
        ...

    async def due_to_expire(self, at: datetime) -> list[PriceAgreement]:
        """Active agreements whose `effective_to` is at or before `at`."""
        ...

    async def with_unsynced_prices(self) -> list[PriceAgreement]:
        """Draft or active agreements with at least one price not synced with Stripe."""
        ...

    async def list(self, company_id: str | None, limit: int, offset: int) -> list[PriceAgreement]:
        """Agreements of every status oldest first (ties by id), only `company_id`'s when given."""
        ...


class PricingUnitOfWork(CustomersUnitOfWork, Protocol):
    """A transaction over the pricing catalogue; it includes the customers repositories
    because prices depend on the company (its region, its agreements)."""

    @property
    def products(self) -> ProductRepository: ...

    @property
    def price_books(self) -> PriceBookRepository: ...

    @property
    def price_book_entries(self) -> PriceBookEntryRepository: ...

    @property
    def price_agreements(self) -> PriceAgreementRepository: ...


class PricingDeps(ServiceDeps, Protocol):
    """What the pricing use cases need: clock, ids and a unit of work."""

    def uow(self) -> PricingUnitOfWork: ...


@attrs.frozen
class SyncedPrice:
    """The payment provider's ids for one price it now holds."""

    stripe_product_id: str
    stripe_price_id: str


class PriceSyncGateway(Protocol):
    """The payment provider's price catalogue, which checkout lines must point at."""

    async def create_price(
        self, product_key: str, name: str, unit_amount: Money, idempotency_key: str
    ) -> SyncedPrice:
        """Create (or, for a key already used, return) the provider price of `unit_amount` for
        the product `product_key` (our stable key for it, created at the provider if new)."""
        ...


class PriceSyncDeps(PricingDeps, Protocol):
    """What the Stripe price-sync use case needs: the pricing deps plus the provider's prices."""

    @property
    def payments(self) -> PriceSyncGateway: ...
