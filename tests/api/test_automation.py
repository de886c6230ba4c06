"""Automation routes: every role reads a shipment's steps and one step with its manual task;
Ops add, correct, retry and settle steps; company keys, and roles without automation rights
for changes, are refused."""

from __future__ import annotations

from typing import Any

import attrs

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import COMPANY_MIRROR_ID, SeededCatalogue
from platform_core.access.model import Role
from platform_core.automation.model import AutomationStep
from platform_core.legacy.model import CompanyRecord
from tests.api.api_support import (
    Client,
    Keys,
    assert_error,
    deliver_by_courier,
    draft_shipment,
    fulfillment_of,
    paid_order,
)


@attrs.frozen
class Delivered:
    """A delivered shipment and the automation step its gateway item got."""

    shipment: dict[str, Any]
    step: AutomationStep
    kit_item_id: str


async def delivered(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> Delivered:
    """Deliver 2 gateways and 3 mounting kits. The legacy system does not know the company
    yet, so the gateway's provisioning step fails for good (a refusal is not retried)."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment, "SIM000000500")
    await client.post(f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"})
    await deliver_by_courier(platform, client, clock, "SIM000000500")
    async with platform.deps.uow() as uow:
        (step,) = await uow.automation_steps.for_shipment(shipment["id"])
    assert step.status == "failed"
    kit = next(item for item in shipment["items"] if item["automation_scenario"] is None)
    return Delivered(shipment, step, kit["id"])


async def stored_step(platform: Platform, step_id: str) -> AutomationStep:
    async with platform.deps.uow() as uow:
        return await uow.automation_steps.get(step_id)


def know_the_company(platform: Platform) -> None:
    platform.deps.legacy_fake.put(
        CompanyRecord(COMPANY_MIRROR_ID, "Northwind Sensors Ltd", "active")
    )


async def test_ops_retry_a_failed_step_which_then_succeeds(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Retry requeues a failed step now (200, queued); once the legacy system knows the
    company, the run succeeds."""
    found = await delivered(client, platform, seeded, clock)
    know_the_company(platform)
    ops = await keys.headers(Role.OPS)
    response = await client.post(f"/v1/automation-steps/{found.step.id}/retry", headers=ops)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert body["attempts"] == 1
    assert body["last_error"] == f"unknown company {COMPANY_MIRROR_ID}"
    await platform.settle()
    done = await stored_step(platform, found.step.id)
    assert done.status == "succeeded"
    assert done.legacy_reference is not None
    again = await client.post(f"/v1/automation-steps/{found.step.id}/retry", headers=ops)
    error = assert_error(again, 409, "CONFLICT")
    assert error["details"]["state"] == "succeeded"


async def test_ops_settle_a_failed_step_with_the_fallback(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """The fallback records who did what by hand and settles the step; it cannot be retried or
    settled twice afterwards."""
    found = await delivered(client, platform, seeded, clock)
    ops = await keys.headers(Role.OPS)
    url = f"/v1/automation-steps/{found.step.id}/fallback"
    assert_error(await client.post(url, json={}, headers=ops), 400, "VALIDATION")
    response = await client.post(
        url, json={"notes": "Provisioned by hand in the legacy console"}, headers=ops
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "fallback_triggered"
    assert body["fallback_notes"] == "Provisioned by hand in the legacy console"
    assert body["fallback_actor"].startswith("api-key:key_")
    assert body["manual_task_id"] == found.step.manual_task_id
    assert_error(await client.post(url, json={"notes": "again"}, headers=ops), 409, "CONFLICT")
    retry = await client.post(f"/v1/automation-steps/{found.step.id}/retry", headers=ops)
    assert_error(retry, 409, "CONFLICT")


async def test_ops_correct_what_a_failed_step_sends(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """PATCH changes serials and legacy company of a failed step (a new legacy request);
    more serials than units are refused; a settled step cannot be edited."""
    found = await delivered(client, platform, seeded, clock)
    url = f"/v1/automation-steps/{found.step.id}"
    response = await client.patch(
        url, json={"device_serials": ["SN-1", "SN-2"], "company_legacy_id": "legacy-cmp-9"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payload"]["device_serials"] == ["SN-1", "SN-2"]
    assert body["payload"]["company_legacy_id"] == "legacy-cmp-9"
    assert body["payload"]["quantity"] == 2
    assert body["version"] == found.step.version + 1
    too_many = await client.patch(url, json={"device_serials": ["A", "B", "C"]})
    error = assert_error(too_many, 422, "VALIDATION")
    assert error["details"]["field"] == "device_serials"
    await client.post(f"{url}/fallback", json={"notes": "done by hand"})
    settled = await client.patch(url, json={"device_serials": ["SN-3"]})
    assert_error(settled, 409, "CONFLICT")


async def test_ops_add_a_step_for_a_shipment_item_by_hand(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """A step is added for an item without one (201, queued, copied from the shipment item);
    a second for the same item and scenario is a conflict."""
    found = await delivered(client, platform, seeded, clock)
    url = f"/v1/shipments/{found.shipment['id']}/automation-steps"
    body = {"shipment_item_id": found.kit_item_id, "scenario": "sensor_return"}
    created = await client.post(url, json=body)
    assert created.status_code == 201, created.text
    step = created.json()
    assert step["status"] == "queued"
    assert step["scenario"] == "sensor_return"
    assert step["shipment_item_id"] == found.kit_item_id
    assert step["fulfillment_order_id"] == found.shipment["fulfillment_order_id"]
    assert step["company_id"] == seeded.company_id
    assert step["payload"]["quantity"] == 3
    assert step["max_attempts"] == 3
    error = assert_error(await client.post(url, json=body), 409, "CONFLICT")
    assert error["details"]["step_id"] == step["id"]


async def test_a_new_step_names_an_item_of_that_shipment(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """An item of no such shipment is refused naming the field; an unknown shipment is 404;
    an unknown scenario never reaches the core."""
    found = await delivered(client, platform, seeded, clock)
    url = f"/v1/shipments/{found.shipment['id']}/automation-steps"
    wrong_item = await client.post(
        url, json={"shipment_item_id": "shi_other", "scenario": "sensor_return"}
    )
    error = assert_error(wrong_item, 422, "VALIDATION")
    assert error["details"]["field"] == "shipment_item_id"
    unknown = await client.post(
        "/v1/shipments/shp_missing/automation-steps",
        json={"shipment_item_id": found.kit_item_id, "scenario": "sensor_return"},
    )
    assert_error(unknown, 404, "NOT_FOUND")
    bad_scenario = await client.post(
        url, json={"shipment_item_id": found.kit_item_id, "scenario": "teleport"}
    )
    error = assert_error(bad_scenario, 400, "VALIDATION")
    assert error["details"]["fields"][0]["field"] == "scenario"


async def test_unknown_steps_are_not_found(client: Client) -> None:
    """Editing, retrying or settling a step nobody made answers 404."""
    for response in [
        await client.patch("/v1/automation-steps/stp_missing", json={"device_serials": []}),
        await client.post("/v1/automation-steps/stp_missing/retry"),
        await client.post("/v1/automation-steps/stp_missing/fallback", json={"notes": "x"}),
    ]:
        error = assert_error(response, 404, "NOT_FOUND")
        assert error["details"]["id"] == "stp_missing"


async def test_only_admins_and_ops_act_on_steps_and_never_company_keys(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Support and readonly keys, and company-scoped keys of any role, are refused (403)."""
    found = await delivered(client, platform, seeded, clock)
    refused = [
        await keys.headers(Role.SUPPORT),
        await keys.headers(Role.READONLY),
        await keys.headers(Role.OPS, seeded.company_id),
    ]
    for headers in refused:
        for response in [
            await client.post(f"/v1/automation-steps/{found.step.id}/retry", headers=headers),
            await client.post(
                f"/v1/automation-steps/{found.step.id}/fallback",
                json={"notes": "x"},
                headers=headers,
            ),
            await client.post(
                f"/v1/shipments/{found.shipment['id']}/automation-steps",
                json={"shipment_item_id": found.kit_item_id, "scenario": "sensor_return"},
                headers=headers,
            ),
        ]:
            assert_error(response, 403, "AUTHZ")
    assert (await stored_step(platform, found.step.id)).status == "failed"


# -- reading steps ------------------------------------------------------------------------------


async def test_a_shipments_steps_are_read_with_their_manual_task(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Any role may read a shipment's steps: the gateway's failed step with its attempts, last
    error, no next attempt (a refusal is final) and the open Ops task; one step reads the same."""
    found = await delivered(client, platform, seeded, clock)
    readonly = await keys.headers(Role.READONLY)
    url = f"/v1/shipments/{found.shipment['id']}/automation-steps"
    response = await client.get(url, headers=readonly)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["shipment_id"] == found.shipment["id"]
    (step,) = body["items"]
    assert (step["id"], step["status"]) == (found.step.id, "failed")
    assert step["scenario"] == "sensor_vendor_first_time"
    assert step["attempts"] == found.step.attempts == 1
    assert step["last_error"] == f"unknown company {COMPANY_MIRROR_ID}"
    assert step["next_attempt_at"] is None
    task = step["manual_task"]
    assert task["id"] == step["manual_task_id"] == found.step.manual_task_id
    assert task["status"] == "open"
    assert task["title"].startswith("Automation failed: sensor_vendor_first_time")
    assert (task["resolved_at"], task["resolved_by"], task["notes"]) == (None, None, None)
    one = await client.get(f"/v1/automation-steps/{found.step.id}", headers=readonly)
    assert one.status_code == 200, one.text
    assert one.json() == step


async def test_a_settled_steps_task_shows_who_resolved_it(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """After the fallback the step reads as fallback_triggered and its task as resolved, by
    the key that triggered it, with its notes."""
    found = await delivered(client, platform, seeded, clock)
    settled = await client.post(
        f"/v1/automation-steps/{found.step.id}/fallback", json={"notes": "Provisioned by hand"}
    )
    assert settled.status_code == 200, settled.text
    step = (await client.get(f"/v1/automation-steps/{found.step.id}")).json()
    assert step["status"] == "fallback_triggered"
    task = step["manual_task"]
    assert task["status"] == "resolved"
    assert task["resolved_by"] == settled.json()["fallback_actor"]
    assert task["notes"] == "Provisioned by hand"
    assert task["resolved_at"] is not None


async def test_a_shipment_not_delivered_yet_has_no_steps(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Steps are queued on delivery, so a drafted shipment lists none (an empty list, not 404)."""
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment)
    response = await client.get(f"/v1/shipments/{shipment['id']}/automation-steps")
    assert response.status_code == 200, response.text
    assert response.json() == {"shipment_id": shipment["id"], "items": []}


async def test_reading_steps_of_unknown_ids_is_not_found(client: Client) -> None:
    """An unknown shipment or step answers 404 naming it."""
    shipment = await client.get("/v1/shipments/shp_missing/automation-steps")
    error = assert_error(shipment, 404, "NOT_FOUND")
    assert (error["details"]["kind"], error["details"]["id"]) == ("shipment", "shp_missing")
    step = assert_error(await client.get("/v1/automation-steps/stp_missing"), 404, "NOT_FOUND")
    assert step["details"]["id"] == "stp_missing"


async def test_company_keys_cannot_read_steps(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Automation is Ops' business: a company-scoped key, even of the shipment's own company,
    is refused (403) on both reads."""
    found = await delivered(client, platform, seeded, clock)
    own_company = await keys.headers(Role.READONLY, seeded.company_id)
    for url in (
        f"/v1/shipments/{found.shipment['id']}/automation-steps",
        f"/v1/automation-steps/{found.step.id}",
    ):
        error = assert_error(await client.get(url, headers=own_company), 403, "AUTHZ")
        assert error["details"]["family"] == "automation"
