"""The Stripe price-sync use case, run against the mock gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from pricing_examples import START, PricingDepsForTests, cad

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.payments.fake import FakePaymentGateway
from adapters.persistence.memory.store import InMemoryDatabase
from platform_core.customers.service import CreateCompany, create_company
from platform_core.pricing.model import PriceBookScope, StripeSyncStatus
from platform_core.pricing.ports import SyncedPrice
from platform_core.pricing.service import (
    AddPriceBookEntry,
    ChangeEntryPrice,
    CreatePriceAgreement,
    CreatePriceBook,
    CreateProduct,
    ListUnsyncedPrices,
    SyncPrices,
    add_price_book_entry,
    change_entry_price,
    create_price_agreement,
    create_price_book,
    create_product,
    get_agreement,
    list_unsynced_prices,
    price_sync_key,
    sync_prices,
)
from platform_core.shared.errors import ExternalServiceError
from platform_core.shared.money import Money


@attrs.define
class Prices:
    """The mock gateway's prices, with a hook run before each create (to fail or interfere)."""

    fake: FakePaymentGateway
    before: Callable[[str], Awaitable[None]] | None = None
    calls: list[str] = attrs.field(factory=list)

    async def create_price(
        self, product_key: str, name: str, unit_amount: Money, idempotency_key: str
    ) -> SyncedPrice:
        self.calls.append(idempotency_key)
        if self.before is not None:
            await self.before(product_key)
        return await self.fake.create_price(product_key, name, unit_amount, idempotency_key)


@attrs.define
class SyncDeps(PricingDepsForTests):
    payments: Prices = attrs.field(kw_only=True)


def _deps() -> SyncDeps:
    clock = FixedClock(START)
    fake = FakePaymentGateway(clock, "whsec_test")
    return SyncDeps(clock, SequentialIdGenerator(), InMemoryDatabase(), payments=Prices(fake))


async def _catalogue(deps: SyncDeps) -> tuple[str, str, str]:
    """A sensor and a gateway in a global CAD book, and a company deal for the sensor."""
    company = await create_company(deps, CreateCompany("Acme", "mir_1", "CAD", "CA-ON"))
    sensor = await create_product(deps, CreateProduct("SNS-001", "Sensor"))
    gateway = await create_product(deps, CreateProduct("GW-001", "Gateway"))
    book = await create_price_book(deps, CreatePriceBook("List", PriceBookScope.GLOBAL, "CAD"))
    await add_price_book_entry(deps, AddPriceBookEntry(book.id, sensor.id, cad(1500)))
    gateway_entry = await add_price_book_entry(
        deps, AddPriceBookEntry(book.id, gateway.id, cad(9900))
    )
    deal = await create_price_agreement(
        deps, CreatePriceAgreement(company.id, "Deal", "CAD", START, {sensor.id: cad(1000)})
    )
    return gateway.id, gateway_entry.id, deal.id


async def test_every_unsynced_price_is_created_and_marked_synced() -> None:
    """Entries and agreement prices get a provider price under their product; a second run
    has nothing left to do."""
    deps = _deps()
    _, _, deal_id = await _catalogue(deps)
    report = await sync_prices(deps, SyncPrices())
    assert len(report.synced) == 3
    assert report.failed == ()
    assert await list_unsynced_prices(deps, ListUnsyncedPrices()) == []
    deal = await get_agreement(deps, deal_id)
    synced = deal.prices[0].stripe
    assert synced.stripe_sync_status is StripeSyncStatus.SYNCED
    assert synced.stripe_product_id == deal.prices[0].product_id
    assert synced.stripe_price_id in {p.stripe_price_id for p in deps.payments.fake.prices.values()}
    again = await sync_prices(deps, SyncPrices())
    assert (again.synced, again.failed) == ((), ())
    assert len(deps.payments.calls) == 3


async def test_a_provider_failure_is_recorded_and_retried_by_the_next_run() -> None:
    """A failing price is marked sync-failed with the error, the others still sync, and the
    next run retries it with the same idempotency key."""
    deps = _deps()
    gateway_id, gateway_entry_id, _ = await _catalogue(deps)

    async def stripe_down_for_gateway(product_key: str) -> None:
        if product_key == gateway_id:
            raise ExternalServiceError("Stripe failed to create a price")

    deps.payments.before = stripe_down_for_gateway
    first = await sync_prices(deps, SyncPrices())
    assert len(first.synced) == 2
    assert [(p.target_id, error) for p, error in first.failed] == [
        (gateway_entry_id, "Stripe failed to create a price")
    ]
    [left] = await list_unsynced_prices(deps, ListUnsyncedPrices())
    assert left.stripe_sync_status is StripeSyncStatus.FAILED
    assert left.stripe.stripe_sync_error == "Stripe failed to create a price"

    deps.payments.before = None
    second = await sync_prices(deps, SyncPrices())
    assert [p.target_id for p in second.synced] == [gateway_entry_id]
    assert deps.payments.calls.count(price_sync_key(left)) == 2


async def test_a_run_that_stopped_after_creating_the_price_gets_the_same_price_back() -> None:
    """The idempotency key names the price, not the attempt: no second provider price."""
    deps = _deps()
    await _catalogue(deps)
    pending = await list_unsynced_prices(deps, ListUnsyncedPrices())
    # A previous run created every price, then stopped before marking any synced.
    for price in pending:
        await deps.payments.fake.create_price(
            price.product_id, price.product_name, price.unit_amount, price_sync_key(price)
        )
    made = dict(deps.payments.fake.prices)
    report = await sync_prices(deps, SyncPrices())
    assert len(report.synced) == 3
    assert deps.payments.fake.prices == made


async def test_a_price_repriced_while_being_created_is_left_for_the_next_run() -> None:
    """The old amount's provider price is never recorded against the new amount."""
    deps = _deps()
    gateway_id, gateway_entry_id, _ = await _catalogue(deps)

    async def reprice_gateway(product_key: str) -> None:
        if product_key == gateway_id:
            deps.payments.before = None
            await change_entry_price(deps, ChangeEntryPrice(gateway_entry_id, cad(8900)))

    deps.payments.before = reprice_gateway
    report = await sync_prices(deps, SyncPrices())
    assert [p.target_id for p, _ in report.failed] == [gateway_entry_id]
    [left] = await list_unsynced_prices(deps, ListUnsyncedPrices())
    assert (left.unit_amount, left.stripe_sync_status) == (cad(8900), StripeSyncStatus.NOT_SYNCED)
    retried = await sync_prices(deps, SyncPrices())
    assert [p.unit_amount for p in retried.synced] == [cad(8900)]
