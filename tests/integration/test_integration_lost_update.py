"""Optimistic concurrency across processes on PostgreSQL: two writers of one order never both
win, and the loser learns it instead of silently overwriting the winner."""

from __future__ import annotations

import asyncio

import pytest
from integration_support import Admin, Platforms

from entrypoints.bootstrap import Platform
from entrypoints.demo import Demo
from platform_core.orders.model import Order, OrderStatus
from platform_core.orders.service import CancelUnpaidOrder, cancel_unpaid_order, get_order
from platform_core.shared.errors import ConflictError, StaleVersion

pytestmark = pytest.mark.integration


async def test_second_writer_blocked_by_the_first_gets_stale_version(
    demo: Demo, platforms: Platforms, admin: Admin
) -> None:
    """Two processes read the same draft order; the first cancels it and holds its row lock
    while the second's update of a checkout waits; once the first commits, the second is
    refused with StaleVersion and the stored order carries exactly the first change."""
    order = await demo.draft([("GW-100", 1)])
    first, second = platforms.open_many(2)

    async with first.deps.uow() as first_uow, second.deps.uow() as second_uow:
        read_by_first = await first_uow.orders.get(order.id)
        read_by_second = await second_uow.orders.get(order.id)
        cancelled, _ = read_by_first.cancel("customer changed their mind", first.deps.clock.now())
        checkout, _ = read_by_second.send_checkout(
            "cs_second", "https://checkout.example/cs_second", second.deps.clock.now()
        )
        await first_uow.orders.update(cancelled)
        second_write = asyncio.create_task(second_uow.orders.update(checkout))
        await admin.wait_for_lock_waiters(1)
        await first_uow.commit()
        with pytest.raises(StaleVersion):
            await second_write

    stored = await get_order(demo.deps, order.id)
    assert stored.status is OrderStatus.CANCELLED
    assert stored.cancellation_reason == "customer changed their mind"
    assert stored.checkout is None
    assert stored.version == order.version + 1


async def test_racing_use_cases_on_one_order_apply_exactly_one_cancellation(
    demo: Demo, platforms: Platforms
) -> None:
    """Eight processes cancel the same draft order at once, each with its own reason: one
    cancellation is stored, every other request is refused with a conflict, and the stored
    reason is the winner's."""
    order = await demo.draft([("GW-100", 1)])
    processes = platforms.open_many(8)

    async def cancel(platform: Platform, reason: str) -> Order | ConflictError:
        try:
            return await cancel_unpaid_order(platform.deps, CancelUnpaidOrder(order.id, reason))
        except ConflictError as refused:  # StaleVersion, or IllegalTransition once cancelled
            return refused

    outcomes = await asyncio.gather(
        *(cancel(platform, f"reason {n}") for n, platform in enumerate(processes))
    )

    (winner,) = [o for o in outcomes if isinstance(o, Order)]
    stored = await get_order(demo.deps, order.id)
    assert stored.cancellation_reason == winner.cancellation_reason
    assert stored.version == order.version + 1
