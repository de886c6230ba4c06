"""Fulfillment orders made by hand: only for an existing order of the named company, once."""

from __future__ import annotations

import attrs
import pytest
from fulfillment_examples import START, FulfillmentUnitOfWorkForTests, line_specs, make_deps

from adapters.clock import FixedClock
from adapters.couriers.simulator import SimulatorCourierGateway
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.orders import OrderTables
from adapters.persistence.memory.store import InMemoryDatabase
from platform_core.fulfillment.model import FulfillmentOrigin
from platform_core.fulfillment.service import (
    CreateFulfillmentForPaidOrder,
    CreateManualFulfillment,
    FulfillmentLineSpec,
    create_fulfillment_for_paid_order,
    create_manual_fulfillment,
)
from platform_core.orders.model import Order, OrderItem, PriceSnapshot
from platform_core.pricing.model import PriceSource
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError
from platform_core.shared.money import Money


class ManualUnitOfWorkForTests(OrderTables, FulfillmentUnitOfWorkForTests):
    """The fulfillment tables with the orders table beside them, as the application has."""


@attrs.define
class ManualDepsForTests:
    """Satisfies ManualFulfillmentDeps with real in-memory adapters."""

    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase
    couriers: SimulatorCourierGateway

    def uow(self) -> ManualUnitOfWorkForTests:
        return ManualUnitOfWorkForTests(self.db, self.ids)


@pytest.fixture
def deps() -> ManualDepsForTests:
    base = make_deps()
    return ManualDepsForTests(base.clock, base.ids, base.db, base.couriers)


async def stored_order(deps: ManualDepsForTests, order_id: str, company_id: str) -> Order:
    item = OrderItem(
        id=f"oit_{order_id}",
        product_id="prd_1",
        sku="SENSOR-1",
        description="Sensor",
        quantity=2,
        unit_amount=Money(1500, "CAD"),
        price=PriceSnapshot(
            PriceSource.PRICEBOOK_GLOBAL, "Global (CAD 15.00)", "pbe_1", None, "price_1"
        ),
    )
    order, _ = Order.draft(order_id, company_id, "CAD", "con_1", "adr_1", [item], START)
    async with deps.uow() as uow:
        await uow.orders.add(order)
        await uow.commit()
    return order


def lines_of(order: Order) -> tuple[FulfillmentLineSpec, ...]:
    return tuple(
        FulfillmentLineSpec(item.id, item.product_id, item.description, item.quantity)
        for item in order.items
    )


async def test_a_manual_fulfillment_is_made_for_an_order_of_its_company(
    deps: ManualDepsForTests,
) -> None:
    """A fulfillment order created by hand for an existing order of the company says so."""
    order = await stored_order(deps, "ord_7", "cmp_1")
    fulfillment = await create_manual_fulfillment(
        deps, CreateManualFulfillment("ord_7", "cmp_1", lines_of(order))
    )
    assert fulfillment.origin is FulfillmentOrigin.MANUAL
    assert (fulfillment.order_id, fulfillment.company_id) == ("ord_7", "cmp_1")
    assert deps.db.events[-1].event.payload["origin"] == "manual"


async def test_a_manual_fulfillment_is_refused_when_the_order_has_one(
    deps: ManualDepsForTests,
) -> None:
    """Ops asking for a second fulfillment order of an order get a conflict naming it."""
    order = await stored_order(deps, "ord_1", "cmp_1")
    existing = await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder("ord_1", "cmp_1", lines_of(order))
    )
    with pytest.raises(ConflictError) as caught:
        await create_manual_fulfillment(
            deps, CreateManualFulfillment("ord_1", "cmp_1", lines_of(order))
        )
    assert caught.value.details["fulfillment_order_id"] == existing.id


async def test_a_manual_fulfillment_needs_an_existing_order(deps: ManualDepsForTests) -> None:
    """An order nobody made is not found, and nothing is stored or announced."""
    with pytest.raises(NotFoundError) as caught:
        await create_manual_fulfillment(
            deps, CreateManualFulfillment("ord_missing", "cmp_1", line_specs(1))
        )
    assert caught.value.details == {"kind": "order", "id": "ord_missing", "company_id": "cmp_1"}
    assert deps.db.table("fulfillment_orders") == {}
    assert deps.db.events == []


async def test_another_companys_order_is_answered_like_a_missing_one(
    deps: ManualDepsForTests,
) -> None:
    """An order of another company is not found for this one (so its id leaks nothing), and
    nothing is stored."""
    await stored_order(deps, "ord_2", "cmp_2")
    events_before = len(deps.db.events)
    with pytest.raises(NotFoundError) as caught:
        await create_manual_fulfillment(
            deps, CreateManualFulfillment("ord_2", "cmp_1", line_specs(1))
        )
    assert caught.value.details["kind"] == "order"
    assert "cmp_2" not in str(caught.value)
    assert deps.db.table("fulfillment_orders") == {}
    assert len(deps.db.events) == events_before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_item_id": "oit_other"}, "items[0].order_item_id"),
        ({"product_id": "prd_other"}, "items[0].order_item_id"),
        ({"quantity": 3}, "items[0].quantity"),
    ],
)
async def test_manual_lines_must_be_items_of_the_order(
    deps: ManualDepsForTests, change: dict[str, object], field: str
) -> None:
    """A line for another item, another product or more than was ordered is refused, naming
    the line, and nothing is stored."""
    order = await stored_order(deps, "ord_3", "cmp_1")
    line = attrs.evolve(lines_of(order)[0], **change)
    with pytest.raises(ValidationError) as caught:
        await create_manual_fulfillment(deps, CreateManualFulfillment("ord_3", "cmp_1", (line,)))
    assert caught.value.details["field"] == field
    assert deps.db.table("fulfillment_orders") == {}
