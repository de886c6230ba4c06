"""FakeLegacyBridge: a legacy system held in memory that keeps the whole LegacyBridge contract.

Writes are applied once per idempotency key (a replay returns the first result, a reuse of the
key for a different request is refused); the legacy system's own refusals (unknown company or
serial, serial already registered) are permanent errors. Tests can make the next calls fail,
transiently or permanently, or stall until the caller's timeout; every call is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TypeVar

import attrs

from platform_core.legacy.model import AssetRecord, CompanyRecord, DeviceRecord, LegacyRecord
from platform_core.legacy.ports import (
    BridgeResult,
    LegacyOperation,
    LegacyWrite,
    ProvisionDevice,
    ReplaceDevice,
    ReturnDevice,
    UpdateAssignment,
)
from platform_core.shared.errors import ExternalServiceError

ACTIVE = "active"
RETIRED = "retired"
RETURNED = "returned"

W = TypeVar("W", ProvisionDevice, ReplaceDevice, ReturnDevice, UpdateAssignment)


class CallOutcome(StrEnum):
    READ = "read"
    APPLIED = "applied"
    REPLAYED = "replayed"
    FAILED = "failed"
    STALLED = "stalled"


@attrs.frozen
class BridgeCall:
    """One call the fake received, in arrival order, and how it ended."""

    operation: str
    correlation_id: str
    outcome: CallOutcome
    idempotency_key: str | None = None
    legacy_id: str | None = None
    request: LegacyWrite | None = None
    error: str | None = None


@attrs.frozen
class _Fault:
    stall: bool
    retryable: bool
    message: str


def _refused(message: str, **details: object) -> ExternalServiceError:
    """The legacy system understood the request and refused it: retrying cannot help."""
    return ExternalServiceError(message, dict(details), retryable=False)


class FakeLegacyBridge:
    """In-process LegacyBridge. Seed it with `put`, break it with `fail_next`/`stall_next`."""

    def __init__(self) -> None:
        self.companies: dict[str, CompanyRecord] = {}
        self.assets: dict[str, AssetRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}
        self.calls: list[BridgeCall] = []
        self._applied: dict[str, tuple[LegacyWrite, BridgeResult]] = {}
        self._faults: deque[_Fault] = deque()
        self._references = itertools.count(1)
        self._device_numbers = itertools.count(1)

    # -- seeding and inspection ---------------------------------------------------------------
    def put(self, *records: LegacyRecord) -> None:
        """Create or replace records in the legacy system (test setup, demo data)."""
        for record in records:
            match record:
                case CompanyRecord():
                    self.companies[record.legacy_id] = record
                case AssetRecord():
                    self.assets[record.legacy_id] = record
                case DeviceRecord():
                    self.devices[record.legacy_id] = record

    def remove(self, legacy_id: str) -> None:
        """Delete the company, asset or device with `legacy_id` (to simulate drift)."""
        for table in (self.companies, self.assets, self.devices):
            table.pop(legacy_id, None)

    def fail_next(
        self,
        count: int = 1,
        *,
        retryable: bool = True,
        message: str = "legacy system unavailable",
    ) -> None:
        """Make the next `count` calls (reads or writes) raise ExternalServiceError."""
        self._faults.extend(_Fault(False, retryable, message) for _ in range(count))

    def clear_faults(self) -> None:
        """Forget the faults not yet used: the legacy system is back."""
        self._faults.clear()

    def stall_next(self, count: int = 1) -> None:
        """Make the next `count` calls never answer; only the caller's timeout ends them."""
        self._faults.extend(_Fault(True, True, "stalled") for _ in range(count))

    def calls_to(self, operation: str) -> list[BridgeCall]:
        return [call for call in self.calls if call.operation == operation]

    @property
    def applied(self) -> dict[str, BridgeResult]:
        """First result of every write applied, by idempotency key."""
        return {key: result for key, (_, result) in self._applied.items()}

    # -- reads --------------------------------------------------------------------------------
    async def get_company(self, legacy_id: str, *, correlation_id: str) -> CompanyRecord | None:
        await self._read("get_company", correlation_id, legacy_id)
        return self.companies.get(legacy_id)

    async def get_asset(self, legacy_id: str, *, correlation_id: str) -> AssetRecord | None:
        await self._read("get_asset", correlation_id, legacy_id)
        return self.assets.get(legacy_id)

    async def get_device(self, legacy_id: str, *, correlation_id: str) -> DeviceRecord | None:
        await self._read("get_device", correlation_id, legacy_id)
        return self.devices.get(legacy_id)

    async def list_companies(self, *, correlation_id: str) -> Sequence[CompanyRecord]:
        await self._read("list_companies", correlation_id)
        return [self.companies[key] for key in sorted(self.companies)]

    async def list_assets(self, *, correlation_id: str) -> Sequence[AssetRecord]:
        await self._read("list_assets", correlation_id)
        return [self.assets[key] for key in sorted(self.assets)]

    async def list_devices(self, *, correlation_id: str) -> Sequence[DeviceRecord]:
        await self._read("list_devices", correlation_id)
        return [self.devices[key] for key in sorted(self.devices)]

    # -- writes -------------------------------------------------------------------------------
    async def provision_device(self, request: ProvisionDevice) -> BridgeResult:
        return await self._write(LegacyOperation.PROVISION_DEVICE, request, self._provision)

    async def replace_device(self, request: ReplaceDevice) -> BridgeResult:
        return await self._write(LegacyOperation.REPLACE_DEVICE, request, self._replace)

    async def return_device(self, request: ReturnDevice) -> BridgeResult:
        return await self._write(LegacyOperation.RETURN_DEVICE, request, self._return)

    async def update_assignment(self, request: UpdateAssignment) -> BridgeResult:
        return await self._write(LegacyOperation.UPDATE_ASSIGNMENT, request, self._reassign)

    # -- call handling ------------------------------------------------------------------------
    async def _read(
        self, operation: str, correlation_id: str, legacy_id: str | None = None
    ) -> None:
        call = BridgeCall(operation, correlation_id, CallOutcome.READ, legacy_id=legacy_id)
        await self._inject_fault(call)
        self.calls.append(call)

    async def _write(
        self, operation: LegacyOperation, request: W, apply: Callable[[W], BridgeResult]
    ) -> BridgeResult:
        call = BridgeCall(
            str(operation),
            request.correlation_id,
            CallOutcome.APPLIED,
            idempotency_key=request.idempotency_key,
            request=request,
        )
        await self._inject_fault(call)
        try:
            replayed = self._replay(request)
            result = replayed if replayed is not None else apply(request)
        except ExternalServiceError as error:
            self.calls.append(attrs.evolve(call, outcome=CallOutcome.FAILED, error=error.message))
            raise
        if replayed is not None:
            self.calls.append(attrs.evolve(call, outcome=CallOutcome.REPLAYED))
        else:
            self._applied[request.idempotency_key] = (request, result)
            self.calls.append(call)
        return result

    async def _inject_fault(self, call: BridgeCall) -> None:
        if not self._faults:
            return
        fault = self._faults.popleft()
        if fault.stall:
            self.calls.append(attrs.evolve(call, outcome=CallOutcome.STALLED))
            await asyncio.Event().wait()  # never set: the caller's timeout cancels this call
        self.calls.append(attrs.evolve(call, outcome=CallOutcome.FAILED, error=fault.message))
        raise ExternalServiceError(
            fault.message, {"operation": call.operation}, retryable=fault.retryable
        )

    def _replay(self, request: LegacyWrite) -> BridgeResult | None:
        first = self._applied.get(request.idempotency_key)
        if first is None:
            return None
        earlier, result = first
        # The correlation id may differ between deliveries of the same work; nothing else may.
        if attrs.evolve(earlier, correlation_id=request.correlation_id) != request:
            raise _refused(
                f"idempotency key {request.idempotency_key} was used for a different request",
                idempotency_key=request.idempotency_key,
            )
        return result

    # -- the legacy system's rules (check everything, then change) ----------------------------
    def _provision(self, request: ProvisionDevice) -> BridgeResult:
        self._check_company(request.company_legacy_id)
        self._check_serials_free(request.device_serials)
        devices = self._register(
            request.company_legacy_id, request.quantity, request.device_serials
        )
        return self._result(LegacyOperation.PROVISION_DEVICE, request.idempotency_key, devices)

    def _replace(self, request: ReplaceDevice) -> BridgeResult:
        self._check_company(request.company_legacy_id)
        retiring = self._active_devices(request.replaced_serials)
        self._check_serials_free(request.device_serials)
        for device in retiring:
            self.devices[device.legacy_id] = attrs.evolve(device, status=RETIRED)
        devices = self._register(
            request.company_legacy_id, request.quantity, request.device_serials
        )
        return self._result(LegacyOperation.REPLACE_DEVICE, request.idempotency_key, devices)

    def _return(self, request: ReturnDevice) -> BridgeResult:
        self._check_company(request.company_legacy_id)
        returning = self._active_devices(request.device_serials)
        for device in returning:
            self.devices[device.legacy_id] = attrs.evolve(
                device, status=RETURNED, company_legacy_id=None, asset_legacy_id=None
            )
        touched = tuple(device.legacy_id for device in returning)
        return self._result(LegacyOperation.RETURN_DEVICE, request.idempotency_key, touched)

    def _reassign(self, request: UpdateAssignment) -> BridgeResult:
        device = self.devices.get(request.device_legacy_id)
        if device is None:
            raise _refused(
                f"unknown device {request.device_legacy_id}",
                device_legacy_id=request.device_legacy_id,
            )
        self._check_company(request.company_legacy_id)
        if request.asset_legacy_id is not None:
            asset = self.assets.get(request.asset_legacy_id)
            if asset is None:
                raise _refused(
                    f"unknown asset {request.asset_legacy_id}",
                    asset_legacy_id=request.asset_legacy_id,
                )
            if request.company_legacy_id not in (None, asset.company_legacy_id):
                raise _refused(
                    f"asset {asset.legacy_id} belongs to company {asset.company_legacy_id}",
                    asset_legacy_id=asset.legacy_id,
                )
        self.devices[device.legacy_id] = attrs.evolve(
            device,
            company_legacy_id=request.company_legacy_id,
            asset_legacy_id=request.asset_legacy_id,
        )
        return self._result(
            LegacyOperation.UPDATE_ASSIGNMENT, request.idempotency_key, (device.legacy_id,)
        )

    def _check_company(self, company_legacy_id: str | None) -> None:
        if company_legacy_id is not None and company_legacy_id not in self.companies:
            raise _refused(
                f"unknown company {company_legacy_id}", company_legacy_id=company_legacy_id
            )

    def _check_serials_free(self, serials: Sequence[str]) -> None:
        active = {d.serial_number for d in self.devices.values() if d.status == ACTIVE}
        taken = sorted(set(serials) & active)
        if taken:
            raise _refused(f"serials already registered: {', '.join(taken)}", serials=taken)

    def _active_devices(self, serials: Sequence[str]) -> list[DeviceRecord]:
        by_serial = {d.serial_number: d for d in self.devices.values() if d.status == ACTIVE}
        unknown = sorted(set(serials) - by_serial.keys())
        if unknown:
            raise _refused(f"no active device with serials {', '.join(unknown)}", serials=unknown)
        return [by_serial[serial] for serial in serials]

    def _register(
        self, company_legacy_id: str | None, quantity: int, serials: Sequence[str]
    ) -> tuple[str, ...]:
        created = []
        for position in range(quantity):
            legacy_id = f"DEV{next(self._device_numbers):06d}"
            # The legacy system registers units whose serial is not known yet under a placeholder.
            serial = serials[position] if position < len(serials) else f"PENDING-{legacy_id}"
            self.devices[legacy_id] = DeviceRecord(
                legacy_id=legacy_id,
                serial_number=serial,
                status=ACTIVE,
                company_legacy_id=company_legacy_id,
            )
            created.append(legacy_id)
        return tuple(created)

    def _result(
        self, operation: LegacyOperation, key: str, devices: tuple[str, ...]
    ) -> BridgeResult:
        return BridgeResult(
            operation=operation,
            idempotency_key=key,
            reference=f"LGY{next(self._references):06d}",
            device_legacy_ids=devices,
        )
