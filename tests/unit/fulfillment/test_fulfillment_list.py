"""Listing fulfillment orders: filters, newest first, and the page bounds the core enforces."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fulfillment_examples import FulfillmentDepsForTests, line_specs

from platform_core.fulfillment.model import FulfillmentStatus
from platform_core.fulfillment.ports import FulfillmentFilter
from platform_core.fulfillment.service import (
    CreateFulfillmentForPaidOrder,
    create_fulfillment_for_paid_order,
    list_fulfillments,
)
from platform_core.shared.errors import ValidationError


async def test_an_orders_fulfillment_is_found_and_the_list_is_newest_first(
    deps: FulfillmentDepsForTests,
) -> None:
    """order_id finds the order's own fulfillment order; without filters the newest comes
    first; a company filter keeps that company's."""
    first = await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(1))
    )
    deps.clock.advance(timedelta(minutes=1))
    second = await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder("ord_2", "cmp_2", line_specs(2))
    )
    assert await list_fulfillments(deps, FulfillmentFilter(order_id="ord_1")) == [first]
    assert await list_fulfillments(deps, FulfillmentFilter()) == [second, first]
    assert await list_fulfillments(deps, FulfillmentFilter(company_id="cmp_2")) == [second]
    done = FulfillmentFilter(status=FulfillmentStatus.COMPLETED)
    assert await list_fulfillments(deps, done) == []


@pytest.mark.parametrize(
    ("limit", "offset", "field"), [(0, 0, "limit"), (501, 0, "limit"), (50, -1, "offset")]
)
async def test_page_bounds_are_checked(
    deps: FulfillmentDepsForTests, limit: int, offset: int, field: str
) -> None:
    """A page of 1..500 from offset 0 or more; anything else is refused naming the bound."""
    with pytest.raises(ValidationError) as caught:
        await list_fulfillments(deps, FulfillmentFilter(), limit, offset)
    assert caught.value.details["field"] == field
