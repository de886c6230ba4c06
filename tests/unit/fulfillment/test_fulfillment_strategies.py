"""The public fulfillment strategies make values the model accepts, as documented."""

from __future__ import annotations

import attrs
import pytest
from fulfillment_examples import START, new_fulfillment
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    FulfillmentOrder,
    FulfillmentStatus,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
    TrackingStatus,
)
from platform_core.testing.fulfillment import (
    address_snapshots,
    allocations,
    fulfillment_orders,
    shipments,
    tracking_events,
)

FEW = settings(max_examples=25, deadline=None)


@FEW
@given(address_snapshots())
def test_address_snapshots_are_already_clean(address: AddressSnapshot) -> None:
    """Rebuilding a generated destination changes nothing: it is in canonical form."""
    assert attrs.evolve(address) == address


@FEW
@given(st.data())
def test_allocations_are_accepted_by_their_order(data: st.DataObject) -> None:
    """Any drawn allocation fits what remains of its fulfillment order."""
    fulfillment: FulfillmentOrder = data.draw(fulfillment_orders())
    chosen = data.draw(allocations(fulfillment))
    allocated, _ = fulfillment.allocate(chosen, at=START)
    assert allocated.quantity_allocated == sum(line.quantity for line in chosen)
    assert allocated.status is FulfillmentStatus.AWAITING_SHIPMENT


def test_allocations_need_units_left() -> None:
    """Asking for allocations of an order with nothing left is a usage error."""
    full, _ = new_fulfillment(1).allocate([Allocation("fli_1", 1)], at=START)
    with pytest.raises(ValueError, match="nothing left"):
        allocations(full)


@FEW
@given(shipments(statuses=[ShipmentStatus.IN_TRANSIT, ShipmentStatus.CANCELLED]))
def test_shipments_reach_the_asked_statuses(shipment: Shipment) -> None:
    """Generated shipments are in one of the asked statuses, tracked by a courier."""
    assert shipment.status in {ShipmentStatus.IN_TRANSIT, ShipmentStatus.CANCELLED}
    assert shipment.tracking_number is not None


@FEW
@given(tracking_events("usps", "9400100000000000000000", [TrackingStatus.EXCEPTION]))
def test_tracking_events_follow_their_parameters(event: TrackingEvent) -> None:
    """Courier, number and statuses given to the strategy are the ones events carry."""
    assert (event.courier_code, event.tracking_number) == ("usps", "9400100000000000000000")
    assert event.status is TrackingStatus.EXCEPTION
    assert event.exception_reason
