"""Fulfillment routes: fulfillment orders, shipments, their status moves, courier events and
timeline, with roles and company scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from tests.api.api_support import (
    COURIER,
    DESTINATION,
    Client,
    Keys,
    assert_error,
    deliver_by_courier,
    draft_order,
    draft_shipment,
    fulfillment_of,
    other_company,
    paid_order,
)

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


def manual_body(company_id: str, order_item_id: str, product_id: str) -> dict[str, Any]:
    return {
        "order_id": "",
        "company_id": company_id,
        "items": [
            {
                "order_item_id": order_item_id,
                "product_id": product_id,
                "description": "Sensor gateway",
                "quantity": 4,
                "automation_scenario": "sensor_vendor_first_time",
            }
        ],
    }


async def test_ops_create_a_fulfillment_order_by_hand_once_per_order(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A manual fulfillment order for an order of the company (e.g. paid by wire) is created
    (201, origin manual); a second for the order is a conflict naming the first."""
    order = await draft_order(platform, seeded, [("GW-100", 4)])
    ops = await keys.headers(Role.OPS)
    body = manual_body(seeded.company_id, order.items[0].id, seeded.gateway_product_id)
    body["order_id"] = order.id
    created = await client.post("/v1/fulfillments", json=body, headers=ops)
    assert created.status_code == 201, created.text
    made = created.json()
    assert (made["order_id"], made["company_id"]) == (order.id, seeded.company_id)
    assert made["origin"] == "manual"
    assert made["status"] == "ready_to_prepare"
    assert made["items"][0]["quantity_ordered"] == 4
    assert made["items"][0]["automation_scenario"] == "sensor_vendor_first_time"
    second = await client.post("/v1/fulfillments", json=body, headers=ops)
    error = assert_error(second, 409, "CONFLICT")
    assert error["details"]["fulfillment_order_id"] == made["id"]


async def test_a_manual_fulfillment_order_needs_an_order_of_its_company(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """An unknown order, and an order of another company than the one named, both answer 404
    for the order, and nothing is created."""
    order = await draft_order(platform, seeded, [("GW-100", 4)])
    stranger = await other_company(platform)
    unknown = manual_body(seeded.company_id, "oit_1", seeded.gateway_product_id)
    unknown["order_id"] = "ord_missing"
    error = assert_error(await client.post("/v1/fulfillments", json=unknown), 404, "NOT_FOUND")
    assert (error["details"]["kind"], error["details"]["id"]) == ("order", "ord_missing")
    misnamed = manual_body(stranger.id, order.items[0].id, seeded.gateway_product_id)
    misnamed["order_id"] = order.id
    error = assert_error(await client.post("/v1/fulfillments", json=misnamed), 404, "NOT_FOUND")
    assert (error["details"]["kind"], error["details"]["id"]) == ("order", order.id)
    listed = (await client.get("/v1/fulfillments", params={"order_id": order.id})).json()
    assert listed["items"] == []


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


async def test_fulfillment_orders_are_listed_newest_first_and_filtered(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """GET /v1/fulfillments lists newest first (any role may read); order_id finds an order's
    own, status and company narrow the list, limit and offset page it."""
    first = await fulfillment_of(platform, await paid_order(platform, seeded))
    clock.advance(timedelta(minutes=5))
    second_order = await paid_order(platform, seeded)
    second = await fulfillment_of(platform, second_order)
    await draft_shipment(client, second)
    readonly = await keys.headers(Role.READONLY)

    listed = await client.get("/v1/fulfillments", headers=readonly)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [f["id"] for f in body["items"]] == [second.id, first.id]
    assert (body["limit"], body["offset"]) == (50, 0)
    assert body["items"][0]["order_id"] == second_order.id
    assert body["items"][0]["status"] == "awaiting_shipment"
    assert body["items"][1]["items"][0]["quantity_remaining"] > 0

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/fulfillments", params=params)
        assert response.status_code == 200, response.text
        return [f["id"] for f in response.json()["items"]]

    assert await ids(order_id=second_order.id) == [second.id]
    assert await ids(order_id="ord_missing") == []
    assert await ids(status="ready_to_prepare") == [first.id]
    assert await ids(company_id=seeded.company_id, status="awaiting_shipment") == [second.id]
    assert await ids(company_id=(await other_company(platform)).id) == []
    assert await ids(limit=1, offset=1) == [first.id]


async def test_the_fulfillment_list_refuses_bad_filters(client: Client) -> None:
    """An unknown status and a page size out of range are refused naming the parameter."""
    for params in ({"status": "lost"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
        response = await client.get("/v1/fulfillments", params=params)
        error = assert_error(response, 400, "VALIDATION")
        assert [f["field"] for f in error["details"]["fields"]] == list(params)


async def test_a_company_key_lists_only_its_own_fulfillment_orders(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A scoped key sees its company's fulfillment orders only; naming another company is 404
    for that company, and another company's order is simply not in its list."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    stranger_company = await other_company(platform)
    stranger = await keys.headers(Role.READONLY, stranger_company.id)
    owner = await keys.headers(Role.READONLY, seeded.company_id)

    mine = await client.get("/v1/fulfillments", headers=owner)
    assert [f["id"] for f in mine.json()["items"]] == [fulfillment.id]
    theirs = await client.get("/v1/fulfillments", headers=stranger)
    assert theirs.json()["items"] == []
    by_order = await client.get(
        "/v1/fulfillments", params={"order_id": fulfillment.order_id}, headers=stranger
    )
    assert by_order.json()["items"] == []
    named = await client.get(
        "/v1/fulfillments", params={"company_id": seeded.company_id}, headers=stranger
    )
    error = assert_error(named, 404, "NOT_FOUND")
    assert (error["details"]["kind"], error["details"]["id"]) == ("company", seeded.company_id)


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
