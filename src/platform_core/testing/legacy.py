"""Strategies for the legacy context: legacy records, their mirrors and sets of mirrors."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from platform_core.legacy.model import (
    AssetMirror,
    AssetRecord,
    AttributeValue,
    CompanyMirror,
    CompanyRecord,
    DeviceMirror,
    DeviceRecord,
    Mirror,
    MirrorKind,
)
from platform_core.testing.shared import instants

LEGACY_STATUSES = ("active", "inactive", "suspended", "retired", "returned")


def legacy_ids(prefix: str = "L") -> st.SearchStrategy[str]:
    """Legacy ids shaped like the legacy system's: a prefix and up to six digits."""
    return st.integers(1, 999_999).map(lambda number: f"{prefix}{number}")


def legacy_statuses() -> st.SearchStrategy[str]:
    """Statuses the legacy system uses."""
    return st.sampled_from(LEGACY_STATUSES)


def attribute_values() -> st.SearchStrategy[AttributeValue]:
    """Raw attribute values: short strings, integers, booleans."""
    return st.text("abcxyz 019", min_size=1, max_size=8) | st.integers(-1000, 1000) | st.booleans()


def raw_attributes(max_size: int = 4) -> st.SearchStrategy[dict[str, AttributeValue]]:
    """Raw attribute mappings as the legacy system sends them."""
    names = st.sampled_from(("region", "tier", "site", "contract", "firmware", "notes"))
    return st.dictionaries(names, attribute_values(), max_size=max_size)


def serial_numbers() -> st.SearchStrategy[str]:
    """Device serial numbers like ``SN-0042``."""
    return st.integers(1, 99_999).map(lambda number: f"SN-{number:05d}")


def company_records(
    legacy_id: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[CompanyRecord]:
    """Companies as the legacy system holds them."""
    return st.builds(
        CompanyRecord,
        legacy_id=legacy_ids("C") if legacy_id is None else legacy_id,
        name=st.sampled_from(("Acme Sensors", "Northwind", "Globex", "Initech")),
        status=legacy_statuses(),
        attributes=raw_attributes(),
    )


def asset_records(
    legacy_id: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[AssetRecord]:
    """Assets as the legacy system holds them."""
    return st.builds(
        AssetRecord,
        legacy_id=legacy_ids("A") if legacy_id is None else legacy_id,
        company_legacy_id=legacy_ids("C"),
        name=st.sampled_from(("Warehouse 1", "Truck 7", "Cold room", "Line B")),
        status=legacy_statuses(),
        serial_number=st.none() | serial_numbers(),
        attributes=raw_attributes(),
    )


def device_records(
    legacy_id: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[DeviceRecord]:
    """Devices as the legacy system holds them, assigned or not."""
    return st.builds(
        DeviceRecord,
        legacy_id=legacy_ids("D") if legacy_id is None else legacy_id,
        serial_number=serial_numbers(),
        status=legacy_statuses(),
        company_legacy_id=st.none() | legacy_ids("C"),
        asset_legacy_id=st.none() | legacy_ids("A"),
        attributes=raw_attributes(),
    )


def mirrors(
    kind: MirrorKind,
    fetched_at: st.SearchStrategy[datetime] | None = None,
    legacy_id: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Mirror]:
    """Mirrors of `kind`, fetched at an instant from `fetched_at`."""
    when = instants() if fetched_at is None else fetched_at
    match kind:
        case MirrorKind.COMPANY:
            return st.builds(CompanyMirror.from_record, company_records(legacy_id), when)
        case MirrorKind.ASSET:
            return st.builds(AssetMirror.from_record, asset_records(legacy_id), when)
        case MirrorKind.DEVICE:
            return st.builds(DeviceMirror.from_record, device_records(legacy_id), when)


def mirror_lists(
    kind: MirrorKind, fetched_at: st.SearchStrategy[datetime] | None = None, max_size: int = 8
) -> st.SearchStrategy[list[Mirror]]:
    """Lists of mirrors of `kind` with distinct legacy ids (what a repository can hold)."""
    return st.lists(mirrors(kind, fetched_at), max_size=max_size, unique_by=lambda m: m.id)
