"""Operations routes: job runs (filters, pages, retry, cancel) and legacy mirror refreshes,
for admins and ops (support reads), never for company keys."""

from __future__ import annotations

from datetime import timedelta

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.jobs.model import JobRun
from platform_core.jobs.service import (
    RecordJobEnqueued,
    RecordJobFailed,
    RecordJobStarted,
    RecordJobSucceeded,
    record_job_enqueued,
    record_job_failed,
    record_job_started,
    record_job_succeeded,
)
from platform_core.legacy.model import AssetRecord, CompanyRecord, DeviceRecord
from tests.api.api_support import Client, Keys, assert_error


async def enqueue(
    platform: Platform, key: str, queue: str = "shipments", related: str | None = "shp_1"
) -> JobRun:
    return await record_job_enqueued(
        platform.deps,
        RecordJobEnqueued(
            queue=queue,
            job_name="refresh_tracking",
            job_key=key,
            payload={"courier_code": "simulator"},
            related_entity_type=None if related is None else "shipment",
            related_entity_id=related,
        ),
    )


async def failed_for_good(platform: Platform, key: str) -> JobRun:
    await enqueue(platform, key)
    await record_job_started(platform.deps, RecordJobStarted(key))
    return await record_job_failed(
        platform.deps, RecordJobFailed(key, "courier API answered 401", retryable=False)
    )


# -- job runs ----------------------------------------------------------------------------------


async def test_job_runs_are_listed_newest_first_with_filters_and_a_total(
    client: Client, platform: Platform, clock: FixedClock
) -> None:
    """Queue and status filters combine; pages carry the total; each run names its entity."""
    await enqueue(platform, "job-a")
    clock.advance(timedelta(minutes=1))
    await enqueue(platform, "job-b", queue="orders", related=None)
    clock.advance(timedelta(minutes=1))
    await failed_for_good(platform, "job-c")
    page = (await client.get("/v1/job-runs")).json()
    assert [run["job_key"] for run in page["items"]] == ["job-c", "job-b", "job-a"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)
    shipments = (await client.get("/v1/job-runs", params={"queue": "shipments"})).json()
    assert [run["job_key"] for run in shipments["items"]] == ["job-c", "job-a"]
    assert shipments["items"][1]["related"] == {"type": "shipment", "id": "shp_1"}
    failed = (
        await client.get("/v1/job-runs", params={"queue": "shipments", "status": "failed"})
    ).json()
    assert [run["job_key"] for run in failed["items"]] == ["job-c"]
    assert failed["items"][0]["last_error"] == "courier API answered 401"
    second_page = (await client.get("/v1/job-runs", params={"limit": 1, "offset": 1})).json()
    assert [run["job_key"] for run in second_page["items"]] == ["job-b"]
    assert second_page["total"] == 3
    assert second_page["items"][0]["related"] is None


async def test_a_job_run_is_read_with_its_attempts_and_policy(
    client: Client, platform: Platform
) -> None:
    """GET a run: status, attempts against the queue's policy, payload and progress."""
    run = await failed_for_good(platform, "job-read")
    body = (await client.get(f"/v1/job-runs/{run.id}")).json()
    assert body["status"] == "failed"
    assert body["attempts"] == 1
    assert body["max_attempts"] == body["retry_policy"]["max_attempts"] == 3
    assert body["retry_policy"]["backoff"] == "linear"
    assert body["payload"] == {"courier_code": "simulator"}
    assert body["finished_at"] is not None
    error = assert_error(await client.get("/v1/job-runs/job_missing"), 404, "NOT_FOUND")
    assert error["details"]["id"] == "job_missing"


async def test_ops_retry_a_failed_run_and_cancel_a_waiting_one(
    client: Client, keys: Keys, platform: Platform
) -> None:
    """A failed run is put back on its queue; a queued one is cancelled with a reason; the
    state machine refuses the rest with 409."""
    ops = await keys.headers(Role.OPS)
    failed = await failed_for_good(platform, "job-retry")
    retried = await client.post(f"/v1/job-runs/{failed.id}/retry", headers=ops)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"
    again = await client.post(f"/v1/job-runs/{failed.id}/retry", headers=ops)
    assert_error(again, 409, "CONFLICT")
    cancelled = await client.post(
        f"/v1/job-runs/{failed.id}/cancel", json={"reason": "courier retired"}, headers=ops
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert_error(
        await client.post(f"/v1/job-runs/{failed.id}/cancel", headers=ops), 409, "CONFLICT"
    )
    done = await enqueue(platform, "job-done")
    await record_job_started(platform.deps, RecordJobStarted("job-done"))
    await record_job_succeeded(platform.deps, RecordJobSucceeded("job-done"))
    assert_error(await client.post(f"/v1/job-runs/{done.id}/cancel"), 409, "CONFLICT")
    assert_error(await client.post("/v1/job-runs/job_missing/retry"), 404, "NOT_FOUND")


async def test_job_run_filters_are_validated(client: Client) -> None:
    """An unknown status or a page size out of range is refused naming the parameter."""
    error = assert_error(
        await client.get("/v1/job-runs", params={"status": "exploded"}), 400, "VALIDATION"
    )
    assert error["details"]["fields"][0]["field"] == "status"
    assert_error(await client.get("/v1/job-runs", params={"limit": 501}), 400, "VALIDATION")


async def test_who_may_see_and_act_on_job_runs(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Support reads but cannot act; readonly and company keys cannot even read."""
    run = await failed_for_good(platform, "job-roles")
    support = await keys.headers(Role.SUPPORT)
    assert (await client.get("/v1/job-runs", headers=support)).status_code == 200
    assert_error(await client.post(f"/v1/job-runs/{run.id}/retry", headers=support), 403, "AUTHZ")
    for headers in [
        await keys.headers(Role.READONLY),
        await keys.headers(Role.OPS, seeded.company_id),
    ]:
        assert_error(await client.get("/v1/job-runs", headers=headers), 403, "AUTHZ")
        assert_error(await client.get(f"/v1/job-runs/{run.id}", headers=headers), 403, "AUTHZ")


# -- legacy sync -------------------------------------------------------------------------------


async def test_legacy_mirrors_are_refreshed_id_by_id(client: Client, platform: Platform) -> None:
    """Each id gets its own outcome: the fetched mirror, or not_found; repeats are fetched once."""
    platform.deps.legacy_fake.put(
        CompanyRecord("legacy-cmp-1001", "Northwind Sensors Ltd", "active", {"tier": "gold"})
    )
    response = await client.post(
        "/v1/legacy-sync/company/refresh",
        json={"legacy_ids": ["legacy-cmp-1001", "legacy-cmp-404", "legacy-cmp-1001"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "company"
    found, missing = body["results"]
    assert found["outcome"] == "refreshed"
    assert found["mirror"]["name"] == "Northwind Sensors Ltd"
    assert found["mirror"]["attributes"] == {"tier": "gold"}
    assert found["mirror"]["fetched_at"] is not None
    assert missing == {"legacy_id": "legacy-cmp-404", "outcome": "not_found", "mirror": None}
    async with platform.deps.uow() as uow:
        stored = await uow.company_mirrors.get("legacy-cmp-1001")
    assert stored.name == "Northwind Sensors Ltd"


async def test_assets_and_devices_are_refreshed_with_their_links(
    client: Client, platform: Platform, clock: FixedClock
) -> None:
    """Asset and device mirrors carry their company and asset links; max_age_seconds keeps a
    fresh mirror without asking the legacy system again."""
    bridge = platform.deps.legacy_fake
    bridge.put(
        AssetRecord("asset-7", "legacy-cmp-1001", "Greenhouse 7", "active", "GH-7"),
        DeviceRecord("dev-1", "SN-1", "active", "legacy-cmp-1001", "asset-7"),
    )
    asset = (
        await client.post("/v1/legacy-sync/asset/refresh", json={"legacy_ids": ["asset-7"]})
    ).json()["results"][0]["mirror"]
    assert (asset["kind"], asset["company_legacy_id"], asset["serial_number"]) == (
        "asset",
        "legacy-cmp-1001",
        "GH-7",
    )
    url = "/v1/legacy-sync/device/refresh"
    device = (await client.post(url, json={"legacy_ids": ["dev-1"]})).json()["results"][0]
    assert device["mirror"]["asset_legacy_id"] == "asset-7"
    assert device["mirror"]["name"] is None
    bridge.put(DeviceRecord("dev-1", "SN-1", "retired", "legacy-cmp-1001", "asset-7"))
    clock.advance(timedelta(minutes=5))
    cached = (
        await client.post(url, json={"legacy_ids": ["dev-1"], "max_age_seconds": 3600})
    ).json()["results"][0]
    assert cached["mirror"]["status"] == "active"
    fresh = (await client.post(url, json={"legacy_ids": ["dev-1"]})).json()["results"][0]
    assert fresh["mirror"]["status"] == "retired"


async def test_a_refresh_names_a_mirrored_entity_and_some_ids(client: Client) -> None:
    """Only company, asset and device are mirrored; the id list is 1 to 50 ids."""
    error = assert_error(
        await client.post("/v1/legacy-sync/invoice/refresh", json={"legacy_ids": ["x"]}),
        400,
        "VALIDATION",
    )
    assert error["details"]["fields"][0]["field"] == "entity"
    empty = await client.post("/v1/legacy-sync/company/refresh", json={"legacy_ids": []})
    assert_error(empty, 400, "VALIDATION")
    too_many = {"legacy_ids": [f"id-{n}" for n in range(51)]}
    assert_error(
        await client.post("/v1/legacy-sync/company/refresh", json=too_many), 400, "VALIDATION"
    )


async def test_support_cannot_refresh_legacy_mirrors(client: Client, keys: Keys) -> None:
    """Refreshing is a change: admins and ops only."""
    for role in (Role.SUPPORT, Role.READONLY):
        response = await client.post(
            "/v1/legacy-sync/company/refresh",
            json={"legacy_ids": ["legacy-cmp-1001"]},
            headers=await keys.headers(role),
        )
        assert_error(response, 403, "AUTHZ")
