"""In-memory repositories of devices, assets and their assignment windows.

Legacy ids and serial numbers are claimed in the transaction (`claim_unique`), like the unique
indexes in SQL. "One current window per device and kind" is checked against what the
transaction sees; concurrent units of work are kept apart by the device row, whose version
every change of its windows bumps (the partial unique index does that job in SQL).
"""

from __future__ import annotations

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.legacy.assignments import (
    Asset,
    AssignmentKind,
    Device,
    DeviceAssignment,
    DeviceStatus,
)
from platform_core.shared.errors import ConflictError

DEVICE_LEGACY_ID = "device.legacy_id"
DEVICE_SERIAL = "device.serial_number"
ASSET_LEGACY_ID = "asset.legacy_id"


class InMemoryDeviceRepository(InMemoryRepository[Device]):
    table = "devices"
    kind = "device"

    async def add(self, aggregate: Device) -> Device:
        self._claim(aggregate)
        return await super().add(aggregate)

    async def update(self, aggregate: Device) -> Device:
        self._claim(aggregate)
        return await super().update(aggregate)

    def _claim(self, device: Device) -> None:
        self._tx.claim_unique(DEVICE_LEGACY_ID, device.legacy_id, device.id)
        if device.serial_number is not None:
            self._tx.claim_unique(DEVICE_SERIAL, device.serial_number, device.id)

    async def by_legacy_id(self, legacy_id: str) -> Device | None:
        found = self._where(lambda device: device.legacy_id == legacy_id)
        return found[0] if found else None

    async def by_serial(self, serial_number: str) -> Device | None:
        found = self._where(lambda device: device.serial_number == serial_number)
        return found[0] if found else None

    async def listing(
        self,
        *,
        company_id: str | None = None,
        status: DeviceStatus | None = None,
        include_past: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Device]:
        held = None if company_id is None else self._held_by(company_id, include_past)
        found = self._where(
            lambda device: (
                (held is None or device.id in held) and (status is None or device.status is status)
            )
        )
        found.sort(key=lambda device: (device.registered_at, device.id))
        return found[offset : offset + limit]

    def _held_by(self, company_id: str, include_past: bool) -> set[str]:
        windows: list[DeviceAssignment] = list(
            self._tx.rows(InMemoryDeviceAssignmentRepository.table)
        )
        return {
            window.device_id
            for window in windows
            if window.kind is AssignmentKind.COMPANY
            and window.holder_id == company_id
            and (include_past or window.is_current)
        }


class InMemoryAssetRepository(InMemoryRepository[Asset]):
    table = "assets"
    kind = "asset"

    async def add(self, aggregate: Asset) -> Asset:
        self._tx.claim_unique(ASSET_LEGACY_ID, aggregate.legacy_id, aggregate.id)
        return await super().add(aggregate)

    async def update(self, aggregate: Asset) -> Asset:
        self._tx.claim_unique(ASSET_LEGACY_ID, aggregate.legacy_id, aggregate.id)
        return await super().update(aggregate)

    async def by_legacy_id(self, legacy_id: str) -> Asset | None:
        found = self._where(lambda asset: asset.legacy_id == legacy_id)
        return found[0] if found else None

    async def for_company(self, company_id: str) -> list[Asset]:
        found = self._where(lambda asset: asset.company_id == company_id)
        return sorted(found, key=lambda asset: (asset.name, asset.id))


class InMemoryDeviceAssignmentRepository(InMemoryRepository[DeviceAssignment]):
    table = "device_assignments"
    kind = "device assignment"

    async def add(self, aggregate: DeviceAssignment) -> DeviceAssignment:
        self._refuse_second_current(aggregate)
        return await super().add(aggregate)

    async def update(self, aggregate: DeviceAssignment) -> DeviceAssignment:
        self._refuse_second_current(aggregate)
        return await super().update(aggregate)

    async def for_device(self, device_id: str) -> list[DeviceAssignment]:
        found = self._where(lambda window: window.device_id == device_id)
        return sorted(found, key=lambda window: (window.valid_from, window.id))

    def _refuse_second_current(self, window: DeviceAssignment) -> None:
        if not window.is_current:
            return
        others = self._where(
            lambda other: (
                other.device_id == window.device_id
                and other.kind is window.kind
                and other.is_current
                and other.id != window.id
            )
        )
        if others:
            raise ConflictError(
                f"device {window.device_id} already has a current {window.kind} window",
                {"device_id": window.device_id, "kind": str(window.kind), "window": others[0].id},
            )


class DevicesTables:
    """Mixin for the in-memory unit of work: devices, assets and assignment windows."""

    _tx: Transaction

    @property
    def devices(self) -> InMemoryDeviceRepository:
        return InMemoryDeviceRepository(self._tx)

    @property
    def assets(self) -> InMemoryAssetRepository:
        return InMemoryAssetRepository(self._tx)

    @property
    def device_assignments(self) -> InMemoryDeviceAssignmentRepository:
        return InMemoryDeviceAssignmentRepository(self._tx)
