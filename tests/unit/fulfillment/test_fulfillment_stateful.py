"""Property-based walks of the shipment and fulfillment-order machines with their invariants:
allocated <= ordered, no backwards shipment status, delivered is terminal, duplicates and
out-of-order courier events change nothing they should not."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from fulfillment_examples import COURIER, START, destination, line_specs, make_deps
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from platform_core.fulfillment.model import (
    DEPARTED_SHIPMENT_STATUSES,
    OPEN_SHIPMENT_STATUSES,
    SHIPMENT_MACHINE,
    Allocation,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentStatus,
    Shipment,
    ShipmentStatus,
    ShipmentTrigger,
    TrackingEvent,
    TrackingStatus,
)
from platform_core.fulfillment.service import (
    CancelFulfillment,
    CancelShipment,
    CompleteFulfillment,
    CreateFulfillmentForPaidOrder,
    CreateShipment,
    MarkShipmentDelivered,
    MarkShipmentInTransit,
    MarkShipmentReady,
    RecordTrackingEvents,
    cancel_fulfillment,
    cancel_shipment,
    complete_fulfillment,
    create_fulfillment_for_paid_order,
    create_shipment,
    mark_shipment_delivered,
    mark_shipment_in_transit,
    mark_shipment_ready,
    record_tracking_events,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError
from platform_core.testing.fulfillment import shipments, tracking_events

T = TypeVar("T")
FAST = settings(max_examples=50, stateful_step_count=30, deadline=None)


def _forward(status: ShipmentStatus) -> set[ShipmentStatus]:
    """`status` and every status the shipment machine can reach from it."""
    reached = {status}
    frontier = [status]
    while frontier:
        current = frontier.pop()
        for trigger in SHIPMENT_MACHINE.triggers_from(current):
            following = SHIPMENT_MACHINE.next_state(current, trigger)
            if following not in reached:
                reached.add(following)
                frontier.append(following)
    return reached


# -- one shipment on the model ----------------------------------------------------------------

NOW = START + timedelta(days=40)
COMMANDS: dict[ShipmentTrigger, Callable[[Shipment], tuple[Shipment, Any]]] = {
    ShipmentTrigger.MARK_READY: lambda shipment: shipment.mark_ready(at=NOW),
    ShipmentTrigger.DISPATCH: lambda shipment: shipment.mark_in_transit(at=NOW),
    ShipmentTrigger.DELIVER: lambda shipment: shipment.mark_delivered(at=NOW),
    ShipmentTrigger.CANCEL: lambda shipment: shipment.cancel(at=NOW),
}


class ShipmentTrackingMachine(RuleBasedStateMachine):
    """Commands and courier events (new, repeated, out of order) on one shipment."""

    shipment: Shipment

    @initialize(shipment=shipments(statuses=[ShipmentStatus.DRAFT, ShipmentStatus.READY]))
    def start(self, shipment: Shipment) -> None:
        self.shipment = shipment
        self.last_status = shipment.status
        self.keys: set[str] = set()
        self.recorded: list[TrackingEvent] = []
        self.record_ids = itertools.count(1)
        self.scans = tracking_events(shipment.courier_code, shipment.tracking_number, days=30)

    @rule(trigger=st.sampled_from(list(COMMANDS)))
    def command(self, trigger: ShipmentTrigger) -> None:
        before = self.shipment
        if SHIPMENT_MACHINE.can(before.status, trigger):
            self.shipment, _ = COMMANDS[trigger](before)
            return
        try:
            COMMANDS[trigger](before)
        except IllegalTransition:
            assert self.shipment is before
        else:
            raise AssertionError(f"{trigger} from {before.status} should have been refused")

    @rule(data=st.data())
    def courier_event(self, data: st.DataObject) -> None:
        self._record(data.draw(self.scans))

    @precondition(lambda self: self.recorded)
    @rule(data=st.data())
    def repeated_courier_event(self, data: st.DataObject) -> None:
        self._record(data.draw(st.sampled_from(self.recorded)))

    def _record(self, event: TrackingEvent) -> None:
        before = self.shipment
        update = before.record_tracking_event(
            event, record_id=f"trk_{next(self.record_ids)}", recorded_keys=self.keys, at=NOW
        )
        if event.dedupe_key in self.keys:
            assert update.is_duplicate
            assert update.shipment is before
            assert update.events == ()
            return
        assert update.record is not None
        self.keys.add(update.record.dedupe_key)
        self.recorded.append(event)
        self.shipment = update.shipment
        handed_over = before.status in {ShipmentStatus.READY, ShipmentStatus.IN_TRANSIT}
        if handed_over and event.status is TrackingStatus.DELIVERED:
            assert self.shipment.status is ShipmentStatus.DELIVERED

    @invariant()
    def status_never_moves_back_and_terminal_states_hold(self) -> None:
        assert self.shipment.status in _forward(self.last_status)
        if SHIPMENT_MACHINE.is_terminal(self.last_status):
            assert self.shipment.status is self.last_status
        self.last_status = self.shipment.status

    @invariant()
    def each_status_has_its_time(self) -> None:
        shipment = self.shipment
        if shipment.status is ShipmentStatus.IN_TRANSIT:
            assert shipment.in_transit_at is not None
        if shipment.status is ShipmentStatus.DELIVERED:
            assert shipment.delivered_at is not None
        if shipment.status is ShipmentStatus.CANCELLED:
            assert shipment.cancelled_at is not None

    @invariant()
    def latest_status_comes_from_the_newest_scan(self) -> None:
        if not self.recorded:
            assert self.shipment.last_tracking_at is None
            return
        newest = max(event.occurred_at for event in self.recorded)
        assert self.shipment.last_tracking_at == newest
        assert self.shipment.last_tracking_status in {
            event.status for event in self.recorded if event.occurred_at == newest
        }

    @invariant()
    def returned_at_is_the_first_return_scan(self) -> None:
        returns = [e.occurred_at for e in self.recorded if e.status is TrackingStatus.RETURNED]
        assert self.shipment.returned_at == (min(returns) if returns else None)


TestShipmentTrackingMachine = ShipmentTrackingMachine.TestCase
TestShipmentTrackingMachine.settings = FAST


# -- a fulfillment order and its shipments through the use cases ------------------------------

# About one draw in ten. Hypothesis favours the ends of a range, so the ends mean "no".
RARELY = st.integers(0, 99).map(lambda draw: 45 <= draw < 55)


def _quantities(item: FulfillmentItem) -> st.SearchStrategy[int]:
    """Mostly a quantity the open item can give, sometimes a bad one (not positive, too many)."""
    good = st.integers(1, item.quantity_remaining)
    bad = st.sampled_from([-1, 0, item.quantity_remaining + 1])
    return RARELY.flatmap(lambda wrong: bad if wrong else good)


class FulfillmentLifecycleMachine(RuleBasedStateMachine):
    """Shipments created (valid or not), moved, cancelled and tracked through the use cases
    on the in-memory adapters, with completion and cancellation attempted along the way."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.deps = make_deps()
        self.fulfillment_id = ""
        self.shipment_ids: list[str] = []
        self.numbers = itertools.count(1)
        self.sent: list[TrackingEvent] = []
        self.seen: dict[str, ShipmentStatus] = {}
        self.seen_order_status = FulfillmentStatus.READY_TO_PREPARE

    def teardown(self) -> None:
        self.loop.close()

    def _run(self, work: Awaitable[T]) -> T:
        self.deps.clock.advance(timedelta(minutes=1))
        return self.loop.run_until_complete(work)  # type: ignore[arg-type]

    def _state(self) -> tuple[FulfillmentOrder, list[Shipment]]:
        async def read() -> tuple[FulfillmentOrder, list[Shipment]]:
            async with self.deps.uow() as uow:
                fulfillment = await uow.fulfillment_orders.get(self.fulfillment_id)
                return fulfillment, await uow.shipments.for_fulfillment(self.fulfillment_id)

        return self.loop.run_until_complete(read())

    def _shipment(self, shipment_id: str) -> Shipment:
        return next(s for s in self._state()[1] if s.id == shipment_id)

    @initialize(quantities=st.lists(st.integers(1, 3), min_size=1, max_size=2))
    def create(self, quantities: list[int]) -> None:
        command = CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(*quantities))
        self.fulfillment_id = self._run(create_fulfillment_for_paid_order(self.deps, command)).id

    def _units_left(self) -> bool:
        return any(item.quantity_remaining for item in self._state()[0].items)

    def _closed(self) -> bool:
        return self._state()[0].status in FULFILLMENT_CLOSED

    def _something_left(self) -> bool:
        return any(s.status in DEPARTED_SHIPMENT_STATUSES for s in self._state()[1])

    @precondition(_units_left)
    @rule(data=st.data())
    def create_a_shipment(self, data: st.DataObject) -> None:
        fulfillment, _ = self._state()
        open_items = [item for item in fulfillment.items if item.quantity_remaining]
        items = data.draw(st.lists(st.sampled_from(open_items), min_size=1, unique=True))
        allocations = [Allocation(item.id, data.draw(_quantities(item))) for item in items]
        acceptable = not FULFILLMENT_CLOSED & {fulfillment.status} and all(
            1 <= allocation.quantity <= item.quantity_remaining
            for allocation, item in zip(allocations, items, strict=True)
        )
        command = CreateShipment(
            fulfillment.id,
            destination(),
            tuple(allocations),
            courier_code=COURIER,
            tracking_number=f"TRK{next(self.numbers):05d}",
        )
        try:
            shipment = self._run(create_shipment(self.deps, command))
        except (ValidationError, IllegalTransition):
            assert not acceptable
            return
        assert acceptable
        self.shipment_ids.append(shipment.id)

    @precondition(lambda self: self._units_left() and not self._closed())
    @rule(data=st.data())
    def ship_the_rest_and_have_it_delivered(self, data: st.DataObject) -> None:
        """Ops ships every unit left in one parcel and the courier reports it delivered: the
        walk's way to orders that can complete."""
        fulfillment, _ = self._state()
        lines = tuple(
            Allocation(item.id, item.quantity_remaining)
            for item in fulfillment.items
            if item.quantity_remaining
        )
        number = f"TRK{next(self.numbers):05d}"
        command = CreateShipment(fulfillment.id, destination(), lines, COURIER, number)
        shipment = self._run(create_shipment(self.deps, command))
        self.shipment_ids.append(shipment.id)
        self._run(mark_shipment_ready(self.deps, MarkShipmentReady(shipment.id)))
        delivered = data.draw(tracking_events(COURIER, number, [TrackingStatus.DELIVERED]))
        self._run(record_tracking_events(self.deps, RecordTrackingEvents(COURIER, (delivered,))))
        assert self._shipment(shipment.id).status is ShipmentStatus.DELIVERED

    @precondition(lambda self: self.shipment_ids)
    @rule(data=st.data(), trigger=st.sampled_from(list(COMMANDS)))
    def move_a_shipment(self, data: st.DataObject, trigger: ShipmentTrigger) -> None:
        shipment = self._shipment(data.draw(st.sampled_from(self.shipment_ids)))
        use_case = {
            ShipmentTrigger.MARK_READY: lambda: mark_shipment_ready(
                self.deps, MarkShipmentReady(shipment.id)
            ),
            ShipmentTrigger.DISPATCH: lambda: mark_shipment_in_transit(
                self.deps, MarkShipmentInTransit(shipment.id)
            ),
            ShipmentTrigger.DELIVER: lambda: mark_shipment_delivered(
                self.deps, MarkShipmentDelivered(shipment.id)
            ),
            ShipmentTrigger.CANCEL: lambda: cancel_shipment(self.deps, CancelShipment(shipment.id)),
        }[trigger]
        try:
            self._run(use_case())
        except IllegalTransition:
            assert not SHIPMENT_MACHINE.can(shipment.status, trigger)
            return
        assert SHIPMENT_MACHINE.can(shipment.status, trigger)

    @precondition(lambda self: self.shipment_ids)
    @rule(data=st.data())
    def courier_events(self, data: st.DataObject) -> None:
        shipment = self._shipment(data.draw(st.sampled_from(self.shipment_ids)))
        assert shipment.tracking_number is not None
        fresh = data.draw(
            st.lists(tracking_events(COURIER, shipment.tracking_number, days=3), max_size=4)
        )
        replays = data.draw(st.lists(st.sampled_from(self.sent), max_size=3)) if self.sent else []
        batch = fresh + replays
        expected = self._new_scans(batch)
        report = self._run(
            record_tracking_events(self.deps, RecordTrackingEvents(COURIER, tuple(batch)))
        )
        assert report.recorded == expected
        assert report.recorded + report.duplicates == len(batch)
        assert report.unmatched == ()
        self.sent.extend(fresh)

    def _new_scans(self, batch: list[TrackingEvent]) -> int:
        recorded = {
            (row.shipment_id, row.dedupe_key)
            for row in self.deps.db.table("shipment_tracking_events").values()
        }
        by_number = {s.tracking_number: s.id for s in self._state()[1]}
        keys = {(by_number[event.tracking_number], event.dedupe_key) for event in batch}
        return len(keys - recorded)

    @precondition(_something_left)
    @rule(automation_settled=st.booleans())
    def complete(self, automation_settled: bool) -> None:
        fulfillment, shipments_now = self._state()
        delivered: Counter[str] = Counter()
        for shipment in shipments_now:
            if shipment.status is ShipmentStatus.DELIVERED:
                delivered.update(shipment.quantities)
        all_delivered = all(
            delivered[item.id] == item.quantity_ordered for item in fulfillment.items
        )
        none_open = all(
            s.status in {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED} for s in shipments_now
        )
        completes = fulfillment.status is FulfillmentStatus.COMPLETED or (
            fulfillment.status is FulfillmentStatus.IN_TRANSIT
            and all_delivered
            and none_open
            and automation_settled
        )
        command = CompleteFulfillment(fulfillment.id, automation_settled)
        try:
            completed = self._run(complete_fulfillment(self.deps, command))
        except ConflictError:
            assert not completes
            return
        assert completes
        assert completed.status is FulfillmentStatus.COMPLETED

    @rule(now=RARELY)
    def cancel_the_order(self, now: bool) -> None:
        if not now:
            return
        fulfillment, _ = self._state()
        cancellable = {
            FulfillmentStatus.READY_TO_PREPARE,
            FulfillmentStatus.AWAITING_SHIPMENT,
            FulfillmentStatus.CANCELLED,
        }
        try:
            self._run(cancel_fulfillment(self.deps, CancelFulfillment(fulfillment.id)))
        except IllegalTransition:
            assert fulfillment.status not in cancellable
            return
        assert fulfillment.status in cancellable

    @invariant()
    def allocated_equals_units_on_live_shipments_and_never_exceeds_ordered(self) -> None:
        if not self.fulfillment_id:
            return
        fulfillment, shipments_now = self._state()
        held: Counter[str] = Counter()
        for shipment in shipments_now:
            if shipment.status is not ShipmentStatus.CANCELLED:
                held.update(shipment.quantities)
        for item in fulfillment.items:
            assert 0 <= item.quantity_allocated <= item.quantity_ordered
            assert item.quantity_allocated == held[item.id]

    @invariant()
    def shipments_never_move_back_and_delivered_is_terminal(self) -> None:
        if not self.fulfillment_id:
            return
        for shipment in self._state()[1]:
            previous = self.seen.get(shipment.id, ShipmentStatus.DRAFT)
            assert shipment.status in _forward(previous)
            if previous is ShipmentStatus.DELIVERED:
                assert shipment.status is ShipmentStatus.DELIVERED
            self.seen[shipment.id] = shipment.status

    @invariant()
    def order_status_follows_its_shipments(self) -> None:
        if not self.fulfillment_id:
            return
        fulfillment, shipments_now = self._state()
        statuses = {shipment.status for shipment in shipments_now}
        if self.seen_order_status in FULFILLMENT_CLOSED:
            assert fulfillment.status is self.seen_order_status
        self.seen_order_status = fulfillment.status
        if fulfillment.status is FulfillmentStatus.CANCELLED:
            assert statuses <= {ShipmentStatus.CANCELLED}
        elif fulfillment.status is FulfillmentStatus.COMPLETED:
            assert statuses <= {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED}
        elif statuses & DEPARTED_SHIPMENT_STATUSES:
            assert fulfillment.status is FulfillmentStatus.IN_TRANSIT
        elif statuses & OPEN_SHIPMENT_STATUSES:
            assert fulfillment.status is FulfillmentStatus.AWAITING_SHIPMENT
        else:
            assert fulfillment.status is FulfillmentStatus.READY_TO_PREPARE

    @invariant()
    def each_scan_is_recorded_once(self) -> None:
        rows = list(self.deps.db.table("shipment_tracking_events").values())
        assert len({(row.shipment_id, row.dedupe_key) for row in rows}) == len(rows)


FULFILLMENT_CLOSED = frozenset({FulfillmentStatus.COMPLETED, FulfillmentStatus.CANCELLED})

TestFulfillmentLifecycleMachine = FulfillmentLifecycleMachine.TestCase
TestFulfillmentLifecycleMachine.settings = FAST
