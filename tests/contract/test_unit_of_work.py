"""Contract of the unit of work, event log and outbox, run on every persistence adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from tests.contract.conftest import Backend

from platform_core.orders.model import Order, OrderItem, PriceSnapshot
from platform_core.ports.outbox import OutboxStatus
from platform_core.pricing.model import PriceSource
from platform_core.shared.errors import ConflictError, NotFoundError, StaleVersion
from platform_core.shared.events import DomainEvent
from platform_core.shared.money import Money

AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def new_order(order_id: str = "ord_1") -> tuple[Order, list[DomainEvent]]:
    item = OrderItem(
        "oit_1", "prd_1", "S-1", "Sensor", 1, Money(100, "CAD"),
        PriceSnapshot(PriceSource.PRICEBOOK_GLOBAL, "global"),
    )  # fmt: skip
    return Order.draft(order_id, "cmp_1", "CAD", "con_1", "adr_1", [item], AT)


class TestUnitOfWork:
    async def test_commit_stores_aggregate_and_its_events_together(self, backend: Backend) -> None:
        """After commit, the aggregate and its events (pending in the outbox) are visible."""
        order, events = new_order()
        async with backend.uow() as uow:
            await uow.orders.add(order)
            await uow.events.record(events)
            await uow.commit()
        async with backend.uow() as uow:
            assert (await uow.orders.get("ord_1")).id == "ord_1"
            stored = await uow.events.for_aggregate("order", "ord_1")
            assert [s.event.type for s in stored] == ["order.created"]
            pending = await uow.outbox.entries(OutboxStatus.PENDING)
            assert [e.event_id for e in pending] == [stored[0].event_id]

    async def test_leaving_without_commit_keeps_nothing(self, backend: Backend) -> None:
        """A unit of work that does not commit leaves no row and no outbox entry."""
        order, events = new_order()
        async with backend.uow() as uow:
            await uow.orders.add(order)
            await uow.events.record(events)
        async with backend.uow() as uow:
            assert await uow.orders.find("ord_1") is None
            assert await uow.outbox.entries() == []

    async def test_error_inside_the_block_rolls_back(self, backend: Backend) -> None:
        """An exception before commit discards every staged change."""
        order, events = new_order()

        async def fail_midway() -> None:
            async with backend.uow() as uow:
                await uow.orders.add(order)
                await uow.events.record(events)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await fail_midway()
        async with backend.uow() as uow:
            assert await uow.orders.find("ord_1") is None

    async def test_update_bumps_version_and_stale_update_is_refused(self, backend: Backend) -> None:
        """update returns version+1; updating from the old version raises StaleVersion."""
        order, _ = new_order()
        async with backend.uow() as uow:
            await uow.orders.add(order)
            await uow.commit()
        async with backend.uow() as uow:
            updated = await uow.orders.update(attrs.evolve(order, purchase_order_number="PO-1"))
            assert updated.version == 2
            await uow.commit()
        async with backend.uow() as uow:
            with pytest.raises(StaleVersion):
                await uow.orders.update(attrs.evolve(order, purchase_order_number="PO-2"))
            assert (await uow.orders.get("ord_1")).purchase_order_number == "PO-1"

    async def test_update_from_a_stale_read_is_a_conflict(self, backend: Backend) -> None:
        """A change computed from version 1 after someone stored version 2 is refused."""
        order, _ = new_order()
        async with backend.uow() as uow:
            await uow.orders.add(order)
            await uow.commit()
        async with backend.uow() as uow:
            read_by_second = await uow.orders.get("ord_1")
        async with backend.uow() as first:
            a = await first.orders.get("ord_1")
            await first.orders.update(attrs.evolve(a, purchase_order_number="A"))
            await first.commit()

        async def store_stale_change() -> None:
            async with backend.uow() as second:
                await second.orders.update(attrs.evolve(read_by_second, purchase_order_number="B"))
                await second.commit()

        with pytest.raises(ConflictError):
            await store_stale_change()
        async with backend.uow() as uow:
            assert (await uow.orders.get("ord_1")).purchase_order_number == "A"

    async def test_adding_an_existing_id_is_a_conflict(self, backend: Backend) -> None:
        """Inserting the same id twice is refused."""
        order, _ = new_order()
        async with backend.uow() as uow:
            await uow.orders.add(order)
            await uow.commit()
        async with backend.uow() as uow:
            with pytest.raises(ConflictError):
                await uow.orders.add(order)

    async def test_get_of_unknown_id_is_not_found(self, backend: Backend) -> None:
        """get raises NotFoundError; find returns None."""
        async with backend.uow() as uow:
            with pytest.raises(NotFoundError):
                await uow.orders.get("ord_missing")
            assert await uow.orders.find("ord_missing") is None

    async def test_claimed_events_are_leased_to_one_dispatcher(self, backend: Backend) -> None:
        """A claimed event is not claimed again until its lease runs out."""
        _, events = new_order()
        async with backend.uow() as uow:
            await uow.events.record(events)
            await uow.commit()
        async with backend.uow() as uow:
            claimed = await uow.outbox.claim_due(AT, 10, lease_seconds=30)
            await uow.commit()
        async with backend.uow() as uow:
            assert await uow.outbox.claim_due(AT + timedelta(seconds=10), 10) == []
            again = await uow.outbox.claim_due(AT + timedelta(seconds=31), 10)
        assert [e.event_id for e in claimed] == [e.event_id for e in again]

    async def test_failed_delivery_is_retried_later_or_dead_lettered(
        self, backend: Backend
    ) -> None:
        """mark_failed with a time re-schedules; without one dead-letters the event."""
        _, events = new_order()
        _, more = new_order("ord_2")
        async with backend.uow() as uow:
            first, second = await uow.events.record([*events, *more])
            await uow.commit()
        async with backend.uow() as uow:
            await uow.outbox.mark_failed(first.event_id, "boom", AT + timedelta(minutes=5))
            await uow.outbox.mark_failed(second.event_id, "boom", None)
            await uow.commit()
        async with backend.uow() as uow:
            assert await uow.outbox.claim_due(AT, 10) == []
            (retry,) = await uow.outbox.claim_due(AT + timedelta(minutes=5), 10)
            (dead,) = await uow.outbox.entries(OutboxStatus.DEAD_LETTERED)
        assert (retry.attempts, retry.last_error) == (1, "boom")
        assert dead.event_id == second.event_id

    async def test_inbox_marks_a_subscriber_once(self, backend: Backend) -> None:
        """A second mark of the same (subscriber, event) is refused."""
        async with backend.uow() as a:
            await a.outbox.mark_handled("billing", "evt_1", AT)
            await a.commit()

        async def mark_again() -> None:
            async with backend.uow() as b:
                await b.outbox.mark_handled("billing", "evt_1", AT)
                await b.commit()

        with pytest.raises(ConflictError):
            await mark_again()
        async with backend.uow() as uow:
            assert await uow.outbox.already_handled("billing", "evt_1")
            assert not await uow.outbox.already_handled("fulfillment", "evt_1")

    async def test_event_positions_grow_in_commit_order(self, backend: Backend) -> None:
        """Stored events keep the order they were recorded in."""
        _, first = new_order()
        _, second = new_order("ord_2")
        for events in (first, second):
            async with backend.uow() as uow:
                await uow.events.record(events)
                await uow.commit()
        async with backend.uow() as uow:
            a = (await uow.events.for_aggregate("order", "ord_1"))[0]
            b = (await uow.events.for_aggregate("order", "ord_2"))[0]
        assert a.position < b.position

    async def test_record_stamps_the_correlation_id(self, backend: Backend) -> None:
        """record(events, correlation_id) stamps events that carry none, findable by it."""
        _, events = new_order()
        async with backend.uow() as uow:
            await uow.events.record(events, "req_42")
            await uow.commit()
        async with backend.uow() as uow:
            (stored,) = await uow.events.by_correlation("req_42")
        assert stored.event.correlation_id == "req_42"


class TestOverlappingUnitsOfWork:
    """Two transactions open at once (SQLite serialises them, so it is not in this list)."""

    async def test_lost_update_between_two_open_units_of_work_is_a_conflict(
        self, concurrent_backend: Backend
    ) -> None:
        """Both read version 1; the first commits; the second's change is refused."""
        order, _ = new_order()
        async with concurrent_backend.uow() as uow:
            await uow.orders.add(order)
            await uow.commit()
        first, second = concurrent_backend.uow(), concurrent_backend.uow()
        async with first, second:
            a = await first.orders.get("ord_1")
            b = await second.orders.get("ord_1")
            await first.orders.update(attrs.evolve(a, purchase_order_number="A"))
            await first.commit()

            async def store_stale_change() -> None:
                await second.orders.update(attrs.evolve(b, purchase_order_number="B"))
                await second.commit()

            with pytest.raises(ConflictError):
                await store_stale_change()
        async with concurrent_backend.uow() as uow:
            assert (await uow.orders.get("ord_1")).purchase_order_number == "A"

    async def test_uncommitted_changes_are_invisible_to_others(
        self, concurrent_backend: Backend
    ) -> None:
        """A reader sees neither the row nor the outbox entry of an open transaction."""
        order, events = new_order()
        writer, reader = concurrent_backend.uow(), concurrent_backend.uow()
        async with writer, reader:
            await writer.orders.add(order)
            await writer.events.record(events)
            assert await reader.orders.find("ord_1") is None
            assert await reader.outbox.entries() == []
