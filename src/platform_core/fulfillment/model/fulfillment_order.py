"""Fulfillment orders: what must be shipped for one order, and the allocation guardrails."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from platform_core.customers.cleaning import clean_optional_text
from platform_core.fulfillment.model.address import AddressSnapshot
from platform_core.fulfillment.model.events import (
    FULFILLMENT_ORDER,
    FulfillmentEvent,
    fulfillment_event,
)
from platform_core.fulfillment.model.fields import instant, member_of, optional_instant
from platform_core.fulfillment.model.machines import (
    FULFILLMENT_MACHINE,
    OPEN_SHIPMENT_STATUSES,
    FulfillmentStatus,
    FulfillmentTrigger,
    ShipmentStatus,
)
from platform_core.fulfillment.model.shipment import Shipment, ShipmentItem
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import id_field, non_empty_text, non_negative_int, positive_int
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.time import require_aware


class FulfillmentOrigin(StrEnum):
    """Why a fulfillment order exists: its order was paid, or Ops created it by hand."""

    PAID_ORDER = "paid_order"
    MANUAL = "manual"


@attrs.frozen(kw_only=True)
class FulfillmentItem:
    """One order item to ship. `quantity_allocated` counts its units on non-cancelled
    shipments; it never exceeds `quantity_ordered`."""

    id: str = attrs.field(validator=id_field)
    order_item_id: str = attrs.field(validator=id_field)
    product_id: str = attrs.field(validator=id_field)
    description: str = attrs.field(validator=non_empty_text)
    quantity_ordered: int = attrs.field(validator=positive_int)
    quantity_allocated: int = attrs.field(default=0, validator=non_negative_int)
    automation_scenario: AutomationScenario | None = attrs.field(
        default=None, validator=member_of(AutomationScenario, optional=True)
    )

    def __attrs_post_init__(self) -> None:
        if self.quantity_allocated > self.quantity_ordered:
            raise ValidationError(
                "more units allocated than ordered",
                {"field": "quantity_allocated", "fulfillment_item_id": self.id},
            )

    @property
    def quantity_remaining(self) -> int:
        return self.quantity_ordered - self.quantity_allocated

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "fulfillment_item_id": self.id,
            "order_item_id": self.order_item_id,
            "product_id": self.product_id,
            "description": self.description,
            "quantity_ordered": self.quantity_ordered,
            "automation_scenario": self.automation_scenario and self.automation_scenario.value,
        }


@attrs.frozen
class Allocation:
    """A request to put `quantity` units of one fulfillment item on a new shipment.

    Checked by `FulfillmentOrder.allocate`, which can name the item and what remains of it.
    """

    fulfillment_item_id: str
    quantity: int


def _item_tuple(items: Iterable[FulfillmentItem]) -> tuple[FulfillmentItem, ...]:
    return tuple(items)


def _fulfillment_items(_: Any, __: Any, items: tuple[FulfillmentItem, ...]) -> None:
    if not items:
        raise ValidationError("a fulfillment order needs at least one item", {"field": "items"})
    for key in ("id", "order_item_id"):
        values = [getattr(item, key) for item in items]
        if len(set(values)) != len(values):
            raise ValidationError(f"items repeat an {key}", {"field": f"items.{key}"})


@attrs.frozen(kw_only=True)
class FulfillmentOrder:
    """Everything one order needs shipped; at most one per order.

    Its status follows its shipments (see FULFILLMENT_MACHINE): ready_to_prepare with no
    shipment, awaiting_shipment once one is drafted, in_transit once one has left, completed
    when every unit is delivered and automation has settled. It can be cancelled while
    nothing has left. Shipments are made and cancelled through it, so the units they hold
    and the order's allocations change together.
    """

    id: str = attrs.field(validator=id_field)
    order_id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    origin: FulfillmentOrigin = attrs.field(validator=member_of(FulfillmentOrigin))
    status: FulfillmentStatus = attrs.field(validator=member_of(FulfillmentStatus))
    items: tuple[FulfillmentItem, ...] = attrs.field(
        converter=_item_tuple, validator=_fulfillment_items
    )
    created_at: datetime = attrs.field(validator=instant)
    completed_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    cancelled_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    cancellation_reason: str | None = None
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        fulfillment_order_id: str,
        order_id: str,
        company_id: str,
        items: Sequence[FulfillmentItem],
        origin: FulfillmentOrigin = FulfillmentOrigin.PAID_ORDER,
        at: datetime,
    ) -> tuple[FulfillmentOrder, list[DomainEvent]]:
        """A new fulfillment order with nothing allocated yet."""
        if any(item.quantity_allocated for item in items):
            raise ValidationError(
                "a new fulfillment order has nothing allocated",
                {"field": "items.quantity_allocated"},
            )
        fulfillment = cls(
            id=fulfillment_order_id,
            order_id=order_id,
            company_id=company_id,
            origin=origin,
            status=FULFILLMENT_MACHINE.initial,
            items=items,
            created_at=require_aware(at, "at"),
        )
        payload: dict[str, JsonValue] = {
            **fulfillment._reference(),
            "origin": fulfillment.origin.value,
            "status": fulfillment.status.value,
            "items": [item.to_payload() for item in fulfillment.items],
            "created_at": at.isoformat(),
        }
        return fulfillment, [fulfillment._event(FulfillmentEvent.FULFILLMENT_CREATED, at, payload)]

    @property
    def quantity_allocated(self) -> int:
        """Units on non-cancelled shipments, over all items."""
        return sum(item.quantity_allocated for item in self.items)

    def item(self, fulfillment_item_id: str) -> FulfillmentItem:
        for item in self.items:
            if item.id == fulfillment_item_id:
                return item
        raise ValidationError(
            f"fulfillment order {self.id} has no item {fulfillment_item_id}",
            {"field": "items.fulfillment_item_id", "fulfillment_item_id": fulfillment_item_id},
        )

    def allocate(
        self, allocations: Sequence[Allocation], *, at: datetime
    ) -> tuple[FulfillmentOrder, list[DomainEvent]]:
        """Take units for a new shipment.

        Rules: only while the order is open (not completed or cancelled); each allocation
        names a known item, once, with a positive quantity; allocated plus requested never
        exceeds ordered. The first shipment moves the order to awaiting_shipment.
        """
        FULFILLMENT_MACHINE.next_state(self.status, FulfillmentTrigger.SHIPMENT_DRAFTED)
        requested = self._checked_request(allocations)
        items = tuple(
            attrs.evolve(
                item, quantity_allocated=item.quantity_allocated + requested.get(item.id, 0)
            )
            for item in self.items
        )
        return self._move(FulfillmentTrigger.SHIPMENT_DRAFTED, at, items=items)

    def draft_shipment(
        self,
        *,
        shipment_id: str,
        item_ids: Sequence[str],
        allocations: Sequence[Allocation],
        destination: AddressSnapshot,
        courier_code: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        at: datetime,
    ) -> tuple[FulfillmentOrder, Shipment, list[DomainEvent]]:
        """Allocate units and draft the shipment that carries them.

        `item_ids` holds one new shipment item id per allocation, in the same order.
        """
        if len(item_ids) != len(allocations):
            raise ValidationError("one item id per allocation is needed", {"field": "item_ids"})
        fulfillment, moved = self.allocate(allocations, at=at)
        shipment, drafted = Shipment.draft(
            shipment_id=shipment_id,
            fulfillment_order_id=self.id,
            order_id=self.order_id,
            company_id=self.company_id,
            items=[
                self._shipment_item(item_id, allocation)
                for item_id, allocation in zip(item_ids, allocations, strict=True)
            ],
            destination=destination,
            courier_code=courier_code,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            at=at,
        )
        return fulfillment, shipment, drafted + moved

    def cancel_shipment(
        self, shipment: Shipment, *, at: datetime, reason: str | None = None
    ) -> tuple[FulfillmentOrder, Shipment, list[DomainEvent]]:
        """Cancel a shipment that has not left and release its units.

        When no shipment is left holding units, the order is ready_to_prepare again.
        """
        self._check_owns([shipment])
        shipment, cancelled = shipment.cancel(at=at, reason=reason)
        items = self._released([shipment])
        left = sum(item.quantity_allocated for item in items)
        trigger = (
            FulfillmentTrigger.SHIPMENT_CANCELLED
            if left
            else FulfillmentTrigger.ALL_SHIPMENTS_CANCELLED
        )
        fulfillment, moved = self._move(trigger, at, items=items)
        return fulfillment, shipment, cancelled + moved

    def note_shipment_in_transit(
        self, *, at: datetime
    ) -> tuple[FulfillmentOrder, list[DomainEvent]]:
        """One of its shipments has left (in transit, or delivered straight away)."""
        return self._move(FulfillmentTrigger.SHIPMENT_IN_TRANSIT, at)

    def completion_blockers(
        self, shipments: Sequence[Shipment], *, automation_settled: bool
    ) -> dict[str, JsonValue]:
        """What still stands between this order and completion; empty when nothing does.

        `shipments` are all of its shipments. Every ordered unit must be on a delivered
        shipment (units of cancelled shipments re-allocated to delivered ones), no shipment
        may be open or travelling, and automation must have settled.
        """
        self._check_owns(shipments)
        delivered: Counter[str] = Counter()
        for shipment in shipments:
            if shipment.status is ShipmentStatus.DELIVERED:
                delivered.update(shipment.quantities)
        undelivered: list[JsonValue] = [
            {
                "fulfillment_item_id": item.id,
                "quantity_ordered": item.quantity_ordered,
                "quantity_delivered": delivered[item.id],
            }
            for item in self.items
            if delivered[item.id] < item.quantity_ordered
        ]
        unfinished = sorted(
            shipment.id
            for shipment in shipments
            if shipment.status not in {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED}
        )
        blockers: dict[str, JsonValue] = {}
        if undelivered:
            blockers["undelivered_items"] = undelivered
        if unfinished:
            blockers["unfinished_shipments"] = [*unfinished]
        if not automation_settled:
            blockers["automation_pending"] = True
        return blockers

    def complete(
        self, shipments: Sequence[Shipment], *, automation_settled: bool, at: datetime
    ) -> tuple[FulfillmentOrder, list[DomainEvent]]:
        """Complete the order once everything is delivered and automation has settled.

        Refused with ConflictError whose details list what is missing
        (`completion_blockers`); `automation_settled` is the caller's verdict on every
        automation step of the order (succeeded, or its fallback handled).
        """
        FULFILLMENT_MACHINE.next_state(self.status, FulfillmentTrigger.COMPLETE)
        blockers = self.completion_blockers(shipments, automation_settled=automation_settled)
        if blockers:
            raise ConflictError(
                f"fulfillment order {self.id} cannot be completed yet",
                {"fulfillment_order_id": self.id, **blockers},
            )
        fulfillment, events = self._move(FulfillmentTrigger.COMPLETE, at, completed_at=at)
        payload = {**fulfillment._reference(), "completed_at": at.isoformat()}
        events.append(fulfillment._event(FulfillmentEvent.FULFILLMENT_COMPLETED, at, payload))
        return fulfillment, events

    def cancel(
        self, shipments: Sequence[Shipment], *, at: datetime, reason: str | None = None
    ) -> tuple[FulfillmentOrder, list[Shipment], list[DomainEvent]]:
        """Cancel the order while nothing has left, with every shipment still open.

        `shipments` are all of its shipments; the open ones are cancelled (and returned) and
        their units released. A shipment missing from the list would keep units allocated,
        so the cancellation is refused.
        """
        FULFILLMENT_MACHINE.next_state(self.status, FulfillmentTrigger.CANCEL)
        self._check_owns(shipments)
        cancelled: list[Shipment] = []
        events: list[DomainEvent] = []
        for shipment in shipments:
            if shipment.status in OPEN_SHIPMENT_STATUSES:
                shipment, shipment_events = shipment.cancel(at=at, reason=reason)
                cancelled.append(shipment)
                events += shipment_events
        items = self._released(cancelled)
        still_held = [item.id for item in items if item.quantity_allocated]
        if still_held:
            raise ConflictError(
                "some allocated units are on shipments that were not given",
                {"fulfillment_order_id": self.id, "fulfillment_item_ids": still_held},
            )
        reason = clean_optional_text(reason, "reason")
        fulfillment, moved = self._move(
            FulfillmentTrigger.CANCEL,
            at,
            reason=reason,
            items=items,
            cancelled_at=at,
            cancellation_reason=reason,
        )
        return fulfillment, cancelled, events + moved

    def _checked_request(self, allocations: Sequence[Allocation]) -> dict[str, int]:
        if not allocations:
            raise ValidationError("a shipment needs at least one item", {"field": "items"})
        requested: dict[str, int] = {}
        for allocation in allocations:
            item = self.item(allocation.fulfillment_item_id)
            details: dict[str, Any] = {"field": "items", "fulfillment_item_id": item.id}
            if item.id in requested:
                raise ValidationError(f"item {item.id} is listed twice", details)
            quantity = allocation.quantity
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
                details.update(field="items.quantity", value=repr(quantity))
                raise ValidationError(f"quantity of item {item.id} must be positive", details)
            if quantity > item.quantity_remaining:
                details.update(requested=quantity, remaining=item.quantity_remaining)
                raise ValidationError(
                    f"item {item.id} has only {item.quantity_remaining} unit(s) left to ship, "
                    f"{quantity} requested",
                    details,
                )
            requested[item.id] = quantity
        return requested

    def _shipment_item(self, item_id: str, allocation: Allocation) -> ShipmentItem:
        item = self.item(allocation.fulfillment_item_id)
        return ShipmentItem(
            id=item_id,
            fulfillment_item_id=item.id,
            order_item_id=item.order_item_id,
            product_id=item.product_id,
            quantity=allocation.quantity,
            automation_scenario=item.automation_scenario,
        )

    def _released(self, shipments: Sequence[Shipment]) -> tuple[FulfillmentItem, ...]:
        released: Counter[str] = Counter()
        for shipment in shipments:
            released.update(shipment.quantities)
        return tuple(
            attrs.evolve(item, quantity_allocated=item.quantity_allocated - released[item.id])
            for item in self.items
        )

    def _check_owns(self, shipments: Sequence[Shipment]) -> None:
        for shipment in shipments:
            if shipment.fulfillment_order_id != self.id:
                raise ValidationError(
                    f"shipment {shipment.id} belongs to another fulfillment order",
                    {"field": "shipments", "shipment_id": shipment.id},
                )

    def _move(
        self,
        trigger: FulfillmentTrigger,
        at: datetime,
        *,
        reason: str | None = None,
        **changes: Any,
    ) -> tuple[FulfillmentOrder, list[DomainEvent]]:
        require_aware(at, "at")
        status = FULFILLMENT_MACHINE.next_state(self.status, trigger)
        fulfillment = attrs.evolve(self, status=status, **changes)
        if status is self.status:
            return fulfillment, []
        payload = {
            **fulfillment._reference(),
            "from_status": self.status.value,
            "to_status": status.value,
            "reason": reason,
            "changed_at": at.isoformat(),
        }
        return fulfillment, [
            fulfillment._event(FulfillmentEvent.FULFILLMENT_STATUS_CHANGED, at, payload)
        ]

    def _reference(self) -> dict[str, JsonValue]:
        return {
            "fulfillment_order_id": self.id,
            "order_id": self.order_id,
            "company_id": self.company_id,
        }

    def _event(
        self, kind: FulfillmentEvent, at: datetime, payload: dict[str, JsonValue]
    ) -> DomainEvent:
        return fulfillment_event(kind, FULFILLMENT_ORDER, self.id, at, payload)
