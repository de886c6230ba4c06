"""Products, price books and price-book entries: creation rules and Stripe sync bookkeeping."""

from __future__ import annotations

import json

import pytest
from pricing_examples import START, book, cad, entry, product, usd

from platform_core.pricing.model import (
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    PricingEvent,
    Product,
    StripeSyncStatus,
    format_amount,
)
from platform_core.shared.errors import IllegalTransition, ValidationError
from platform_core.shared.money import Money
from platform_core.shared.scenarios import AutomationScenario


def test_product_sku_is_stored_in_upper_case() -> None:
    """SKUs are compared case-insensitively, so creation upper-cases them."""
    created, events = Product.create(product_id="prd_1", sku=" sns-001 ", name="Sensor", at=START)
    assert created.sku == "SNS-001"
    assert created.active
    assert created.automation_scenario is None
    assert events[0].type == PricingEvent.PRODUCT_CREATED
    assert events[0].payload["sku"] == "SNS-001"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sku": ""}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"sku": "-LEADING"}, "sku"),
        ({"name": " "}, "name"),
        ({"automation_scenario": "teleport"}, "automation_scenario"),
    ],
)
def test_product_refuses_bad_input(changes: dict[str, object], field: str) -> None:
    """Malformed SKU, blank name and unknown automation scenario are refused."""
    arguments: dict[str, object] = {"product_id": "prd_1", "sku": "SNS-1", "name": "S", **changes}
    with pytest.raises(ValidationError) as raised:
        Product.create(**arguments, at=START)  # type: ignore[arg-type]
    assert raised.value.details["field"] == field


def test_product_keeps_its_automation_scenario() -> None:
    """The default scenario of a delivered unit is part of the product."""
    assert product().automation_scenario is AutomationScenario.SENSOR_VENDOR_FIRST_TIME


def test_price_books_global_and_regional() -> None:
    """A global book has no region; a regional one has a canonical region."""
    assert book().region is None
    assert book().scope is PriceBookScope.GLOBAL
    regional = book("pbk_on", region="ca-on")
    assert regional.region == "CA-ON"
    assert regional.scope is PriceBookScope.REGIONAL


@pytest.mark.parametrize(
    ("scope", "region", "currency", "field"),
    [
        (PriceBookScope.REGIONAL, None, "CAD", "region"),
        (PriceBookScope.GLOBAL, "CA", "CAD", "region"),
        (PriceBookScope.REGIONAL, "Ontario", "CAD", "region"),
        (PriceBookScope.GLOBAL, None, "BTC", "currency"),
        ("continental", None, "CAD", "scope"),
    ],
)
def test_price_book_refuses_bad_input(
    scope: PriceBookScope, region: str | None, currency: str, field: str
) -> None:
    """Region iff regional, a known currency and a known scope are required."""
    with pytest.raises(ValidationError) as raised:
        PriceBook.create(
            price_book_id="pbk_1",
            name="List",
            scope=scope,
            currency=currency,
            region=region,
            at=START,
        )
    assert raised.value.details["field"] == field


def test_which_regions_a_book_serves() -> None:
    """Global serves all; a country book serves its subdivisions; a subdivision book only itself."""
    assert book().serves_region(None)
    assert book().serves_region("US")
    country, province = book("pbk_ca", region="CA"), book("pbk_on", region="CA-ON")
    assert country.serves_region("CA")
    assert country.serves_region("CA-ON")
    assert not country.serves_region("US")
    assert not country.serves_region(None)
    assert province.serves_region("CA-ON")
    assert not province.serves_region("CA")
    assert not province.serves_region("CA-QC")


def test_entry_amount_must_be_in_the_book_currency_and_not_negative() -> None:
    """Mixed currencies and negative amounts are refused."""
    for amount in (usd(100), cad(-1)):
        with pytest.raises(ValidationError) as raised:
            PriceBookEntry.create(
                entry_id="pbe_1", book=book(), product=product(), unit_amount=amount, at=START
            )
        assert raised.value.details["field"] == "unit_amount"


def test_a_new_entry_is_not_synced_and_announced() -> None:
    """price_book_entry.added carries the amount as money payload and the sync status."""
    created = entry(book(), product(), 1200)
    assert created.stripe_sync_status is StripeSyncStatus.NOT_SYNCED
    assert created.stripe_price_id is None
    assert created.stripe_product_id is None
    _, events = created.mark_synced("price_1", "prod_1", at=START)
    assert events[0].payload["unit_amount"] == {"amount": 1200, "currency": "CAD"}
    json.dumps(events[0].as_dict())


def test_mark_synced_is_idempotent_for_the_same_ids() -> None:
    """Reporting the same Stripe ids twice records one event."""
    synced, events = entry(book(), product(), 1200).mark_synced("price_1", "prod_1", at=START)
    assert synced.stripe_sync_status is StripeSyncStatus.SYNCED
    assert events[0].type == PricingEvent.PRICE_BOOK_ENTRY_SYNCED
    again, more = synced.mark_synced("price_1", "prod_1", at=START)
    assert again is synced
    assert more == []


def test_a_synced_entry_cannot_be_repointed_or_failed() -> None:
    """Other Stripe ids or a late failure on a synced entry are illegal; it stays synced."""
    synced = entry(book(), product(), 1200, synced=True)
    with pytest.raises(IllegalTransition):
        synced.mark_synced("price_other", "prod_other", at=START)
    with pytest.raises(IllegalTransition):
        synced.mark_sync_failed("timeout", at=START)
    assert synced.stripe_sync_status is StripeSyncStatus.SYNCED


def test_a_failed_sync_keeps_the_error_and_can_succeed_later() -> None:
    """failed -> failed keeps the last error; failed -> synced clears it."""
    failed, events = entry(book(), product(), 1200).mark_sync_failed("rate limited", at=START)
    assert failed.stripe_sync_status is StripeSyncStatus.FAILED
    assert events[0].type == PricingEvent.PRICE_BOOK_ENTRY_SYNC_FAILED
    failed, _ = failed.mark_sync_failed("still rate limited", at=START)
    assert failed.stripe.stripe_sync_error == "still rate limited"
    synced, _ = failed.mark_synced("price_1", "prod_1", at=START)
    assert synced.stripe.stripe_sync_error is None


def test_sync_reports_need_ids_and_an_error_text() -> None:
    """Blank Stripe ids or a blank error are refused."""
    fresh = entry(book(), product(), 1200)
    with pytest.raises(ValidationError):
        fresh.mark_synced("", "prod_1", at=START)
    with pytest.raises(ValidationError):
        fresh.mark_sync_failed("  ", at=START)
    assert fresh.stripe_sync_status is StripeSyncStatus.NOT_SYNCED


def test_repricing_needs_a_new_stripe_price_but_keeps_the_stripe_product() -> None:
    """A new amount makes the entry not synced, drops the price id, keeps the product id."""
    synced = entry(book(), product(), 1200, synced=True)
    repriced, events = synced.change_price(cad(1500), at=START)
    assert repriced.unit_amount == cad(1500)
    assert repriced.stripe_sync_status is StripeSyncStatus.NOT_SYNCED
    assert repriced.stripe_price_id is None
    assert repriced.stripe_product_id == synced.stripe_product_id
    assert events[0].type == PricingEvent.PRICE_BOOK_ENTRY_REPRICED
    assert events[0].payload["previous_unit_amount"] == {"amount": 1200, "currency": "CAD"}


def test_repricing_to_the_same_amount_or_another_currency() -> None:
    """The same amount is a no-op; another currency or a negative amount is refused."""
    synced = entry(book(), product(), 1200, synced=True)
    same, events = synced.change_price(cad(1200), at=START)
    assert same is synced
    assert events == []
    for amount in (usd(1500), cad(-5)):
        with pytest.raises(ValidationError):
            synced.change_price(amount, at=START)
    assert synced.unit_amount == cad(1200)


def test_amounts_are_labelled_currency_first() -> None:
    """Labels show money as people read it in a quote."""
    assert format_amount(cad(1200)) == "CAD 12.00"
    assert format_amount(Money(500, "JPY")) == "JPY 500"
