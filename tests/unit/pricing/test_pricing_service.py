"""Pricing use cases over the in-memory adapter: catalogue, agreements, quotes, strict Stripe."""

from __future__ import annotations

import pytest
from pricing_examples import DAY, START, PricingDepsForTests, cad, usd

from platform_core.customers.model import Company
from platform_core.customers.service import CreateCompany, create_company
from platform_core.pricing.model import (
    AgreementStatus,
    PriceBookScope,
    PriceSource,
    PricingEvent,
    Product,
    QuoteLine,
    StripeSyncStatus,
)
from platform_core.pricing.service import (
    ActivateAgreement,
    AddPriceBookEntry,
    CancelAgreement,
    ChangeEntryPrice,
    CreatePriceAgreement,
    CreatePriceBook,
    CreateProduct,
    ExpireDueAgreements,
    ListUnsyncedPrices,
    MarkAgreementPriceSynced,
    MarkAgreementPriceSyncFailed,
    MarkEntrySynced,
    MarkEntrySyncFailed,
    PriceTargetKind,
    Quote,
    activate_agreement,
    add_price_book_entry,
    cancel_agreement,
    change_entry_price,
    create_price_agreement,
    create_price_book,
    create_product,
    expire_due_agreements,
    list_unsynced_prices,
    mark_agreement_price_sync_failed,
    mark_agreement_price_synced,
    mark_entry_sync_failed,
    mark_entry_synced,
    quote,
    resolve_lines,
)
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError


async def _company(deps: PricingDepsForTests, region: str | None = "CA-ON") -> Company:
    return await create_company(deps, CreateCompany("Acme", f"mir_{region}", "CAD", region))


async def _catalogue(deps: PricingDepsForTests) -> tuple[Product, Product, str, str]:
    """Two products priced in a global CAD book; the sensor's entry is synced."""
    sensor = await create_product(deps, CreateProduct("sns-001", "Sensor"))
    gateway = await create_product(deps, CreateProduct("GW-001", "Gateway"))
    book = await create_price_book(deps, CreatePriceBook("List", PriceBookScope.GLOBAL, "CAD"))
    sensor_entry = await add_price_book_entry(
        deps, AddPriceBookEntry(book.id, sensor.id, cad(1500))
    )
    gateway_entry = await add_price_book_entry(
        deps, AddPriceBookEntry(book.id, gateway.id, cad(9900))
    )
    await mark_entry_synced(deps, MarkEntrySynced(sensor_entry.id, "price_s", "prod_s"))
    return sensor, gateway, sensor_entry.id, gateway_entry.id


def _event_types(deps: PricingDepsForTests) -> list[str]:
    return [stored.event.type for stored in deps.db.events]


async def test_catalogue_use_cases_record_their_events(deps: PricingDepsForTests) -> None:
    """Creating products, books and entries and syncing one records each event once."""
    await _catalogue(deps)
    assert _event_types(deps) == [
        PricingEvent.PRODUCT_CREATED,
        PricingEvent.PRODUCT_CREATED,
        PricingEvent.PRICE_BOOK_CREATED,
        PricingEvent.PRICE_BOOK_ENTRY_ADDED,
        PricingEvent.PRICE_BOOK_ENTRY_ADDED,
        PricingEvent.PRICE_BOOK_ENTRY_SYNCED,
    ]
    assert all(stored.event.source_module == "pricing" for stored in deps.db.events)


async def test_skus_are_unique_ignoring_case(deps: PricingDepsForTests) -> None:
    """A second product with the same SKU in another case is a conflict naming the first."""
    first = await create_product(deps, CreateProduct("SNS-001", "Sensor"))
    with pytest.raises(ConflictError) as raised:
        await create_product(deps, CreateProduct("sns-001", "Sensor again"))
    assert raised.value.details["existing_product_id"] == first.id


async def test_one_active_book_per_scope_region_and_currency(deps: PricingDepsForTests) -> None:
    """A second active global CAD book is refused; USD, regional or inactive ones are fine."""
    first = await create_price_book(deps, CreatePriceBook("A", PriceBookScope.GLOBAL, "CAD"))
    with pytest.raises(ConflictError) as raised:
        await create_price_book(deps, CreatePriceBook("B", PriceBookScope.GLOBAL, "CAD"))
    assert raised.value.details["existing_price_book_id"] == first.id
    await create_price_book(deps, CreatePriceBook("C", PriceBookScope.GLOBAL, "USD"))
    await create_price_book(deps, CreatePriceBook("D", PriceBookScope.REGIONAL, "CAD", "CA"))
    await create_price_book(deps, CreatePriceBook("E", PriceBookScope.GLOBAL, "CAD", active=False))
    with pytest.raises(ConflictError):
        await create_price_book(deps, CreatePriceBook("F", PriceBookScope.REGIONAL, "CAD", "ca"))


async def test_one_entry_per_book_and_product(deps: PricingDepsForTests) -> None:
    """Pricing a product twice in one book is a conflict; a wrong currency is invalid."""
    sensor, _, sensor_entry, _ = await _catalogue(deps)
    async with deps.uow() as uow:
        book_id = (await uow.price_book_entries.get(sensor_entry)).price_book_id
    with pytest.raises(ConflictError) as raised:
        await add_price_book_entry(deps, AddPriceBookEntry(book_id, sensor.id, cad(1)))
    assert raised.value.details["existing_price_book_entry_id"] == sensor_entry
    cable = await create_product(deps, CreateProduct("CBL-001", "Cable"))
    with pytest.raises(ValidationError):
        await add_price_book_entry(deps, AddPriceBookEntry(book_id, cable.id, usd(1)))


async def test_quote_prices_every_line_in_the_company_currency(deps: PricingDepsForTests) -> None:
    """A quote sums the lines, defaults to the company's currency and stores nothing."""
    company = await _company(deps)
    sensor, gateway, sensor_entry, _ = await _catalogue(deps)
    events_before = len(deps.db.events)
    result = await quote(
        deps, Quote(company.id, (QuoteLine(sensor.id, 2), QuoteLine(gateway.id, 1)))
    )
    assert result.currency == "CAD"
    assert result.quoted_at == START
    assert result.total == cad(2 * 1500 + 9900)
    assert result.lines[0].price_book_entry_id == sensor_entry
    assert result.lines[0].source is PriceSource.PRICEBOOK_GLOBAL
    assert len(deps.db.events) == events_before


async def test_a_quote_needs_lines_and_an_existing_company(deps: PricingDepsForTests) -> None:
    """No lines is invalid; an unknown company is not found."""
    company = await _company(deps)
    with pytest.raises(ValidationError):
        await quote(deps, Quote(company.id, ()))
    with pytest.raises(NotFoundError):
        await quote(deps, Quote("cmp_missing", (QuoteLine("prd_1", 1),)))


async def test_an_unpriceable_line_is_named_by_index(deps: PricingDepsForTests) -> None:
    """The error for a line without a price carries the line's index and product."""
    company = await _company(deps)
    sensor, _, _, _ = await _catalogue(deps)
    lines = (QuoteLine(sensor.id, 1), QuoteLine("prd_unknown", 1))
    with pytest.raises(ValidationError) as raised:
        await quote(deps, Quote(company.id, lines))
    assert raised.value.details["index"] == 1
    assert raised.value.details["product_id"] == "prd_unknown"
    with pytest.raises(ValidationError):
        await quote(deps, Quote(company.id, (QuoteLine(sensor.id, 1),), currency="EUR"))


async def test_strict_stripe_names_every_unsynced_line(deps: PricingDepsForTests) -> None:
    """Strict mode lists each unsynced line: never synced, failed and bespoke, with reasons."""
    company = await _company(deps)
    sensor, gateway, _, gateway_entry = await _catalogue(deps)
    await mark_entry_sync_failed(deps, MarkEntrySyncFailed(gateway_entry, "Stripe 500"))
    lines = (
        QuoteLine(sensor.id, 1),
        QuoteLine(gateway.id, 1),
        QuoteLine(sensor.id, 1, cad(100), "show discount"),
    )
    async with deps.uow() as uow:
        relaxed = await resolve_lines(uow, company.id, "CAD", lines, START, strict_stripe=False)
        assert [r.is_synced for r in relaxed] == [True, False, False]
        with pytest.raises(ValidationError) as raised:
            await resolve_lines(uow, company.id, "CAD", lines, START, strict_stripe=True)
    blockers = raised.value.details["unsynced_lines"]
    assert [(b["index"], b["sku"], b["source"]) for b in blockers] == [
        (1, "GW-001", "PRICEBOOK_GLOBAL"),
        (2, "SNS-001", "BESPOKE"),
    ]
    assert "failed" in blockers[0]["reason"]
    assert "bespoke" in blockers[1]["reason"]
    assert "not synced with Stripe" in raised.value.message


async def test_strict_stripe_passes_when_every_line_is_synced(deps: PricingDepsForTests) -> None:
    """Once the gateway's price is synced, a strict quote succeeds with Stripe ids."""
    company = await _company(deps)
    sensor, gateway, _, gateway_entry = await _catalogue(deps)
    await mark_entry_synced(deps, MarkEntrySynced(gateway_entry, "price_g", "prod_g"))
    result = await quote(
        deps,
        Quote(company.id, (QuoteLine(sensor.id, 1), QuoteLine(gateway.id, 3)), strict_stripe=True),
    )
    assert [line.stripe_price_id for line in result.lines] == ["price_s", "price_g"]


async def test_repricing_an_entry_blocks_strict_checkout_until_resynced(
    deps: PricingDepsForTests,
) -> None:
    """A new amount is quoted at once but needs a new Stripe price before strict mode passes."""
    company = await _company(deps)
    sensor, _, sensor_entry, _ = await _catalogue(deps)
    repriced = await change_entry_price(deps, ChangeEntryPrice(sensor_entry, cad(1700)))
    assert repriced.stripe_sync_status is StripeSyncStatus.NOT_SYNCED
    assert repriced.version == 3
    line = (QuoteLine(sensor.id, 1),)
    assert (await quote(deps, Quote(company.id, line))).total == cad(1700)
    with pytest.raises(ValidationError):
        await quote(deps, Quote(company.id, line, strict_stripe=True))
    await mark_entry_synced(deps, MarkEntrySynced(sensor_entry, "price_s2", "prod_s"))
    assert (await quote(deps, Quote(company.id, line, strict_stripe=True))).total == cad(1700)


async def test_an_agreement_prices_its_company_once_active(deps: PricingDepsForTests) -> None:
    """A draft does not apply; after activation the agreement price wins for its company."""
    company = await _company(deps)
    other = await _company(deps, region="US")
    sensor, _, _, _ = await _catalogue(deps)
    draft = await create_price_agreement(
        deps,
        CreatePriceAgreement(
            company.id, "Acme 2026", "CAD", START - DAY, {sensor.id: cad(1200)}, START + 30 * DAY
        ),
    )
    line = (QuoteLine(sensor.id, 1),)
    assert (await quote(deps, Quote(company.id, line))).lines[0].source is (
        PriceSource.PRICEBOOK_GLOBAL
    )
    active = await activate_agreement(deps, ActivateAgreement(draft.id))
    assert active.status is AgreementStatus.ACTIVE
    assert active.version == 2
    mine = (await quote(deps, Quote(company.id, line))).lines[0]
    assert (mine.source, mine.unit_amount) == (PriceSource.PRICE_AGREEMENT, cad(1200))
    assert mine.label == "Agreement 'Acme 2026' (CAD 12.00)"
    theirs = (await quote(deps, Quote(other.id, line))).lines[0]
    assert theirs.source is PriceSource.PRICEBOOK_GLOBAL


async def test_agreement_creation_checks_company_and_products(deps: PricingDepsForTests) -> None:
    """Unknown products are listed; an unknown company is not found."""
    company = await _company(deps)
    sensor, _, _, _ = await _catalogue(deps)
    with pytest.raises(ValidationError) as raised:
        await create_price_agreement(
            deps,
            CreatePriceAgreement(
                company.id, "X", "CAD", START, {sensor.id: cad(1), "prd_b": cad(1), "prd_a": cad(1)}
            ),
        )
    assert raised.value.details["unknown_product_ids"] == ["prd_a", "prd_b"]
    with pytest.raises(NotFoundError):
        await create_price_agreement(
            deps, CreatePriceAgreement("cmp_x", "X", "CAD", START, {sensor.id: cad(1)})
        )


async def test_overlapping_agreements_cannot_both_be_active(deps: PricingDepsForTests) -> None:
    """Activating a second agreement over the same product and dates is a conflict."""
    company = await _company(deps)
    sensor, _, _, _ = await _catalogue(deps)
    command = CreatePriceAgreement(company.id, "A", "CAD", START, {sensor.id: cad(1200)})
    first = await create_price_agreement(deps, command)
    second = await create_price_agreement(deps, command)
    await activate_agreement(deps, ActivateAgreement(first.id))
    with pytest.raises(ConflictError) as raised:
        await activate_agreement(deps, ActivateAgreement(second.id))
    assert raised.value.details["overlapping"] == [first.id]
    await cancel_agreement(deps, CancelAgreement(first.id, "replaced"))
    assert (await activate_agreement(deps, ActivateAgreement(second.id))).status is (
        AgreementStatus.ACTIVE
    )


async def test_expire_due_agreements_is_idempotent(deps: PricingDepsForTests) -> None:
    """The job expires ended active agreements once; running it again does nothing."""
    company = await _company(deps)
    sensor, _, _, _ = await _catalogue(deps)
    ending = await create_price_agreement(
        deps, CreatePriceAgreement(company.id, "A", "CAD", START, {sensor.id: cad(1)}, START + DAY)
    )
    lasting = await create_price_agreement(
        deps, CreatePriceAgreement(company.id, "B", "USD", START, {sensor.id: usd(1)})
    )
    for agreement in (ending, lasting):
        await activate_agreement(deps, ActivateAgreement(agreement.id))
    assert await expire_due_agreements(deps, ExpireDueAgreements()) == []
    deps.clock.set(START + DAY)
    expired = await expire_due_agreements(deps, ExpireDueAgreements(correlation_id="cron-1"))
    assert [(a.id, a.status) for a in expired] == [(ending.id, AgreementStatus.EXPIRED)]
    assert await expire_due_agreements(deps, ExpireDueAgreements()) == []
    assert _event_types(deps).count(PricingEvent.PRICE_AGREEMENT_EXPIRED) == 1
    assert deps.db.events[-1].event.correlation_id == "cron-1"


async def test_list_unsynced_prices_for_the_sync_job(deps: PricingDepsForTests) -> None:
    """Unsynced entries of active books and agreement prices are listed, failed ones last."""
    company = await _company(deps)
    sensor, gateway, _, gateway_entry = await _catalogue(deps)
    retired = await create_product(deps, CreateProduct("OLD-1", "Old", active=False))
    idle = await create_price_book(
        deps, CreatePriceBook("Idle", PriceBookScope.GLOBAL, "USD", active=False)
    )
    await add_price_book_entry(deps, AddPriceBookEntry(idle.id, gateway.id, usd(1)))
    deal = await create_price_agreement(
        deps,
        CreatePriceAgreement(
            company.id, "Deal", "CAD", START, {sensor.id: cad(1000), retired.id: cad(5)}
        ),
    )
    await mark_entry_sync_failed(deps, MarkEntrySyncFailed(gateway_entry, "Stripe 500"))
    found = await list_unsynced_prices(deps, ListUnsyncedPrices())
    assert [(p.kind, p.target_id, p.product_id, p.stripe_sync_status) for p in found] == [
        (PriceTargetKind.AGREEMENT_PRICE, deal.id, sensor.id, StripeSyncStatus.NOT_SYNCED),
        (PriceTargetKind.PRICE_BOOK_ENTRY, gateway_entry, gateway.id, StripeSyncStatus.FAILED),
    ]
    assert found[0].sku == "SNS-001"
    assert found[0].unit_amount == cad(1000)
    assert len(await list_unsynced_prices(deps, ListUnsyncedPrices(limit=1))) == 1
    with pytest.raises(ValidationError):
        await list_unsynced_prices(deps, ListUnsyncedPrices(limit=0))


async def test_agreement_price_sync_round_trip(deps: PricingDepsForTests) -> None:
    """Failed then synced agreement prices make a strict quote pass; repeats are no-ops."""
    company = await _company(deps)
    sensor, _, _, _ = await _catalogue(deps)
    deal = await create_price_agreement(
        deps, CreatePriceAgreement(company.id, "Deal", "CAD", START, {sensor.id: cad(1000)})
    )
    await activate_agreement(deps, ActivateAgreement(deal.id))
    line = (QuoteLine(sensor.id, 1),)
    await mark_agreement_price_sync_failed(
        deps, MarkAgreementPriceSyncFailed(deal.id, sensor.id, "Stripe 500")
    )
    with pytest.raises(ValidationError):
        await quote(deps, Quote(company.id, line, strict_stripe=True))
    command = MarkAgreementPriceSynced(deal.id, sensor.id, "price_deal", "prod_s")
    synced = await mark_agreement_price_synced(deps, command)
    assert (await mark_agreement_price_synced(deps, command)).version == synced.version
    result = await quote(deps, Quote(company.id, line, strict_stripe=True))
    assert result.lines[0].stripe_price_id == "price_deal"
    left = await list_unsynced_prices(deps, ListUnsyncedPrices())
    assert [p.kind for p in left] == [PriceTargetKind.PRICE_BOOK_ENTRY]  # only the gateway


async def test_resolve_lines_works_inside_the_callers_transaction(
    deps: PricingDepsForTests,
) -> None:
    """Prices staged in the caller's unit of work are visible to resolve_lines before commit."""
    company = await _company(deps)
    sensor, _, sensor_entry, _ = await _catalogue(deps)
    async with deps.uow() as uow:
        entry = await uow.price_book_entries.get(sensor_entry)
        repriced, _ = entry.change_price(cad(1234), at=START)
        await uow.price_book_entries.update(repriced)
        lines = await resolve_lines(
            uow, company.id, "CAD", [QuoteLine(sensor.id, 1)], START, strict_stripe=False
        )
        assert lines[0].unit_amount == cad(1234)
    # Not committed: the stored entry keeps its price.
    assert (await quote(deps, Quote(company.id, (QuoteLine(sensor.id, 1),)))).total == cad(1500)


async def test_resolve_lines_refuses_unknown_currency_and_company(
    deps: PricingDepsForTests,
) -> None:
    """An unknown currency is invalid and an unknown company is not found."""
    await _company(deps)
    async with deps.uow() as uow:
        with pytest.raises(ValidationError):
            await resolve_lines(uow, "cmp_000001", "XXX", [], START, strict_stripe=False)
        with pytest.raises(NotFoundError):
            await resolve_lines(uow, "cmp_x", "CAD", [], START, strict_stripe=False)
