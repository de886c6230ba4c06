"""Fulfillment routes: fulfillment orders, shipments, their status moves, courier events and
timeline, with roles and company scope.

The helpers at the top (a paid order, its fulfillment order, a shipment) are shared with the
invoice, automation and webhook route tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.customers.model import Company
from platform_core.customers.service import CreateCompany, create_company
from platform_core.fulfillment.model import FulfillmentOrder, TrackingStatus
from platform_core.orders.model import Order
from platform_core.orders.service import (
    CreateDraftOrder,
    SendCheckout,
    create_draft_order,
    get_order,
    handle_payment_notification,
    send_checkout,
)
from platform_core.pricing.model import QuoteLine
from tests.api.conftest import Keys
from tests.api.test_cross_cutting import assert_error

Client = AsyncTestClient[Litestar]
COURIER = "simulator"
DESTINATION: dict[str, Any] = {
    "name": "Northwind receiving",
    "lines": ["55 Industrial Rd"],
    "city": "Mississauga",
    "region": "ON",
    "postal_code": "L5T 2H4",
    "country": "CA",
}
# Gateways get a scenario (an automation step on delivery); the mounting kit does not.
DEFAULT_LINES = (("GW-100", 2), ("MNT-KIT", 3))


async def paid_order(
    platform: Platform, seeded: SeededCatalogue, lines: Sequence[tuple[str, int]] = DEFAULT_LINES
) -> Order:
    """An order paid by card through the mock Stripe, with its reactions (fulfillment order,
    invoice) already run."""
    deps = platform.deps
    quote = [QuoteLine(seeded.product_ids[sku], quantity) for sku, quantity in lines]
    command = CreateDraftOrder(
        seeded.company_id, seeded.billing_contact_id, seeded.billing_address_id, quote
    )
    order = await create_draft_order(deps, command)
    sent = await send_checkout(deps, SendCheckout(order.id))
    assert sent.checkout is not None
    body, headers = deps.payments.complete(sent.checkout.session_id)
    await handle_payment_notification(deps, deps.payments.parse_webhook(body, headers))
    await platform.settle()
    return await get_order(deps, order.id)


async def fulfillment_of(platform: Platform, order: Order) -> FulfillmentOrder:
    async with platform.deps.uow() as uow:
        found = await uow.fulfillment_orders.find_by_order(order.id)
    assert found is not None, "order.paid should have created the fulfillment order"
    return found


async def other_company(platform: Platform) -> Company:
    return await create_company(
        platform.deps, CreateCompany("Southwind Farms", "legacy-cmp-2002", "CAD", "CA-ON")
    )


async def draft_shipment(
    client: Client,
    fulfillment: FulfillmentOrder,
    tracking_number: str | None = "SIM000000001",
    quantities: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Draft a shipment through the API carrying `quantities` (by order item id; default all)."""
    if quantities is None:
        wanted = {item.id: item.quantity_ordered for item in fulfillment.items}
    else:
        wanted = {
            item.id: quantities[item.order_item_id]
            for item in fulfillment.items
            if item.order_item_id in quantities
        }
    body: dict[str, Any] = {
        "destination": DESTINATION,
        "items": [{"fulfillment_item_id": key, "quantity": n} for key, n in wanted.items()],
    }
    if tracking_number is not None:
        body |= {"courier_code": COURIER, "tracking_number": tracking_number}
    response = await client.post(f"/v1/fulfillments/{fulfillment.id}/shipments", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deliver_by_courier(
    platform: Platform, client: Client, clock: FixedClock, tracking_number: str
) -> dict[str, Any]:
    """The simulated courier scans the parcel in transit and delivered, and says so by webhook."""
    couriers = platform.deps.couriers
    scans = couriers.script(
        tracking_number, [TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED], start=clock.now()
    )
    clock.advance(timedelta(days=1))
    headers, body = couriers.signed_webhook(scans)
    response = await client.post(f"/v1/webhooks/couriers/{COURIER}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    await platform.settle()
    return dict(response.json())


# -- fulfillment orders ------------------------------------------------------------------------


async def test_a_paid_orders_fulfillment_shows_its_items_and_shipments(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """GET a fulfillment order: one item per order item, nothing allocated, then its shipments."""
    order = await paid_order(platform, seeded)
    fulfillment = await fulfillment_of(platform, order)
    response = await client.get(f"/v1/fulfillments/{fulfillment.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == order.id
    assert body["company_id"] == seeded.company_id
    assert body["origin"] == "paid_order"
    assert body["status"] == "ready_to_prepare"
    assert body["shipments"] == []
    quantities = {item["order_item_id"]: item for item in body["items"]}
    for order_item in order.items:
        item = quantities[order_item.id]
        assert item["quantity_ordered"] == order_item.quantity
        assert item["quantity_allocated"] == 0
        assert item["quantity_remaining"] == order_item.quantity
    shipment = await draft_shipment(client, fulfillment)
    again = (await client.get(f"/v1/fulfillments/{fulfillment.id}")).json()
    assert again["status"] == "awaiting_shipment"
    assert [s["id"] for s in again["shipments"]] == [shipment["id"]]
    assert all(item["quantity_remaining"] == 0 for item in again["items"])


async def test_an_unknown_fulfillment_order_is_not_found(client: Client) -> None:
    """An id nobody made answers 404 NOT_FOUND naming it."""
    error = assert_error(await client.get("/v1/fulfillments/ful_missing"), 404, "NOT_FOUND")
    assert error["details"]["id"] == "ful_missing"


async def test_ops_create_a_fulfillment_order_by_hand_once_per_order(
    client: Client, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A manual fulfillment order is created (201, origin manual); a second for the order is a
    conflict naming the first."""
    ops = await keys.headers(Role.OPS)
    body = {
        "order_id": "ord_paid_by_wire",
        "company_id": seeded.company_id,
        "items": [
            {
                "order_item_id": "oit_1",
                "product_id": seeded.gateway_product_id,
                "description": "Sensor gateway",
                "quantity": 4,
                "automation_scenario": "sensor_vendor_first_time",
            }
        ],
    }
    created = await client.post("/v1/fulfillments", json=body, headers=ops)
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["origin"] == "manual"
    assert made["status"] == "ready_to_prepare"
    assert made["items"][0]["quantity_ordered"] == 4
    assert made["items"][0]["automation_scenario"] == "sensor_vendor_first_time"
    second = await client.post("/v1/fulfillments", json=body, headers=ops)
    error = assert_error(second, 409, "CONFLICT")
    assert error["details"]["fulfillment_order_id"] == made["id"]


async def test_a_fulfillment_order_needs_items(client: Client, seeded: SeededCatalogue) -> None:
    """No items, or a quantity of zero, is refused naming the field."""
    empty = {"order_id": "ord_1", "company_id": seeded.company_id, "items": []}
    error = assert_error(await client.post("/v1/fulfillments", json=empty), 400, "VALIDATION")
    assert [f["field"] for f in error["details"]["fields"]] == ["items"]
    zero = {
        **empty,
        "items": [
            {"order_item_id": "oit_1", "product_id": "prd_1", "description": "x", "quantity": 0}
        ],
    }
    error = assert_error(await client.post("/v1/fulfillments", json=zero), 400, "VALIDATION")
    assert "quantity" in error["details"]["fields"][0]["field"]


async def test_support_and_readonly_keys_cannot_change_fulfillment(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Fulfillment is changed by admins and ops only; other roles may read it."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    for role in (Role.SUPPORT, Role.READONLY):
        headers = await keys.headers(role)
        refused = await client.post(
            f"/v1/fulfillments/{fulfillment.id}/shipments",
            json={"destination": DESTINATION, "items": []},
            headers=headers,
        )
        assert_error(refused, 403, "AUTHZ")
        read = await client.get(f"/v1/fulfillments/{fulfillment.id}", headers=headers)
        assert read.status_code == 200


# -- shipments ---------------------------------------------------------------------------------


async def test_a_shipment_allocates_units_and_never_more_than_ordered(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A split shipment takes part of the units; asking for more than remain is refused."""
    order = await paid_order(platform, seeded)
    fulfillment = await fulfillment_of(platform, order)
    gateway = next(i for i in order.items if i.sku == "GW-100")
    first = await draft_shipment(client, fulfillment, "SIM000000001", {gateway.id: 1})
    assert first["status"] == "draft"
    assert [item["quantity"] for item in first["items"]] == [1]
    assert first["tracking_url"].endswith("/track/SIM000000001")
    assert first["destination"]["city"] == "Mississauga"
    item_id = first["items"][0]["fulfillment_item_id"]
    too_many = await client.post(
        f"/v1/fulfillments/{fulfillment.id}/shipments",
        json={
            "destination": DESTINATION,
            "items": [{"fulfillment_item_id": item_id, "quantity": 2}],
        },
    )
    error = assert_error(too_many, 422, "VALIDATION")
    assert "items" in str(error["details"].get("field", ""))
    shown = (await client.get(f"/v1/fulfillments/{fulfillment.id}")).json()
    item = next(i for i in shown["items"] if i["id"] == item_id)
    assert (item["quantity_allocated"], item["quantity_remaining"]) == (1, 1)


async def test_a_shipment_destination_is_checked(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """An unknown country and an unknown field in the destination are refused."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    items = [{"fulfillment_item_id": fulfillment.items[0].id, "quantity": 1}]
    url = f"/v1/fulfillments/{fulfillment.id}/shipments"
    bad_country = {"destination": {**DESTINATION, "country": "XX"}, "items": items}
    error = assert_error(await client.post(url, json=bad_country), 422, "VALIDATION")
    assert error["details"]["field"] == "country"
    extra = {"destination": {**DESTINATION, "floor": 3}, "items": items}
    assert_error(await client.post(url, json=extra), 400, "VALIDATION")


async def test_a_shipment_is_edited_until_it_leaves(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """PATCH changes courier, tracking number (and its url) and destination of a draft or ready
    shipment; once in transit it is a conflict."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment, tracking_number=None)
    assert shipment["tracking_url"] is None
    url = f"/v1/shipments/{shipment['id']}"
    patched = await client.patch(
        url,
        json={
            "courier_code": COURIER,
            "tracking_number": "SIM000000777",
            "destination": {**DESTINATION, "name": "Dock 4"},
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["tracking_number"] == "SIM000000777"
    assert body["tracking_url"].endswith("/track/SIM000000777")
    assert body["destination"]["name"] == "Dock 4"
    assert body["version"] == shipment["version"] + 1
    await client.post(f"{url}/status", json={"status": "ready"})
    await client.post(f"{url}/status", json={"status": "in_transit"})
    late = await client.patch(url, json={"tracking_number": "SIM000000778"})
    assert_error(late, 409, "CONFLICT")


async def test_a_tracking_number_needs_its_courier(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A tracking number without a courier is refused: it could not be matched to scans."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment, tracking_number=None)
    refused = await client.patch(
        f"/v1/shipments/{shipment['id']}", json={"tracking_number": "SIM1"}
    )
    error = assert_error(refused, 422, "VALIDATION")
    assert error["details"]["field"] == "courier_code"


async def test_status_moves_a_shipment_forward_only(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """ready -> in_transit -> delivered by hand; moving a delivered shipment is a conflict and
    an unknown status is refused before reaching the core."""
    order = await paid_order(platform, seeded)
    fulfillment = await fulfillment_of(platform, order)
    shipment = await draft_shipment(client, fulfillment)
    url = f"/v1/shipments/{shipment['id']}/status"
    ready = await client.post(url, json={"status": "ready"})
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")
    moving = await client.post(url, json={"status": "in_transit"})
    assert moving.json()["status"] == "in_transit"
    assert moving.json()["in_transit_at"] is not None
    delivered = await client.post(url, json={"status": "delivered"})
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["delivered_at"] is not None
    error = assert_error(await client.post(url, json={"status": "ready"}), 409, "CONFLICT")
    assert error["details"]["state"] == "delivered"
    invalid = await client.post(url, json={"status": "draft"})
    error = assert_error(invalid, 400, "VALIDATION")
    assert error["details"]["fields"][0]["field"] == "status"
    shown = (await client.get(f"/v1/fulfillments/{fulfillment.id}")).json()
    assert shown["status"] in {"in_transit", "completed"}


async def test_cancelling_a_shipment_releases_its_units(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A cancelled shipment keeps its reason and gives its units back to the order."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment)
    cancelled = await client.post(
        f"/v1/shipments/{shipment['id']}/status",
        json={"status": "cancelled", "reason": "customer changed the address"},
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "customer changed the address"
    shown = (await client.get(f"/v1/fulfillments/{fulfillment.id}")).json()
    assert shown["status"] == "ready_to_prepare"
    assert all(item["quantity_allocated"] == 0 for item in shown["items"])


async def test_unknown_shipments_are_not_found(client: Client) -> None:
    """Every shipment route answers 404 for an id nobody made."""
    for response in [
        await client.get("/v1/shipments/shp_missing"),
        await client.patch("/v1/shipments/shp_missing", json={"courier_code": COURIER}),
        await client.post("/v1/shipments/shp_missing/status", json={"status": "ready"}),
        await client.get("/v1/shipments/shp_missing/events"),
        await client.get("/v1/shipments/shp_missing/timeline"),
    ]:
        error = assert_error(response, 404, "NOT_FOUND")
        assert error["details"]["id"] == "shp_missing"


async def test_courier_events_and_the_timeline_of_a_shipment(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """After the courier's webhook, the shipment lists its scans oldest first and its timeline
    shows the business and courier lanes, automation included."""
    order = await paid_order(platform, seeded)
    fulfillment = await fulfillment_of(platform, order)
    shipment = await draft_shipment(client, fulfillment, "SIM000000042")
    await client.post(f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"})
    before = (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()
    assert before == {"shipment_id": shipment["id"], "items": []}
    await deliver_by_courier(platform, client, clock, "SIM000000042")
    events = (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert [e["status"] for e in events] == ["in_transit", "delivered"]
    assert [e["raw_code"] for e in events] == ["IT", "DL"]
    assert all(e["tracking_number"] == "SIM000000042" for e in events)
    shown = (await client.get(f"/v1/shipments/{shipment['id']}")).json()
    assert shown["status"] == "delivered"
    assert shown["last_tracking_status"] == "delivered"
    timeline = (await client.get(f"/v1/shipments/{shipment['id']}/timeline")).json()
    types = [entry["type"] for entry in timeline["entries"]]
    assert types[:3] == ["shipment.drafted", "shipment.ready", "shipment.event_recorded"]
    assert "shipment.delivered" in types
    assert "automation.step_queued" in types
    lanes = {entry["type"]: entry["lane"] for entry in timeline["entries"]}
    assert lanes["shipment.event_recorded"] == "courier"
    assert lanes["shipment.delivered"] == "business"
    positions = [entry["position"] for entry in timeline["entries"]]
    assert positions == sorted(positions)


# -- company scope -----------------------------------------------------------------------------


async def test_a_company_key_sees_only_its_own_fulfillment(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Another company's fulfillment order and shipments answer 404 to a scoped key, exactly
    like missing ones; the key's own company's are visible."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment)
    stranger = await keys.headers(Role.OPS, (await other_company(platform)).id)
    owner = await keys.headers(Role.OPS, seeded.company_id)
    for response in [
        await client.get(f"/v1/fulfillments/{fulfillment.id}", headers=stranger),
        await client.post(
            f"/v1/fulfillments/{fulfillment.id}/shipments",
            json={
                "destination": DESTINATION,
                "items": [{"fulfillment_item_id": fulfillment.items[0].id, "quantity": 1}],
            },
            headers=stranger,
        ),
        await client.get(f"/v1/shipments/{shipment['id']}", headers=stranger),
        await client.patch(
            f"/v1/shipments/{shipment['id']}", json={"courier_code": COURIER}, headers=stranger
        ),
        await client.post(
            f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"}, headers=stranger
        ),
        await client.get(f"/v1/shipments/{shipment['id']}/events", headers=stranger),
        await client.get(f"/v1/shipments/{shipment['id']}/timeline", headers=stranger),
    ]:
        assert_error(response, 404, "NOT_FOUND")
    mine = await client.get(f"/v1/fulfillments/{fulfillment.id}", headers=owner)
    assert mine.status_code == 200
    assert mine.json()["shipments"][0]["status"] == "draft"
    moved = await client.post(
        f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"}, headers=owner
    )
    assert moved.json()["status"] == "ready"


async def test_a_company_key_creates_fulfillment_only_for_its_company(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A scoped key naming another company in a new fulfillment order gets 404 for it."""
    stranger = await keys.headers(Role.OPS, (await other_company(platform)).id)
    body = {
        "order_id": "ord_x",
        "company_id": seeded.company_id,
        "items": [
            {"order_item_id": "oit_1", "product_id": "prd_1", "description": "x", "quantity": 1}
        ],
    }
    error = assert_error(
        await client.post("/v1/fulfillments", json=body, headers=stranger), 404, "NOT_FOUND"
    )
    assert error["details"]["kind"] == "company"
