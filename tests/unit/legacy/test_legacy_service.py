"""Legacy use cases: read-through mirror refresh and drift detection against the fake bridge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from legacy_deps import LegacyTestDeps

from platform_core.legacy.model import (
    AssetRecord,
    CompanyMirror,
    CompanyRecord,
    DeviceRecord,
    FindingKind,
    LegacyEvent,
    MirrorKind,
)
from platform_core.legacy.service import DetectDrift, RefreshMirror, detect_drift, refresh_mirror
from platform_core.shared.errors import ExternalServiceError, NotFoundError, ValidationError

ACME = CompanyRecord(legacy_id="C100", name="Acme", status="active", attributes={"tier": 1})


def stored_events(deps: LegacyTestDeps) -> list[str]:
    return [stored.event.type for stored in deps.db.events]


async def test_first_refresh_creates_the_mirror(deps: LegacyTestDeps) -> None:
    """Refreshing an entity never mirrored before stores it and records mirror_refreshed."""
    deps.bridge.put(ACME)

    mirror = await refresh_mirror(deps, RefreshMirror(kind=MirrorKind.COMPANY, legacy_id="C100"))

    assert isinstance(mirror, CompanyMirror)
    assert (mirror.name, mirror.fetched_at, mirror.version) == ("Acme", deps.clock.now(), 1)
    async with deps.uow() as uow:
        assert await uow.company_mirrors.get("C100") == mirror
    assert stored_events(deps) == [LegacyEvent.MIRROR_REFRESHED]


async def test_refresh_replaces_changed_data(deps: LegacyTestDeps) -> None:
    """A later refresh stores the legacy system's new data and bumps the stored version."""
    deps.bridge.put(ACME)
    await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))
    deps.bridge.put(CompanyRecord(legacy_id="C100", name="Acme Ltd", status="suspended"))
    deps.clock.advance(timedelta(hours=1))

    mirror = await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))

    assert (mirror.name, mirror.status, mirror.version) == ("Acme Ltd", "suspended", 2)
    assert mirror.fetched_at == deps.clock.now()
    changed = deps.db.events[-1].event.payload["changed_fields"]
    assert changed == ["attributes.tier", "name", "status"]


async def test_refresh_without_change_records_no_event(deps: LegacyTestDeps) -> None:
    """Refreshing an unchanged entity only moves fetched_at."""
    deps.bridge.put(ACME)
    await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))
    deps.clock.advance(timedelta(hours=1))

    mirror = await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))

    assert mirror.fetched_at == deps.clock.now()
    assert stored_events(deps) == [LegacyEvent.MIRROR_REFRESHED]


async def test_read_through_serves_a_young_mirror_without_calling_legacy(
    deps: LegacyTestDeps,
) -> None:
    """With max_age, a mirror younger than it is returned without asking the legacy system."""
    deps.bridge.put(ACME)
    first = await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))
    deps.clock.advance(timedelta(minutes=5))

    cached = await refresh_mirror(
        deps, RefreshMirror(kind="company", legacy_id="C100", max_age_seconds=600)
    )

    assert cached == first
    assert len(deps.bridge.calls_to("get_company")) == 1


async def test_read_through_fetches_an_old_mirror(deps: LegacyTestDeps) -> None:
    """With max_age, a mirror older than it is fetched again."""
    deps.bridge.put(ACME)
    await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))
    deps.clock.advance(timedelta(minutes=11))

    mirror = await refresh_mirror(
        deps, RefreshMirror(kind="company", legacy_id="C100", max_age_seconds=600)
    )

    assert mirror.fetched_at == deps.clock.now()
    assert len(deps.bridge.calls_to("get_company")) == 2


async def test_refresh_of_unknown_entity_is_not_found(deps: LegacyTestDeps) -> None:
    """An id the legacy system does not know raises NotFoundError and stores nothing."""
    with pytest.raises(NotFoundError):
        await refresh_mirror(deps, RefreshMirror(kind="device", legacy_id="D404"))

    assert deps.db.table("legacy_device_mirrors") == {}


async def test_bridge_failure_propagates_and_changes_nothing(deps: LegacyTestDeps) -> None:
    """A failing legacy call leaves the stored mirror as it was."""
    deps.bridge.put(ACME)
    before = await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))
    deps.bridge.fail_next(retryable=True)

    with pytest.raises(ExternalServiceError) as error:
        await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))

    assert error.value.retryable
    async with deps.uow() as uow:
        assert await uow.company_mirrors.get("C100") == before


async def test_refresh_passes_the_correlation_id_to_the_bridge(deps: LegacyTestDeps) -> None:
    """The command's correlation id reaches the legacy call and the recorded events."""
    deps.bridge.put(
        AssetRecord(legacy_id="A1", company_legacy_id="C100", name="Truck", status="ok")
    )

    await refresh_mirror(
        deps, RefreshMirror(kind="asset", legacy_id="A1", correlation_id="corr_42")
    )

    assert deps.bridge.calls_to("get_asset")[0].correlation_id == "corr_42"
    assert deps.db.events[0].event.correlation_id == "corr_42"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "vehicle", "legacy_id": "X1"}, "kind"),
        ({"kind": "company", "legacy_id": ""}, "legacy_id"),
        ({"kind": "company", "legacy_id": "C1", "max_age_seconds": 0}, "max_age_seconds"),
    ],
)
def test_refresh_command_refuses_bad_input(fields: dict[str, object], field: str) -> None:
    """An unknown kind, an empty id or a non-positive max age is refused."""
    with pytest.raises(ValidationError) as error:
        RefreshMirror(**fields)  # type: ignore[arg-type]

    assert error.value.details["field"] == field


async def test_detect_drift_stores_a_report_and_announces_drift(deps: LegacyTestDeps) -> None:
    """Drift detection compares every mirror with the legacy system and stores the report."""
    deps.bridge.put(
        DeviceRecord(legacy_id="D1", serial_number="SN-1", status="active"),
        DeviceRecord(legacy_id="D2", serial_number="SN-2", status="active"),
    )
    await refresh_mirror(deps, RefreshMirror(kind="device", legacy_id="D1"))
    await refresh_mirror(deps, RefreshMirror(kind="device", legacy_id="D2"))
    deps.bridge.remove("D2")
    deps.bridge.put(
        DeviceRecord(legacy_id="D1", serial_number="SN-1", status="returned"),
        DeviceRecord(legacy_id="D3", serial_number="SN-3", status="active"),
    )

    report = await detect_drift(deps, DetectDrift(kind="device"))

    assert [(f.legacy_id, f.kind) for f in report.findings] == [
        ("D1", FindingKind.MISMATCHED),
        ("D2", FindingKind.MISSING_IN_LEGACY),
        ("D3", FindingKind.MISSING_LOCALLY),
    ]
    async with deps.uow() as uow:
        assert await uow.sync_reports.latest(MirrorKind.DEVICE) == report
        assert (await uow.device_mirrors.get("D1")).status == "active"
    assert deps.db.events[-1].event.type == LegacyEvent.DRIFT_DETECTED


async def test_clean_drift_run_is_stored_without_event(deps: LegacyTestDeps) -> None:
    """A run that finds nothing is still stored (last checked) but records no event."""
    deps.bridge.put(ACME)
    await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))

    report = await detect_drift(deps, DetectDrift(kind="company"))

    assert report.findings == ()
    assert stored_events(deps) == [LegacyEvent.MIRROR_REFRESHED]
    async with deps.uow() as uow:
        assert await uow.sync_reports.recent() == [report]


async def test_detect_drift_reports_stale_mirrors(deps: LegacyTestDeps) -> None:
    """Mirrors fetched before now - stale_after_seconds are reported stale."""
    deps.bridge.put(ACME)
    await refresh_mirror(deps, RefreshMirror(kind="company", legacy_id="C100"))
    deps.clock.advance(timedelta(hours=2))

    report = await detect_drift(deps, DetectDrift(kind="company", stale_after_seconds=3600))

    assert [finding.kind for finding in report.findings] == [FindingKind.STALE]


async def test_detect_drift_leaves_nothing_when_legacy_fails(deps: LegacyTestDeps) -> None:
    """A failing legacy listing stores no report."""
    deps.bridge.fail_next(retryable=False)

    with pytest.raises(ExternalServiceError):
        await detect_drift(deps, DetectDrift(kind="asset"))

    async with deps.uow() as uow:
        assert await uow.sync_reports.recent() == []
