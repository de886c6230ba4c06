"""Example catalogue aggregates, fixed instants and in-memory wiring for the pricing tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.customers import CustomersTables
from adapters.persistence.memory.pricing import PricingTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.pricing.model import (
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    Product,
)
from platform_core.shared.money import Money
from platform_core.shared.scenarios import AutomationScenario

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class PricingUnitOfWorkForTests(CustomersTables, PricingTables, InMemoryUnitOfWorkBase):
    """Customers and pricing mixins composed the way the application's unit of work is."""


@attrs.define
class PricingDepsForTests:
    """Satisfies PricingDeps (and CustomersDeps) with real in-memory adapters."""

    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase

    def uow(self) -> PricingUnitOfWorkForTests:
        return PricingUnitOfWorkForTests(self.db, self.ids)

    @classmethod
    def fresh(cls) -> PricingDepsForTests:
        return cls(FixedClock(START), SequentialIdGenerator(), InMemoryDatabase())


def cad(cents: int) -> Money:
    return Money(cents, "CAD")


def usd(cents: int) -> Money:
    return Money(cents, "USD")


def product(product_id: str = "prd_1", sku: str = "SNS-001", active: bool = True) -> Product:
    created, _ = Product.create(
        product_id=product_id,
        sku=sku,
        name=f"Sensor {sku}",
        automation_scenario=AutomationScenario.SENSOR_VENDOR_FIRST_TIME,
        active=active,
        at=START,
    )
    return created


def book(
    book_id: str = "pbk_global",
    region: str | None = None,
    currency: str = "CAD",
    active: bool = True,
) -> PriceBook:
    created, _ = PriceBook.create(
        price_book_id=book_id,
        name=f"List {region or 'global'} {currency}",
        scope=PriceBookScope.REGIONAL if region else PriceBookScope.GLOBAL,
        currency=currency,
        region=region,
        active=active,
        at=START,
    )
    return created


def entry(
    price_book: PriceBook,
    item: Product,
    cents: int,
    *,
    synced: bool = False,
    entry_id: str | None = None,
) -> PriceBookEntry:
    created, _ = PriceBookEntry.create(
        entry_id=entry_id or f"pbe_{price_book.id}_{item.id}",
        book=price_book,
        product=item,
        unit_amount=Money(cents, price_book.currency),
        at=START,
    )
    if synced:
        created, _ = created.mark_synced(f"price_{created.id}", f"prod_{item.id}", at=START)
    return created


def agreement(
    prices: Mapping[str, Money],
    *,
    agreement_id: str = "pag_1",
    company_id: str = "cmp_1",
    currency: str = "CAD",
    starts: datetime = START,
    ends: datetime | None = None,
    active: bool = True,
) -> PriceAgreement:
    created, _ = PriceAgreement.create(
        agreement_id=agreement_id,
        company_id=company_id,
        name=f"Agreement {agreement_id}",
        currency=currency,
        effective_from=starts,
        effective_to=ends,
        prices=prices,
        at=starts - DAY,
    )
    if active:
        created, _ = created.activate(at=starts - DAY)
    return created
