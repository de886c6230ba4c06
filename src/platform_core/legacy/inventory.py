"""Device and asset use cases: automation results written as devices and history windows, Ops
assignments, and the reads behind `GET /v1/devices` and `GET /v1/assets`.

Company ids here are always the platform's (modern) ids; legacy ids only identify devices and
assets in the legacy system.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from platform_core.legacy.assignments import (
    Asset,
    Device,
    DeviceHistory,
    DeviceStatus,
    HistoryChange,
    device_status,
)
from platform_core.legacy.ports import (
    InventoryDeps,
    InventoryUnitOfWork,
    LegacyOperation,
    serial_numbers,
)
from platform_core.ports.core import IdGenerator
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import (
    check_id,
    id_field,
    non_empty_text,
    non_negative_int,
    optional_id_field,
    positive_int,
)
from platform_core.shared.time import aware

# Inbox channel of applied automation results, keyed by step id: a step succeeds once, so its
# result is written once even when the reaction that writes it is delivered twice.
AUTOMATION_RESULTS_CHANNEL = "legacy.automation_results"
MAX_PAGE = 500


def _optional_status(value: object) -> DeviceStatus | None:
    return None if value is None else device_status(value)


def _operation(value: object) -> LegacyOperation:
    try:
        return LegacyOperation(str(value))
    except ValueError:
        raise ValidationError(
            f"unknown legacy operation {value!r}", {"field": "operation", "value": repr(value)}
        ) from None


def _legacy_ids(value: Iterable[str]) -> tuple[str, ...]:
    legacy_ids = tuple(value)
    for legacy_id in legacy_ids:
        check_id(legacy_id, "device_legacy_ids")
    if len(set(legacy_ids)) != len(legacy_ids):
        raise ValidationError("device legacy ids must not repeat", {"field": "device_legacy_ids"})
    return legacy_ids


# -- commands ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RecordAutomationResult:
    """A succeeded automation step's legacy write, to be mirrored in devices and windows.

    `device_legacy_ids` are the devices the legacy system touched, in request order: for an
    install the i-th new device got the i-th of `device_serials` (units past the listed
    serials have no serial yet); for a return they are the returned devices in serial order.
    `effective_at` is when it happened for the customer (the shipment's delivery).
    """

    step_id: str = attrs.field(validator=id_field)
    operation: LegacyOperation = attrs.field(converter=_operation)
    company_id: str = attrs.field(validator=id_field)
    product_id: str = attrs.field(validator=id_field)
    device_legacy_ids: tuple[str, ...] = attrs.field(converter=_legacy_ids)
    effective_at: datetime = attrs.field(validator=aware)
    device_serials: tuple[str, ...] = attrs.field(default=(), converter=serial_numbers)
    replaced_serials: tuple[str, ...] = attrs.field(default=(), converter=serial_numbers)
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class RegisterAsset:
    """Register an asset of a (modern) company; the legacy id makes it idempotent."""

    company_id: str = attrs.field(validator=id_field)
    legacy_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    kind: str = attrs.field(validator=non_empty_text)
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class AssignDevice:
    """Ops: move a device to another (modern) company from `effective_at` (default: now)."""

    device_id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    actor: str = attrs.field(validator=id_field)
    effective_at: datetime | None = attrs.field(default=None, validator=aware)
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class AssignDeviceToAsset:
    """Ops: mount a device on an asset of the company holding it; None takes it off."""

    device_id: str = attrs.field(validator=id_field)
    asset_id: str | None = attrs.field(validator=optional_id_field)
    actor: str = attrs.field(validator=id_field)
    effective_at: datetime | None = attrs.field(default=None, validator=aware)
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class DeviceQuery:
    """The device listing's filters, validated; `company_id` is a platform company id."""

    company_id: str | None = None
    status: DeviceStatus | None = attrs.field(default=None, converter=_optional_status)
    include_past: bool = False
    limit: int = attrs.field(default=100, validator=positive_int)
    offset: int = attrs.field(default=0, validator=non_negative_int)

    def __attrs_post_init__(self) -> None:
        if self.limit > MAX_PAGE:
            raise ValidationError(
                f"limit must be at most {MAX_PAGE}", {"field": "limit", "value": self.limit}
            )


# -- automation results ------------------------------------------------------------------------


async def record_automation_result(
    deps: InventoryDeps, command: RecordAutomationResult
) -> list[DeviceHistory]:
    """Mirror what a succeeded automation step did in the legacy system.

    Rules:
    - provision: each new legacy device becomes a Device held by the step's company from
      `effective_at`; a serial of a returned device reinstalls that device under its new
      legacy id; a serial of an active or retired device is a ConflictError (drift);
    - replacement: the replaced serials' active devices are retired (their windows end at
      `effective_at`), then the new devices are installed as above;
    - return: the returned devices are marked returned and their windows end;
    - devices the platform does not know (installed before it tracked them) are skipped:
      drift detection reports them;
    - exactly once: the result is keyed by step id in the same transaction, so a replayed
      success changes nothing (and a concurrent replay fails on the key and then finds it);
    - every change of one step commits in one transaction with its events.
    Returns the histories of the devices changed (empty for a replay).
    """
    async with deps.uow() as uow:
        if await uow.outbox.already_handled(AUTOMATION_RESULTS_CHANNEL, command.step_id):
            return []
        changes: list[HistoryChange] = []
        match command.operation:
            case LegacyOperation.PROVISION_DEVICE:
                changes += await _install(uow, deps.ids, command)
            case LegacyOperation.REPLACE_DEVICE:
                changes += await _retire_replaced(uow, command)
                changes += await _install(uow, deps.ids, command)
            case LegacyOperation.RETURN_DEVICE:
                changes += await _take_back(uow, command)
            case _:
                raise ValidationError(
                    f"{command.operation} is not an automation result",
                    {"field": "operation", "value": str(command.operation)},
                )
        await uow.outbox.mark_handled(AUTOMATION_RESULTS_CHANNEL, command.step_id, deps.clock.now())
        await _record_events(uow, changes, command.correlation_id)
        await uow.commit()
    return [change.history for change in changes]


async def _install(
    uow: InventoryUnitOfWork, ids: IdGenerator, command: RecordAutomationResult
) -> list[HistoryChange]:
    changes = []
    for position, legacy_id in enumerate(command.device_legacy_ids):
        if await uow.devices.by_legacy_id(legacy_id) is not None:
            continue  # recorded already (by Ops, or an earlier result)
        serial = _serial_at(command.device_serials, position)
        known = await uow.devices.by_serial(serial) if serial is not None else None
        if known is None:
            change = DeviceHistory.register(
                device_id=ids.new_id("dev"),
                legacy_id=legacy_id,
                product_id=command.product_id,
                serial_number=serial,
                window_id=ids.new_id("dwn"),
                company_id=command.company_id,
                at=command.effective_at,
                source=command.step_id,
            )
            change = attrs.evolve(change, history=await _store(uow, change, new_device=True))
        else:
            change = await _reinstall(uow, ids, known, legacy_id, command)
        changes.append(change)
    return changes


async def _reinstall(
    uow: InventoryUnitOfWork,
    ids: IdGenerator,
    device: Device,
    legacy_id: str,
    command: RecordAutomationResult,
) -> HistoryChange:
    if device.status is not DeviceStatus.RETURNED:
        raise ConflictError(
            f"serial {device.serial_number} belongs to {device.status} device {device.id} "
            f"(legacy {device.legacy_id}), not to new legacy device {legacy_id}",
            {"device_id": device.id, "legacy_id": legacy_id, "status": str(device.status)},
        )
    history = await _history(uow, device)
    change = history.reinstall(
        legacy_id=legacy_id,
        window_id=ids.new_id("dwn"),
        company_id=command.company_id,
        at=command.effective_at,
        source=command.step_id,
    )
    return attrs.evolve(change, history=await _store(uow, change))


async def _retire_replaced(
    uow: InventoryUnitOfWork, command: RecordAutomationResult
) -> list[HistoryChange]:
    changes = []
    for serial in command.replaced_serials:
        device = await uow.devices.by_serial(serial)
        if device is None or device.status is not DeviceStatus.ACTIVE:
            continue
        history = await _history(uow, device)
        change = history.retire(at=command.effective_at, source=command.step_id)
        changes.append(attrs.evolve(change, history=await _store(uow, change)))
    return changes


async def _take_back(
    uow: InventoryUnitOfWork, command: RecordAutomationResult
) -> list[HistoryChange]:
    changes = []
    for position, legacy_id in enumerate(command.device_legacy_ids):
        device = await uow.devices.by_legacy_id(legacy_id)
        serial = _serial_at(command.device_serials, position)
        if device is None and serial is not None:
            device = await uow.devices.by_serial(serial)
        if device is None or device.status is not DeviceStatus.ACTIVE:
            continue
        history = await _history(uow, device)
        change = history.mark_returned(at=command.effective_at, source=command.step_id)
        changes.append(attrs.evolve(change, history=await _store(uow, change)))
    return changes


def _serial_at(serials: Sequence[str], position: int) -> str | None:
    return serials[position] if position < len(serials) else None


# -- Ops ---------------------------------------------------------------------------------------


async def register_asset(deps: InventoryDeps, command: RegisterAsset) -> Asset:
    """Register an asset of a company.

    Rules:
    - one asset per legacy id: registering it again for the same company returns the stored
      asset unchanged; for another company it is a ConflictError;
    - the caller (API) checks that the company exists: this context holds no companies.
    """
    async with deps.uow() as uow:
        existing = await uow.assets.by_legacy_id(command.legacy_id)
        if existing is not None:
            if existing.company_id != command.company_id:
                raise ConflictError(
                    f"legacy asset {command.legacy_id} belongs to company {existing.company_id}",
                    {"field": "legacy_id", "asset_id": existing.id},
                )
            return existing
        asset, events = Asset.register(
            deps.ids.new_id("ast"),
            company_id=command.company_id,
            legacy_id=command.legacy_id,
            name=command.name,
            kind=command.kind,
            at=deps.clock.now(),
        )
        stored = await uow.assets.add(asset)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return stored


async def assign_device(deps: InventoryDeps, command: AssignDevice) -> DeviceHistory:
    """Ops moves a device to another company.

    Rules: only an active device (ConflictError otherwise); its current company and asset
    windows end at `effective_at` and the new company window begins then, in one transaction;
    a date before the current window began is a ValidationError; moving a device to the
    company already holding it changes nothing.
    """
    at = command.effective_at or deps.clock.now()
    async with deps.uow() as uow:
        history = await _history(uow, await uow.devices.get(command.device_id))
        change = history.assign_company(
            deps.ids.new_id("dwn"), command.company_id, at=at, source=command.actor
        )
        return await _commit(uow, change, command.correlation_id)


async def assign_device_to_asset(
    deps: InventoryDeps, command: AssignDeviceToAsset
) -> DeviceHistory:
    """Ops mounts a device on an asset (or takes it off with `asset_id` None).

    Rules: only an active device; the asset must belong to the company holding the device
    (ConflictError otherwise); the current asset window ends when the next begins.
    """
    at = command.effective_at or deps.clock.now()
    async with deps.uow() as uow:
        history = await _history(uow, await uow.devices.get(command.device_id))
        if command.asset_id is None:
            change = history.unassign_asset(at=at, source=command.actor)
        else:
            asset = await uow.assets.get(command.asset_id)
            window_id = deps.ids.new_id("dwn")
            change = history.assign_asset(window_id, asset, at=at, source=command.actor)
        return await _commit(uow, change, command.correlation_id)


# -- queries -----------------------------------------------------------------------------------


async def list_devices(
    deps: InventoryDeps,
    company_id: str | None = None,
    *,
    status: DeviceStatus | str | None = None,
    include_past: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[Device]:
    """Devices, oldest registered first. With a (modern) company id: the devices it holds
    now, or with `include_past` every device it ever held; an unknown company has none.
    Rules: `status` must be a device status, 1 <= limit <= 500, offset >= 0 (ValidationError).
    """
    query = DeviceQuery(
        company_id=company_id,
        status=status,
        include_past=include_past,
        limit=limit,
        offset=offset,
    )
    async with deps.uow() as uow:
        return await uow.devices.listing(
            company_id=query.company_id,
            status=query.status,
            include_past=query.include_past,
            limit=query.limit,
            offset=query.offset,
        )


async def get_device_history(deps: InventoryDeps, device_id: str) -> DeviceHistory:
    """A device and every company and asset window it has had, oldest first (NotFoundError
    for an unknown device)."""
    async with deps.uow() as uow:
        return await _history(uow, await uow.devices.get(device_id))


async def list_assets(deps: InventoryDeps, company_id: str) -> list[Asset]:
    """The assets of a (modern) company by name; none for an unknown company."""
    async with deps.uow() as uow:
        return await uow.assets.for_company(company_id)


# -- internals ---------------------------------------------------------------------------------


async def _history(uow: InventoryUnitOfWork, device: Device) -> DeviceHistory:
    return DeviceHistory(device, tuple(await uow.device_assignments.for_device(device.id)))


async def _store(
    uow: InventoryUnitOfWork, change: HistoryChange, *, new_device: bool = False
) -> DeviceHistory:
    """Write one change and return the history as stored (new versions). The device row is
    always written, so its version guards its windows against a concurrent change."""
    if not change.changed:
        return change.history
    device = change.history.device
    if new_device:
        device = await uow.devices.add(device)
    else:
        device = await uow.devices.update(device)
    # Closed windows first: on PostgreSQL and SQLite the one-current-window index is checked
    # statement by statement.
    stored = {window.id: await uow.device_assignments.update(window) for window in change.closed}
    for window in change.opened:
        stored[window.id] = await uow.device_assignments.add(window)
    windows = tuple(stored.get(window.id, window) for window in change.history.windows)
    return DeviceHistory(device, windows)


async def _commit(
    uow: InventoryUnitOfWork, change: HistoryChange, correlation_id: str | None
) -> DeviceHistory:
    history = await _store(uow, change)
    if change.changed:
        await _record_events(uow, [change], correlation_id)
        await uow.commit()
    return history


async def _record_events(
    uow: InventoryUnitOfWork, changes: Sequence[HistoryChange], correlation_id: str | None
) -> None:
    events: list[DomainEvent] = [event for change in changes for event in change.events]
    if events:
        await uow.events.record(events, correlation_id)
