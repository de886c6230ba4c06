"""Fulfillment: fulfillment orders (list, read, make by hand), shipments (allocate, edit, move
along their lifecycle), their courier events and their timeline.

Fulfillment orders and shipments belong to their order's company: a company-scoped key sees
and acts on only its own, and another company's answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from entrypoints.api.dependencies import Caller, Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.routes.orders import TimelineEntryView, timeline_entry_view
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, View
from entrypoints.api.security import Principal
from entrypoints.bootstrap import Dependencies
from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentOrigin,
    FulfillmentStatus,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    ShipmentTrackingEvent,
    TrackingStatus,
)
from platform_core.fulfillment.ports import FulfillmentFilter
from platform_core.fulfillment.service import (
    CancelShipment,
    CreateManualFulfillment,
    CreateShipment,
    FulfillmentLineSpec,
    MarkShipmentDelivered,
    MarkShipmentInTransit,
    MarkShipmentReady,
    UpdateShipment,
    cancel_shipment,
    create_manual_fulfillment,
    create_shipment,
    get_fulfillment,
    get_fulfillment_details,
    get_shipment,
    get_shipment_tracking,
    list_fulfillments,
    mark_shipment_delivered,
    mark_shipment_in_transit,
    mark_shipment_ready,
    update_shipment,
)
from platform_core.lifecycle.service import shipment_timeline
from platform_core.shared.errors import PermissionDenied
from platform_core.shared.scenarios import AutomationScenario

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
CourierCode = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["simulator", "usps"])
]
TrackingNumber = Annotated[str, msgspec.Meta(pattern=r"^\S{1,64}$")]
MAX_ITEMS = 500


# -- bodies ----------------------------------------------------------------------------------


class FulfillmentItemIn(Body):
    order_item_id: Identifier
    product_id: Identifier
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    quantity: Annotated[int, msgspec.Meta(ge=1)]
    automation_scenario: AutomationScenario | None = None

    def to_spec(self) -> FulfillmentLineSpec:
        return FulfillmentLineSpec(
            order_item_id=self.order_item_id,
            product_id=self.product_id,
            description=self.description,
            quantity=self.quantity,
            automation_scenario=self.automation_scenario,
        )


class FulfillmentIn(Body):
    order_id: Identifier
    company_id: Identifier
    items: Annotated[list[FulfillmentItemIn], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class AddressIn(Body):
    """Where a shipment goes; copied into the shipment, never linked."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    lines: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]],
        msgspec.Meta(min_length=1, max_length=4),
    ]
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=2, examples=["CA"])]
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    postal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None

    def to_snapshot(self) -> AddressSnapshot:
        return AddressSnapshot(
            name=self.name,
            lines=tuple(self.lines),
            city=self.city,
            region=self.region,
            postal_code=self.postal_code,
            country=self.country,
        )


class AllocationIn(Body):
    fulfillment_item_id: Identifier
    quantity: Annotated[int, msgspec.Meta(ge=1)]


AcceptUnrecognised = Annotated[
    bool,
    msgspec.Meta(
        description=(
            "Attach a tracking number in a format the courier's rules do not know (yet). "
            "Unscoped keys only: the number is otherwise refused with 400."
        )
    ),
]


class ShipmentIn(Body):
    destination: AddressIn
    items: Annotated[list[AllocationIn], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    courier_code: CourierCode | None = None
    tracking_number: TrackingNumber | None = None
    accept_unrecognised_tracking_number: AcceptUnrecognised = False


class ShipmentPatchIn(Body):
    """What to change; a field left out keeps its value."""

    destination: AddressIn | None = None
    courier_code: CourierCode | None = None
    tracking_number: TrackingNumber | None = None
    accept_unrecognised_tracking_number: AcceptUnrecognised = False


class ShipmentStatusIn(Body):
    status: Literal["ready", "in_transit", "delivered", "cancelled"]
    reason: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=500, description="For cancelled")]
        | None
    ) = None


# -- views -----------------------------------------------------------------------------------


class FulfillmentItemView(View):
    id: str
    order_item_id: str
    product_id: str
    description: str
    quantity_ordered: int
    quantity_allocated: int
    quantity_remaining: int
    automation_scenario: AutomationScenario | None


class FulfillmentView(View):
    id: str
    order_id: str
    company_id: str
    origin: FulfillmentOrigin
    status: FulfillmentStatus
    items: list[FulfillmentItemView]
    created_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    version: int


class AddressView(View):
    name: str
    lines: list[str]
    city: str
    region: str | None
    postal_code: str | None
    country: str


class ShipmentItemView(View):
    id: str
    fulfillment_item_id: str
    order_item_id: str
    product_id: str
    quantity: int
    automation_scenario: AutomationScenario | None


class ShipmentView(View):
    id: str
    fulfillment_order_id: str
    order_id: str
    company_id: str
    status: ShipmentStatus
    destination: AddressView
    items: list[ShipmentItemView]
    courier_code: str | None
    tracking_number: str | None
    tracking_url: str | None
    created_at: datetime
    ready_at: datetime | None
    in_transit_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    returned_at: datetime | None
    last_tracking_status: TrackingStatus | None
    last_tracking_at: datetime | None
    version: int


class FulfillmentDetailView(FulfillmentView):
    shipments: list[ShipmentView]


class FulfillmentPage(View):
    items: list[FulfillmentView]
    limit: int
    offset: int


class TrackingEventView(View):
    id: str
    courier_code: str
    tracking_number: str
    status: TrackingStatus
    raw_code: str
    raw_text: str
    occurred_at: datetime
    location: str | None
    exception_reason: str | None
    recorded_at: datetime


class TrackingEventsView(View):
    shipment_id: str
    items: list[TrackingEventView]


class ShipmentTimelineView(View):
    shipment_id: str
    entries: list[TimelineEntryView]


def _item_view(item: FulfillmentItem) -> FulfillmentItemView:
    return FulfillmentItemView(
        id=item.id,
        order_item_id=item.order_item_id,
        product_id=item.product_id,
        description=item.description,
        quantity_ordered=item.quantity_ordered,
        quantity_allocated=item.quantity_allocated,
        quantity_remaining=item.quantity_remaining,
        automation_scenario=item.automation_scenario,
    )


def fulfillment_view(fulfillment: FulfillmentOrder) -> FulfillmentView:
    return FulfillmentView(
        id=fulfillment.id,
        order_id=fulfillment.order_id,
        company_id=fulfillment.company_id,
        origin=fulfillment.origin,
        status=fulfillment.status,
        items=[_item_view(item) for item in fulfillment.items],
        created_at=fulfillment.created_at,
        completed_at=fulfillment.completed_at,
        cancelled_at=fulfillment.cancelled_at,
        cancellation_reason=fulfillment.cancellation_reason,
        version=fulfillment.version,
    )


def _address_view(address: AddressSnapshot) -> AddressView:
    return AddressView(
        name=address.name,
        lines=list(address.lines),
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
    )


def _shipment_item_view(item: ShipmentItem) -> ShipmentItemView:
    return ShipmentItemView(
        id=item.id,
        fulfillment_item_id=item.fulfillment_item_id,
        order_item_id=item.order_item_id,
        product_id=item.product_id,
        quantity=item.quantity,
        automation_scenario=item.automation_scenario,
    )


def shipment_view(shipment: Shipment) -> ShipmentView:
    return ShipmentView(
        id=shipment.id,
        fulfillment_order_id=shipment.fulfillment_order_id,
        order_id=shipment.order_id,
        company_id=shipment.company_id,
        status=shipment.status,
        destination=_address_view(shipment.destination),
        items=[_shipment_item_view(item) for item in shipment.items],
        courier_code=shipment.courier_code,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        created_at=shipment.created_at,
        ready_at=shipment.ready_at,
        in_transit_at=shipment.in_transit_at,
        delivered_at=shipment.delivered_at,
        cancelled_at=shipment.cancelled_at,
        cancellation_reason=shipment.cancellation_reason,
        returned_at=shipment.returned_at,
        last_tracking_status=shipment.last_tracking_status,
        last_tracking_at=shipment.last_tracking_at,
        version=shipment.version,
    )


def tracking_event_view(recorded: ShipmentTrackingEvent) -> TrackingEventView:
    event = recorded.event
    return TrackingEventView(
        id=recorded.id,
        courier_code=event.courier_code,
        tracking_number=event.tracking_number,
        status=event.status,
        raw_code=event.raw_code,
        raw_text=event.raw_text,
        occurred_at=event.occurred_at,
        location=event.location,
        exception_reason=event.exception_reason,
        recorded_at=recorded.recorded_at,
    )


async def visible_shipment(deps: Dependencies, principal: Principal, shipment_id: str) -> Shipment:
    """The shipment, or 'not found' when it belongs to another company than a scoped key's."""
    shipment = await get_shipment(deps, shipment_id)
    principal.require_company(shipment.company_id, "shipment", shipment_id)
    return shipment


async def _check_shipment_visible(
    deps: Dependencies, principal: Principal, shipment_id: str
) -> None:
    # Only a scoped key needs the extra read; for the others the use case itself answers 404.
    if principal.scoped:
        await visible_shipment(deps, principal, shipment_id)


async def _change_status(
    deps: Dependencies, shipment_id: str, data: ShipmentStatusIn, request_id: str
) -> Shipment:
    """The use case that moves a shipment to the requested status."""
    match data.status:
        case "ready":
            return await mark_shipment_ready(deps, MarkShipmentReady(shipment_id, request_id))
        case "in_transit":
            return await mark_shipment_in_transit(
                deps, MarkShipmentInTransit(shipment_id, request_id)
            )
        case "delivered":
            return await mark_shipment_delivered(
                deps, MarkShipmentDelivered(shipment_id, request_id)
            )
        case "cancelled":
            return await cancel_shipment(deps, CancelShipment(shipment_id, data.reason, request_id))


# -- routes ----------------------------------------------------------------------------------


class FulfillmentController(Controller):
    path = "/v1/fulfillments"
    tags = ["Fulfillment"]
    opt = {"family": "fulfillment"}

    @post(
        "/",
        summary="Create a fulfillment order by hand (e.g. an order paid outside checkout)",
        responses=ERRORS_WRITE,
    )
    async def create(
        self, data: JSONBody[FulfillmentIn], deps: Deps, principal: Caller, request_id: RequestId
    ) -> FulfillmentView:
        command = CreateManualFulfillment(
            order_id=data.order_id,
            company_id=principal.company_filter(data.company_id) or data.company_id,
            items=tuple(item.to_spec() for item in data.items),
            correlation_id=request_id,
        )
        return fulfillment_view(await create_manual_fulfillment(deps, command))

    @get(
        "/",
        summary="List fulfillment orders, newest first (order_id finds an order's own)",
        responses=ERRORS_READ,
    )
    async def list(
        self,
        deps: Deps,
        principal: Caller,
        order_id: FromQuery[str | None] = None,
        company_id: FromQuery[str | None] = None,
        status: FromQuery[FulfillmentStatus | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> FulfillmentPage:
        filters = FulfillmentFilter(
            order_id=order_id, company_id=principal.company_filter(company_id), status=status
        )
        found = await list_fulfillments(deps, filters, limit, offset)
        return FulfillmentPage(
            items=[fulfillment_view(each) for each in found], limit=limit, offset=offset
        )

    @get(
        "/{fulfillment_order_id:str}",
        summary="Get a fulfillment order with its items and shipments",
        responses=ERRORS_READ,
    )
    async def show(
        self, fulfillment_order_id: FromPath[str], deps: Deps, principal: Caller
    ) -> FulfillmentDetailView:
        details = await get_fulfillment_details(deps, fulfillment_order_id)
        fulfillment = details.fulfillment
        principal.require_company(fulfillment.company_id, "fulfillment_order", fulfillment.id)
        return FulfillmentDetailView(
            **msgspec.structs.asdict(fulfillment_view(fulfillment)),
            shipments=[shipment_view(shipment) for shipment in details.shipments],
        )

    @post(
        "/{fulfillment_order_id:str}/shipments",
        summary="Draft a shipment, allocating units of the order's items",
        responses=ERRORS_WRITE,
    )
    async def create_shipment(
        self,
        fulfillment_order_id: FromPath[str],
        data: JSONBody[ShipmentIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> ShipmentView:
        if principal.scoped:
            fulfillment = await get_fulfillment(deps, fulfillment_order_id)
            principal.require_company(
                fulfillment.company_id, "fulfillment_order", fulfillment_order_id
            )
        command = CreateShipment(
            fulfillment_order_id=fulfillment_order_id,
            destination=data.destination.to_snapshot(),
            items=tuple(Allocation(each.fulfillment_item_id, each.quantity) for each in data.items),
            courier_code=data.courier_code,
            tracking_number=data.tracking_number,
            correlation_id=request_id,
            accept_unrecognised_tracking_number=_override(
                principal, data.accept_unrecognised_tracking_number
            ),
        )
        return shipment_view(await create_shipment(deps, command))


def _override(principal: Principal, wanted: bool) -> bool:
    """Ops (an unscoped key with fulfillment writes) may vouch for an unknown format; a
    company's key may not."""
    if wanted and principal.scoped:
        raise PermissionDenied(
            "only an unscoped key may accept an unrecognised tracking number",
            {"field": "accept_unrecognised_tracking_number"},
        )
    return wanted


class ShipmentController(Controller):
    path = "/v1/shipments"
    tags = ["Fulfillment"]
    opt = {"family": "fulfillment"}

    @get("/{shipment_id:str}", summary="Get a shipment", responses=ERRORS_READ)
    async def show(self, shipment_id: FromPath[str], deps: Deps, principal: Caller) -> ShipmentView:
        return shipment_view(await visible_shipment(deps, principal, shipment_id))

    @patch(
        "/{shipment_id:str}",
        summary="Change a draft or ready shipment's destination, courier or tracking number",
        responses=ERRORS_WRITE,
    )
    async def update(
        self,
        shipment_id: FromPath[str],
        data: JSONBody[ShipmentPatchIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> ShipmentView:
        await _check_shipment_visible(deps, principal, shipment_id)
        command = UpdateShipment(
            shipment_id=shipment_id,
            destination=None if data.destination is None else data.destination.to_snapshot(),
            courier_code=data.courier_code,
            tracking_number=data.tracking_number,
            correlation_id=request_id,
            accept_unrecognised_tracking_number=_override(
                principal, data.accept_unrecognised_tracking_number
            ),
        )
        return shipment_view(await update_shipment(deps, command))

    @post(
        "/{shipment_id:str}/status",
        status_code=200,
        summary="Move a shipment: ready, in_transit, delivered (by hand) or cancelled",
        description="Only forward moves exist; a refused move answers 409 CONFLICT.",
        responses=ERRORS_WRITE,
    )
    async def change_status(
        self,
        shipment_id: FromPath[str],
        data: JSONBody[ShipmentStatusIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> ShipmentView:
        await _check_shipment_visible(deps, principal, shipment_id)
        return shipment_view(await _change_status(deps, shipment_id, data, request_id))

    @get(
        "/{shipment_id:str}/events",
        summary="The courier events recorded for a shipment, oldest first",
        responses=ERRORS_READ,
    )
    async def events(
        self, shipment_id: FromPath[str], deps: Deps, principal: Caller
    ) -> TrackingEventsView:
        tracking = await get_shipment_tracking(deps, shipment_id)
        principal.require_company(tracking.shipment.company_id, "shipment", shipment_id)
        return TrackingEventsView(
            shipment_id=shipment_id, items=[tracking_event_view(e) for e in tracking.events]
        )

    @get(
        "/{shipment_id:str}/timeline",
        summary="Everything that happened to a shipment and its automation steps",
        responses=ERRORS_READ,
    )
    async def timeline(
        self, shipment_id: FromPath[str], deps: Deps, principal: Caller
    ) -> ShipmentTimelineView:
        await _check_shipment_visible(deps, principal, shipment_id)
        entries = await shipment_timeline(deps, shipment_id)
        return ShipmentTimelineView(
            shipment_id=shipment_id, entries=[timeline_entry_view(e) for e in entries]
        )


ROUTES = [FulfillmentController, ShipmentController]
