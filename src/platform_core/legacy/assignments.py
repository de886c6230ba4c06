"""Devices, assets and the history of who held each device: company and asset windows.

A `DeviceAssignment` is one history window: a device held by a company, or mounted on an
asset, from `valid_from` until `valid_to` (None: still current). Windows are half-open,
[valid_from, valid_to), so one can end at the very instant the next begins. Every change to a
device's windows goes through `DeviceHistory` (the device with all its windows), so the rules
hold in one place:
- at most one current window of each kind (company, asset) per device;
- windows of one kind never overlap, and a window never ends before it starts;
- a device is on an asset only while its company holds the asset; ending the company window
  ends the asset window too;
- only an active device gets new windows; retiring or returning it ends every window.
Company ids are the platform's (modern) ids; legacy ids are kept beside them for the bridge.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

import attrs

from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import id_field, non_empty_text, optional_id_field
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE = "legacy"


class InventoryEvent(StrEnum):
    DEVICE_REGISTERED = "device.registered"
    DEVICE_RETIRED = "device.retired"
    DEVICE_RETURNED = "device.returned"
    DEVICE_REINSTALLED = "device.reinstalled"
    ASSIGNMENT_OPENED = "device.assignment_opened"
    ASSIGNMENT_CLOSED = "device.assignment_closed"
    ASSET_REGISTERED = "asset.registered"


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    RETURNED = "returned"


class DeviceTrigger(StrEnum):
    RETIRE = "retire"
    RETURN = "return"
    REINSTALL = "reinstall"


DEVICE_MACHINE: StateMachine[DeviceStatus, DeviceTrigger] = StateMachine(
    name="device",
    initial=DeviceStatus.ACTIVE,
    transitions={
        (DeviceStatus.ACTIVE, DeviceTrigger.RETIRE): DeviceStatus.RETIRED,
        (DeviceStatus.ACTIVE, DeviceTrigger.RETURN): DeviceStatus.RETURNED,
        # A returned unit can be installed again (at the same or another company).
        (DeviceStatus.RETURNED, DeviceTrigger.REINSTALL): DeviceStatus.ACTIVE,
    },
    terminal=frozenset({DeviceStatus.RETIRED}),
)


class AssignmentKind(StrEnum):
    """What holds the device during a window: a company or an asset."""

    COMPANY = "company"
    ASSET = "asset"


def device_status(value: object) -> DeviceStatus:
    """`value` as a DeviceStatus, or ValidationError (attrs converter, query filters)."""
    try:
        return DeviceStatus(str(value))
    except ValueError:
        raise ValidationError(
            f"unknown device status {value!r}", {"field": "status", "value": repr(value)}
        ) from None


def assignment_kind(value: object) -> AssignmentKind:
    try:
        return AssignmentKind(str(value))
    except ValueError:
        raise ValidationError(
            f"unknown assignment kind {value!r}", {"field": "kind", "value": repr(value)}
        ) from None


def serial_number_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: an optional serial number, non-empty and at most 64 characters."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValidationError(
            "a serial number must be a non-empty string of at most 64 characters",
            {"field": attribute.name, "value": repr(value)},
        )


# -- aggregates --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Device:
    """A sensor unit. `serial_number` is None while the legacy system has not been told it."""

    id: str = attrs.field(validator=id_field)
    legacy_id: str = attrs.field(validator=id_field)
    product_id: str = attrs.field(validator=id_field)
    serial_number: str | None = attrs.field(default=None, validator=serial_number_field)
    status: DeviceStatus = attrs.field(default=DeviceStatus.ACTIVE, converter=device_status)
    registered_at: datetime = attrs.field(validator=aware)
    status_changed_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = 1

    def _event(self, event_type: InventoryEvent, at: datetime, **details: Any) -> DomainEvent:
        payload: dict[str, Any] = {
            "device_id": self.id,
            "legacy_id": self.legacy_id,
            "serial_number": self.serial_number,
            "product_id": self.product_id,
            "status": str(self.status),
        }
        payload.update(details)
        return DomainEvent(
            type=event_type,
            aggregate_type="device",
            aggregate_id=self.id,
            payload=payload,
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )


@attrs.frozen(kw_only=True)
class Asset:
    """Something devices are mounted on (a site, cold room, vehicle), owned by one company."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    legacy_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    kind: str = attrs.field(validator=non_empty_text)
    registered_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def register(
        cls,
        asset_id: str,
        *,
        company_id: str,
        legacy_id: str,
        name: str,
        kind: str,
        at: datetime,
    ) -> tuple[Asset, list[DomainEvent]]:
        """A new asset of `company_id` (a platform company id)."""
        asset = cls(
            id=asset_id,
            company_id=company_id,
            legacy_id=legacy_id,
            name=name,
            kind=kind,
            registered_at=require_aware(at, "at"),
        )
        event = DomainEvent(
            type=InventoryEvent.ASSET_REGISTERED,
            aggregate_type="asset",
            aggregate_id=asset.id,
            payload={
                "asset_id": asset.id,
                "company_id": asset.company_id,
                "legacy_id": asset.legacy_id,
                "name": asset.name,
                "kind": asset.kind,
            },
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )
        return asset, [event]


def _window_order(instance: DeviceAssignment, _: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, datetime) and value < instance.valid_from:
        raise ValidationError(
            "a window cannot end before it starts",
            {
                "field": "valid_to",
                "valid_from": instance.valid_from.isoformat(),
                "valid_to": value.isoformat(),
            },
        )


@attrs.frozen(kw_only=True)
class DeviceAssignment:
    """One history window: `holder_id` (a company or an asset id, by `kind`) held the device
    from `valid_from` until `valid_to` (None: it still does). `opened_by`/`closed_by` name
    what caused each end (an automation step id, an Ops actor)."""

    id: str = attrs.field(validator=id_field)
    device_id: str = attrs.field(validator=id_field)
    kind: AssignmentKind = attrs.field(converter=assignment_kind)
    holder_id: str = attrs.field(validator=id_field)
    valid_from: datetime = attrs.field(validator=aware)
    valid_to: datetime | None = attrs.field(default=None, validator=[aware, _window_order])
    opened_by: str | None = attrs.field(default=None, validator=optional_id_field)
    closed_by: str | None = attrs.field(default=None, validator=optional_id_field)
    version: int = 1

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    def covers(self, at: datetime) -> bool:
        """True when the holder held the device at instant `at`."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def to_payload(self) -> dict[str, Any]:
        return {
            "window_id": self.id,
            "kind": str(self.kind),
            "holder_id": self.holder_id,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


def _chronological(windows: Iterable[DeviceAssignment]) -> tuple[DeviceAssignment, ...]:
    # Oldest first; a window that ends at the instant it starts sorts before one that
    # starts at that instant and runs on.
    def key(window: DeviceAssignment) -> tuple[datetime, bool, datetime, str]:
        end = window.valid_to or window.valid_from
        return window.valid_from, window.valid_to is None, end, window.id

    return tuple(sorted(windows, key=key))


def check_windows(windows: Iterable[DeviceAssignment]) -> None:
    """ValidationError unless each kind has at most one current window and none overlap."""
    ordered = _chronological(windows)
    for kind in AssignmentKind:
        mine = [window for window in ordered if window.kind is kind]
        current = [window.id for window in mine if window.is_current]
        if len(current) > 1:
            raise ValidationError(
                f"a device has at most one current {kind} window",
                {"field": "windows", "kind": str(kind), "current": current},
            )
        for earlier, later in pairwise(mine):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                raise ValidationError(
                    f"{kind} windows {earlier.id} and {later.id} overlap",
                    {"field": "windows", "kind": str(kind), "windows": [earlier.id, later.id]},
                )


# -- the history: every change to a device and its windows --------------------------------------


@attrs.frozen
class HistoryChange:
    """The outcome of one command on a device's history: what to store and what happened
    (no events: nothing changed). The use cases write the device row with every change, even
    one of windows only, so its version keeps two concurrent changes from both committing."""

    history: DeviceHistory
    opened: tuple[DeviceAssignment, ...] = ()
    closed: tuple[DeviceAssignment, ...] = ()
    events: tuple[DomainEvent, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.events)


@attrs.frozen
class DeviceHistory:
    """A device with every window it has had, oldest first; the rules in the module docstring
    are checked whenever one is built, so a command can never produce a broken history."""

    device: Device
    windows: tuple[DeviceAssignment, ...] = attrs.field(default=(), converter=_chronological)

    def __attrs_post_init__(self) -> None:
        strangers = [w.id for w in self.windows if w.device_id != self.device.id]
        if strangers:
            raise ValidationError(
                f"windows {strangers} belong to another device than {self.device.id}",
                {"field": "windows", "device_id": self.device.id},
            )
        check_windows(self.windows)

    # -- reading ------------------------------------------------------------------------------
    def current(self, kind: AssignmentKind) -> DeviceAssignment | None:
        return next((w for w in self.windows if w.kind is kind and w.is_current), None)

    @property
    def company_id(self) -> str | None:
        """The company holding the device now, if any."""
        window = self.current(AssignmentKind.COMPANY)
        return window.holder_id if window else None

    @property
    def asset_id(self) -> str | None:
        window = self.current(AssignmentKind.ASSET)
        return window.holder_id if window else None

    def holder_at(self, kind: AssignmentKind, at: datetime) -> str | None:
        """Who held the device at instant `at`: the holder of the window covering it."""
        return next((w.holder_id for w in self.windows if w.kind is kind and w.covers(at)), None)

    # -- commands -----------------------------------------------------------------------------
    @classmethod
    def register(
        cls,
        *,
        device_id: str,
        legacy_id: str,
        product_id: str,
        serial_number: str | None,
        window_id: str,
        company_id: str,
        at: datetime,
        source: str,
    ) -> HistoryChange:
        """A new active device, held by `company_id` from `at` (its registration)."""
        device = Device(
            id=device_id,
            legacy_id=legacy_id,
            product_id=product_id,
            serial_number=serial_number,
            registered_at=require_aware(at, "at"),
        )
        registered = device._event(InventoryEvent.DEVICE_REGISTERED, at)
        change = cls(device).assign_company(window_id, company_id, at=at, source=source)
        return attrs.evolve(change, events=(registered, *change.events))

    def assign_company(
        self, window_id: str, company_id: str, *, at: datetime, source: str
    ) -> HistoryChange:
        """Move the device to `company_id` from `at`: its current company (and asset) window
        ends at `at` and the new one begins. Already there: nothing changes."""
        self._require_active()
        if self.company_id == company_id:
            return HistoryChange(self)
        closing = self._closing((AssignmentKind.ASSET, AssignmentKind.COMPANY), at, source)
        opened = self._window(window_id, AssignmentKind.COMPANY, company_id, at, source)
        return self._changed(closing, (opened,))

    def assign_asset(
        self, window_id: str, asset: Asset, *, at: datetime, source: str
    ) -> HistoryChange:
        """Mount the device on `asset` from `at` (ending its current asset window). The asset
        must belong to the company holding the device. Already there: nothing changes."""
        self._require_active()
        if self.company_id != asset.company_id:
            raise ConflictError(
                f"device {self.device.id} is not held by company {asset.company_id}, "
                f"the owner of asset {asset.id}",
                {"device_id": self.device.id, "asset_id": asset.id, "company_id": self.company_id},
            )
        if self.asset_id == asset.id:
            return HistoryChange(self)
        closing = self._closing((AssignmentKind.ASSET,), at, source)
        opened = self._window(window_id, AssignmentKind.ASSET, asset.id, at, source)
        return self._changed(closing, (opened,))

    def unassign_asset(self, *, at: datetime, source: str) -> HistoryChange:
        """Take the device off its asset at `at` (nothing changes when it is on none)."""
        return self._changed(self._closing((AssignmentKind.ASSET,), at, source), ())

    def unassign_company(self, *, at: datetime, source: str) -> HistoryChange:
        """End the device's company (and asset) windows at `at`; its status stays."""
        kinds = (AssignmentKind.ASSET, AssignmentKind.COMPANY)
        return self._changed(self._closing(kinds, at, source), ())

    def retire(self, *, at: datetime, source: str) -> HistoryChange:
        """The unit was replaced: it is retired for good and every window ends at `at`."""
        return self._with_status(DeviceTrigger.RETIRE, InventoryEvent.DEVICE_RETIRED, at, source)

    def mark_returned(self, *, at: datetime, source: str) -> HistoryChange:
        """The company sent the unit back: every window ends at `at`."""
        return self._with_status(DeviceTrigger.RETURN, InventoryEvent.DEVICE_RETURNED, at, source)

    def reinstall(
        self, *, legacy_id: str, window_id: str, company_id: str, at: datetime, source: str
    ) -> HistoryChange:
        """A returned unit installed again: active under the legacy system's new id, held by
        `company_id` from `at`."""
        status = DEVICE_MACHINE.next_state(self.device.status, DeviceTrigger.REINSTALL)
        device = attrs.evolve(self.device, status=status, legacy_id=legacy_id, status_changed_at=at)
        active = DeviceHistory(device, self.windows)
        reinstalled = device._event(
            InventoryEvent.DEVICE_REINSTALLED, require_aware(at, "at"), company_id=company_id
        )
        change = active.assign_company(window_id, company_id, at=at, source=source)
        return attrs.evolve(change, events=(reinstalled, *change.events))

    # -- internals ----------------------------------------------------------------------------
    def _require_active(self) -> None:
        if self.device.status is not DeviceStatus.ACTIVE:
            raise ConflictError(
                f"device {self.device.id} is {self.device.status}: only an active device is "
                "assigned",
                {"device_id": self.device.id, "status": str(self.device.status)},
            )

    def _window(
        self, window_id: str, kind: AssignmentKind, holder_id: str, at: datetime, source: str
    ) -> DeviceAssignment:
        return DeviceAssignment(
            id=window_id,
            device_id=self.device.id,
            kind=kind,
            holder_id=holder_id,
            valid_from=require_aware(at, "at"),
            opened_by=source,
        )

    def _closing(
        self, kinds: Iterable[AssignmentKind], at: datetime, source: str
    ) -> tuple[DeviceAssignment, ...]:
        require_aware(at, "at")
        current = (self.current(kind) for kind in kinds)
        return tuple(
            attrs.evolve(window, valid_to=at, closed_by=source)
            for window in current
            if window is not None
        )

    def _changed(
        self, closed: tuple[DeviceAssignment, ...], opened: tuple[DeviceAssignment, ...]
    ) -> HistoryChange:
        replaced = {window.id for window in closed}
        kept = [window for window in self.windows if window.id not in replaced]
        # Building the new history checks every rule (no overlap, one current per kind).
        history = DeviceHistory(self.device, (*kept, *closed, *opened))
        events = [self._window_event(InventoryEvent.ASSIGNMENT_CLOSED, w) for w in closed]
        events += [self._window_event(InventoryEvent.ASSIGNMENT_OPENED, w) for w in opened]
        return HistoryChange(history, opened, closed, tuple(events))

    def _with_status(
        self, trigger: DeviceTrigger, event_type: InventoryEvent, at: datetime, source: str
    ) -> HistoryChange:
        status = DEVICE_MACHINE.next_state(self.device.status, trigger)
        closing = self.unassign_company(at=at, source=source)
        device = attrs.evolve(self.device, status=status, status_changed_at=at)
        history = DeviceHistory(device, closing.history.windows)
        event = device._event(event_type, at, reason=source)
        return attrs.evolve(closing, history=history, events=(*closing.events, event))

    def _window_event(self, event_type: InventoryEvent, window: DeviceAssignment) -> DomainEvent:
        at = window.valid_to if event_type is InventoryEvent.ASSIGNMENT_CLOSED else None
        return self.device._event(event_type, at or window.valid_from, window=window.to_payload())
