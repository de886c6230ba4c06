"""Strategies for fulfillment: destinations, fulfillment orders, allocations, shipments in any
status of their machine, and courier tracking events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from hypothesis import strategies as st

from platform_core.fulfillment.model import (
    SHIPMENT_MACHINE,
    AddressSnapshot,
    Allocation,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentOrigin,
    Shipment,
    ShipmentStatus,
    ShipmentTrigger,
    TrackingEvent,
    TrackingStatus,
)
from platform_core.shared.events import DomainEvent
from platform_core.shared.scenarios import AutomationScenario
from platform_core.testing.shared import EPOCH, ids, instants

COURIER_CODES = ("simulator", "usps", "dhl_express", "canada_post", "chit_chats")

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_WORDS = st.sampled_from(["North", "Maple", "Harbour", "King", "Station", "Lake", "Cedar"])


def _postal_codes() -> st.SearchStrategy[str]:
    """Canadian-style codes such as ``K1A 0B1``."""
    letter, digit = st.sampled_from(_LETTERS), st.sampled_from(_DIGITS)
    return st.tuples(letter, digit, letter, digit, letter, digit).map(
        lambda c: f"{c[0]}{c[1]}{c[2]} {c[3]}{c[4]}{c[5]}"
    )


def courier_codes() -> st.SearchStrategy[str]:
    """Courier codes in the shape the model accepts."""
    return st.sampled_from(COURIER_CODES)


def tracking_numbers() -> st.SearchStrategy[str]:
    """Tracking numbers as couriers print them: upper-case letters and digits, no blanks."""
    return st.text(_LETTERS + _DIGITS, min_size=10, max_size=22)


def tracking_statuses() -> st.SearchStrategy[TrackingStatus]:
    """Any normalised tracking status."""
    return st.sampled_from(TrackingStatus)


def address_snapshots() -> st.SearchStrategy[AddressSnapshot]:
    """Valid shipment destinations (already in the clean form the model keeps)."""
    return st.builds(
        AddressSnapshot,
        name=st.builds(lambda word: f"{word} Sensors Inc", _WORDS),
        lines=st.lists(
            st.builds(lambda n, word: f"{n} {word} Street", st.integers(1, 9999), _WORDS),
            min_size=1,
            max_size=3,
        ).map(tuple),
        city=_WORDS,
        region=st.none() | st.sampled_from(["ON", "QC", "NY", "CA"]),
        postal_code=st.none() | _postal_codes(),
        country=st.sampled_from(["CA", "US", "GB", "DE"]),
    )


def fulfillment_items(max_quantity: int = 5) -> st.SearchStrategy[FulfillmentItem]:
    """Fresh fulfillment items: nothing allocated yet."""
    return st.builds(
        FulfillmentItem,
        id=ids("fli"),
        order_item_id=ids("oit"),
        product_id=ids("prd"),
        description=st.sampled_from(["Vibration sensor", "Gateway", "Temperature probe"]),
        quantity_ordered=st.integers(1, max_quantity),
        automation_scenario=st.none() | st.sampled_from(AutomationScenario),
    )


def fulfillment_orders(
    max_items: int = 4, max_quantity: int = 5
) -> st.SearchStrategy[FulfillmentOrder]:
    """New fulfillment orders (ready_to_prepare) of 1 to `max_items` items."""

    def build(
        items: list[FulfillmentItem], origin: FulfillmentOrigin, at: datetime
    ) -> FulfillmentOrder:
        fulfillment, _ = FulfillmentOrder.create(
            fulfillment_order_id="ful_1",
            order_id="ord_1",
            company_id="cmp_1",
            items=items,
            origin=origin,
            at=at,
        )
        return fulfillment

    items = st.lists(
        fulfillment_items(max_quantity),
        min_size=1,
        max_size=max_items,
        unique_by=(lambda item: item.id, lambda item: item.order_item_id),
    )
    return st.builds(build, items, st.sampled_from(FulfillmentOrigin), instants())


def allocations(fulfillment: FulfillmentOrder) -> st.SearchStrategy[list[Allocation]]:
    """Allocations `fulfillment` accepts: some of its items with units left, each once, at
    most what remains of it. The order must have something left to allocate."""
    open_items = [item for item in fulfillment.items if item.quantity_remaining]
    if not open_items:
        raise ValueError(f"fulfillment order {fulfillment.id} has nothing left to allocate")
    lines = [
        st.builds(Allocation, st.just(item.id), st.integers(1, item.quantity_remaining))
        for item in open_items
    ]
    return (
        st.lists(st.sampled_from(range(len(lines))), min_size=1, unique=True)
        .flatmap(lambda picks: st.tuples(*(lines[pick] for pick in sorted(picks))))
        .map(list)
    )


# The commands that walk a shipment along its machine, one per trigger that moves it.
_STEPS: dict[
    ShipmentTrigger, Callable[[Shipment, datetime], tuple[Shipment, list[DomainEvent]]]
] = {
    ShipmentTrigger.MARK_READY: lambda shipment, at: shipment.mark_ready(at=at),
    ShipmentTrigger.DISPATCH: lambda shipment, at: shipment.mark_in_transit(at=at),
    ShipmentTrigger.DELIVER: lambda shipment, at: shipment.mark_delivered(at=at),
    ShipmentTrigger.CANCEL: lambda shipment, at: shipment.cancel(at=at),
}


@st.composite
def shipments(
    draw: st.DrawFn, statuses: Sequence[ShipmentStatus] = tuple(ShipmentStatus)
) -> Shipment:
    """Shipments (with courier and tracking number) drafted from a fulfillment order and
    walked along their machine to one of `statuses`."""
    fulfillment = draw(fulfillment_orders())
    chosen = draw(allocations(fulfillment))
    at = draw(instants(EPOCH, days=30))
    _, shipment, _ = fulfillment.draft_shipment(
        shipment_id=draw(ids("shp")),
        item_ids=[f"shi_{index}" for index in range(len(chosen))],
        allocations=chosen,
        destination=draw(address_snapshots()),
        courier_code=draw(courier_codes()),
        tracking_number=draw(tracking_numbers()),
        at=at,
    )
    target = draw(st.sampled_from(list(statuses)))
    for trigger in _path(shipment.status, target):
        shipment, _ = _STEPS[trigger](shipment, at)
    return shipment


def _path(start: ShipmentStatus, target: ShipmentStatus) -> list[ShipmentTrigger]:
    """The shortest list of triggers from `start` to `target` in the shipment machine."""
    paths: dict[ShipmentStatus, list[ShipmentTrigger]] = {start: []}
    frontier = [start]
    while frontier and target not in paths:
        state = frontier.pop(0)
        for trigger in SHIPMENT_MACHINE.triggers_from(state):
            following = SHIPMENT_MACHINE.next_state(state, trigger)
            if following not in paths:
                paths[following] = [*paths[state], trigger]
                frontier.append(following)
    if target not in paths:
        raise ValueError(f"{target} cannot be reached from {start}")
    return paths[target]


def tracking_events(
    courier_code: str | None = None,
    tracking_number: str | None = None,
    statuses: Sequence[TrackingStatus] = tuple(TrackingStatus),
    start: datetime = EPOCH,
    days: int = 30,
) -> st.SearchStrategy[TrackingEvent]:
    """Courier events of one shipment when `courier_code` and `tracking_number` are given
    (any otherwise), with a status from `statuses`, within `days` after `start`."""
    return st.builds(
        _tracking_event,
        courier_code=st.just(courier_code) if courier_code else courier_codes(),
        tracking_number=st.just(tracking_number) if tracking_number else tracking_numbers(),
        status=st.sampled_from(list(statuses)),
        raw_suffix=st.integers(0, 3),
        occurred_at=instants(start, days),
        location=st.none() | _WORDS,
    )


def _tracking_event(
    courier_code: str,
    tracking_number: str,
    status: TrackingStatus,
    raw_suffix: int,
    occurred_at: datetime,
    location: str | None,
) -> TrackingEvent:
    return TrackingEvent(
        courier_code=courier_code,
        tracking_number=tracking_number,
        status=status,
        # Couriers have several raw codes per normalised status.
        raw_code=f"{status.value.upper()}-{raw_suffix}",
        raw_text=status.value.replace("_", " ").capitalize(),
        occurred_at=occurred_at,
        location=location,
        exception_reason="Address not found" if status is TrackingStatus.EXCEPTION else None,
    )
