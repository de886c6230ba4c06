"""Legacy mirrors (local read models of the legacy system) and the pure drift-detection rules.

A *record* is what the legacy system holds right now (what the bridge returns); a *mirror* is
the platform's stored copy of a record, stamped with when it was fetched. Drift detection
compares local mirrors with freshly fetched ones and writes the findings to a `SyncReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias, TypeVar

import attrs

from platform_core.shared.errors import ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import id_field, non_empty_text, non_negative_int, optional_id_field
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE = "legacy"

# Raw attribute values as the legacy system sends them. None is not a value: an attribute the
# legacy system leaves empty is absent, so a difference "None -> x" always means "added".
AttributeValue: TypeAlias = str | int | float | bool
Attributes: TypeAlias = tuple[tuple[str, AttributeValue], ...]


class MirrorKind(StrEnum):
    """The legacy entities the platform mirrors (DESIGN.md: Company, Asset and Device only)."""

    COMPANY = "company"
    ASSET = "asset"
    DEVICE = "device"


class LegacyEvent(StrEnum):
    MIRROR_REFRESHED = "legacy.mirror_refreshed"
    DRIFT_DETECTED = "legacy.drift_detected"


def freeze_attributes(
    value: Mapping[str, AttributeValue] | Iterable[tuple[str, AttributeValue]],
) -> Attributes:
    """Raw attributes as sorted (name, value) pairs, so mirrors stay immutable and comparable."""
    pairs = dict(value)
    for name, item in pairs.items():
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("attribute names must be non-empty", {"field": "attributes"})
        if not isinstance(item, str | int | float | bool):
            raise ValidationError(
                f"attribute {name!r} must be a string, number or boolean",
                {"field": f"attributes.{name}", "value": repr(item)},
            )
    return tuple(sorted(pairs.items(), key=lambda pair: pair[0]))


def mirror_kind(value: object) -> MirrorKind:
    """`value` as a MirrorKind, or ValidationError (attrs converter for commands and reports)."""
    try:
        return MirrorKind(str(value))
    except ValueError:
        raise ValidationError(
            f"unknown legacy entity {value!r}", {"field": "kind", "value": repr(value)}
        ) from None


# -- records: the legacy system's current view ------------------------------------------------


@attrs.frozen
class CompanyRecord:
    """A company as the legacy system holds it."""

    legacy_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    status: str = attrs.field(validator=non_empty_text)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)


@attrs.frozen
class AssetRecord:
    """An asset (a site, machine or vehicle that carries devices) as the legacy system holds it."""

    legacy_id: str = attrs.field(validator=id_field)
    company_legacy_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    status: str = attrs.field(validator=non_empty_text)
    serial_number: str | None = attrs.field(default=None, validator=optional_id_field)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)


@attrs.frozen
class DeviceRecord:
    """A sensor device as the legacy system holds it; it may be assigned to a company/asset."""

    legacy_id: str = attrs.field(validator=id_field)
    serial_number: str = attrs.field(validator=id_field)
    status: str = attrs.field(validator=non_empty_text)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    asset_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)


LegacyRecord: TypeAlias = CompanyRecord | AssetRecord | DeviceRecord


# -- mirrors: the platform's stored copies ------------------------------------------------------


@attrs.frozen(kw_only=True)
class CompanyMirror:
    """Local copy of a legacy company; `id` is the legacy id. Platform companies wrap one."""

    kind: ClassVar[MirrorKind] = MirrorKind.COMPANY

    id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    status: str = attrs.field(validator=non_empty_text)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)
    fetched_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def from_record(cls, record: CompanyRecord, fetched_at: datetime) -> CompanyMirror:
        """The mirror of `record` as fetched at `fetched_at` (a plain conversion, no events)."""
        return cls(
            id=record.legacy_id,
            name=record.name,
            status=record.status,
            attributes=record.attributes,
            fetched_at=fetched_at,
        )

    @classmethod
    def first_fetch(
        cls, record: CompanyRecord, at: datetime
    ) -> tuple[CompanyMirror, list[DomainEvent]]:
        """Mirror a legacy company for the first time."""
        return _first_fetch(cls.from_record(record, require_aware(at, "at")))

    def refresh(
        self, record: CompanyRecord, at: datetime
    ) -> tuple[CompanyMirror, list[DomainEvent]]:
        """Replace the copy with the legacy system's current record."""
        return _refreshed(self, CompanyMirror.from_record(record, require_aware(at, "at")))


@attrs.frozen(kw_only=True)
class AssetMirror:
    """Local copy of a legacy asset; `id` is the legacy id."""

    kind: ClassVar[MirrorKind] = MirrorKind.ASSET

    id: str = attrs.field(validator=id_field)
    company_legacy_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    status: str = attrs.field(validator=non_empty_text)
    serial_number: str | None = attrs.field(default=None, validator=optional_id_field)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)
    fetched_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def from_record(cls, record: AssetRecord, fetched_at: datetime) -> AssetMirror:
        """The mirror of `record` as fetched at `fetched_at` (a plain conversion, no events)."""
        return cls(
            id=record.legacy_id,
            company_legacy_id=record.company_legacy_id,
            name=record.name,
            status=record.status,
            serial_number=record.serial_number,
            attributes=record.attributes,
            fetched_at=fetched_at,
        )

    @classmethod
    def first_fetch(
        cls, record: AssetRecord, at: datetime
    ) -> tuple[AssetMirror, list[DomainEvent]]:
        """Mirror a legacy asset for the first time."""
        return _first_fetch(cls.from_record(record, require_aware(at, "at")))

    def refresh(self, record: AssetRecord, at: datetime) -> tuple[AssetMirror, list[DomainEvent]]:
        """Replace the copy with the legacy system's current record."""
        return _refreshed(self, AssetMirror.from_record(record, require_aware(at, "at")))


@attrs.frozen(kw_only=True)
class DeviceMirror:
    """Local copy of a legacy device; `id` is the legacy id."""

    kind: ClassVar[MirrorKind] = MirrorKind.DEVICE

    id: str = attrs.field(validator=id_field)
    serial_number: str = attrs.field(validator=id_field)
    status: str = attrs.field(validator=non_empty_text)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    asset_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)
    fetched_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def from_record(cls, record: DeviceRecord, fetched_at: datetime) -> DeviceMirror:
        """The mirror of `record` as fetched at `fetched_at` (a plain conversion, no events)."""
        return cls(
            id=record.legacy_id,
            serial_number=record.serial_number,
            status=record.status,
            company_legacy_id=record.company_legacy_id,
            asset_legacy_id=record.asset_legacy_id,
            attributes=record.attributes,
            fetched_at=fetched_at,
        )

    @classmethod
    def first_fetch(
        cls, record: DeviceRecord, at: datetime
    ) -> tuple[DeviceMirror, list[DomainEvent]]:
        """Mirror a legacy device for the first time."""
        return _first_fetch(cls.from_record(record, require_aware(at, "at")))

    def refresh(self, record: DeviceRecord, at: datetime) -> tuple[DeviceMirror, list[DomainEvent]]:
        """Replace the copy with the legacy system's current record."""
        return _refreshed(self, DeviceMirror.from_record(record, require_aware(at, "at")))


Mirror: TypeAlias = CompanyMirror | AssetMirror | DeviceMirror
M = TypeVar("M", CompanyMirror, AssetMirror, DeviceMirror)

MIRROR_TYPES: Mapping[MirrorKind, type[Mirror]] = {
    MirrorKind.COMPANY: CompanyMirror,
    MirrorKind.ASSET: AssetMirror,
    MirrorKind.DEVICE: DeviceMirror,
}

# Bookkeeping fields of a mirror; every other field is mirrored data and is compared.
_BOOKKEEPING = frozenset({"id", "fetched_at", "version"})


@attrs.frozen
class FieldDifference:
    """One field whose local and legacy values differ; None means the side lacks the field."""

    field: str
    local: AttributeValue | None
    remote: AttributeValue | None

    def to_payload(self) -> dict[str, Any]:
        return {"field": self.field, "local": self.local, "remote": self.remote}


def _mirrored_values(mirror: Mirror) -> dict[str, AttributeValue | None]:
    values: dict[str, AttributeValue | None] = {}
    for field in attrs.fields(type(mirror)):
        if field.name in _BOOKKEEPING:
            continue
        if field.name == "attributes":
            values.update({f"attributes.{name}": item for name, item in mirror.attributes})
        else:
            values[field.name] = getattr(mirror, field.name)
    return values


def mirror_differences(local: Mirror, remote: Mirror) -> tuple[FieldDifference, ...]:
    """Field-by-field differences of the mirrored data (raw attributes compared one by one)."""
    if type(local) is not type(remote):
        raise ValidationError(
            "cannot compare mirrors of different entities",
            {"field": "kind", "local": local.kind, "remote": remote.kind},
        )
    ours, theirs = _mirrored_values(local), _mirrored_values(remote)
    return tuple(
        FieldDifference(name, ours.get(name), theirs.get(name))
        for name in sorted(ours.keys() | theirs.keys())
        if ours.get(name) != theirs.get(name)
    )


def _refresh_event(mirror: Mirror, *, created: bool, changed_fields: list[str]) -> DomainEvent:
    return DomainEvent(
        type=LegacyEvent.MIRROR_REFRESHED,
        aggregate_type=f"{mirror.kind}_mirror",
        aggregate_id=mirror.id,
        payload={
            "entity": str(mirror.kind),
            "legacy_id": mirror.id,
            "fetched_at": mirror.fetched_at.isoformat(),
            "created": created,
            "changed_fields": changed_fields,
        },
        occurred_at=mirror.fetched_at,
        source_module=SOURCE_MODULE,
    )


def _first_fetch(mirror: M) -> tuple[M, list[DomainEvent]]:
    every_field = sorted(_mirrored_values(mirror))
    return mirror, [_refresh_event(mirror, created=True, changed_fields=every_field)]


def _refreshed(current: M, fresh: M) -> tuple[M, list[DomainEvent]]:
    """`fresh` keeping `current`'s version; an event only when the mirrored data changed."""
    if fresh.id != current.id:
        raise ValidationError(
            f"record {fresh.id} cannot refresh mirror {current.id}",
            {"field": "legacy_id", "expected": current.id, "value": fresh.id},
        )
    refreshed = attrs.evolve(fresh, version=current.version)
    changed = mirror_differences(current, fresh)
    if not changed:
        return refreshed, []
    changed_fields = [difference.field for difference in changed]
    return refreshed, [_refresh_event(refreshed, created=False, changed_fields=changed_fields)]


# -- drift detection -------------------------------------------------------------------------


class FindingKind(StrEnum):
    """How a mirror disagrees with the legacy system."""

    MISSING_LOCALLY = "missing_locally"  # the legacy system has it; no local mirror exists
    MISSING_IN_LEGACY = "missing_in_legacy"  # a local mirror exists; the legacy system lacks it
    MISMATCHED = "mismatched"  # both have it, with different data (see `differences`)
    STALE = "stale"  # the local mirror was fetched longer ago than allowed
    # A device's current company or asset in the platform's assignment history is not where
    # the legacy system has it (or the legacy system has no such device).
    ASSIGNMENT_MISMATCHED = "assignment_mismatched"


# Findings that mean the local copy is wrong, not merely old.
DRIFT_KINDS = frozenset(
    {
        FindingKind.MISSING_LOCALLY,
        FindingKind.MISSING_IN_LEGACY,
        FindingKind.MISMATCHED,
        FindingKind.ASSIGNMENT_MISMATCHED,
    }
)


@attrs.frozen
class DriftFinding:
    """One disagreement about one legacy entity."""

    kind: FindingKind
    legacy_id: str
    differences: tuple[FieldDifference, ...] = ()
    fetched_at: datetime | None = attrs.field(default=None, validator=aware)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "legacy_id": self.legacy_id,
            "differences": [difference.to_payload() for difference in self.differences],
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
        }


def _by_legacy_id(kind: MirrorKind, mirrors: Sequence[Mirror], field: str) -> dict[str, Mirror]:
    expected = MIRROR_TYPES[kind]
    indexed: dict[str, Mirror] = {}
    for mirror in mirrors:
        if not isinstance(mirror, expected):
            raise ValidationError(
                f"{field} holds a {mirror.kind} mirror where {kind} mirrors are compared",
                {"field": field, "value": mirror.id},
            )
        if mirror.id in indexed:
            raise ValidationError(
                f"{field} holds legacy id {mirror.id} twice", {"field": field, "value": mirror.id}
            )
        indexed[mirror.id] = mirror
    return indexed


def compare_mirrors(
    kind: MirrorKind,
    local: Sequence[Mirror],
    remote: Sequence[Mirror],
    *,
    at: datetime,
    stale_after: timedelta,
) -> tuple[DriftFinding, ...]:
    """Classify every legacy id of `kind` found on either side.

    - in `remote` only: missing_locally; in `local` only: missing_in_legacy;
    - on both sides with different mirrored data: mismatched (differences listed field by field);
    - on both sides and the local copy fetched before `at - stale_after`: stale (independent of
      mismatched: an old copy can still be right). A mirror the legacy system no longer has is
      reported as missing, not also as stale.
    Findings are ordered by legacy id, then kind, so equal inputs give equal reports.
    """
    require_aware(at, "at")
    if stale_after <= timedelta(0):
        raise ValidationError("stale_after must be positive", {"field": "stale_after"})
    ours = _by_legacy_id(kind, local, "local")
    theirs = _by_legacy_id(kind, remote, "remote")
    oldest_fresh = at - stale_after
    findings: list[DriftFinding] = []
    for legacy_id in sorted(ours.keys() | theirs.keys()):
        mine, legacy = ours.get(legacy_id), theirs.get(legacy_id)
        if mine is None:
            findings.append(DriftFinding(FindingKind.MISSING_LOCALLY, legacy_id))
            continue
        if legacy is None:
            findings.append(
                DriftFinding(FindingKind.MISSING_IN_LEGACY, legacy_id, fetched_at=mine.fetched_at)
            )
            continue
        differences = mirror_differences(mine, legacy)
        if differences:
            findings.append(
                DriftFinding(
                    FindingKind.MISMATCHED, legacy_id, differences, fetched_at=mine.fetched_at
                )
            )
        if mine.fetched_at < oldest_fresh:
            findings.append(DriftFinding(FindingKind.STALE, legacy_id, fetched_at=mine.fetched_at))
    return tuple(findings)


@attrs.frozen
class DevicePlacement:
    """Where the platform's assignment history puts a device now, in legacy ids (None: no
    current company or asset window)."""

    legacy_id: str
    company_legacy_id: str | None = None
    asset_legacy_id: str | None = None


def compare_placements(
    placements: Sequence[DevicePlacement], remote: Sequence[Mirror]
) -> tuple[DriftFinding, ...]:
    """An assignment_mismatched finding for each placed device the legacy system has
    elsewhere (company or asset, field by field) or does not have at all."""
    theirs = {mirror.id: mirror for mirror in remote if isinstance(mirror, DeviceMirror)}
    findings = []
    for placement in sorted(placements, key=lambda each: each.legacy_id):
        legacy = theirs.get(placement.legacy_id)
        if legacy is None:
            missing = FieldDifference("device", placement.legacy_id, None)
            findings.append(
                DriftFinding(FindingKind.ASSIGNMENT_MISMATCHED, placement.legacy_id, (missing,))
            )
            continue
        differences = tuple(
            FieldDifference(field, ours, their)
            for field, ours, their in (
                ("company_legacy_id", placement.company_legacy_id, legacy.company_legacy_id),
                ("asset_legacy_id", placement.asset_legacy_id, legacy.asset_legacy_id),
            )
            if ours != their
        )
        if differences:
            findings.append(
                DriftFinding(FindingKind.ASSIGNMENT_MISMATCHED, placement.legacy_id, differences)
            )
    return tuple(findings)


@attrs.frozen(kw_only=True)
class SyncReport:
    """The outcome of one drift detection run over one entity kind."""

    id: str = attrs.field(validator=id_field)
    kind: MirrorKind = attrs.field(converter=mirror_kind)
    generated_at: datetime = attrs.field(validator=aware)
    stale_after_seconds: int = attrs.field(validator=non_negative_int)
    local_count: int = attrs.field(validator=non_negative_int)
    remote_count: int = attrs.field(validator=non_negative_int)
    findings: tuple[DriftFinding, ...] = ()
    version: int = 1

    @classmethod
    def generate(
        cls,
        report_id: str,
        kind: MirrorKind,
        local: Sequence[Mirror],
        remote: Sequence[Mirror],
        *,
        at: datetime,
        stale_after: timedelta,
        placements: Sequence[DevicePlacement] = (),
    ) -> tuple[SyncReport, list[DomainEvent]]:
        """Compare `local` mirrors with `remote` ones (fetched at `at`), and for devices the
        platform's `placements` too, and report the drift.

        `legacy.drift_detected` is emitted only when something is missing or mismatched;
        staleness alone is reported but is not drift.
        """
        findings = compare_mirrors(kind, local, remote, at=at, stale_after=stale_after)
        if placements:
            merged = findings + compare_placements(placements, remote)
            findings = tuple(sorted(merged, key=lambda each: (each.legacy_id, str(each.kind))))
        report = cls(
            id=report_id,
            kind=kind,
            generated_at=at,
            stale_after_seconds=int(stale_after.total_seconds()),
            local_count=len(local),
            remote_count=len(remote),
            findings=findings,
        )
        return report, ([report._drift_event()] if report.has_drift else [])

    def count(self, kind: FindingKind) -> int:
        return sum(1 for finding in self.findings if finding.kind is kind)

    @property
    def counts(self) -> dict[str, int]:
        """Number of findings of every kind (zero included), keyed by the kind's value."""
        return {str(kind): self.count(kind) for kind in FindingKind}

    @property
    def has_drift(self) -> bool:
        return any(finding.kind in DRIFT_KINDS for finding in self.findings)

    def _drift_event(self) -> DomainEvent:
        # Counts only: the findings can be many; subscribers load the report by id.
        return DomainEvent(
            type=LegacyEvent.DRIFT_DETECTED,
            aggregate_type="sync_report",
            aggregate_id=self.id,
            payload={
                "report_id": self.id,
                "entity": str(self.kind),
                "generated_at": self.generated_at.isoformat(),
                "local_count": self.local_count,
                "remote_count": self.remote_count,
                "counts": self.counts,
            },
            occurred_at=self.generated_at,
            source_module=SOURCE_MODULE,
        )
