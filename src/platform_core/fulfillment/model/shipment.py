"""Shipments: units of fulfillment items sent to one destination, and their courier tracking."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import Any

import attrs

from platform_core.customers.cleaning import clean_optional_text
from platform_core.fulfillment.model.address import AddressSnapshot
from platform_core.fulfillment.model.events import SHIPMENT, FulfillmentEvent, fulfillment_event
from platform_core.fulfillment.model.fields import instant, member_of, optional_instant
from platform_core.fulfillment.model.machines import (
    SHIPMENT_MACHINE,
    ShipmentStatus,
    ShipmentTrigger,
)
from platform_core.fulfillment.model.tracking import (
    ShipmentTrackingEvent,
    TrackingEvent,
    TrackingStatus,
    check_courier_code,
    check_tracking_number,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import id_field, positive_int
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.time import require_aware


@attrs.frozen(kw_only=True)
class ShipmentItem:
    """Units of one fulfillment item travelling on a shipment."""

    id: str = attrs.field(validator=id_field)
    fulfillment_item_id: str = attrs.field(validator=id_field)
    order_item_id: str = attrs.field(validator=id_field)
    product_id: str = attrs.field(validator=id_field)
    quantity: int = attrs.field(validator=positive_int)
    automation_scenario: AutomationScenario | None = attrs.field(
        default=None, validator=member_of(AutomationScenario, optional=True)
    )

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "shipment_item_id": self.id,
            "fulfillment_item_id": self.fulfillment_item_id,
            "order_item_id": self.order_item_id,
            "product_id": self.product_id,
            "quantity": self.quantity,
            "automation_scenario": self.automation_scenario and self.automation_scenario.value,
        }


def _shipment_items(_: Any, __: attrs.Attribute[Any], items: tuple[ShipmentItem, ...]) -> None:
    if not items:
        raise ValidationError("a shipment needs at least one item", {"field": "items"})
    item_ids = [item.fulfillment_item_id for item in items]
    if len(set(item_ids)) != len(item_ids):
        raise ValidationError(
            "a fulfillment item appears at most once per shipment", {"field": "items"}
        )


def _item_tuple(items: Iterable[ShipmentItem]) -> tuple[ShipmentItem, ...]:
    return tuple(items)


def _optional_courier_code(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_courier_code(value, attribute.name)


def _optional_tracking_number(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_tracking_number(value, attribute.name)


# Which courier statuses push a shipment forward. Whether the push happens is the table's
# call: a delivered shipment has no `dispatch` move, so a late in-transit scan moves nothing.
_TRACKING_TRIGGERS: Mapping[TrackingStatus, ShipmentTrigger] = {
    TrackingStatus.IN_TRANSIT: ShipmentTrigger.DISPATCH,
    TrackingStatus.OUT_FOR_DELIVERY: ShipmentTrigger.DISPATCH,
    TrackingStatus.DELIVERED: ShipmentTrigger.DELIVER,
}


@attrs.frozen
class TrackingUpdate:
    """What recording one courier event did: the shipment afterwards, the new tracking row
    (None when the event had been recorded before) and the domain events to record."""

    shipment: Shipment
    record: ShipmentTrackingEvent | None
    events: tuple[DomainEvent, ...] = ()

    @property
    def is_duplicate(self) -> bool:
        return self.record is None


@attrs.frozen(kw_only=True)
class Shipment:
    """Units of one fulfillment order on their way to one destination.

    Draft and ready shipments can be edited and cancelled; once in transit only courier
    events and delivery move them, and only forward. `last_tracking_status` is what the
    courier said most recently (by event time); `returned_at` flags a return scan without
    moving the status back.
    """

    id: str = attrs.field(validator=id_field)
    fulfillment_order_id: str = attrs.field(validator=id_field)
    order_id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    status: ShipmentStatus = attrs.field(validator=member_of(ShipmentStatus))
    destination: AddressSnapshot
    items: tuple[ShipmentItem, ...] = attrs.field(converter=_item_tuple, validator=_shipment_items)
    created_at: datetime = attrs.field(validator=instant)
    courier_code: str | None = attrs.field(default=None, validator=_optional_courier_code)
    tracking_number: str | None = attrs.field(default=None, validator=_optional_tracking_number)
    tracking_url: str | None = None
    ready_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    in_transit_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    delivered_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    cancelled_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    cancellation_reason: str | None = None
    returned_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    last_tracking_status: TrackingStatus | None = attrs.field(
        default=None, validator=member_of(TrackingStatus, optional=True)
    )
    last_tracking_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if self.tracking_number is not None and self.courier_code is None:
            raise ValidationError(
                "a tracking number needs the courier that issued it", {"field": "courier_code"}
            )
        if self.tracking_url is not None and self.tracking_number is None:
            raise ValidationError(
                "a tracking url needs a tracking number", {"field": "tracking_number"}
            )

    @classmethod
    def draft(
        cls,
        *,
        shipment_id: str,
        fulfillment_order_id: str,
        order_id: str,
        company_id: str,
        items: Sequence[ShipmentItem],
        destination: AddressSnapshot,
        courier_code: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        at: datetime,
    ) -> tuple[Shipment, list[DomainEvent]]:
        """A new draft shipment. Allocating its units is the fulfillment order's job
        (`FulfillmentOrder.draft_shipment`), which is the way to make one."""
        shipment = cls(
            id=shipment_id,
            fulfillment_order_id=fulfillment_order_id,
            order_id=order_id,
            company_id=company_id,
            status=SHIPMENT_MACHINE.initial,
            destination=destination,
            items=items,
            created_at=require_aware(at, "at"),
            courier_code=courier_code,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
        )
        payload = {
            **shipment._reference(),
            **shipment._details(),
            "items": shipment._items_payload(),
            "created_at": at.isoformat(),
        }
        return shipment, [shipment._event(FulfillmentEvent.SHIPMENT_DRAFTED, at, payload)]

    @property
    def quantities(self) -> dict[str, int]:
        """Units on this shipment per fulfillment item id."""
        return {item.fulfillment_item_id: item.quantity for item in self.items}

    def update_details(
        self,
        *,
        destination: AddressSnapshot,
        courier_code: str | None,
        tracking_number: str | None,
        tracking_url: str | None,
        at: datetime,
    ) -> tuple[Shipment, list[DomainEvent]]:
        """Replace the destination and courier details; only before the parcel has left.

        Unchanged details change nothing and emit nothing.
        """
        status = SHIPMENT_MACHINE.next_state(self.status, ShipmentTrigger.UPDATE_DETAILS)
        require_aware(at, "at")
        shipment = attrs.evolve(
            self,
            status=status,
            destination=destination,
            courier_code=courier_code,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
        )
        before, after = self._details(), shipment._details()
        changed: list[JsonValue] = [name for name in after if after[name] != before[name]]
        if not changed:
            return self, []
        payload = {
            **shipment._reference(),
            **after,
            "changed": changed,
            "updated_at": at.isoformat(),
        }
        return shipment, [shipment._event(FulfillmentEvent.SHIPMENT_UPDATED, at, payload)]

    def mark_ready(self, *, at: datetime) -> tuple[Shipment, list[DomainEvent]]:
        """Packed and waiting for the courier."""
        status = SHIPMENT_MACHINE.next_state(self.status, ShipmentTrigger.MARK_READY)
        shipment = attrs.evolve(self, status=status, ready_at=require_aware(at, "at"))
        payload = {**shipment._reference(), **shipment._details(), "ready_at": at.isoformat()}
        return shipment, [shipment._event(FulfillmentEvent.SHIPMENT_READY, at, payload)]

    def mark_in_transit(self, *, at: datetime) -> tuple[Shipment, list[DomainEvent]]:
        """Handed to the courier (told by a person; courier scans do it themselves)."""
        return self._dispatch(when=require_aware(at, "at"), at=at)

    def mark_delivered(self, *, at: datetime) -> tuple[Shipment, list[DomainEvent]]:
        """Confirmed delivered by a person, e.g. a parcel handed over without a courier."""
        return self._deliver(when=require_aware(at, "at"), at=at)

    def cancel(
        self, *, at: datetime, reason: str | None = None
    ) -> tuple[Shipment, list[DomainEvent]]:
        """Cancel a shipment that has not left. Releasing its units is the fulfillment
        order's job (`FulfillmentOrder.cancel_shipment`)."""
        status = SHIPMENT_MACHINE.next_state(self.status, ShipmentTrigger.CANCEL)
        shipment = attrs.evolve(
            self,
            status=status,
            cancelled_at=require_aware(at, "at"),
            cancellation_reason=clean_optional_text(reason, "reason"),
        )
        payload = {
            **shipment._reference(),
            "cancelled_at": at.isoformat(),
            "reason": shipment.cancellation_reason,
            "items": shipment._items_payload(),
        }
        return shipment, [shipment._event(FulfillmentEvent.SHIPMENT_CANCELLED, at, payload)]

    def record_tracking_event(
        self,
        event: TrackingEvent,
        *,
        record_id: str,
        recorded_keys: Set[str],
        at: datetime,
    ) -> TrackingUpdate:
        """Record a courier event for this shipment's courier and tracking number.

        Rules: an event whose dedupe key is in `recorded_keys` (the keys this shipment has
        recorded) changes nothing; every new event is recorded, in any status, and emits
        shipment.event_recorded; in-transit, out-for-delivery and delivered events move the
        shipment forward where its table allows, never back; delivered is terminal.
        """
        require_aware(at, "at")
        self._check_tracks(event)
        if event.dedupe_key in recorded_keys:
            return TrackingUpdate(self, None)
        record = ShipmentTrackingEvent(
            id=record_id, shipment_id=self.id, event=event, recorded_at=at
        )
        shipment = self._with_scan(event)
        payload = {**self._reference(), "tracking_event_id": record.id, **event.to_payload()}
        events = [shipment._event(FulfillmentEvent.SHIPMENT_EVENT_RECORDED, at, payload)]
        trigger = _TRACKING_TRIGGERS.get(event.status)
        if trigger is not None and SHIPMENT_MACHINE.can(shipment.status, trigger):
            move = shipment._dispatch if trigger is ShipmentTrigger.DISPATCH else shipment._deliver
            shipment, moved = move(when=event.occurred_at, at=at)
            events += moved
        return TrackingUpdate(shipment, record, tuple(events))

    def _check_tracks(self, event: TrackingEvent) -> None:
        if (event.courier_code, event.tracking_number) != (self.courier_code, self.tracking_number):
            raise ValidationError(
                f"{event.courier_code} {event.tracking_number} does not track shipment {self.id}",
                {"field": "tracking_number", "shipment_id": self.id},
            )

    def _with_scan(self, event: TrackingEvent) -> Shipment:
        changes: dict[str, Any] = {}
        # Scans arrive out of order: the latest status is the one with the latest time.
        if self.last_tracking_at is None or event.occurred_at >= self.last_tracking_at:
            changes.update(last_tracking_status=event.status, last_tracking_at=event.occurred_at)
        if event.status is TrackingStatus.RETURNED and (
            self.returned_at is None or event.occurred_at < self.returned_at
        ):
            changes["returned_at"] = event.occurred_at
        return attrs.evolve(self, **changes)

    def _dispatch(self, *, when: datetime, at: datetime) -> tuple[Shipment, list[DomainEvent]]:
        status = SHIPMENT_MACHINE.next_state(self.status, ShipmentTrigger.DISPATCH)
        shipment = attrs.evolve(self, status=status, in_transit_at=when)
        payload = {
            **shipment._reference(),
            "courier_code": shipment.courier_code,
            "tracking_number": shipment.tracking_number,
            "in_transit_at": when.isoformat(),
        }
        return shipment, [shipment._event(FulfillmentEvent.SHIPMENT_IN_TRANSIT, at, payload)]

    def _deliver(self, *, when: datetime, at: datetime) -> tuple[Shipment, list[DomainEvent]]:
        status = SHIPMENT_MACHINE.next_state(self.status, ShipmentTrigger.DELIVER)
        shipment = attrs.evolve(self, status=status, delivered_at=when)
        # Consumers (automation) rely on exactly this shape.
        payload = {
            **shipment._reference(),
            "delivered_at": when.isoformat(),
            "items": shipment._items_payload(),
        }
        return shipment, [shipment._event(FulfillmentEvent.SHIPMENT_DELIVERED, at, payload)]

    def _reference(self) -> dict[str, JsonValue]:
        return {
            "shipment_id": self.id,
            "fulfillment_order_id": self.fulfillment_order_id,
            "order_id": self.order_id,
            "company_id": self.company_id,
        }

    def _details(self) -> dict[str, JsonValue]:
        return {
            "destination": self.destination.to_payload(),
            "courier_code": self.courier_code,
            "tracking_number": self.tracking_number,
            "tracking_url": self.tracking_url,
        }

    def _items_payload(self) -> list[JsonValue]:
        return [item.to_payload() for item in self.items]

    def _event(
        self, kind: FulfillmentEvent, at: datetime, payload: dict[str, JsonValue]
    ) -> DomainEvent:
        return fulfillment_event(kind, SHIPMENT, self.id, at, payload)
