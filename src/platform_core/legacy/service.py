"""Legacy use cases: read-through refresh of one mirror, and drift detection writing a report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import attrs

from platform_core.legacy.assignments import AssignmentKind, Device, DeviceStatus
from platform_core.legacy.model import (
    AssetMirror,
    CompanyMirror,
    DeviceMirror,
    DevicePlacement,
    Mirror,
    MirrorKind,
    SyncReport,
    mirror_kind,
)
from platform_core.legacy.ports import LegacyDeps, LegacyUnitOfWork
from platform_core.ports.core import Repository
from platform_core.shared.errors import NotFoundError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import id_field, optional_id_field, positive_int

DEFAULT_STALE_AFTER_SECONDS = 24 * 3600
MAX_REPORTS_PAGE = 100


def _optional_positive(
    instance: object, attribute: attrs.Attribute[int | None], value: object
) -> None:
    if value is not None:
        positive_int(instance, attribute, value)


@attrs.frozen(kw_only=True)
class RefreshMirror:
    """Bring the local mirror of one legacy entity up to date.

    With `max_age_seconds`, a mirror fetched at most that long ago is returned as is (a
    read-through cache); without it the legacy system is always asked.
    """

    kind: MirrorKind = attrs.field(converter=mirror_kind)
    legacy_id: str = attrs.field(validator=id_field)
    max_age_seconds: int | None = attrs.field(default=None, validator=_optional_positive)
    correlation_id: str | None = attrs.field(default=None, validator=optional_id_field)


@attrs.frozen(kw_only=True)
class DetectDrift:
    """Compare every local mirror of `kind` with the legacy system and store a sync report."""

    kind: MirrorKind = attrs.field(converter=mirror_kind)
    stale_after_seconds: int = attrs.field(
        default=DEFAULT_STALE_AFTER_SECONDS, validator=positive_int
    )
    correlation_id: str | None = attrs.field(default=None, validator=optional_id_field)


class _Fetched(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def fetched_at(self) -> datetime: ...


M = TypeVar("M", bound=_Fetched)
R = TypeVar("R")


async def refresh_mirror(deps: LegacyDeps, command: RefreshMirror) -> Mirror:
    """Return the current mirror of one legacy company, asset or device.

    Rules:
    - a mirror younger than `max_age_seconds` is returned without calling the legacy system;
    - otherwise the record is fetched; a first fetch creates the mirror, a later one replaces
      its data and `fetched_at` (`legacy.mirror_refreshed` only when something changed);
    - a legacy id the legacy system does not know raises NotFoundError and changes nothing
      (an existing local mirror is left for drift detection to report as missing_in_legacy);
    - bridge failures (ExternalServiceError) propagate and change nothing.
    """
    correlation_id = command.correlation_id or deps.ids.new_id("corr")
    legacy_id = command.legacy_id
    bridge = deps.bridge
    match command.kind:
        case MirrorKind.COMPANY:
            return await _read_through(
                deps,
                command,
                correlation_id,
                lambda uow: uow.company_mirrors,
                lambda: bridge.get_company(legacy_id, correlation_id=correlation_id),
                CompanyMirror.first_fetch,
                CompanyMirror.refresh,
            )
        case MirrorKind.ASSET:
            return await _read_through(
                deps,
                command,
                correlation_id,
                lambda uow: uow.asset_mirrors,
                lambda: bridge.get_asset(legacy_id, correlation_id=correlation_id),
                AssetMirror.first_fetch,
                AssetMirror.refresh,
            )
        case MirrorKind.DEVICE:
            return await _read_through(
                deps,
                command,
                correlation_id,
                lambda uow: uow.device_mirrors,
                lambda: bridge.get_device(legacy_id, correlation_id=correlation_id),
                DeviceMirror.first_fetch,
                DeviceMirror.refresh,
            )


async def _read_through(
    deps: LegacyDeps,
    command: RefreshMirror,
    correlation_id: str,
    repository: Callable[[LegacyUnitOfWork], Repository[M]],
    fetch: Callable[[], Awaitable[R | None]],
    first_fetch: Callable[[R, datetime], tuple[M, list[DomainEvent]]],
    refresh: Callable[[M, R, datetime], tuple[M, list[DomainEvent]]],
) -> M:
    if command.max_age_seconds is not None:
        async with deps.uow() as uow:
            cached = await repository(uow).find(command.legacy_id)
        max_age = timedelta(seconds=command.max_age_seconds)
        if cached is not None and cached.fetched_at >= deps.clock.now() - max_age:
            return cached
    # The remote call happens outside the transaction: no transaction waits on the network.
    record = await fetch()
    if record is None:
        raise NotFoundError.of(f"legacy {command.kind}", command.legacy_id)
    at = deps.clock.now()
    async with deps.uow() as uow:
        mirrors = repository(uow)
        current = await mirrors.find(command.legacy_id)
        if current is None:
            mirror, events = first_fetch(record, at)
            stored = await mirrors.add(mirror)
        else:
            mirror, events = refresh(current, record, at)
            stored = await mirrors.update(mirror)
        await uow.events.record(events, correlation_id)
        await uow.commit()
    return stored


async def detect_drift(deps: LegacyDeps, command: DetectDrift) -> SyncReport:
    """Compare local mirrors of one entity kind with the legacy system; store a SyncReport.

    Rules:
    - every legacy id on either side is classified: missing_locally, missing_in_legacy,
      mismatched (field by field) and/or stale (fetched before now - stale_after);
    - the report is stored even when it is clean, so "last checked" is always known;
    - `legacy.drift_detected` is recorded with the report only when something is missing or
      mismatched;
    - mirrors are not changed: repairing them is `refresh_mirror`'s job, decided by Ops.
    """
    correlation_id = command.correlation_id or deps.ids.new_id("corr")
    remote = await _fetch_all(deps, command.kind, correlation_id)
    at = deps.clock.now()
    async with deps.uow() as uow:
        local = await _local_mirrors(uow, command.kind)
        placements = await _placements(uow) if command.kind is MirrorKind.DEVICE else []
        report, events = SyncReport.generate(
            deps.ids.new_id("syn"),
            command.kind,
            local,
            remote,
            at=at,
            stale_after=timedelta(seconds=command.stale_after_seconds),
            placements=placements,
        )
        stored = await uow.sync_reports.add(report)
        await uow.events.record(events, correlation_id)
        await uow.commit()
    return stored


async def _fetch_all(deps: LegacyDeps, kind: MirrorKind, correlation_id: str) -> list[Mirror]:
    """The legacy system's records of `kind` as mirrors fetched now."""
    bridge = deps.bridge
    match kind:
        case MirrorKind.COMPANY:
            companies = await bridge.list_companies(correlation_id=correlation_id)
            at = deps.clock.now()
            return [CompanyMirror.from_record(record, at) for record in companies]
        case MirrorKind.ASSET:
            assets = await bridge.list_assets(correlation_id=correlation_id)
            at = deps.clock.now()
            return [AssetMirror.from_record(record, at) for record in assets]
        case MirrorKind.DEVICE:
            devices = await bridge.list_devices(correlation_id=correlation_id)
            at = deps.clock.now()
            return [DeviceMirror.from_record(record, at) for record in devices]


PLACEMENT_PAGE = 500


async def _placements(uow: LegacyUnitOfWork) -> list[DevicePlacement]:
    """Where the assignment history puts each active device now, in legacy ids."""
    placements = []
    offset = 0
    while page := await uow.devices.listing(
        status=DeviceStatus.ACTIVE, limit=PLACEMENT_PAGE, offset=offset
    ):
        for device in page:
            placements.append(await _placement(uow, device))
        offset += PLACEMENT_PAGE
    return placements


async def _placement(uow: LegacyUnitOfWork, device: Device) -> DevicePlacement:
    company = asset = None
    for window in await uow.device_assignments.for_device(device.id):
        if window.valid_to is not None:
            continue
        if window.kind is AssignmentKind.COMPANY:
            company = (await uow.companies.get(window.holder_id)).company_mirror_id
        else:
            asset = (await uow.assets.get(window.holder_id)).legacy_id
    return DevicePlacement(device.legacy_id, company, asset)


async def _local_mirrors(uow: LegacyUnitOfWork, kind: MirrorKind) -> Sequence[Mirror]:
    match kind:
        case MirrorKind.COMPANY:
            return await uow.company_mirrors.all()
        case MirrorKind.ASSET:
            return await uow.asset_mirrors.all()
        case MirrorKind.DEVICE:
            return await uow.device_mirrors.all()


# -- reading sync reports ----------------------------------------------------------------------


async def get_sync_report(deps: LegacyDeps, report_id: str) -> SyncReport:
    """One sync report with all its findings (NotFoundError for an unknown id)."""
    async with deps.uow() as uow:
        return await uow.sync_reports.get(report_id)


async def list_sync_reports(
    deps: LegacyDeps, kind: MirrorKind | str | None = None, limit: int = 20
) -> list[SyncReport]:
    """Sync reports newest first, of one entity kind or all.

    Rules: `kind` must be company, asset or device; 1 <= limit <= 100 (ValidationError).
    """
    wanted = None if kind is None else mirror_kind(kind)
    if not 1 <= limit <= MAX_REPORTS_PAGE:
        raise ValidationError(
            f"limit must be between 1 and {MAX_REPORTS_PAGE}", {"field": "limit", "value": limit}
        )
    async with deps.uow() as uow:
        return await uow.sync_reports.recent(wanted, limit)


async def latest_sync_reports(deps: LegacyDeps) -> dict[MirrorKind, SyncReport]:
    """The newest report of each entity kind that has one (what the drift gauges show)."""
    latest: dict[MirrorKind, SyncReport] = {}
    async with deps.uow() as uow:
        for kind in MirrorKind:
            report = await uow.sync_reports.latest(kind)
            if report is not None:
                latest[kind] = report
    return latest
