"""The price resolver: precedence, applicability, labels and errors, by example and property."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pricing_examples import DAY, START, agreement, book, cad, entry, product, usd

from platform_core.pricing.model import (
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceSource,
    Product,
    QuoteLine,
    StripeSyncStatus,
)
from platform_core.pricing.resolver import PriceRequest, PricingCatalogue, resolve_price
from platform_core.shared.errors import ValidationError
from platform_core.shared.money import Money
from platform_core.testing.pricing import unit_amounts

SENSOR = product()


def _resolve(
    catalogue: PricingCatalogue,
    line: QuoteLine | None = None,
    *,
    region: str | None = "CA-ON",
    currency: str = "CAD",
    at: datetime = START,
) -> tuple[PriceSource, Money]:
    request = PriceRequest("cmp_1", region, currency, line or QuoteLine(SENSOR.id, 2), at)
    resolution = resolve_price(request, catalogue)
    return resolution.source, resolution.unit_amount


def _catalogue(*parts: PriceBook | PriceBookEntry | PriceAgreement | Product) -> PricingCatalogue:
    return PricingCatalogue(
        products=[SENSOR, *(p for p in parts if isinstance(p, Product))],
        price_books=[p for p in parts if isinstance(p, PriceBook)],
        entries=[p for p in parts if isinstance(p, PriceBookEntry)],
        agreements=[p for p in parts if isinstance(p, PriceAgreement)],
    )


GLOBAL = book()
ONTARIO = book("pbk_on", region="CA-ON")
CANADA = book("pbk_ca", region="CA")
FULL = _catalogue(
    GLOBAL,
    entry(GLOBAL, SENSOR, 1500, synced=True),
    ONTARIO,
    entry(ONTARIO, SENSOR, 1400),
    agreement({SENSOR.id: cad(1200)}, ends=START + 30 * DAY),
)
FULL_PARTS = (*FULL.price_books, *FULL.entries, *FULL.agreements)


# -- precedence by example -------------------------------------------------------------------


def test_a_bespoke_price_beats_everything() -> None:
    """A bespoke line is priced as given, with its notes, and never synced with Stripe."""
    line = QuoteLine(SENSOR.id, 3, cad(999), "  price match for Acme  ")
    resolution = resolve_price(PriceRequest("cmp_1", "CA-ON", "CAD", line, START), FULL)
    assert resolution.source is PriceSource.BESPOKE
    assert (resolution.unit_amount, resolution.line_total) == (cad(999), cad(2997))
    assert resolution.bespoke_notes == "price match for Acme"
    assert resolution.stripe_sync_status is StripeSyncStatus.NOT_SYNCED
    assert resolution.stripe_price_id is None
    assert resolution.label == "Bespoke price (CAD 9.99)"


def test_an_active_agreement_beats_the_books() -> None:
    """Within its window, the company's agreement sets the price and the label names it."""
    resolution = resolve_price(
        PriceRequest("cmp_1", "CA-ON", "CAD", QuoteLine(SENSOR.id, 2), START), FULL
    )
    assert resolution.source is PriceSource.PRICE_AGREEMENT
    assert resolution.price_agreement_id == "pag_1"
    assert resolution.price_book_entry_id is None
    assert resolution.label == "Agreement 'Agreement pag_1' (CAD 12.00)"
    assert resolution.line_total == cad(2400)
    assert resolution.automation_scenario is SENSOR.automation_scenario


def test_the_regional_book_applies_after_the_agreement_ends() -> None:
    """Once the agreement's window is over, the regional book prices the line."""
    assert _resolve(FULL, at=START + 30 * DAY) == (PriceSource.PRICEBOOK_REGIONAL, cad(1400))


def test_another_company_or_region_falls_back_to_the_global_book() -> None:
    """Outside the book's region and without an agreement, the global book applies."""
    request = PriceRequest("cmp_2", "US", "CAD", QuoteLine(SENSOR.id, 1), START)
    resolution = resolve_price(request, FULL)
    assert resolution.source is PriceSource.PRICEBOOK_GLOBAL
    assert resolution.stripe_sync_status is StripeSyncStatus.SYNCED
    assert resolution.stripe_price_id == f"price_pbe_{GLOBAL.id}_{SENSOR.id}"
    assert resolution.label == "Price book 'List global CAD' (CAD 15.00)"


def test_a_subdivision_book_beats_its_country_book() -> None:
    """For a CA-ON company the Ontario book wins over the Canada book; for CA-QC, Canada's."""
    catalogue = _catalogue(
        CANADA, entry(CANADA, SENSOR, 1300), ONTARIO, entry(ONTARIO, SENSOR, 1400)
    )
    assert _resolve(catalogue, region="CA-ON") == (PriceSource.PRICEBOOK_REGIONAL, cad(1400))
    assert _resolve(catalogue, region="CA-QC") == (PriceSource.PRICEBOOK_REGIONAL, cad(1300))


def test_a_regional_book_without_the_product_falls_through() -> None:
    """A book that does not price the product does not block the next level."""
    catalogue = _catalogue(ONTARIO, GLOBAL, entry(GLOBAL, SENSOR, 1500))
    assert _resolve(catalogue) == (PriceSource.PRICEBOOK_GLOBAL, cad(1500))


def test_books_and_agreements_in_another_currency_do_not_apply() -> None:
    """A USD request skips CAD agreement and books and uses the USD global book."""
    usd_book = book("pbk_usd", currency="USD")
    catalogue = _catalogue(*FULL_PARTS, usd_book, entry(usd_book, SENSOR, 1100))
    assert _resolve(catalogue, currency="USD") == (PriceSource.PRICEBOOK_GLOBAL, usd(1100))


def test_inactive_books_and_non_active_agreements_do_not_apply() -> None:
    """A draft agreement and an inactive book are skipped."""
    retired = book("pbk_old", active=False)
    catalogue = _catalogue(
        retired,
        entry(retired, SENSOR, 100),
        GLOBAL,
        entry(GLOBAL, SENSOR, 1500),
        agreement({SENSOR.id: cad(1)}, active=False),
    )
    assert _resolve(catalogue) == (PriceSource.PRICEBOOK_GLOBAL, cad(1500))


def test_the_most_recent_of_two_applicable_agreements_wins() -> None:
    """Should overlapping agreements both be active, the latest start decides, not chance."""
    older = agreement({SENSOR.id: cad(1100)}, agreement_id="pag_a", starts=START - 10 * DAY)
    newer = agreement({SENSOR.id: cad(1000)}, agreement_id="pag_b", starts=START - DAY)
    assert _resolve(_catalogue(newer, older)) == (PriceSource.PRICE_AGREEMENT, cad(1000))


def test_no_price_names_the_product() -> None:
    """Without any applicable level the error names the product and currency."""
    with pytest.raises(ValidationError) as raised:
        _resolve(_catalogue(GLOBAL))
    assert raised.value.details == {
        "field": "product_id",
        "product_id": SENSOR.id,
        "sku": SENSOR.sku,
        "currency": "CAD",
    }


def test_unknown_and_retired_products_cannot_be_priced() -> None:
    """An unknown product id and an inactive product are validation errors."""
    with pytest.raises(ValidationError) as raised:
        _resolve(FULL, QuoteLine("prd_unknown", 1))
    assert raised.value.details["product_id"] == "prd_unknown"
    retired = product("prd_old", "OLD-1", active=False)
    with pytest.raises(ValidationError) as raised:
        _resolve(_catalogue(retired, GLOBAL, entry(GLOBAL, retired, 5)), QuoteLine("prd_old", 1))
    assert raised.value.details["sku"] == "OLD-1"


def test_a_bespoke_amount_in_another_currency_is_an_error() -> None:
    """An explicit override in the wrong currency is refused, not silently skipped."""
    with pytest.raises(ValidationError) as raised:
        _resolve(FULL, QuoteLine(SENSOR.id, 1, usd(500), "deal"))
    assert raised.value.details["field"] == "bespoke_unit_amount"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((SENSOR.id, 0), "quantity"),
        ((SENSOR.id, -2), "quantity"),
        ((SENSOR.id, True), "quantity"),
        (("", 1), "product_id"),
        ((SENSOR.id, 1, cad(100)), "bespoke_notes"),
        ((SENSOR.id, 1, cad(100), "  "), "bespoke_notes"),
        ((SENSOR.id, 1, None, "notes without a price"), "bespoke_unit_amount"),
        ((SENSOR.id, 1, cad(-100), "refund?"), "bespoke_unit_amount"),
    ],
)
def test_quote_lines_refuse_bad_input(arguments: tuple[object, ...], field: str) -> None:
    """Non-positive quantities, missing product, bespoke without notes or negative are refused."""
    with pytest.raises(ValidationError) as raised:
        QuoteLine(*arguments)  # type: ignore[arg-type]
    assert raised.value.details["field"] == field


def test_a_request_needs_a_known_currency_and_an_aware_instant() -> None:
    """Unknown currencies and naive instants are refused when the request is built."""
    with pytest.raises(ValidationError):
        PriceRequest("cmp_1", None, "CADX", QuoteLine(SENSOR.id, 1), START)
    with pytest.raises(ValidationError):
        PriceRequest("cmp_1", None, "CAD", QuoteLine(SENSOR.id, 1), datetime(2026, 1, 1))  # naive


# -- precedence as properties ----------------------------------------------------------------

REGIONS = ["CA-ON", "CA-QC", "CA", "US", "US-NY"]


@attrs.frozen
class World:
    """A catalogue where each level may or may not price SENSOR, and a request against it."""

    catalogue: PricingCatalogue
    region: str | None
    at: datetime
    global_amount: Money | None
    regional: tuple[str, Money] | None
    agreement: PriceAgreement | None

    def expected(self) -> tuple[PriceSource, Money] | None:
        """The price by a plain reading of the precedence rules."""
        if self.agreement is not None and self.agreement.covers(self.at):
            price = self.agreement.price_for(SENSOR.id)
            if price is not None:
                return PriceSource.PRICE_AGREEMENT, price.unit_amount
        if self.regional is not None and self.region is not None:
            book_region, amount = self.regional
            if self.region == book_region or self.region.split("-")[0] == book_region:
                return PriceSource.PRICEBOOK_REGIONAL, amount
        if self.global_amount is not None:
            return PriceSource.PRICEBOOK_GLOBAL, self.global_amount
        return None


@st.composite
def worlds(draw: st.DrawFn) -> World:
    parts: list[PriceBook | PriceBookEntry | PriceAgreement | Product] = []
    global_amount = draw(st.none() | unit_amounts("CAD"))
    if global_amount is not None:
        parts += [GLOBAL, entry(GLOBAL, SENSOR, global_amount.amount)]
    regional = draw(st.none() | st.tuples(st.sampled_from(REGIONS), unit_amounts("CAD")))
    if regional is not None:
        regional_book = book("pbk_region", region=regional[0])
        parts += [regional_book, entry(regional_book, SENSOR, regional[1].amount)]
    deal = None
    if draw(st.booleans()):
        starts = START + timedelta(days=draw(st.integers(-30, 30)))
        days = draw(st.none() | st.integers(1, 60))
        deal = agreement(
            {SENSOR.id: draw(unit_amounts("CAD"))},
            starts=starts,
            ends=None if days is None else starts + timedelta(days=days),
        )
        parts.append(deal)
    at = START + timedelta(hours=draw(st.integers(-60 * 24, 60 * 24)))
    region = draw(st.none() | st.sampled_from(REGIONS))
    return World(_catalogue(*parts), region, at, global_amount, regional, deal)


def _outcome(world: World, line: QuoteLine) -> tuple[PriceSource, Money] | None:
    try:
        return _resolve(world.catalogue, line, region=world.region, at=world.at)
    except ValidationError:
        return None


@settings(max_examples=150)
@given(worlds(), st.integers(1, 50))
def test_resolution_follows_the_precedence_rules(world: World, quantity: int) -> None:
    """The resolver agrees with a plain reading of the rules, and fails exactly when it has none."""
    assert _outcome(world, QuoteLine(SENSOR.id, quantity)) == world.expected()


@given(worlds(), unit_amounts("CAD"), st.integers(1, 50))
def test_a_bespoke_price_always_wins(world: World, amount: Money, quantity: int) -> None:
    """Whatever the catalogue holds, a bespoke line is priced at its bespoke amount."""
    line = QuoteLine(SENSOR.id, quantity, amount, "agreed by phone")
    request = PriceRequest("cmp_1", world.region, "CAD", line, world.at)
    resolution = resolve_price(request, world.catalogue)
    assert (resolution.source, resolution.unit_amount) == (PriceSource.BESPOKE, amount)
    assert resolution.line_total == amount * quantity


@given(worlds())
def test_an_agreement_outside_its_dates_never_applies(world: World) -> None:
    """When the instant is outside the agreement's window, the source is never the agreement."""
    outcome = _outcome(world, QuoteLine(SENSOR.id, 1))
    if world.agreement is not None and not world.agreement.covers(world.at):
        assert outcome is None or outcome[0] is not PriceSource.PRICE_AGREEMENT


@given(
    unit_amounts("CAD"),
    unit_amounts("CAD"),
    st.sampled_from(REGIONS),
    st.none() | st.sampled_from(REGIONS),
)
def test_a_regional_book_beats_the_global_one_only_in_its_region(
    global_amount: Money, regional_amount: Money, book_region: str, company_region: str | None
) -> None:
    """With both books pricing the product, the regional one wins exactly where it serves."""
    regional_book = book("pbk_region", region=book_region)
    catalogue = _catalogue(
        GLOBAL,
        entry(GLOBAL, SENSOR, global_amount.amount),
        regional_book,
        entry(regional_book, SENSOR, regional_amount.amount),
    )
    source, amount = _resolve(catalogue, region=company_region)
    if regional_book.serves_region(company_region):
        assert (source, amount) == (PriceSource.PRICEBOOK_REGIONAL, regional_amount)
    else:
        assert (source, amount) == (PriceSource.PRICEBOOK_GLOBAL, global_amount)


@given(worlds(), st.sampled_from(["USD", "EUR"]))
def test_nothing_priced_in_cad_applies_to_another_currency(world: World, currency: str) -> None:
    """A request in another currency finds no CAD agreement or book."""
    with pytest.raises(ValidationError):
        _resolve(world.catalogue, region=world.region, currency=currency, at=world.at)
