"""Listing companies: oldest first, paged, searched by a piece of the name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from customers_examples import CustomersDepsForTests

from platform_core.customers.model import search_key
from platform_core.customers.service import CreateCompany, create_company, list_companies
from platform_core.shared.errors import ValidationError


async def make_companies(deps: CustomersDepsForTests, *names: str) -> list[str]:
    made = []
    for index, name in enumerate(names):
        company = await create_company(deps, CreateCompany(name, f"mir_{index}", "CAD"))
        made.append(company.id)
        deps.clock.advance(timedelta(minutes=1))
    return made


def test_search_key_folds_case_and_blanks() -> None:
    """Names are compared case-folded (ß as ss) with their whitespace collapsed."""
    assert search_key("  Große   STRASSE\tSensors ") == "grosse strasse sensors"


async def test_list_is_oldest_first_and_pages(deps: CustomersDepsForTests) -> None:
    """Companies come in creation order; limit and offset page through them."""
    ids = await make_companies(deps, "Acme", "Borealis", "Cygnus")
    assert [c.id for c in await list_companies(deps)] == ids
    assert [c.id for c in await list_companies(deps, limit=2, offset=1)] == ids[1:]
    assert await list_companies(deps, offset=3) == []


async def test_name_search_ignores_case(deps: CustomersDepsForTests) -> None:
    """`name` keeps companies whose name contains it, whatever the case; no match is empty."""
    await make_companies(deps, "Acme Sensors", "Northwind SENSORS Ltd", "Borealis")
    found = await list_companies(deps, name="sensors")
    assert [c.name for c in found] == ["Acme Sensors", "Northwind SENSORS Ltd"]
    assert [c.name for c in await list_companies(deps, name="WIND s")] == ["Northwind SENSORS Ltd"]
    assert await list_companies(deps, name="zeta") == []


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (50, -1)])
async def test_page_bounds_are_checked(
    deps: CustomersDepsForTests, limit: int, offset: int
) -> None:
    """limit must be 1..500 and offset >= 0."""
    with pytest.raises(ValidationError):
        await list_companies(deps, limit=limit, offset=offset)
