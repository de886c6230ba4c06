"""Courier routes: the registry (secrets go in, never come out), carrier webhooks fed with the
carriers' real payloads, hostile webhook deliveries, and tracking-number checks on shipments."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.couriers.webhooks import hmac_signature
from adapters.persistence.memory.backend import InMemoryStore
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.fulfillment.couriers import get_courier_webhook
from platform_core.fulfillment.model import FulfillmentOrder, WebhookStatus
from tests.api.api_support import (
    DESTINATION,
    Client,
    Keys,
    assert_error,
    fulfillment_of,
    paid_order,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "couriers"
USPS_DELIVERED = (FIXTURES / "usps" / "tracking_v3_response_delivered.json").read_bytes()
DHL_UNIFIED = (FIXTURES / "dhl_unified" / "tracking_response.json").read_bytes()
USPS_NUMBER = "9400109104250532908587"
USPS_BAD_CHECK_DIGIT = "9400109104250532908588"
DHL_NUMBER = "7777777770"
USPS_SECRET = "usps-whsec-4f1c9d7be2a8"
DHL_TOKEN = "dhl-push-token-8e51b3c07f"
DEFAULT_CODES = ["canada_post", "chit_chats", "dhl", "simulator", "usps"]
SECOND_DHL: dict[str, Any] = {
    "code": "dhl_ca",
    "name": "DHL (Canadian account)",
    "adapter": "dhl",
    "tracking_url_template": "https://www.dhl.com/ca-en/home/tracking.html?tracking-id={tracking_number}",
    "ingestion_mode": "both",
    "polling_interval_seconds": 1800,
    "webhook_auth": "header_token",
    "webhook_header": "DHL-Webhook-Token",
}


def stored_webhooks(platform: Platform) -> int:
    """How many webhook deliveries the in-memory store holds (the repository lists none)."""
    store = platform.deps.store
    assert isinstance(store, InMemoryStore)
    return len(store.db.table("courier_webhooks"))


async def event_payloads(platform: Platform, courier_id: str) -> str:
    """Every outbox payload recorded for the courier, as one JSON text."""
    async with platform.deps.uow() as uow:
        stored = await uow.events.for_aggregate("courier", courier_id)
    assert stored, "registering or changing a courier records events"
    return json.dumps([dict(each.event.payload) for each in stored])


async def shipment_for(
    client: Client,
    fulfillment: FulfillmentOrder,
    courier_code: str,
    tracking_number: str,
    sku_index: int = 0,
) -> dict[str, Any]:
    """A ready shipment of one unit of the fulfillment's `sku_index`th item."""
    item = fulfillment.items[sku_index]
    body = {
        "destination": DESTINATION,
        "items": [{"fulfillment_item_id": item.id, "quantity": 1}],
        "courier_code": courier_code,
        "tracking_number": tracking_number,
    }
    response = await client.post(f"/v1/fulfillments/{fulfillment.id}/shipments", json=body)
    assert response.status_code == 201, response.text
    shipment = response.json()
    ready = await client.post(f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"})
    assert ready.status_code == 200, ready.text
    return dict(ready.json())


async def paid_fulfillment(platform: Platform, seeded: SeededCatalogue) -> FulfillmentOrder:
    return await fulfillment_of(platform, await paid_order(platform, seeded))


async def set_metadata(client: Client, code: str, metadata: dict[str, str]) -> dict[str, Any]:
    response = await client.patch(f"/v1/couriers/{code}", json={"metadata": metadata})
    assert response.status_code == 200, response.text
    return dict(response.json())


def usps_headers(body: bytes, secret: str = USPS_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-USPS-Signature": hmac_signature(secret, body)}


# -- the registry -------------------------------------------------------------------------------


async def test_the_registry_starts_with_the_carriers_and_the_simulator(client: Client) -> None:
    """The four carriers and the simulator are registered on start, without credentials; one
    is read by its code, and an unknown code is 404."""
    listed = await client.get("/v1/couriers")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [item["code"] for item in items] == DEFAULT_CODES
    usps = await client.get("/v1/couriers/usps")
    assert usps.status_code == 200
    shown = usps.json()
    assert shown == next(item for item in items if item["code"] == "usps")
    assert (shown["adapter"], shown["ingestion_mode"], shown["webhook_auth"]) == (
        "usps",
        "both",
        "hmac_sha256",
    )
    assert shown["webhook_header"] == "X-USPS-Signature"
    assert shown["webhook_path"] == "/v1/webhooks/couriers/usps"
    assert shown["metadata_keys"] == []
    assert "metadata" not in shown
    assert (await client.get("/v1/couriers/canada_post")).json()["ingestion_mode"] == "polling"
    assert_error(await client.get("/v1/couriers/pony_express"), 404, "NOT_FOUND")


async def test_secrets_go_in_but_never_come_out(
    client: Client, anonymous: Client, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    """A second DHL account is registered with credentials: no answer (POST, GET, list,
    PATCH), no outbox event and no log line holds a secret, only the key names; a PATCH
    rotates the token (the old one stops working) and an empty string removes a key."""
    caplog.set_level(logging.DEBUG)
    first_key, rotated = "dhl-api-key-1b7e0c", "dhl-rotated-token-93aa"
    secrets = (first_key, DHL_TOKEN, rotated)
    created = await client.post(
        "/v1/couriers",
        json={**SECOND_DHL, "metadata": {"api_key": first_key, "webhook_token": DHL_TOKEN}},
    )
    assert created.status_code == 201, created.text
    courier = created.json()
    assert courier["metadata_keys"] == ["api_key", "webhook_token"]
    assert (courier["code"], courier["adapter"], courier["version"]) == ("dhl_ca", "dhl", 1)
    assert courier["polling_interval_seconds"] == 1800
    answers = [created.text]
    answers.append((await client.get("/v1/couriers/dhl_ca")).text)
    answers.append((await client.get("/v1/couriers")).text)
    url = "/v1/webhooks/couriers/dhl_ca"
    accepted = await anonymous.post(
        url, content=DHL_UNIFIED, headers={"DHL-Webhook-Token": DHL_TOKEN}
    )
    assert accepted.status_code == 202, accepted.text

    patched = await client.patch(
        "/v1/couriers/dhl_ca", json={"metadata": {"webhook_token": rotated, "api_key": ""}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["metadata_keys"] == ["webhook_token"]
    assert patched.json()["version"] == 2
    answers.append(patched.text)
    old = await anonymous.post(url, content=DHL_UNIFIED, headers={"DHL-Webhook-Token": DHL_TOKEN})
    assert_error(old, 401, "AUTHN")
    new = await anonymous.post(url, content=DHL_UNIFIED, headers={"DHL-Webhook-Token": rotated})
    assert new.status_code == 202, new.text
    answers += [accepted.text, old.text, new.text]

    payloads = await event_payloads(platform, courier["id"])
    assert "webhook_token" in payloads  # the change names the key...
    for secret in secrets:  # ...but no value is anywhere
        assert all(secret not in text for text in answers), secret
        assert secret not in payloads
        assert secret not in caplog.text


async def test_registering_refuses_duplicates_unknown_adapters_and_bad_templates(
    client: Client,
) -> None:
    """A taken code is 409; an adapter this deployment lacks, or a tracking URL without
    exactly one placeholder (or not http), is 422 naming the field (a business rule, as
    everywhere in the API); nothing is added."""
    taken = await client.post("/v1/couriers", json={**SECOND_DHL, "code": "dhl"})
    assert_error(taken, 409, "CONFLICT")
    unknown = await client.post("/v1/couriers", json={**SECOND_DHL, "adapter": "fedex"})
    assert assert_error(unknown, 422, "VALIDATION")["details"]["field"] == "adapter"
    for template in [
        "https://www.dhl.com/track",
        "ftp://dhl.example/{tracking_number}",
        "https://dhl.example/{tracking_number}/{tracking_number}",
        "https://dhl.example/{tracking_number}?x={other}",
    ]:
        bad = await client.post(
            "/v1/couriers", json={**SECOND_DHL, "tracking_url_template": template}
        )
        error = assert_error(bad, 422, "VALIDATION")
        assert "tracking_url_template" in json.dumps(error["details"]), template
    listed = (await client.get("/v1/couriers")).json()["items"]
    assert [item["code"] for item in listed] == DEFAULT_CODES


async def test_a_patch_changes_settings_and_keeps_the_rest(client: Client) -> None:
    """Only the fields sent change; a change to nothing records no new version; a bad value
    is 422 naming the field (400 when the body schema already refuses it); an unknown courier
    is 404."""
    before = (await client.get("/v1/couriers/chit_chats")).json()
    changed = await client.patch(
        "/v1/couriers/chit_chats",
        json={"polling_interval_seconds": 600, "poll_batch_size": 25, "stale_after_days": 14},
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["polling_interval_seconds"], after["poll_batch_size"]) == (600, 25)
    assert after["stale_after_days"] == 14
    assert after["version"] == before["version"] + 1
    kept = {"name", "adapter", "tracking_url_template", "ingestion_mode", "requests_per_minute"}
    assert {key: after[key] for key in kept} == {key: before[key] for key in kept}
    same = await client.patch("/v1/couriers/chit_chats", json={"poll_batch_size": 25})
    assert same.json()["version"] == after["version"]
    bad = await client.patch(
        "/v1/couriers/chit_chats", json={"tracking_url_template": "https://chitchats.com/"}
    )
    assert "tracking_url_template" in json.dumps(assert_error(bad, 422, "VALIDATION")["details"])
    too_fast = await client.patch("/v1/couriers/chit_chats", json={"polling_interval_seconds": 5})
    assert_error(too_fast, 400, "VALIDATION")
    missing = await client.patch("/v1/couriers/pony_express", json={"name": "Pony"})
    assert_error(missing, 404, "NOT_FOUND")


async def test_every_role_reads_the_registry_and_only_admins_change_it(
    client: Client, keys: Keys, seeded: SeededCatalogue
) -> None:
    """readonly, support and ops read but get 403 on POST and PATCH; a company's key gets
    403 even to read (carrier settings are not a company's business)."""
    for role in (Role.READONLY, Role.SUPPORT, Role.OPS):
        headers = await keys.headers(role)
        assert (await client.get("/v1/couriers", headers=headers)).status_code == 200
        assert (await client.get("/v1/couriers/usps", headers=headers)).status_code == 200
        post = await client.post("/v1/couriers", json=SECOND_DHL, headers=headers)
        assert_error(post, 403, "AUTHZ")
        patch = await client.patch(
            "/v1/couriers/usps", json={"metadata": {"webhook_secret": "x"}}, headers=headers
        )
        assert_error(patch, 403, "AUTHZ")
    company = await keys.headers(Role.OPS, seeded.company_id)
    assert_error(await client.get("/v1/couriers", headers=company), 403, "AUTHZ")
    assert_error(await client.get("/v1/couriers/usps", headers=company), 403, "AUTHZ")
    company_patch = await client.patch("/v1/couriers/usps", json={"name": "x"}, headers=company)
    assert_error(company_patch, 403, "AUTHZ")
    usps = (await client.get("/v1/couriers/usps")).json()
    assert (usps["name"], usps["metadata_keys"], usps["version"]) == ("USPS", [], 1)


# -- webhooks with the carriers' own payloads ---------------------------------------------------


async def test_a_signed_usps_webhook_delivers_the_shipment_once(
    client: Client, anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """USPS's tracking detail, signed with the webhook secret from the courier's metadata,
    records its 12 scans and delivers the shipment, which queues the gateway's automation
    step; the same body again records nothing new."""
    fulfillment = await paid_fulfillment(platform, seeded)
    shipment = await shipment_for(client, fulfillment, "usps", USPS_NUMBER)
    assert shipment["tracking_url"].endswith(f"tLabels={USPS_NUMBER}")
    await set_metadata(client, "usps", {"webhook_secret": USPS_SECRET})
    url = "/v1/webhooks/couriers/usps"
    first = await anonymous.post(url, content=USPS_DELIVERED, headers=usps_headers(USPS_DELIVERED))
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    await platform.settle()
    stored = await get_courier_webhook(platform.deps, first.json()["webhook_id"])
    assert (stored.status, stored.recorded, stored.duplicates, stored.unmatched) == (
        WebhookStatus.PROCESSED,
        12,
        0,
        (),
    )
    shown = (await client.get(f"/v1/shipments/{shipment['id']}")).json()
    assert shown["status"] == "delivered"
    assert shown["last_tracking_status"] == "delivered"
    events = (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert len(events) == 12
    assert events[0]["raw_code"] == "GX"
    assert (events[-1]["raw_code"], events[-1]["status"]) == ("01", "delivered")
    steps = (await client.get(f"/v1/shipments/{shipment['id']}/automation-steps")).json()
    assert [step["scenario"] for step in steps["items"]] == ["sensor_vendor_first_time"]

    again = await anonymous.post(url, content=USPS_DELIVERED, headers=usps_headers(USPS_DELIVERED))
    assert again.status_code == 202
    assert again.json()["webhook_id"] != first.json()["webhook_id"]
    await platform.settle()
    repeat = await get_courier_webhook(platform.deps, again.json()["webhook_id"])
    assert (repeat.recorded, repeat.duplicates) == (0, 12)
    assert stored_webhooks(platform) == 2  # both deliveries kept raw
    assert len((await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]) == 12
    steps_again = (await client.get(f"/v1/shipments/{shipment['id']}/automation-steps")).json()
    assert len(steps_again["items"]) == 1


async def test_a_dhl_push_with_its_header_token_is_recorded(
    client: Client, anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """DHL's Unified tracking payload, authenticated by the token in DHL-Webhook-Token,
    records its one scan on the shipment of 7777777770 (a numeric id in DHL's JSON), with
    DHL's code and text kept and its time read as UTC."""
    fulfillment = await paid_fulfillment(platform, seeded)
    shipment = await shipment_for(client, fulfillment, "dhl", DHL_NUMBER)
    await set_metadata(client, "dhl", {"webhook_token": DHL_TOKEN})
    response = await anonymous.post(
        "/v1/webhooks/couriers/dhl",
        content=DHL_UNIFIED,
        headers={"Content-Type": "application/json", "DHL-Webhook-Token": DHL_TOKEN},
    )
    assert response.status_code == 202, response.text
    await platform.settle()
    stored = await get_courier_webhook(platform.deps, response.json()["webhook_id"])
    assert (stored.status, stored.recorded, stored.unmatched) == (WebhookStatus.PROCESSED, 1, ())
    (event,) = (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
    assert event["tracking_number"] == DHL_NUMBER
    # DHL's sample says "pre-transit" and "DELIVERED" at once: statusCode wins, text is kept.
    assert (event["status"], event["raw_code"]) == ("pre_transit", "pre-transit")
    assert event["raw_text"] == "DELIVERED - JESSICA"
    assert event["location"] == "Oderweg 2, AMSTERDAM, 1043 AG, NL"
    assert (await client.get(f"/v1/shipments/{shipment['id']}")).json()["status"] == "ready"
    assert event["occurred_at"].startswith("2018-03-02T07:53:47")


# -- hostile deliveries -------------------------------------------------------------------------


async def test_a_wrong_or_missing_proof_is_401_and_stores_nothing(
    client: Client, anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Signed with another secret, signed over another body, a wrong token, or no header:
    401 AUTHN, no delivery kept, no scan recorded, the shipment untouched."""
    fulfillment = await paid_fulfillment(platform, seeded)
    usps = await shipment_for(client, fulfillment, "usps", USPS_NUMBER)
    dhl = await shipment_for(client, fulfillment, "dhl", DHL_NUMBER, sku_index=1)
    await set_metadata(client, "usps", {"webhook_secret": USPS_SECRET})
    await set_metadata(client, "dhl", {"webhook_token": DHL_TOKEN})
    tampered = USPS_DELIVERED.replace(b"JAMAICA", b"KINGSTON")
    attempts: list[tuple[str, bytes, dict[str, str]]] = [
        ("usps", USPS_DELIVERED, usps_headers(USPS_DELIVERED, "another-secret")),
        ("usps", tampered, usps_headers(USPS_DELIVERED)),
        ("usps", USPS_DELIVERED, {"X-USPS-Signature": "sha256=" + "0" * 64}),
        ("usps", USPS_DELIVERED, {"X-USPS-Signature": "not a signature"}),
        ("usps", USPS_DELIVERED, {"Content-Type": "application/json"}),
        ("dhl", DHL_UNIFIED, {"DHL-Webhook-Token": DHL_TOKEN + "x"}),
        ("dhl", DHL_UNIFIED, {"X-USPS-Signature": hmac_signature(DHL_TOKEN, DHL_UNIFIED)}),
    ]
    for code, body, headers in attempts:
        response = await anonymous.post(
            f"/v1/webhooks/couriers/{code}", content=body, headers=headers
        )
        assert_error(response, 401, "AUTHN")
        assert USPS_SECRET not in response.text
        assert DHL_TOKEN not in response.text
    await platform.settle()
    assert stored_webhooks(platform) == 0
    for shipment in (usps, dhl):
        assert (await client.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"] == []
        shown = (await client.get(f"/v1/shipments/{shipment['id']}")).json()
        assert (shown["status"], shown["version"]) == ("ready", shipment["version"])


async def test_unreadable_and_oversized_bodies_are_400_and_stored_nowhere(
    anonymous: Client, client: Client, platform: Platform
) -> None:
    """Correctly signed but not JSON, not UTF-8, JSON that is not a USPS tracking object, or
    larger than 1 MB: 400 VALIDATION naming the body; nothing is kept."""
    await set_metadata(client, "usps", {"webhook_secret": USPS_SECRET})
    oversized = b'{"padding": "' + b"x" * 1_000_001 + b'"}'
    for body in [
        b"<trackingEvents/>",
        b"\xff\xfe{}",
        b"[1, 2, 3]",
        b'{"trackingNumber": 7}',
        oversized,
    ]:
        response = await anonymous.post(
            "/v1/webhooks/couriers/usps", content=body, headers=usps_headers(body)
        )
        error = assert_error(response, 400, "VALIDATION")
        assert error["details"]["field"] == "body", error
    assert stored_webhooks(platform) == 0


async def test_a_polling_courier_refuses_every_webhook(
    anonymous: Client, client: Client, platform: Platform
) -> None:
    """Canada Post is polled: even with a secret configured and a correct signature its
    webhook path answers 401; an unknown courier is 404; nothing is kept."""
    await set_metadata(client, "canada_post", {"webhook_secret": USPS_SECRET})
    body = b'{"events": []}'
    headers = {"X-Webhook-Signature": hmac_signature(USPS_SECRET, body)}
    refused = await anonymous.post(
        "/v1/webhooks/couriers/canada_post", content=body, headers=headers
    )
    assert_error(refused, 401, "AUTHN")
    unknown = await anonymous.post(
        "/v1/webhooks/couriers/pony_express", content=body, headers=headers
    )
    assert_error(unknown, 404, "NOT_FOUND")
    no_secret = await anonymous.post(
        "/v1/webhooks/couriers/dhl", content=DHL_UNIFIED, headers={"DHL-Webhook-Token": ""}
    )
    assert_error(no_secret, 401, "AUTHN")
    assert stored_webhooks(platform) == 0


# -- tracking numbers on shipments --------------------------------------------------------------


async def test_a_tracking_number_must_fit_the_couriers_formats_unless_ops_vouch(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A USPS number with a wrong check digit is 422 naming tracking_number; the genuine one
    is accepted; an unscoped key may accept the bad one on purpose; a company's key asking
    for that override is 403."""
    fulfillment = await paid_fulfillment(platform, seeded)
    path = f"/v1/fulfillments/{fulfillment.id}/shipments"

    def body(tracking_number: str, override: bool = False) -> dict[str, Any]:
        return {
            "destination": DESTINATION,
            "items": [{"fulfillment_item_id": fulfillment.items[1].id, "quantity": 1}],
            "courier_code": "usps",
            "tracking_number": tracking_number,
            "accept_unrecognised_tracking_number": override,
        }

    refused = await client.post(path, json=body(USPS_BAD_CHECK_DIGIT))
    error = assert_error(refused, 422, "VALIDATION")
    assert error["details"]["field"] == "tracking_number"
    assert error["details"]["courier_code"] == "usps"
    genuine = await client.post(path, json=body(USPS_NUMBER))
    assert genuine.status_code == 201, genuine.text
    assert genuine.json()["tracking_number"] == USPS_NUMBER
    company = await keys.headers(Role.OPS, seeded.company_id)
    scoped = await client.post(path, json=body(USPS_BAD_CHECK_DIGIT, True), headers=company)
    error = assert_error(scoped, 403, "AUTHZ")
    assert error["details"]["field"] == "accept_unrecognised_tracking_number"
    vouched = await client.post(path, json=body(USPS_BAD_CHECK_DIGIT, True))
    assert vouched.status_code == 201, vouched.text
    assert vouched.json()["tracking_number"] == USPS_BAD_CHECK_DIGIT
    unknown = await client.post(path, json={**body(USPS_NUMBER), "courier_code": "pony_express"})
    assert assert_error(unknown, 422, "VALIDATION")["details"]["field"] == "courier_code"


async def test_changing_a_shipments_number_is_checked_the_same_way(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """PATCH of a shipment's tracking number goes through the same check and override."""
    fulfillment = await paid_fulfillment(platform, seeded)
    shipment = await shipment_for(client, fulfillment, "usps", USPS_NUMBER)
    url = f"/v1/shipments/{shipment['id']}"
    refused = await client.patch(url, json={"tracking_number": USPS_BAD_CHECK_DIGIT})
    assert assert_error(refused, 422, "VALIDATION")["details"]["field"] == "tracking_number"
    assert (await client.get(url)).json()["tracking_number"] == USPS_NUMBER
    vouched = await client.patch(
        url,
        json={"tracking_number": USPS_BAD_CHECK_DIGIT, "accept_unrecognised_tracking_number": True},
    )
    assert vouched.status_code == 200, vouched.text
    assert vouched.json()["tracking_number"] == USPS_BAD_CHECK_DIGIT
