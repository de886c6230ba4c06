"""Courier tracking on the model: event values, de-duplication and forward-only moves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from fulfillment_examples import START, draft, new_fulfillment, scan

from platform_core.fulfillment.model import (
    Shipment,
    ShipmentStatus,
    TrackingEvent,
    TrackingStatus,
    TrackingUpdate,
)
from platform_core.shared.errors import ValidationError

NOW = START + timedelta(days=1)


def _shipment(status: ShipmentStatus = ShipmentStatus.READY) -> Shipment:
    _, shipment = draft(new_fulfillment(2), ("fli_1", 2))
    if status is not ShipmentStatus.DRAFT:
        shipment, _ = shipment.mark_ready(at=START)
    if status is ShipmentStatus.CANCELLED:
        shipment, _ = shipment.cancel(at=START)
    return shipment


def _record(
    shipment: Shipment, events: Iterable[TrackingEvent]
) -> tuple[Shipment, list[TrackingUpdate]]:
    """Record events one after the other, remembering keys as the service does."""
    keys: set[str] = set()
    updates = []
    for index, event in enumerate(events):
        update = shipment.record_tracking_event(
            event, record_id=f"trk_{index}", recorded_keys=keys, at=NOW
        )
        if update.record is not None:
            keys.add(update.record.dedupe_key)
        shipment = update.shipment
        updates.append(update)
    return shipment, updates


# -- the event value --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at"),
        ({"raw_code": " "}, "raw_code"),
        ({"status": "lost_in_space"}, "status"),
        ({"tracking_number": "TRK 1"}, "tracking_number"),
        ({"courier_code": "UPS!"}, "courier_code"),
        ({"location": 12}, "location"),
    ],
)
def test_tracking_events_refuse_bad_values(overrides: dict[str, object], field: str) -> None:
    """A naive time, empty raw code, unknown status, blank in a number, bad courier code or
    non-text location is refused."""
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(scan(TrackingStatus.IN_TRANSIT, 0), **overrides)
    assert caught.value.details["field"] == field


def test_one_instant_in_two_offsets_is_one_scan() -> None:
    """The dedupe key uses UTC, so the same instant reported with another offset matches."""
    utc = scan(TrackingStatus.IN_TRANSIT, 0)
    shifted = attrs.evolve(
        utc, occurred_at=utc.occurred_at.astimezone(timezone(timedelta(hours=-5)))
    )
    assert shifted.dedupe_key == utc.dedupe_key
    assert attrs.evolve(utc, raw_code="OTHER").dedupe_key != utc.dedupe_key


# -- recording --------------------------------------------------------------------------------


def test_a_new_event_is_recorded_with_its_row_and_event() -> None:
    """A new scan yields a tracking row and shipment.event_recorded with its fields."""
    event = scan(TrackingStatus.PRE_TRANSIT, 5)
    shipment, [update] = _record(_shipment(), [event])
    assert update.record is not None
    assert (update.record.shipment_id, update.record.event, update.record.recorded_at) == (
        "shp_1",
        event,
        NOW,
    )
    assert [domain_event.type for domain_event in update.events] == ["shipment.event_recorded"]
    payload = update.events[0].payload
    assert payload["tracking_event_id"] == "trk_0"
    assert payload["status"] == "pre_transit"
    assert payload["occurred_at"] == event.occurred_at.isoformat()
    assert shipment.status is ShipmentStatus.READY
    assert shipment.last_tracking_status is TrackingStatus.PRE_TRANSIT


def test_a_repeated_event_changes_nothing_and_emits_nothing() -> None:
    """Same raw code at the same instant again: no row, no event, the same shipment."""
    event = scan(TrackingStatus.IN_TRANSIT, 5)
    shipment, _ = _record(_shipment(), [event])
    update = shipment.record_tracking_event(
        event, record_id="trk_9", recorded_keys={event.dedupe_key}, at=NOW
    )
    assert update.is_duplicate
    assert update.shipment is shipment
    assert update.events == ()


def test_an_in_transit_scan_dispatches_a_ready_shipment_at_the_scan_time() -> None:
    """in_transit moves ready to in_transit, stamped with the courier's time."""
    event = scan(TrackingStatus.IN_TRANSIT, 30)
    shipment, [update] = _record(_shipment(), [event])
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert shipment.in_transit_at == event.occurred_at
    assert [e.type for e in update.events] == ["shipment.event_recorded", "shipment.in_transit"]


def test_a_delivered_scan_delivers_a_ready_shipment_directly() -> None:
    """A parcel reported delivered without an in-transit scan is delivered."""
    event = scan(TrackingStatus.DELIVERED, 90)
    shipment, [update] = _record(_shipment(), [event])
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.delivered_at == event.occurred_at
    assert update.events[-1].type == "shipment.delivered"
    assert update.events[-1].payload["delivered_at"] == event.occurred_at.isoformat()


def test_out_for_delivery_counts_as_in_transit() -> None:
    """out_for_delivery moves a ready shipment to in_transit."""
    shipment, _ = _record(_shipment(), [scan(TrackingStatus.OUT_FOR_DELIVERY, 10)])
    assert shipment.status is ShipmentStatus.IN_TRANSIT


def test_later_lower_scans_never_move_a_delivered_shipment_back() -> None:
    """After delivery, in-transit and pre-transit scans are recorded but the status stays."""
    shipment, updates = _record(
        _shipment(),
        [
            scan(TrackingStatus.DELIVERED, 60),
            scan(TrackingStatus.IN_TRANSIT, 120),
            scan(TrackingStatus.PRE_TRANSIT, 180),
        ],
    )
    assert shipment.status is ShipmentStatus.DELIVERED
    assert all(update.record is not None for update in updates)
    assert [[e.type for e in update.events] for update in updates[1:]] == [
        ["shipment.event_recorded"],
        ["shipment.event_recorded"],
    ]


def test_an_older_event_arriving_late_is_recorded_without_changing_the_latest_status() -> None:
    """Out-of-order scans join the timeline; the latest status stays the newest scan's."""
    shipment, updates = _record(
        _shipment(),
        [scan(TrackingStatus.OUT_FOR_DELIVERY, 60), scan(TrackingStatus.IN_TRANSIT, 30)],
    )
    assert updates[1].record is not None
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert shipment.in_transit_at == START + timedelta(minutes=60)
    assert shipment.last_tracking_status is TrackingStatus.OUT_FOR_DELIVERY
    assert shipment.last_tracking_at == START + timedelta(minutes=60)


def test_an_exception_is_recorded_and_shown_without_moving_the_shipment() -> None:
    """An exception becomes the latest status but does not move the shipment."""
    shipment, _ = _record(
        _shipment(),
        [
            scan(TrackingStatus.IN_TRANSIT, 10),
            attrs.evolve(scan(TrackingStatus.EXCEPTION, 20), exception_reason="no access"),
        ],
    )
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert shipment.last_tracking_status is TrackingStatus.EXCEPTION


def test_a_return_is_flagged_without_moving_the_shipment_back() -> None:
    """returned stamps returned_at (the earliest return scan); the status does not move."""
    shipment, _ = _record(
        _shipment(),
        [
            scan(TrackingStatus.DELIVERED, 10),
            scan(TrackingStatus.RETURNED, 50, raw_code="RT-2"),
            scan(TrackingStatus.RETURNED, 40, raw_code="RT-1"),
        ],
    )
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.returned_at == START + timedelta(minutes=40)
    assert shipment.last_tracking_status is TrackingStatus.RETURNED


@pytest.mark.parametrize("status", [ShipmentStatus.DRAFT, ShipmentStatus.CANCELLED])
def test_scans_on_a_shipment_not_handed_over_are_recorded_only(status: ShipmentStatus) -> None:
    """Draft and cancelled shipments keep their status; the scan is still recorded."""
    shipment, [update] = _record(_shipment(status), [scan(TrackingStatus.DELIVERED, 10)])
    assert shipment.status is status
    assert update.record is not None


def test_an_event_for_another_tracking_number_is_refused() -> None:
    """An event must track this shipment's courier and number."""
    shipment = _shipment()
    with pytest.raises(ValidationError) as caught:
        shipment.record_tracking_event(
            scan(TrackingStatus.IN_TRANSIT, 1, tracking_number="OTHER1"),
            record_id="trk_1",
            recorded_keys=set(),
            at=NOW,
        )
    assert caught.value.details["field"] == "tracking_number"


def test_recording_needs_an_aware_time() -> None:
    """The recording time must carry a time zone."""
    with pytest.raises(ValidationError):
        _shipment().record_tracking_event(
            scan(TrackingStatus.IN_TRANSIT, 1),
            record_id="t",
            recorded_keys=set(),
            at=datetime(2026, 1, 1),
        )
