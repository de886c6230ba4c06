"""Legacy records and mirrors: validation, conversion and refresh events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from platform_core.legacy.model import (
    AssetMirror,
    AssetRecord,
    CompanyMirror,
    CompanyRecord,
    DeviceMirror,
    DeviceRecord,
    FieldDifference,
    LegacyEvent,
    mirror_differences,
)
from platform_core.shared.errors import ValidationError

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LATER = AT + timedelta(hours=2)


def company(**changes: object) -> CompanyRecord:
    fields: dict[str, object] = {
        "legacy_id": "C100",
        "name": "Acme Sensors",
        "status": "active",
        "attributes": {"region": "west", "tier": 2},
    }
    fields.update(changes)
    return CompanyRecord(**fields)  # type: ignore[arg-type]


def test_record_attributes_are_frozen_and_sorted() -> None:
    """Raw attributes become sorted (name, value) pairs whatever order they arrive in."""
    record = company(attributes={"tier": 2, "region": "west"})

    assert record.attributes == (("region", "west"), ("tier", 2))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"legacy_id": ""}, "legacy_id"),
        ({"name": "  "}, "name"),
        ({"status": ""}, "status"),
        ({"attributes": {"": "x"}}, "attributes"),
        ({"attributes": {"site": None}}, "attributes.site"),
        ({"attributes": {"site": ["a"]}}, "attributes.site"),
    ],
)
def test_company_record_refuses_bad_input(changes: dict[str, object], field: str) -> None:
    """A record with an empty id, name or status, or a non-scalar attribute, is refused."""
    with pytest.raises(ValidationError) as error:
        company(**changes)

    assert error.value.details["field"] == field


def test_device_record_refuses_an_empty_serial() -> None:
    """A device record needs a serial number."""
    with pytest.raises(ValidationError) as error:
        DeviceRecord(legacy_id="D1", serial_number="", status="active")

    assert error.value.details["field"] == "serial_number"


def test_mirror_refuses_a_naive_fetch_time() -> None:
    """A mirror's fetched_at must carry a time zone."""
    with pytest.raises(ValidationError) as error:
        CompanyMirror.from_record(company(), datetime(2026, 3, 1, 9, 0))

    assert error.value.details["field"] == "fetched_at"


def test_first_fetch_mirrors_every_field_and_announces_it() -> None:
    """A first fetch copies the record and emits legacy.mirror_refreshed marked as created."""
    mirror, events = CompanyMirror.first_fetch(company(), AT)

    assert (mirror.id, mirror.name, mirror.status, mirror.fetched_at) == (
        "C100",
        "Acme Sensors",
        "active",
        AT,
    )
    assert [event.type for event in events] == [LegacyEvent.MIRROR_REFRESHED]
    assert events[0].payload["created"] is True
    assert events[0].payload["entity"] == "company"
    assert events[0].payload["changed_fields"] == [
        "attributes.region",
        "attributes.tier",
        "name",
        "status",
    ]


def test_refresh_with_changes_lists_the_changed_fields_and_keeps_the_version() -> None:
    """Refreshing with a changed record updates the data and fetched_at, keeping the version."""
    stored = attrs.evolve(CompanyMirror.from_record(company(), AT), version=4)

    refreshed, events = stored.refresh(company(name="Acme Sensors Ltd", attributes={}), LATER)

    assert refreshed.name == "Acme Sensors Ltd"
    assert refreshed.fetched_at == LATER
    assert refreshed.version == 4
    assert events[0].payload["created"] is False
    assert events[0].payload["changed_fields"] == ["attributes.region", "attributes.tier", "name"]
    assert stored.name == "Acme Sensors"


def test_refresh_without_changes_only_moves_fetched_at() -> None:
    """Refreshing with an identical record records no event but moves fetched_at."""
    mirror, _ = CompanyMirror.first_fetch(company(), AT)

    refreshed, events = mirror.refresh(company(), LATER)

    assert events == []
    assert refreshed.fetched_at == LATER


def test_refresh_with_another_entity_is_refused() -> None:
    """A record with another legacy id cannot refresh a mirror, which stays unchanged."""
    mirror, _ = CompanyMirror.first_fetch(company(), AT)

    with pytest.raises(ValidationError) as error:
        mirror.refresh(company(legacy_id="C999"), LATER)

    assert error.value.details["field"] == "legacy_id"
    assert mirror.fetched_at == AT


def test_asset_and_device_mirrors_copy_their_references() -> None:
    """Asset and device mirrors keep the legacy ids of the company/asset they belong to."""
    asset = AssetMirror.from_record(
        AssetRecord(legacy_id="A1", company_legacy_id="C100", name="Truck 7", status="active"),
        AT,
    )
    device = DeviceMirror.from_record(
        DeviceRecord(
            legacy_id="D1",
            serial_number="SN-1",
            status="active",
            company_legacy_id="C100",
            asset_legacy_id="A1",
        ),
        AT,
    )

    assert (asset.company_legacy_id, asset.serial_number) == ("C100", None)
    assert (device.company_legacy_id, device.asset_legacy_id) == ("C100", "A1")


def test_differences_compare_attributes_one_by_one() -> None:
    """An attribute added, removed or changed is one difference each; None marks absence."""
    local = CompanyMirror.from_record(company(attributes={"region": "west", "tier": 2}), AT)
    remote = CompanyMirror.from_record(company(attributes={"tier": 3, "site": "x"}), LATER)

    assert mirror_differences(local, remote) == (
        FieldDifference("attributes.region", "west", None),
        FieldDifference("attributes.site", None, "x"),
        FieldDifference("attributes.tier", 2, 3),
    )


def test_differences_ignore_bookkeeping_fields() -> None:
    """fetched_at and version never count as a difference."""
    local = CompanyMirror.from_record(company(), AT)
    remote = CompanyMirror.from_record(company(), LATER)

    assert mirror_differences(local, remote) == ()


def test_differences_between_kinds_are_refused() -> None:
    """A company mirror cannot be compared with a device mirror."""
    device = DeviceMirror.from_record(
        DeviceRecord(legacy_id="C100", serial_number="SN-1", status="active"), AT
    )

    with pytest.raises(ValidationError):
        mirror_differences(CompanyMirror.from_record(company(), AT), device)
