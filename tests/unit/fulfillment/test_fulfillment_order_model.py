"""The FulfillmentOrder aggregate: creation, allocation guardrails, completion, cancellation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fulfillment_examples import START, draft, new_fulfillment

from platform_core.fulfillment.model import (
    Allocation,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentStatus,
    ShipmentStatus,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError

LATER = START + timedelta(hours=1)


def _delivered(fulfillment: FulfillmentOrder, *lines: tuple[str, int], shipment_id: str = "shp_1"):
    fulfillment, shipment = draft(
        fulfillment, *lines, shipment_id=shipment_id, tracking_number=None
    )
    shipment, _ = shipment.mark_ready(at=START)
    shipment, _ = shipment.mark_delivered(at=LATER)
    fulfillment, _ = fulfillment.note_shipment_in_transit(at=LATER)
    return fulfillment, shipment


# -- creation ---------------------------------------------------------------------------------


def test_create_starts_ready_to_prepare_with_nothing_allocated() -> None:
    """A new fulfillment order is ready_to_prepare and every item has all its units remaining."""
    fulfillment = new_fulfillment(3, 1)
    assert fulfillment.status is FulfillmentStatus.READY_TO_PREPARE
    assert [(item.quantity_allocated, item.quantity_remaining) for item in fulfillment.items] == [
        (0, 3),
        (0, 1),
    ]


def test_create_emits_fulfillment_created_with_its_items() -> None:
    """fulfillment.created carries the order reference and every item with its scenario."""
    item = new_fulfillment(2).items[0]
    _, events = FulfillmentOrder.create(
        fulfillment_order_id="ful_9", order_id="ord_9", company_id="cmp_9", items=[item], at=START
    )
    assert [event.type for event in events] == ["fulfillment.created"]
    payload = dict(events[0].payload)
    assert payload["items"] == [
        {
            "fulfillment_item_id": "fli_1",
            "order_item_id": "oit_1",
            "product_id": "prd_1",
            "description": "Sensor model 1",
            "quantity_ordered": 2,
            "automation_scenario": "sensor_vendor_first_time",
        }
    ]
    assert payload["order_id"] == "ord_9"
    assert payload["origin"] == "paid_order"
    assert events[0].source_module == "fulfillment"
    assert events[0].aggregate_type == "fulfillment_order"


def test_create_refuses_an_order_without_items() -> None:
    """A fulfillment order needs at least one item."""
    with pytest.raises(ValidationError) as caught:
        FulfillmentOrder.create(
            fulfillment_order_id="ful_1", order_id="ord_1", company_id="cmp_1", items=[], at=START
        )
    assert caught.value.details["field"] == "items"


def test_create_refuses_repeated_order_items() -> None:
    """Each order item appears once in its fulfillment order."""
    item = new_fulfillment(2).items[0]
    twin = FulfillmentItem(
        id="fli_2",
        order_item_id=item.order_item_id,
        product_id="prd_2",
        description="Twin",
        quantity_ordered=1,
    )
    with pytest.raises(ValidationError) as caught:
        FulfillmentOrder.create(
            fulfillment_order_id="ful_1",
            order_id="ord_1",
            company_id="cmp_1",
            items=[item, twin],
            at=START,
        )
    assert caught.value.details["field"] == "items.order_item_id"


def test_create_refuses_items_that_arrive_allocated() -> None:
    """A new fulfillment order cannot start with units already allocated."""
    item = FulfillmentItem(
        id="fli_1",
        order_item_id="oit_1",
        product_id="prd_1",
        description="Sensor",
        quantity_ordered=2,
        quantity_allocated=1,
    )
    with pytest.raises(ValidationError):
        FulfillmentOrder.create(
            fulfillment_order_id="ful_1",
            order_id="ord_1",
            company_id="cmp_1",
            items=[item],
            at=START,
        )


def test_create_refuses_a_naive_time() -> None:
    """Creation time must carry a time zone."""
    with pytest.raises(ValidationError) as caught:
        FulfillmentOrder.create(
            fulfillment_order_id="ful_1",
            order_id="ord_1",
            company_id="cmp_1",
            items=list(new_fulfillment(1).items),
            at=datetime(2026, 1, 1),
        )
    assert caught.value.details["field"] == "at"


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_items_need_a_positive_whole_quantity(quantity: object) -> None:
    """An ordered quantity is a positive integer (not zero, negative, a bool or a float)."""
    with pytest.raises(ValidationError) as caught:
        FulfillmentItem(
            id="fli_1",
            order_item_id="oit_1",
            product_id="prd_1",
            description="Sensor",
            quantity_ordered=quantity,  # type: ignore[arg-type]
        )
    assert caught.value.details["field"] == "quantity_ordered"


def test_items_refuse_an_unknown_scenario() -> None:
    """An automation scenario must be one of the known scenarios."""
    with pytest.raises(ValidationError) as caught:
        FulfillmentItem(
            id="fli_1",
            order_item_id="oit_1",
            product_id="prd_1",
            description="Sensor",
            quantity_ordered=1,
            automation_scenario="sensor_teleport",  # type: ignore[arg-type]
        )
    assert caught.value.details["field"] == "automation_scenario"


def test_items_never_hold_more_allocated_than_ordered() -> None:
    """quantity_allocated above quantity_ordered is refused at construction."""
    with pytest.raises(ValidationError) as caught:
        FulfillmentItem(
            id="fli_1",
            order_item_id="oit_1",
            product_id="prd_1",
            description="Sensor",
            quantity_ordered=1,
            quantity_allocated=2,
        )
    assert caught.value.details["field"] == "quantity_allocated"


# -- allocation -------------------------------------------------------------------------------


def test_allocate_takes_units_and_awaits_shipment() -> None:
    """Allocating raises quantity_allocated and moves the order to awaiting_shipment."""
    fulfillment = new_fulfillment(3, 2)
    allocated, events = fulfillment.allocate([Allocation("fli_1", 2)], at=START)
    assert allocated.item("fli_1").quantity_allocated == 2
    assert allocated.item("fli_1").quantity_remaining == 1
    assert allocated.item("fli_2").quantity_allocated == 0
    assert allocated.status is FulfillmentStatus.AWAITING_SHIPMENT
    assert [event.type for event in events] == ["fulfillment.status_changed"]
    assert events[0].payload["from_status"] == "ready_to_prepare"
    assert events[0].payload["to_status"] == "awaiting_shipment"


def test_a_second_allocation_keeps_the_status_and_emits_nothing() -> None:
    """An order already awaiting shipment stays so, without a status event."""
    fulfillment, _ = new_fulfillment(3).allocate([Allocation("fli_1", 1)], at=START)
    fulfillment, events = fulfillment.allocate([Allocation("fli_1", 2)], at=START)
    assert fulfillment.item("fli_1").quantity_remaining == 0
    assert events == []


def test_allocate_may_take_exactly_what_remains() -> None:
    """Allocating every remaining unit is allowed."""
    fulfillment, _ = new_fulfillment(4).allocate([Allocation("fli_1", 4)], at=START)
    assert fulfillment.item("fli_1").quantity_remaining == 0


@pytest.mark.parametrize(
    ("allocations", "field"),
    [
        ([], "items"),
        ([Allocation("fli_1", 0)], "items.quantity"),
        ([Allocation("fli_1", -2)], "items.quantity"),
        ([Allocation("fli_1", True)], "items.quantity"),
        ([Allocation("fli_9", 1)], "items.fulfillment_item_id"),
        ([Allocation("fli_1", 1), Allocation("fli_1", 1)], "items"),
    ],
)
def test_allocate_refuses_bad_requests(allocations: list[Allocation], field: str) -> None:
    """Empty, non-positive, unknown or repeated allocations are refused, changing nothing."""
    fulfillment = new_fulfillment(3)
    with pytest.raises(ValidationError) as caught:
        fulfillment.allocate(allocations, at=START)
    assert caught.value.details["field"] == field
    assert fulfillment == new_fulfillment(3)


def test_allocate_refuses_more_than_remains_and_says_what_remains() -> None:
    """Over-allocation names the item, the quantity requested and what remains of it."""
    fulfillment, _ = new_fulfillment(3).allocate([Allocation("fli_1", 2)], at=START)
    before = fulfillment
    with pytest.raises(ValidationError) as caught:
        fulfillment.allocate([Allocation("fli_1", 2)], at=START)
    assert caught.value.details == {
        "field": "items",
        "fulfillment_item_id": "fli_1",
        "requested": 2,
        "remaining": 1,
    }
    assert fulfillment == before


def test_allocate_is_refused_once_the_order_is_completed() -> None:
    """A completed order takes no new shipment (IllegalTransition, a conflict)."""
    fulfillment, shipment = _delivered(new_fulfillment(1), ("fli_1", 1))
    fulfillment, _ = fulfillment.complete([shipment], automation_settled=True, at=LATER)
    with pytest.raises(IllegalTransition):
        fulfillment.allocate([Allocation("fli_1", 1)], at=LATER)


# -- shipments through the order --------------------------------------------------------------


def test_draft_shipment_copies_the_items_it_allocates() -> None:
    """The drafted shipment carries the order item, product and scenario of each line."""
    fulfillment, shipment = draft(new_fulfillment(3, 2), ("fli_1", 2), ("fli_2", 1))
    assert [
        (item.fulfillment_item_id, item.order_item_id, item.product_id, item.quantity)
        for item in shipment.items
    ] == [("fli_1", "oit_1", "prd_1", 2), ("fli_2", "oit_2", "prd_2", 1)]
    assert shipment.items[0].automation_scenario == fulfillment.item("fli_1").automation_scenario
    assert (shipment.order_id, shipment.company_id) == ("ord_1", "cmp_1")
    assert shipment.status is ShipmentStatus.DRAFT
    assert fulfillment.quantity_allocated == 3


def test_draft_shipment_needs_one_item_id_per_allocation() -> None:
    """Item ids and allocations must pair up."""
    with pytest.raises(ValidationError) as caught:
        new_fulfillment(2).draft_shipment(
            shipment_id="shp_1",
            item_ids=[],
            allocations=[Allocation("fli_1", 1)],
            destination=draft(new_fulfillment(1), ("fli_1", 1))[1].destination,
            at=START,
        )
    assert caught.value.details["field"] == "item_ids"


def test_cancelling_the_last_shipment_releases_units_and_goes_back_to_ready() -> None:
    """With no shipment holding units the order is ready_to_prepare again."""
    fulfillment, shipment = draft(new_fulfillment(3), ("fli_1", 2))
    fulfillment, shipment, events = fulfillment.cancel_shipment(
        shipment, at=LATER, reason="damaged"
    )
    assert shipment.status is ShipmentStatus.CANCELLED
    assert fulfillment.item("fli_1").quantity_allocated == 0
    assert fulfillment.status is FulfillmentStatus.READY_TO_PREPARE
    assert [event.type for event in events] == ["shipment.cancelled", "fulfillment.status_changed"]


def test_cancelling_one_of_two_shipments_keeps_awaiting_shipment() -> None:
    """Another shipment still holds units, so the order keeps awaiting shipment."""
    fulfillment, first = draft(new_fulfillment(3), ("fli_1", 1))
    fulfillment, _ = draft(fulfillment, ("fli_1", 2), shipment_id="shp_2", tracking_number="TRK2")
    fulfillment, _, events = fulfillment.cancel_shipment(first, at=LATER)
    assert fulfillment.item("fli_1").quantity_allocated == 2
    assert fulfillment.status is FulfillmentStatus.AWAITING_SHIPMENT
    assert [event.type for event in events] == ["shipment.cancelled"]


def test_a_shipment_in_transit_cannot_be_cancelled() -> None:
    """Cancelling a shipment that left is refused; order and shipment stay as they were."""
    fulfillment, shipment = draft(new_fulfillment(3), ("fli_1", 2))
    shipment, _ = shipment.mark_ready(at=START)
    shipment, _ = shipment.mark_in_transit(at=START)
    fulfillment, _ = fulfillment.note_shipment_in_transit(at=START)
    with pytest.raises(IllegalTransition):
        fulfillment.cancel_shipment(shipment, at=LATER)
    assert fulfillment.item("fli_1").quantity_allocated == 2
    assert shipment.status is ShipmentStatus.IN_TRANSIT


def test_an_order_refuses_shipments_of_another_order() -> None:
    """A shipment of another fulfillment order is refused."""
    _, foreign = draft(new_fulfillment(1), ("fli_1", 1))
    other, _ = FulfillmentOrder.create(
        fulfillment_order_id="ful_2",
        order_id="ord_2",
        company_id="cmp_1",
        items=list(new_fulfillment(1).items),
        at=START,
    )
    with pytest.raises(ValidationError) as caught:
        other.cancel_shipment(foreign, at=LATER)
    assert caught.value.details["shipment_id"] == foreign.id


def test_a_departed_shipment_puts_the_order_in_transit_once() -> None:
    """The first departure moves awaiting_shipment to in_transit; later ones emit nothing."""
    fulfillment, _ = draft(new_fulfillment(2), ("fli_1", 1))
    fulfillment, events = fulfillment.note_shipment_in_transit(at=LATER)
    assert fulfillment.status is FulfillmentStatus.IN_TRANSIT
    assert [event.payload["to_status"] for event in events] == ["in_transit"]
    again, events = fulfillment.note_shipment_in_transit(at=LATER)
    assert again.status is FulfillmentStatus.IN_TRANSIT
    assert events == []


def test_an_order_without_shipments_cannot_be_in_transit() -> None:
    """ready_to_prepare has no shipment that could have left."""
    with pytest.raises(IllegalTransition):
        new_fulfillment(1).note_shipment_in_transit(at=START)


def test_a_new_shipment_while_in_transit_keeps_the_order_in_transit() -> None:
    """Drafting a further shipment does not move an in-transit order back."""
    fulfillment, _ = _delivered(new_fulfillment(3), ("fli_1", 1))
    fulfillment, _ = draft(fulfillment, ("fli_1", 2), shipment_id="shp_2", tracking_number="T2")
    assert fulfillment.status is FulfillmentStatus.IN_TRANSIT


# -- completion -------------------------------------------------------------------------------


def test_complete_when_everything_is_delivered_and_automation_settled() -> None:
    """All units delivered and automation settled: completed, with both events."""
    fulfillment, shipment = _delivered(new_fulfillment(2), ("fli_1", 2))
    completed, events = fulfillment.complete([shipment], automation_settled=True, at=LATER)
    assert completed.status is FulfillmentStatus.COMPLETED
    assert completed.completed_at == LATER
    assert [event.type for event in events] == [
        "fulfillment.status_changed",
        "fulfillment.completed",
    ]
    assert events[1].payload == {
        "fulfillment_order_id": "ful_1",
        "order_id": "ord_1",
        "company_id": "cmp_1",
        "completed_at": LATER.isoformat(),
    }


def test_complete_lists_undelivered_units_and_open_shipments() -> None:
    """Units not yet delivered and shipments still travelling block completion, named."""
    fulfillment, delivered = _delivered(new_fulfillment(3), ("fli_1", 1))
    fulfillment, open_shipment = draft(fulfillment, ("fli_1", 2), shipment_id="shp_2")
    with pytest.raises(ConflictError) as caught:
        fulfillment.complete([delivered, open_shipment], automation_settled=True, at=LATER)
    assert caught.value.details == {
        "fulfillment_order_id": "ful_1",
        "undelivered_items": [
            {"fulfillment_item_id": "fli_1", "quantity_ordered": 3, "quantity_delivered": 1}
        ],
        "unfinished_shipments": ["shp_2"],
    }
    assert fulfillment.status is FulfillmentStatus.IN_TRANSIT


def test_complete_waits_for_automation() -> None:
    """Everything delivered but automation not settled: ConflictError says so."""
    fulfillment, shipment = _delivered(new_fulfillment(1), ("fli_1", 1))
    with pytest.raises(ConflictError) as caught:
        fulfillment.complete([shipment], automation_settled=False, at=LATER)
    assert caught.value.details == {"fulfillment_order_id": "ful_1", "automation_pending": True}


def test_cancelled_units_re_allocated_to_a_delivered_shipment_allow_completion() -> None:
    """A cancelled shipment does not block once its units went out on a delivered one."""
    fulfillment, cancelled = draft(new_fulfillment(2), ("fli_1", 2))
    fulfillment, cancelled, _ = fulfillment.cancel_shipment(cancelled, at=START)
    fulfillment, delivered = _delivered(fulfillment, ("fli_1", 2), shipment_id="shp_2")
    completed, _ = fulfillment.complete([cancelled, delivered], automation_settled=True, at=LATER)
    assert completed.status is FulfillmentStatus.COMPLETED


def test_complete_is_refused_before_anything_has_left() -> None:
    """An order awaiting shipment cannot complete (IllegalTransition)."""
    fulfillment, shipment = draft(new_fulfillment(1), ("fli_1", 1))
    with pytest.raises(IllegalTransition):
        fulfillment.complete([shipment], automation_settled=True, at=LATER)


# -- cancellation -----------------------------------------------------------------------------


def test_cancel_a_ready_to_prepare_order() -> None:
    """An order with no shipment can be cancelled, with its reason."""
    fulfillment, cancelled, events = new_fulfillment(2).cancel(
        [], at=LATER, reason="order refunded"
    )
    assert fulfillment.status is FulfillmentStatus.CANCELLED
    assert fulfillment.cancelled_at == LATER
    assert cancelled == []
    assert events[0].payload["reason"] == "order refunded"


def test_cancel_takes_open_shipments_with_it() -> None:
    """Draft and ready shipments are cancelled and their units released."""
    fulfillment, first = draft(new_fulfillment(3), ("fli_1", 1))
    fulfillment, second = draft(
        fulfillment, ("fli_1", 2), shipment_id="shp_2", tracking_number="T2"
    )
    second, _ = second.mark_ready(at=START)
    fulfillment, cancelled, events = fulfillment.cancel([first, second], at=LATER)
    assert [shipment.status for shipment in cancelled] == [ShipmentStatus.CANCELLED] * 2
    assert fulfillment.quantity_allocated == 0
    assert fulfillment.status is FulfillmentStatus.CANCELLED
    assert [event.type for event in events] == [
        "shipment.cancelled",
        "shipment.cancelled",
        "fulfillment.status_changed",
    ]


def test_cancel_refuses_when_a_shipment_was_left_out() -> None:
    """Units held by a shipment that was not given would stay allocated: refused."""
    fulfillment, _ = draft(new_fulfillment(3), ("fli_1", 1))
    with pytest.raises(ConflictError) as caught:
        fulfillment.cancel([], at=LATER)
    assert caught.value.details["fulfillment_item_ids"] == ["fli_1"]
    assert fulfillment.status is FulfillmentStatus.AWAITING_SHIPMENT


def test_cancel_is_refused_once_something_left() -> None:
    """An in-transit order cannot be cancelled."""
    fulfillment, shipment = _delivered(new_fulfillment(2), ("fli_1", 1))
    with pytest.raises(IllegalTransition):
        fulfillment.cancel([shipment], at=LATER)
    assert fulfillment.status is FulfillmentStatus.IN_TRANSIT
