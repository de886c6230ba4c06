"""Drift detection end to end and its read routes: a mirror that disagrees with the embedded
fake legacy system is reported (stale, missing, mismatched field by field), counted on
/metrics and alerted to Ops once; the reports are listed newest first per kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.clock import FixedClock
from adapters.notifications import RecordingNotifier
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.jobs import DETECT_LEGACY_DRIFT, handlers
from entrypoints.seed import COMPANY_MIRROR_ID, SeededCatalogue
from platform_core.access.model import Role
from platform_core.legacy.inventory import RecordAutomationResult, record_automation_result
from platform_core.legacy.model import DeviceRecord, MirrorKind
from platform_core.legacy.ports import LegacyOperation
from platform_core.legacy.service import DetectDrift, detect_drift
from tests.api.api_support import Client, Keys, assert_error


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def platform(clock: FixedClock, notifier: RecordingNotifier) -> AsyncIterator[Platform]:
    """The conftest's platform, with Ops notifications kept for the test to read."""
    built = bootstrap(Settings(database_url=MEMORY_URL), clock=clock, notifier=notifier)
    yield built
    await built.close()


def device(legacy_id: str, status: str = "active", firmware: str = "1.0") -> DeviceRecord:
    return DeviceRecord(
        legacy_id,
        f"SN-{legacy_id}",
        status,
        company_legacy_id=COMPANY_MIRROR_ID,
        attributes={"firmware": firmware},
    )


async def mirror_devices(client: Client, *legacy_ids: str) -> None:
    response = await client.post(
        "/v1/legacy-sync/device/refresh", json={"legacy_ids": list(legacy_ids)}
    )
    assert response.status_code == 200, response.text
    assert {r["outcome"] for r in response.json()["results"]} == {"refreshed"}


def gauge_lines(metrics_text: str) -> set[str]:
    return {
        line
        for line in metrics_text.splitlines()
        if line.startswith("platform_legacy_drift_findings{")
    }


async def test_a_seeded_mismatch_is_reported_measured_and_alerted_once(
    client: Client,
    platform: Platform,
    clock: FixedClock,
    notifier: RecordingNotifier,
    seeded: SeededCatalogue,
) -> None:
    """Mirrors of LD-1 and LD-2 are taken; then the legacy system changes LD-1, drops LD-2
    and gains LD-3, and two days pass. The scheduled drift job reports LD-1 mismatched (status
    and firmware) and stale, LD-2 missing in legacy, LD-3 missing locally; /metrics shows the
    counts and Ops get one warning naming the report."""
    fake = platform.deps.legacy_fake
    fake.put(device("LD-1"), device("LD-2"))
    await mirror_devices(client, "LD-1", "LD-2")
    fake.put(device("LD-1", status="suspended", firmware="1.1"), device("LD-3"))
    fake.remove("LD-2")
    clock.advance(timedelta(days=2))

    outcome = await handlers(platform)[DETECT_LEGACY_DRIFT]({})
    assert isinstance(outcome, dict)
    report_id = outcome["sync_reports"]["device"]
    await platform.settle()

    listed = (await client.get("/v1/legacy-sync/reports", params={"kind": "device"})).json()
    (summary,) = listed["items"]
    assert summary["id"] == report_id
    assert summary["has_drift"] is True
    assert (summary["local_count"], summary["remote_count"]) == (2, 2)
    assert summary["counts"] == {
        "missing_locally": 1,
        "missing_in_legacy": 1,
        "mismatched": 1,
        "stale": 1,
        "assignment_mismatched": 0,
    }

    report = (await client.get(f"/v1/legacy-sync/reports/{report_id}")).json()
    assert [(f["legacy_id"], f["kind"]) for f in report["findings"]] == [
        ("LD-1", "mismatched"),
        ("LD-1", "stale"),
        ("LD-2", "missing_in_legacy"),
        ("LD-3", "missing_locally"),
    ]
    assert report["findings"][0]["differences"] == [
        {"field": "attributes.firmware", "local": "1.0", "remote": "1.1"},
        {"field": "status", "local": "active", "remote": "suspended"},
    ]
    assert report["findings"][3]["fetched_at"] is None

    metrics = (await client.get("/metrics")).text
    assert {
        'platform_legacy_drift_findings{finding="mismatched",kind="device"} 1.0',
        'platform_legacy_drift_findings{finding="missing_locally",kind="device"} 1.0',
        'platform_legacy_drift_findings{finding="stale",kind="device"} 1.0',
        'platform_legacy_drift_findings{finding="mismatched",kind="company"} 0.0',
    } <= gauge_lines(metrics)

    (alert,) = notifier.sent
    assert alert.severity == "warning"
    assert alert.related == {"sync_report_id": report_id, "entity": "device"}
    assert f"/v1/legacy-sync/reports/{report_id}" in alert.body
    assert "mismatched 1" in alert.body
    # Dispatching again (a restarted relay, another settle) sends nothing more.
    await platform.settle()
    assert len(notifier.sent) == 1


async def test_a_clean_run_is_reported_without_an_alert(
    client: Client, platform: Platform, notifier: RecordingNotifier
) -> None:
    """Mirrors that match give a report with no findings and no notification; the gauges of
    that kind go back to zero."""
    platform.deps.legacy_fake.put(device("LD-7"))
    await mirror_devices(client, "LD-7")
    report = await detect_drift(platform.deps, DetectDrift(kind=MirrorKind.DEVICE))
    await platform.settle()
    shown = (await client.get(f"/v1/legacy-sync/reports/{report.id}")).json()
    assert shown["has_drift"] is False
    assert shown["findings"] == []
    assert notifier.sent == []
    lines = gauge_lines((await client.get("/metrics")).text)
    device_lines = {line for line in lines if 'kind="device"' in line}
    assert len(device_lines) == 5  # one per finding kind
    assert all(line.endswith(" 0.0") for line in device_lines)


async def test_reports_are_listed_newest_first_per_kind(
    client: Client, platform: Platform, clock: FixedClock
) -> None:
    """Newest first, filtered by kind, cut at limit; bad filters and unknown ids are refused."""
    deps = platform.deps
    first = await detect_drift(deps, DetectDrift(kind=MirrorKind.DEVICE))
    clock.advance(timedelta(minutes=5))
    company = await detect_drift(deps, DetectDrift(kind=MirrorKind.COMPANY))
    clock.advance(timedelta(minutes=5))
    latest = await detect_drift(deps, DetectDrift(kind=MirrorKind.DEVICE))

    every = (await client.get("/v1/legacy-sync/reports")).json()
    assert [r["id"] for r in every["items"]] == [latest.id, company.id, first.id]
    assert every["limit"] == 20
    devices = await client.get("/v1/legacy-sync/reports", params={"kind": "device", "limit": 1})
    assert [r["id"] for r in devices.json()["items"]] == [latest.id]
    bad_kind = await client.get("/v1/legacy-sync/reports", params={"kind": "invoice"})
    assert_error(bad_kind, 400, "VALIDATION")
    too_many = await client.get("/v1/legacy-sync/reports", params={"limit": 101})
    assert_error(too_many, 400, "VALIDATION")
    assert_error(await client.get("/v1/legacy-sync/reports/syn_nowhere"), 404, "NOT_FOUND")


async def test_reports_are_for_operations_roles_only(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Support and Ops read reports; read-only and company keys are refused."""
    report = await detect_drift(platform.deps, DetectDrift(kind=MirrorKind.ASSET))
    url = f"/v1/legacy-sync/reports/{report.id}"
    for role in (Role.SUPPORT, Role.OPS):
        response = await client.get(url, headers=await keys.headers(role))
        assert response.status_code == 200, response.text
    readonly = await client.get(url, headers=await keys.headers(Role.READONLY))
    assert_error(readonly, 403, "AUTHZ")
    scoped = await keys.headers(Role.SUPPORT, seeded.company_id)
    assert_error(await client.get("/v1/legacy-sync/reports", headers=scoped), 403, "AUTHZ")


async def test_a_device_the_legacy_system_places_elsewhere_is_an_assignment_mismatch(
    client: Client, platform: Platform, seeded: SeededCatalogue, notifier: RecordingNotifier
) -> None:
    """The platform's history has LD-7 at the seeded company and LD-8 too; the legacy system
    moved LD-7 to another company and has no LD-8. The device report names both, field by
    field, and counts as drift; LD-9, placed alike on both sides, is not reported."""
    command = RecordAutomationResult(
        step_id="stp-drift",
        operation=LegacyOperation.PROVISION_DEVICE,
        company_id=seeded.company_id,
        product_id=seeded.product_ids["GW-100"],
        device_legacy_ids=("LD-7", "LD-8", "LD-9"),
        effective_at=platform.deps.clock.now(),
    )
    await record_automation_result(platform.deps, command)
    fake = platform.deps.legacy_fake
    moved = DeviceRecord("LD-7", "SN-LD-7", "active", company_legacy_id="legacy-cmp-2002")
    fake.put(moved, device("LD-9"))
    fake.remove("LD-8")

    report = await detect_drift(platform.deps, DetectDrift(kind=MirrorKind.DEVICE))

    body = (await client.get(f"/v1/legacy-sync/reports/{report.id}")).json()
    placed = {
        finding["legacy_id"]: finding["differences"]
        for finding in body["findings"]
        if finding["kind"] == "assignment_mismatched"
    }
    assert placed == {
        "LD-7": [
            {"field": "company_legacy_id", "local": COMPANY_MIRROR_ID, "remote": "legacy-cmp-2002"}
        ],
        "LD-8": [{"field": "device", "local": "LD-8", "remote": None}],
    }
    assert body["has_drift"] is True
    await platform.settle()
    assert len(notifier.sent) == 1
