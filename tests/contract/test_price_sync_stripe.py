"""The price-sync job through the real Stripe SDK, against the local fake Stripe server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from tests.support.fake_stripe import API_KEY, Fault, RunningFakeStripe, running_fake_stripe

from adapters.clock import FixedClock
from adapters.payments.stripe import StripePaymentGateway
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.jobs import SYNC_STRIPE_PRICES, handlers
from platform_core.customers.service import CreateCompany, create_company
from platform_core.pricing.model import PriceBookScope, QuoteLine
from platform_core.pricing.service import (
    AddPriceBookEntry,
    CreatePriceBook,
    CreateProduct,
    ListUnsyncedPrices,
    Quote,
    add_price_book_entry,
    create_price_book,
    create_product,
    list_unsynced_prices,
    quote,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.money import Money

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[RunningFakeStripe]:
    with running_fake_stripe() as running:
        yield running


@pytest.fixture
async def platform(server: RunningFakeStripe) -> AsyncIterator[Platform]:
    """The embedded platform with its payments on the Stripe adapter, at the fake server."""
    clock = FixedClock(NOW)
    built = bootstrap(Settings(database_url=MEMORY_URL), clock=clock)
    built.deps.payments = StripePaymentGateway(
        API_KEY,
        "whsec_price_sync",
        success_url="https://shop.example/done",
        cancel_url="https://shop.example/back",
        clock=clock,
        api_base=server.url,
        max_network_retries=0,
    )
    try:
        yield built
    finally:
        await built.close()


async def _catalogue(platform: Platform) -> tuple[str, list[QuoteLine]]:
    deps = platform.deps
    company = await create_company(deps, CreateCompany("Acme", "mir_1", "CAD", "CA-ON"))
    book = await create_price_book(deps, CreatePriceBook("List", PriceBookScope.GLOBAL, "CAD"))
    lines = []
    for sku, cents in (("SNS-001", 1500), ("GW-001", 9900)):
        product = await create_product(deps, CreateProduct(sku, f"Product {sku}"))
        await add_price_book_entry(
            deps, AddPriceBookEntry(book.id, product.id, Money(cents, "CAD"))
        )
        lines.append(QuoteLine(product.id, 1))
    return company.id, lines


async def test_the_job_creates_stripe_prices_and_unblocks_checkout(
    platform: Platform, server: RunningFakeStripe
) -> None:
    """Before the job strict pricing refuses the lines; after it Stripe holds one product and
    one price per entry, with our product ids and amounts, and strict pricing passes."""
    company_id, lines = await _catalogue(platform)
    with pytest.raises(ValidationError) as blocked:
        await quote(platform.deps, Quote(company_id, tuple(lines), strict_stripe=True))
    assert len(blocked.value.details["unsynced_lines"]) == 2  # type: ignore[arg-type]

    result = await handlers(platform)[SYNC_STRIPE_PRICES]({})
    assert isinstance(result, dict)
    assert len(result["synced"]) == 2
    assert result["failed"] == {}
    assert set(server.stripe.products) == {line.product_id for line in lines}
    amounts = {
        (p["product"], p["unit_amount"], p["currency"]) for p in server.stripe.prices.values()
    }
    assert amounts == {(lines[0].product_id, 1500, "cad"), (lines[1].product_id, 9900, "cad")}
    priced = await quote(platform.deps, Quote(company_id, tuple(lines), strict_stripe=True))
    assert {line.stripe_price_id for line in priced.lines} == set(server.stripe.prices)


async def test_a_stripe_outage_is_retried_by_the_next_run_without_duplicates(
    platform: Platform, server: RunningFakeStripe
) -> None:
    """A 500 marks the price sync-failed; the next run creates it once, with the same key."""
    await _catalogue(platform)
    server.stripe.fail_next(1, Fault.SERVER_ERROR)
    first = await handlers(platform)[SYNC_STRIPE_PRICES]({})
    assert isinstance(first, dict)
    assert (len(first["synced"]), len(first["failed"])) == (1, 1)
    [failed] = await list_unsynced_prices(platform.deps, ListUnsyncedPrices())
    assert failed.stripe.stripe_sync_error is not None

    second = await handlers(platform)[SYNC_STRIPE_PRICES]({})
    assert isinstance(second, dict)
    assert (len(second["synced"]), second["failed"]) == (1, {})
    assert len(server.stripe.prices) == 2
    assert await list_unsynced_prices(platform.deps, ListUnsyncedPrices()) == []
