"""Reading the catalogue: products, price books and their entries, agreements."""

from __future__ import annotations

import pytest
from pricing_examples import PricingDepsForTests, agreement, book, cad, entry, product

from platform_core.pricing.service import (
    get_agreement,
    get_price_book,
    get_product,
    list_agreements,
    list_price_book_entries,
    list_price_books,
    list_products,
)
from platform_core.shared.errors import NotFoundError, ValidationError


async def store(deps: PricingDepsForTests, *aggregates: object) -> None:
    repositories = {
        "Product": "products",
        "PriceBook": "price_books",
        "PriceBookEntry": "price_book_entries",
        "PriceAgreement": "price_agreements",
    }
    async with deps.uow() as uow:
        for aggregate in aggregates:
            await getattr(uow, repositories[type(aggregate).__name__]).add(aggregate)
        await uow.commit()


async def test_products_by_id_and_in_sku_order(deps: PricingDepsForTests) -> None:
    """get_product finds one product (NotFound otherwise); list_products pages in SKU order,
    inactive products included."""
    gateway = product("prd_1", "GW-100")
    probe = product("prd_2", "PRB-200", active=False)
    kit = product("prd_3", "MNT-KIT")
    await store(deps, gateway, probe, kit)
    assert await get_product(deps, "prd_2") == probe
    with pytest.raises(NotFoundError):
        await get_product(deps, "prd_missing")
    assert [p.sku for p in await list_products(deps)] == ["GW-100", "MNT-KIT", "PRB-200"]
    assert [p.sku for p in await list_products(deps, limit=1, offset=1)] == ["MNT-KIT"]


async def test_price_books_and_their_entries(deps: PricingDepsForTests) -> None:
    """Books are read one by one and listed; a book's entries are listed, none for a book
    without entries, NotFound for an unknown book."""
    global_book, regional = book("pbk_global"), book("pbk_on", region="CA-ON")
    gateway, kit = product("prd_1", "GW-100"), product("prd_2", "MNT-KIT")
    entries = [entry(global_book, gateway, 50_000), entry(global_book, kit, 2_500)]
    await store(deps, gateway, kit, global_book, regional, *entries)
    assert await get_price_book(deps, "pbk_on") == regional
    assert {b.id for b in await list_price_books(deps)} == {"pbk_global", "pbk_on"}
    listed = await list_price_book_entries(deps, "pbk_global")
    assert sorted(e.id for e in listed) == sorted(e.id for e in entries)
    assert await list_price_book_entries(deps, "pbk_on") == []
    with pytest.raises(NotFoundError):
        await list_price_book_entries(deps, "pbk_missing")
    with pytest.raises(NotFoundError):
        await get_price_book(deps, "pbk_missing")


async def test_agreements_by_id_and_by_company(deps: PricingDepsForTests) -> None:
    """get_agreement finds one (NotFound otherwise); list_agreements lists all or one
    company's, an unknown company having none."""
    first = agreement({"prd_1": cad(40_000)}, agreement_id="pag_1", company_id="cmp_1")
    second = agreement({"prd_1": cad(39_000)}, agreement_id="pag_2", company_id="cmp_2")
    await store(deps, first, second)
    assert await get_agreement(deps, "pag_2") == second
    with pytest.raises(NotFoundError):
        await get_agreement(deps, "pag_missing")
    assert {a.id for a in await list_agreements(deps)} == {"pag_1", "pag_2"}
    assert await list_agreements(deps, company_id="cmp_2") == [second]
    assert await list_agreements(deps, company_id="cmp_unknown") == []


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (50, -1)])
async def test_page_bounds_are_checked(deps: PricingDepsForTests, limit: int, offset: int) -> None:
    """Every paged list refuses a limit outside 1..500 or a negative offset."""
    for listing in (list_products, list_price_books, list_agreements):
        with pytest.raises(ValidationError):
            await listing(deps, limit=limit, offset=offset)
