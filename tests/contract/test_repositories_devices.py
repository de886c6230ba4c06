"""Contract of the device, asset and assignment-window repositories on every adapter, with the
history rules the schema enforces (one current window per device and kind, unique legacy ids
and serials) and automation results written exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique, update

from adapters.clock import FixedClock
from adapters.ids import UuidIdGenerator
from platform_core.legacy.assignments import (
    Asset,
    AssignmentKind,
    Device,
    DeviceAssignment,
    DeviceHistory,
    DeviceStatus,
    HistoryChange,
    check_windows,
)
from platform_core.legacy.inventory import (
    AssignDevice,
    RecordAutomationResult,
    assign_device,
    get_device_history,
    list_devices,
    record_automation_result,
)
from platform_core.legacy.ports import InventoryUnitOfWork, LegacyOperation
from platform_core.shared.errors import ConflictError

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def inventory_uow(backend: Backend) -> InventoryUnitOfWork:
    """The backend's unit of work seen through the inventory port (it holds every context)."""
    return cast(InventoryUnitOfWork, backend.uow())


def _devices(uow: Any) -> Any:
    return uow.devices


def _assets(uow: Any) -> Any:
    return uow.assets


def _windows(uow: Any) -> Any:
    return uow.device_assignments


def device(device_id: str, legacy_id: str, serial: str | None, minutes: int = 0) -> Device:
    return Device(
        id=device_id,
        legacy_id=legacy_id,
        product_id="prd_gw",
        serial_number=serial,
        registered_at=AT + timedelta(minutes=minutes),
    )


def window(
    window_id: str,
    device_id: str,
    holder_id: str,
    start: int,
    end: int | None = None,
    kind: AssignmentKind = AssignmentKind.COMPANY,
) -> DeviceAssignment:
    return DeviceAssignment(
        id=window_id,
        device_id=device_id,
        kind=kind,
        holder_id=holder_id,
        valid_from=AT + timedelta(hours=start),
        valid_to=None if end is None else AT + timedelta(hours=end),
        opened_by="stp_1",
    )


def asset(asset_id: str, company_id: str, legacy_id: str, name: str) -> Asset:
    return Asset(
        id=asset_id,
        company_id=company_id,
        legacy_id=legacy_id,
        name=name,
        kind="site",
        registered_at=AT,
    )


@attrs.define
class InventoryDeps:
    """The inventory use cases' deps over a contract backend."""

    backend: Backend
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(AT + timedelta(days=30)))
    # Fresh ids per example: hypothesis examples share one database.
    ids: UuidIdGenerator = attrs.field(factory=UuidIdGenerator)

    def uow(self) -> InventoryUnitOfWork:
        return inventory_uow(self.backend)


def provision(step_id: str = "stp_1") -> RecordAutomationResult:
    return RecordAutomationResult(
        step_id=step_id,
        operation=LegacyOperation.PROVISION_DEVICE,
        company_id="cmp_north",
        product_id="prd_gw",
        device_legacy_ids=("DEV000001", "DEV000002"),
        device_serials=("SN-1", "SN-2"),
        effective_at=AT,
    )


class TestRoundTrip:
    @ROUND_TRIP
    @given(serial=st.none() | st.text("ABC123-", min_size=1, max_size=64))
    async def test_device(self, backend: Backend, serial: str | None) -> None:
        """A device, with or without a serial, is stored whole; a status change updates it."""
        stored = device(
            unique("dev"), unique("DEV"), None if serial is None else unique(serial[:40])
        )
        changed = attrs.evolve(
            stored, status=DeviceStatus.RETURNED, status_changed_at=AT + timedelta(days=2)
        )
        await assert_round_trip(backend, _devices, stored, changed)

    async def test_asset(self, backend: Backend) -> None:
        """An asset is stored whole and renamed by an update."""
        stored = asset(unique("ast"), "cmp_north", unique("A"), "Cold room")
        await assert_round_trip(backend, _assets, stored, attrs.evolve(stored, name="Barn"))

    async def test_window(self, backend: Backend) -> None:
        """A current window is stored whole; closing it is an update."""
        stored = window(unique("dwn"), "dev_1", "cmp_north", start=0)
        closed = attrs.evolve(stored, valid_to=AT + timedelta(hours=5), closed_by="ops")
        await assert_round_trip(backend, _windows, stored, closed)


class TestUniqueness:
    async def test_a_legacy_id_or_serial_belongs_to_one_device(self, backend: Backend) -> None:
        """A second device with a stored legacy id or serial is refused; unknown serials
        (None) may repeat."""
        await add_all(
            backend,
            _devices,
            device("dev_1", "DEV1", "SN-1"),
            device("dev_2", "DEV2", None),
            device("dev_3", "DEV3", None),
        )
        for clash in (device("dev_4", "DEV1", "SN-4"), device("dev_5", "DEV5", "SN-1")):
            with pytest.raises(ConflictError):
                await add_all(backend, _devices, clash)
        async with inventory_uow(backend) as uow:
            assert (await uow.devices.by_legacy_id("DEV2")).id == "dev_2"
            assert (await uow.devices.by_serial("SN-1")).id == "dev_1"
            assert await uow.devices.by_serial("SN-9") is None
            assert await uow.devices.by_legacy_id("DEV9") is None

    async def test_an_asset_legacy_id_is_unique(self, backend: Backend) -> None:
        """Two assets cannot share a legacy id."""
        await add_all(backend, _assets, asset("ast_1", "cmp_north", "A-1", "Room"))
        with pytest.raises(ConflictError):
            await add_all(backend, _assets, asset("ast_2", "cmp_south", "A-1", "Shed"))
        async with inventory_uow(backend) as uow:
            assert (await uow.assets.by_legacy_id("A-1")).id == "ast_1"

    async def test_one_current_window_per_device_and_kind(self, backend: Backend) -> None:
        """A second current company window is refused, also from another transaction; an
        asset window or another device's window is not; once the first closes, a new one may
        open."""
        first = window("dwn_1", "dev_1", "cmp_north", start=0)
        await add_all(
            backend,
            _windows,
            first,
            window("dwn_2", "dev_1", "ast_1", start=0, kind=AssignmentKind.ASSET),
            window("dwn_3", "dev_2", "cmp_north", start=0),
        )
        with pytest.raises(ConflictError):
            await add_all(backend, _windows, window("dwn_4", "dev_1", "cmp_south", start=3))
        async with inventory_uow(backend) as uow:
            await uow.device_assignments.update(
                attrs.evolve(first, valid_to=AT + timedelta(hours=3))
            )
            await uow.device_assignments.add(window("dwn_5", "dev_1", "cmp_south", start=3))
            await uow.commit()
        async with inventory_uow(backend) as uow:
            history = await uow.device_assignments.for_device("dev_1")
        assert [w.id for w in history] == ["dwn_1", "dwn_2", "dwn_5"]

    async def test_reopening_a_closed_window_beside_a_current_one_is_refused(
        self, backend: Backend
    ) -> None:
        """The rule holds for updates too, not only for inserts."""
        closed = window("dwn_1", "dev_1", "cmp_north", start=0, end=2)
        await add_all(backend, _windows, closed, window("dwn_2", "dev_1", "cmp_south", start=2))
        with pytest.raises(ConflictError):
            await update(backend, _windows, attrs.evolve(closed, valid_to=None))


class TestQueries:
    async def test_devices_by_company_now_or_ever(self, backend: Backend) -> None:
        """The listing takes a company's current devices, or every one it held; status
        filters; pages are oldest registered first."""
        await add_all(
            backend,
            _devices,
            device("dev_1", "DEV1", "SN-1", minutes=1),
            device("dev_2", "DEV2", "SN-2", minutes=2),
            attrs.evolve(device("dev_3", "DEV3", "SN-3", minutes=3), status=DeviceStatus.RETURNED),
        )
        await add_all(
            backend,
            _windows,
            window("dwn_1", "dev_1", "cmp_north", start=0),
            window("dwn_2", "dev_2", "cmp_south", start=0, end=5),
            window("dwn_3", "dev_2", "cmp_north", start=5),
            window("dwn_4", "dev_3", "cmp_south", start=0, end=9),
            window("dwn_5", "dev_1", "cmp_south", start=0, kind=AssignmentKind.ASSET),
        )
        async with inventory_uow(backend) as uow:
            devices = uow.devices
            assert [d.id for d in await devices.listing(company_id="cmp_north")] == [
                "dev_1",
                "dev_2",
            ]
            assert await devices.listing(company_id="cmp_south") == []
            ever = await devices.listing(company_id="cmp_south", include_past=True)
            assert [d.id for d in ever] == ["dev_2", "dev_3"]
            returned = await devices.listing(status=DeviceStatus.RETURNED)
            assert [d.id for d in returned] == ["dev_3"]
            assert [d.id for d in await devices.listing(limit=2, offset=1)] == ["dev_2", "dev_3"]
            assert await devices.listing(company_id="cmp_unknown", include_past=True) == []

    async def test_assets_of_a_company_by_name(self, backend: Backend) -> None:
        """for_company lists one company's assets by name."""
        await add_all(
            backend,
            _assets,
            asset("ast_1", "cmp_north", "A-1", "Room"),
            asset("ast_2", "cmp_north", "A-2", "Barn"),
            asset("ast_3", "cmp_south", "A-3", "Attic"),
        )
        async with inventory_uow(backend) as uow:
            assert [a.id for a in await uow.assets.for_company("cmp_north")] == ["ast_2", "ast_1"]
            assert await uow.assets.for_company("cmp_none") == []


class TestAutomationResults:
    async def test_a_result_is_written_once(self, backend: Backend) -> None:
        """Recording the same step's result twice leaves two devices with one window each."""
        deps = InventoryDeps(backend)
        first = await record_automation_result(deps, provision())
        assert await record_automation_result(deps, provision()) == []
        devices = await list_devices(deps, company_id="cmp_north")
        assert sorted(d.serial_number or "" for d in devices) == ["SN-1", "SN-2"]
        for history in first:
            stored = await get_device_history(deps, history.device.id)
            assert stored == history
            assert [w.valid_from for w in stored.windows] == [AT]

    async def test_a_move_closes_and_opens_in_one_transaction(self, backend: Backend) -> None:
        """Ops moves a device: the stored history has the closed window and the new one."""
        deps = InventoryDeps(backend)
        (history, _) = await record_automation_result(deps, provision())
        moved = await assign_device(
            deps, AssignDevice(device_id=history.device.id, company_id="cmp_south", actor="ops")
        )
        stored = await get_device_history(deps, history.device.id)
        assert stored == moved
        assert [(w.holder_id, w.valid_to) for w in stored.windows] == [
            ("cmp_north", deps.clock.now()),
            ("cmp_south", None),
        ]


class TestConcurrency:
    async def test_two_moves_from_the_same_history_cannot_both_commit(
        self, concurrent_backend: Backend
    ) -> None:
        """Both read the device at version 1; the second move is refused, so the device never
        gets two current company windows."""
        deps = InventoryDeps(concurrent_backend)
        (history, _) = await record_automation_result(deps, provision())
        device_id = history.device.id
        first, second = inventory_uow(concurrent_backend), inventory_uow(concurrent_backend)
        at = AT + timedelta(days=1)
        async with first, second:
            seen_a = await _read(first, device_id)
            seen_b = await _read(second, device_id)
            await _move(first, seen_a, "dwn_a", "cmp_south", at)
            await first.commit()

            async def move_from_stale_history() -> None:
                await _move(second, seen_b, "dwn_b", "cmp_west", at)
                await second.commit()

            with pytest.raises(ConflictError):
                await move_from_stale_history()
        stored = await get_device_history(deps, device_id)
        assert [w.holder_id for w in stored.windows] == ["cmp_north", "cmp_south"]

    async def test_a_result_replayed_concurrently_is_written_once(
        self, concurrent_backend: Backend
    ) -> None:
        """Two deliveries of the same result at once: one writes, the other is refused."""
        deps = InventoryDeps(concurrent_backend)
        outcomes = await asyncio.gather(
            record_automation_result(deps, provision()),
            record_automation_result(deps, provision()),
            return_exceptions=True,
        )
        written = [o for o in outcomes if isinstance(o, list) and o]
        refused_or_empty = [o for o in outcomes if isinstance(o, ConflictError) or o == []]
        assert len(written) == 1
        assert len(refused_or_empty) == 1
        assert len(await list_devices(deps)) == 2


async def _read(uow: InventoryUnitOfWork, device_id: str) -> DeviceHistory:
    device = await uow.devices.get(device_id)
    return DeviceHistory(device, tuple(await uow.device_assignments.for_device(device_id)))


async def _move(
    uow: InventoryUnitOfWork, history: DeviceHistory, window_id: str, company: str, at: datetime
) -> None:
    await _store_change(uow, history.assign_company(window_id, company, at=at, source="ops"))


async def _store_change(uow: InventoryUnitOfWork, change: HistoryChange) -> None:
    await uow.devices.update(change.history.device)
    for closed in change.closed:
        await uow.device_assignments.update(closed)
    for opened in change.opened:
        await uow.device_assignments.add(opened)


MOVES = st.lists(
    st.tuples(
        st.sampled_from(["move", "close", "return", "reinstall"]),
        st.sampled_from(["cmp_north", "cmp_south"]),
        st.integers(min_value=0, max_value=48),
    ),
    max_size=8,
)


class TestStoredHistories:
    @ROUND_TRIP
    @given(moves=MOVES)
    async def test_no_sequence_of_moves_stores_overlapping_or_two_current_windows(
        self, backend: Backend, moves: list[tuple[str, str, int]]
    ) -> None:
        """Moves, closes, returns and reinstalls of one device, read back from the store:
        windows never overlap and each kind has at most one current window."""
        deps = InventoryDeps(backend)
        first = unique("stp")
        (history, *_) = await record_automation_result(
            deps,
            attrs.evolve(
                provision(first), device_legacy_ids=(unique("DEV"),), device_serials=(first,)
            ),
        )
        device_id = history.device.id
        for move, company, hours in moves:
            deps.clock.advance(timedelta(hours=hours))
            await _apply_move(deps, device_id, move, company, serial=first)
            stored = await get_device_history(deps, device_id)
            check_windows(stored.windows)
            current = [w for w in stored.windows if w.is_current]
            assert len(current) <= 1
            if stored.device.status is not DeviceStatus.ACTIVE:
                assert current == []


async def _apply_move(
    deps: InventoryDeps, device_id: str, move: str, company: str, serial: str
) -> None:
    """One move; a move the rules refuse (ConflictError) stores nothing and is ignored."""
    now = deps.clock.now()
    current = await get_device_history(deps, device_id)
    operation = {
        "return": LegacyOperation.RETURN_DEVICE,
        "reinstall": LegacyOperation.PROVISION_DEVICE,
    }.get(move)
    try:
        if move == "move":
            await assign_device(
                deps, AssignDevice(device_id=device_id, company_id=company, actor="ops")
            )
        elif move == "close":
            async with deps.uow() as uow:
                change = current.unassign_company(at=now, source="ops")
                await _store_change(uow, change)
                await uow.commit()
        elif operation is not None:
            legacy_id = current.device.legacy_id if move == "return" else unique("DEV")
            command = attrs.evolve(
                provision(unique("stp")),
                operation=operation,
                company_id=company,
                device_legacy_ids=(legacy_id,),
                device_serials=(serial,),
                effective_at=now,
            )
            await record_automation_result(deps, command)
    except ConflictError:
        assert await get_device_history(deps, device_id) == current
