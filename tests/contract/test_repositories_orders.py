"""Contract of the order repository on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, unique

from platform_core.orders.model import (
    Order,
    OrderItem,
    OrderStatus,
    PaymentProvider,
    PaymentReceived,
    PriceSnapshot,
)
from platform_core.orders.ports import OrderFilter
from platform_core.pricing.model import PriceSource
from platform_core.shared.errors import StaleVersion
from platform_core.shared.money import Money
from platform_core.testing.orders import draft_orders

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ANY = OrderFilter()


async def add_all(backend: Backend, *orders: Order) -> None:
    """Add `orders` in one unit of work and commit it."""
    async with backend.uow() as uow:
        for order in orders:
            await uow.orders.add(order)
        await uow.commit()


def order(order_id: str, company_id: str = "cmp_1", minutes: int = 0) -> Order:
    item = OrderItem(
        unique("oit"), "prd_1", "SNS-1", "Sensor", 2, Money(5_000, "CAD"),
        PriceSnapshot(PriceSource.PRICEBOOK_GLOBAL, "list price"),
    )  # fmt: skip
    drafted, _ = Order.draft(
        order_id, company_id, "CAD", "con_1", "adr_1", [item], AT + timedelta(minutes=minutes)
    )
    return drafted


def sent(draft: Order, session_id: str) -> Order:
    with_checkout, _ = draft.send_checkout(session_id, f"https://pay.example/{session_id}", AT)
    return with_checkout


def paid(with_checkout: Order) -> Order:
    payment = PaymentReceived(
        PaymentProvider.STRIPE, "pi_1", with_checkout.total, AT + timedelta(hours=1), "pi_1"
    )
    done, _ = with_checkout.confirm_payment(payment)
    return done


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=draft_orders())
    async def test_order(self, backend: Backend, drawn: Order) -> None:
        """An order and its priced items are stored and read back whole; its checkout and
        payment are stored by update."""
        items = tuple(attrs.evolve(item, id=unique("oit")) for item in drawn.items)
        stored = attrs.evolve(drawn, id=unique("ord"), company_id=unique("cmp"), items=items)
        changed = paid(sent(attrs.evolve(stored, purchase_order_number="PO-7"), unique("cs")))
        await add_all(backend, stored)
        async with backend.uow() as uow:
            assert await uow.orders.get(stored.id) == stored
            updated = await uow.orders.update(changed)
            await uow.commit()
        assert updated == attrs.evolve(changed, version=2)
        async with backend.uow() as uow:
            assert await uow.orders.get(stored.id) == updated
            with pytest.raises(StaleVersion):
                await uow.orders.update(changed)


class TestOrders:
    async def test_list_is_newest_first_and_pages(self, backend: Backend) -> None:
        """Orders come newest first, ties by id descending; limit and offset page through."""
        await add_all(
            backend,
            order("ord_a", minutes=1),
            order("ord_b", minutes=3),
            order("ord_c", minutes=3),
            order("ord_d", minutes=2),
        )
        async with backend.uow() as uow:
            every = await uow.orders.list(ANY, 10, 0)
            page = await uow.orders.list(ANY, 2, 1)
            assert await uow.orders.list(ANY, 10, 4) == []
        assert [o.id for o in every] == ["ord_c", "ord_b", "ord_d", "ord_a"]
        assert [o.id for o in page] == ["ord_b", "ord_d"]

    async def test_list_filters(self, backend: Backend) -> None:
        """Company and status must match; created_from is inclusive, created_to exclusive."""
        await add_all(
            backend,
            order("ord_1", "cmp_1", minutes=0),
            sent(order("ord_2", "cmp_1", minutes=10), "cs_2"),
            order("ord_3", "cmp_2", minutes=20),
            sent(order("ord_4", "cmp_2", minutes=30), "cs_4"),
        )
        ten, thirty = AT + timedelta(minutes=10), AT + timedelta(minutes=30)

        async def ids(filters: OrderFilter) -> list[str]:
            async with backend.uow() as uow:
                return [o.id for o in await uow.orders.list(filters, 10, 0)]

        assert await ids(OrderFilter(company_id="cmp_1")) == ["ord_2", "ord_1"]
        assert await ids(OrderFilter(status=OrderStatus.CHECKOUT_SENT)) == ["ord_4", "ord_2"]
        assert await ids(OrderFilter(company_id="cmp_2", status=OrderStatus.DRAFT)) == ["ord_3"]
        assert await ids(OrderFilter(created_from=ten)) == ["ord_4", "ord_3", "ord_2"]
        assert await ids(OrderFilter(created_to=thirty)) == ["ord_3", "ord_2", "ord_1"]
        assert await ids(OrderFilter(created_from=ten, created_to=thirty)) == ["ord_3", "ord_2"]
        assert await ids(OrderFilter(company_id="cmp_unknown")) == []

    async def test_find_by_checkout_session(self, backend: Backend) -> None:
        """The order whose current checkout is the session; None for an unknown session."""
        with_checkout = sent(order("ord_1"), "cs_1")
        await add_all(backend, with_checkout, order("ord_2"))
        async with backend.uow() as uow:
            assert await uow.orders.find_by_checkout_session("cs_1") == with_checkout
            assert await uow.orders.find_by_checkout_session("cs_unknown") is None

    async def test_find_by_item(self, backend: Backend) -> None:
        """The order holding an item, whichever of its items is asked for; None for an unknown
        item."""
        first, second = order("ord_1"), order("ord_2")
        two_items = attrs.evolve(
            second, items=(*second.items, attrs.evolve(second.items[0], id=unique("oit")))
        )
        await add_all(backend, first, two_items)
        async with backend.uow() as uow:
            assert await uow.orders.find_by_item(first.items[0].id) == first
            assert await uow.orders.find_by_item(two_items.items[1].id) == two_items
            assert await uow.orders.find_by_item("oit_unknown") is None
