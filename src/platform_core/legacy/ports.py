"""Ports of the legacy context: its repositories, unit of work and deps, and the `LegacyBridge`.

The bridge speaks the legacy system's vocabulary: it returns records (not mirrors) and takes
typed write requests, each with an idempotency key and a correlation id.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

import attrs

from platform_core.customers.ports import CompanyRepository
from platform_core.legacy.assignments import (
    Asset,
    Device,
    DeviceAssignment,
    DeviceStatus,
)
from platform_core.legacy.model import (
    AssetMirror,
    AssetRecord,
    CompanyMirror,
    CompanyRecord,
    DeviceMirror,
    DeviceRecord,
    MirrorKind,
    SyncReport,
)
from platform_core.ports.core import Repository, ServiceDeps, UnitOfWork
from platform_core.shared.errors import ValidationError
from platform_core.shared.ids import id_field, optional_id_field, positive_int

# -- bridge vocabulary -------------------------------------------------------------------------


class LegacyOperation(StrEnum):
    """The writes the legacy system accepts."""

    PROVISION_DEVICE = "provision_device"
    REPLACE_DEVICE = "replace_device"
    RETURN_DEVICE = "return_device"
    UPDATE_ASSIGNMENT = "update_assignment"


class InstallChannel(StrEnum):
    """Who installs the devices at the customer: the vendor's own team or a partner."""

    VENDOR = "vendor"
    PARTNER = "partner"


def serial_numbers(value: Sequence[str]) -> tuple[str, ...]:
    """A tuple of distinct, non-empty serial numbers (attrs converter)."""
    serials = tuple(value)
    for serial in serials:
        if not isinstance(serial, str) or not serial.strip() or len(serial) > 64:
            raise ValidationError(
                "serial numbers must be non-empty strings of at most 64 characters",
                {"field": "serial_numbers", "value": repr(serial)},
            )
    if len(set(serials)) != len(serials):
        raise ValidationError(
            "serial numbers must not repeat", {"field": "serial_numbers", "value": list(serials)}
        )
    return serials


def _at_most_quantity(
    instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]
) -> None:
    if len(value) > instance.quantity:
        raise ValidationError(
            f"{attribute.name} lists more serials than the quantity",
            {"field": attribute.name, "quantity": instance.quantity, "count": len(value)},
        )


@attrs.frozen(kw_only=True)
class ProvisionDevice:
    """First-time install: register `quantity` new devices for a company in the legacy system."""

    idempotency_key: str = attrs.field(validator=id_field)
    correlation_id: str = attrs.field(validator=id_field)
    channel: InstallChannel
    company_id: str = attrs.field(validator=id_field)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    product_id: str = attrs.field(validator=id_field)
    quantity: int = attrs.field(validator=positive_int)
    device_serials: tuple[str, ...] = attrs.field(
        default=(), converter=serial_numbers, validator=_at_most_quantity
    )
    order_id: str | None = attrs.field(default=None, validator=optional_id_field)
    shipment_id: str | None = attrs.field(default=None, validator=optional_id_field)


@attrs.frozen(kw_only=True)
class ReplaceDevice:
    """Swap devices at a company: retire `replaced_serials`, register the new devices."""

    idempotency_key: str = attrs.field(validator=id_field)
    correlation_id: str = attrs.field(validator=id_field)
    channel: InstallChannel
    company_id: str = attrs.field(validator=id_field)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    product_id: str = attrs.field(validator=id_field)
    quantity: int = attrs.field(validator=positive_int)
    device_serials: tuple[str, ...] = attrs.field(
        default=(), converter=serial_numbers, validator=_at_most_quantity
    )
    replaced_serials: tuple[str, ...] = attrs.field(
        default=(), converter=serial_numbers, validator=_at_most_quantity
    )
    order_id: str | None = attrs.field(default=None, validator=optional_id_field)
    shipment_id: str | None = attrs.field(default=None, validator=optional_id_field)


@attrs.frozen(kw_only=True)
class ReturnDevice:
    """A company sends devices back: the legacy system takes them off the company."""

    idempotency_key: str = attrs.field(validator=id_field)
    correlation_id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    product_id: str = attrs.field(validator=id_field)
    quantity: int = attrs.field(validator=positive_int)
    device_serials: tuple[str, ...] = attrs.field(
        default=(), converter=serial_numbers, validator=_at_most_quantity
    )
    order_id: str | None = attrs.field(default=None, validator=optional_id_field)
    shipment_id: str | None = attrs.field(default=None, validator=optional_id_field)


@attrs.frozen(kw_only=True)
class UpdateAssignment:
    """Move one device to another company and/or asset (None unassigns)."""

    idempotency_key: str = attrs.field(validator=id_field)
    correlation_id: str = attrs.field(validator=id_field)
    device_legacy_id: str = attrs.field(validator=id_field)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    asset_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)


LegacyWrite = ProvisionDevice | ReplaceDevice | ReturnDevice | UpdateAssignment


@attrs.frozen(kw_only=True)
class BridgeResult:
    """What the legacy system answered to a write: its reference and the devices it touched."""

    operation: LegacyOperation
    idempotency_key: str = attrs.field(validator=id_field)
    reference: str = attrs.field(validator=id_field)
    device_legacy_ids: tuple[str, ...] = ()


# -- the bridge --------------------------------------------------------------------------------


class LegacyBridge(Protocol):
    """The legacy system: company/asset/device reads and idempotent device operations.

    Every call carries a correlation id. A write replayed with the same idempotency key returns
    the first result and changes nothing. Failures raise `ExternalServiceError` whose
    `retryable` says whether the same call can succeed later (outage, timeout) or not
    (the legacy system refused the request).
    """

    async def get_company(self, legacy_id: str, *, correlation_id: str) -> CompanyRecord | None:
        """The company with `legacy_id`, or None when the legacy system has none."""
        ...

    async def get_asset(self, legacy_id: str, *, correlation_id: str) -> AssetRecord | None:
        """The asset with `legacy_id`, or None when the legacy system has none."""
        ...

    async def get_device(self, legacy_id: str, *, correlation_id: str) -> DeviceRecord | None:
        """The device with `legacy_id`, or None when the legacy system has none."""
        ...

    async def list_companies(self, *, correlation_id: str) -> Sequence[CompanyRecord]:
        """Every company (the adapter pages through the legacy API itself)."""
        ...

    async def list_assets(self, *, correlation_id: str) -> Sequence[AssetRecord]:
        """Every asset."""
        ...

    async def list_devices(self, *, correlation_id: str) -> Sequence[DeviceRecord]:
        """Every device."""
        ...

    async def provision_device(self, request: ProvisionDevice) -> BridgeResult:
        """Register new devices for a first-time install."""
        ...

    async def replace_device(self, request: ReplaceDevice) -> BridgeResult:
        """Retire replaced devices and register their replacements."""
        ...

    async def return_device(self, request: ReturnDevice) -> BridgeResult:
        """Take returned devices off the company."""
        ...

    async def update_assignment(self, request: UpdateAssignment) -> BridgeResult:
        """Reassign one device to a company/asset."""
        ...


# -- persistence -------------------------------------------------------------------------------


class CompanyMirrorRepository(Repository[CompanyMirror], Protocol):
    """Local mirrors of legacy companies, keyed by legacy id."""

    async def all(self) -> list[CompanyMirror]: ...


class AssetMirrorRepository(Repository[AssetMirror], Protocol):
    """Local mirrors of legacy assets, keyed by legacy id."""

    async def all(self) -> list[AssetMirror]: ...

    async def for_company(self, company_legacy_id: str) -> list[AssetMirror]: ...


class DeviceMirrorRepository(Repository[DeviceMirror], Protocol):
    """Local mirrors of legacy devices, keyed by legacy id."""

    async def all(self) -> list[DeviceMirror]: ...

    async def by_serial(self, serial_number: str) -> DeviceMirror | None: ...


class SyncReportRepository(Repository[SyncReport], Protocol):
    """Drift detection reports, newest first in queries."""

    async def latest(self, kind: MirrorKind) -> SyncReport | None: ...

    async def recent(self, kind: MirrorKind | None = None, limit: int = 20) -> list[SyncReport]: ...


class DeviceRepository(Repository[Device], Protocol):
    """Devices. The legacy id is unique, and so is the serial number when known: `add` (and
    an `update` taking another device's) raises ConflictError."""

    async def by_legacy_id(self, legacy_id: str) -> Device | None: ...

    async def by_serial(self, serial_number: str) -> Device | None: ...

    async def listing(
        self,
        *,
        company_id: str | None = None,
        status: DeviceStatus | None = None,
        include_past: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Device]:
        """Devices oldest registered first; with `company_id`, those the company holds now
        (or, with `include_past`, ever held)."""
        ...


class AssetRepository(Repository[Asset], Protocol):
    """Assets; the legacy id is unique (`add` raises ConflictError for a second one)."""

    async def by_legacy_id(self, legacy_id: str) -> Asset | None: ...

    async def for_company(self, company_id: str) -> list[Asset]:
        """The company's assets by name, then id."""
        ...


class DeviceAssignmentRepository(Repository[DeviceAssignment], Protocol):
    """History windows. At most one current window per (device, kind): adding a second one,
    or reopening a closed one beside a current one, raises ConflictError."""

    async def for_device(self, device_id: str) -> list[DeviceAssignment]:
        """Every window of the device, oldest first."""
        ...


class InventoryUnitOfWork(UnitOfWork, Protocol):
    """A transaction over devices, assets and their assignment windows."""

    @property
    def devices(self) -> DeviceRepository: ...

    @property
    def assets(self) -> AssetRepository: ...

    @property
    def device_assignments(self) -> DeviceAssignmentRepository: ...


class InventoryDeps(ServiceDeps, Protocol):
    """What the device and asset use cases need: a unit of work (no bridge: they record what
    the legacy system already did)."""

    def uow(self) -> InventoryUnitOfWork: ...


class LegacyUnitOfWork(InventoryUnitOfWork, Protocol):
    """A transaction over the legacy context's mirrors and reports, devices and assets."""

    @property
    def company_mirrors(self) -> CompanyMirrorRepository: ...

    @property
    def asset_mirrors(self) -> AssetMirrorRepository: ...

    @property
    def device_mirrors(self) -> DeviceMirrorRepository: ...

    @property
    def sync_reports(self) -> SyncReportRepository: ...

    @property
    def companies(self) -> CompanyRepository:
        """The platform's companies: assignment windows name them, the legacy system names
        their mirrors."""
        ...


class LegacyDeps(ServiceDeps, Protocol):
    """What the legacy use cases need: a unit of work and the bridge to the legacy system."""

    def uow(self) -> LegacyUnitOfWork: ...

    @property
    def bridge(self) -> LegacyBridge: ...
