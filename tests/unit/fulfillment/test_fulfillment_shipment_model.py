"""The Shipment aggregate: drafting, its machine, detail edits and the delivered payload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pytest
from fulfillment_examples import COURIER, START, destination, draft, new_fulfillment

from platform_core.fulfillment.model import (
    SHIPMENT_MACHINE,
    AddressSnapshot,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    ShipmentTrigger,
)
from platform_core.shared.errors import IllegalTransition, ValidationError
from platform_core.shared.events import DomainEvent

LATER = START + timedelta(hours=2)

Command = Callable[[Shipment], tuple[Shipment, list[DomainEvent]]]

COMMANDS: dict[ShipmentTrigger, Command] = {
    ShipmentTrigger.MARK_READY: lambda shipment: shipment.mark_ready(at=LATER),
    ShipmentTrigger.DISPATCH: lambda shipment: shipment.mark_in_transit(at=LATER),
    ShipmentTrigger.DELIVER: lambda shipment: shipment.mark_delivered(at=LATER),
    ShipmentTrigger.CANCEL: lambda shipment: shipment.cancel(at=LATER),
    ShipmentTrigger.UPDATE_DETAILS: lambda shipment: shipment.update_details(
        destination=destination("Elsewhere Ltd"),
        courier_code=shipment.courier_code,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        at=LATER,
    ),
}

PATHS: dict[ShipmentStatus, list[ShipmentTrigger]] = {
    ShipmentStatus.DRAFT: [],
    ShipmentStatus.READY: [ShipmentTrigger.MARK_READY],
    ShipmentStatus.IN_TRANSIT: [ShipmentTrigger.MARK_READY, ShipmentTrigger.DISPATCH],
    ShipmentStatus.DELIVERED: [ShipmentTrigger.MARK_READY, ShipmentTrigger.DELIVER],
    ShipmentStatus.CANCELLED: [ShipmentTrigger.CANCEL],
}


def shipment_in(status: ShipmentStatus) -> Shipment:
    _, shipment = draft(new_fulfillment(3, 1), ("fli_1", 2), ("fli_2", 1))
    for trigger in PATHS[status]:
        shipment, _ = COMMANDS[trigger](shipment)
    assert shipment.status is status
    return shipment


def _item(fulfillment_item_id: str = "fli_1", quantity: int = 1) -> ShipmentItem:
    return ShipmentItem(
        id=f"shi_{fulfillment_item_id}",
        fulfillment_item_id=fulfillment_item_id,
        order_item_id="oit_1",
        product_id="prd_1",
        quantity=quantity,
    )


def _draft(**overrides: object) -> tuple[Shipment, list[DomainEvent]]:
    arguments: dict[str, object] = {
        "shipment_id": "shp_1",
        "fulfillment_order_id": "ful_1",
        "order_id": "ord_1",
        "company_id": "cmp_1",
        "items": [_item()],
        "destination": destination(),
        "at": START,
    }
    arguments.update(overrides)
    return Shipment.draft(**arguments)  # type: ignore[arg-type]


# -- drafting ---------------------------------------------------------------------------------


def test_draft_emits_shipment_drafted_with_destination_and_items() -> None:
    """shipment.drafted carries the references, the destination snapshot and the items."""
    shipment, events = _draft(courier_code=COURIER, tracking_number="TRK1", tracking_url="u")
    assert shipment.status is ShipmentStatus.DRAFT
    payload = dict(events[0].payload)
    assert events[0].type == "shipment.drafted"
    assert payload["destination"] == destination().to_payload()
    assert payload["items"] == [
        {
            "shipment_item_id": "shi_fli_1",
            "fulfillment_item_id": "fli_1",
            "order_item_id": "oit_1",
            "product_id": "prd_1",
            "quantity": 1,
            "automation_scenario": None,
        }
    ]
    assert (payload["courier_code"], payload["tracking_number"]) == (COURIER, "TRK1")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [_item(), _item()]}, "items"),
        ({"tracking_number": "TRK1"}, "courier_code"),
        ({"courier_code": COURIER, "tracking_url": "https://x"}, "tracking_number"),
        ({"courier_code": "Not A Code"}, "courier_code"),
        ({"courier_code": COURIER, "tracking_number": "TRK 1"}, "tracking_number"),
        ({"courier_code": COURIER, "tracking_number": "T" * 65}, "tracking_number"),
        ({"at": datetime(2026, 1, 1)}, "at"),
    ],
)
def test_draft_refuses_inconsistent_details(overrides: dict[str, object], field: str) -> None:
    """No items, a repeated item, a number without courier or url without number, a bad
    courier code or tracking number and a naive time are refused."""
    with pytest.raises(ValidationError) as caught:
        _draft(**overrides)
    assert caught.value.details["field"] == field


@pytest.mark.parametrize("quantity", [0, -3])
def test_shipment_items_need_a_positive_quantity(quantity: int) -> None:
    """A shipment item carries at least one unit."""
    with pytest.raises(ValidationError) as caught:
        _item(quantity=quantity)
    assert caught.value.details["field"] == "quantity"


def test_destination_is_cleaned_like_a_company_address() -> None:
    """Blanks collapse, the country and postal code are upper-cased, blank optionals vanish."""
    address = AddressSnapshot(
        name="  Acme   Sensors ",
        lines=["1 Main St", "  "],
        city=" Ottawa ",
        region=" ",
        postal_code="k1a 0b1",
        country="ca",
    )
    assert address == AddressSnapshot(
        name="Acme Sensors",
        lines=("1 Main St",),
        city="Ottawa",
        postal_code="K1A 0B1",
        country="CA",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"country": "XX"}, "country"), ({"lines": []}, "lines"), ({"city": " "}, "city")],
)
def test_destination_refuses_bad_addresses(overrides: dict[str, object], field: str) -> None:
    """An unknown country, no street line or an empty city is refused."""
    arguments: dict[str, object] = {
        "name": "Acme",
        "lines": ["1 Main St"],
        "city": "Ottawa",
        "country": "CA",
    }
    arguments.update(overrides)
    with pytest.raises(ValidationError) as caught:
        AddressSnapshot(**arguments)  # type: ignore[arg-type]
    assert caught.value.details["field"] == field


# -- the machine ------------------------------------------------------------------------------


def test_mark_ready_then_in_transit_records_times_and_events() -> None:
    """Each forward step stamps its time and emits its event."""
    shipment, ready_events = shipment_in(ShipmentStatus.DRAFT).mark_ready(at=START)
    shipment, transit_events = shipment.mark_in_transit(at=LATER)
    assert (shipment.ready_at, shipment.in_transit_at) == (START, LATER)
    assert [event.type for event in ready_events + transit_events] == [
        "shipment.ready",
        "shipment.in_transit",
    ]
    assert transit_events[0].payload["in_transit_at"] == LATER.isoformat()


def test_delivered_payload_has_exactly_the_agreed_shape() -> None:
    """shipment.delivered carries the references, delivered_at and the items, nothing else."""
    shipment, events = shipment_in(ShipmentStatus.IN_TRANSIT).mark_delivered(at=LATER)
    assert shipment.delivered_at == LATER
    assert events[0].type == "shipment.delivered"
    assert events[0].payload == {
        "shipment_id": "shp_1",
        "fulfillment_order_id": "ful_1",
        "order_id": "ord_1",
        "company_id": "cmp_1",
        "delivered_at": LATER.isoformat(),
        "items": [
            {
                "shipment_item_id": "shp_1_item_0",
                "fulfillment_item_id": "fli_1",
                "order_item_id": "oit_1",
                "product_id": "prd_1",
                "quantity": 2,
                "automation_scenario": "sensor_vendor_first_time",
            },
            {
                "shipment_item_id": "shp_1_item_1",
                "fulfillment_item_id": "fli_2",
                "order_item_id": "oit_2",
                "product_id": "prd_2",
                "quantity": 1,
                "automation_scenario": None,
            },
        ],
    }


def test_cancel_keeps_a_cleaned_reason_and_lists_the_released_items() -> None:
    """shipment.cancelled carries the reason and the items whose units are released."""
    shipment, events = shipment_in(ShipmentStatus.READY).cancel(at=LATER, reason="  box   damaged ")
    assert shipment.cancellation_reason == "box damaged"
    assert shipment.cancelled_at == LATER
    assert events[0].payload["reason"] == "box damaged"
    assert len(events[0].payload["items"]) == 2  # type: ignore[arg-type]


REFUSED = [
    (status, trigger)
    for status in ShipmentStatus
    for trigger in COMMANDS
    if not SHIPMENT_MACHINE.can(status, trigger)
]


@pytest.mark.parametrize(("status", "trigger"), REFUSED)
def test_commands_outside_the_table_are_refused_and_change_nothing(
    status: ShipmentStatus, trigger: ShipmentTrigger
) -> None:
    """Every (status, command) pair the table lacks raises IllegalTransition; the shipment
    is left exactly as it was."""
    shipment = shipment_in(status)
    before = attrs.evolve(shipment)
    with pytest.raises(IllegalTransition) as caught:
        COMMANDS[trigger](shipment)
    assert caught.value.details == {"machine": "shipment", "state": status, "trigger": trigger}
    assert shipment == before


def test_delivered_and_cancelled_are_terminal() -> None:
    """No transition leaves delivered or cancelled."""
    assert SHIPMENT_MACHINE.terminal == {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED}
    for status in SHIPMENT_MACHINE.terminal:
        assert SHIPMENT_MACHINE.triggers_from(status) == []


# -- editing details --------------------------------------------------------------------------


def test_update_details_reports_what_changed() -> None:
    """A new tracking number emits shipment.updated naming the changed fields."""
    shipment = shipment_in(ShipmentStatus.READY)
    updated, events = shipment.update_details(
        destination=shipment.destination,
        courier_code=COURIER,
        tracking_number="TRK0002",
        tracking_url="https://tracking/TRK0002",
        at=LATER,
    )
    assert updated.tracking_number == "TRK0002"
    assert events[0].type == "shipment.updated"
    assert events[0].payload["changed"] == ["tracking_number", "tracking_url"]


def test_update_details_without_a_change_emits_nothing() -> None:
    """Giving the same details back changes nothing."""
    shipment = shipment_in(ShipmentStatus.DRAFT)
    same, events = shipment.update_details(
        destination=destination(),
        courier_code=shipment.courier_code,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        at=LATER,
    )
    assert same == shipment
    assert events == []


def test_update_details_refuses_a_tracking_number_without_courier() -> None:
    """A tracking number alone is refused and the shipment is unchanged."""
    shipment = shipment_in(ShipmentStatus.DRAFT)
    with pytest.raises(ValidationError):
        shipment.update_details(
            destination=shipment.destination,
            courier_code=None,
            tracking_number="TRK9",
            tracking_url=None,
            at=LATER,
        )
    assert shipment.tracking_number == "TRK0001"
