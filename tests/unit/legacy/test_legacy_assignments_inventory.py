"""Device and asset use cases on the in-memory store: automation results written exactly once,
Ops moves, and the reads the API serves (modern company ids only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.devices import DevicesTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.legacy.assignments import AssignmentKind, DeviceStatus, check_windows
from platform_core.legacy.inventory import (
    AssignDevice,
    AssignDeviceToAsset,
    RecordAutomationResult,
    RegisterAsset,
    assign_device,
    assign_device_to_asset,
    get_device_history,
    list_assets,
    list_devices,
    record_automation_result,
    register_asset,
)
from platform_core.legacy.ports import LegacyOperation
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DELIVERED = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)


class InventoryUoW(DevicesTables, InMemoryUnitOfWorkBase):
    """Devices, assets and windows over the in-memory store."""


@attrs.define
class InventoryTestDeps:
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(NOW))
    ids: SequentialIdGenerator = attrs.field(factory=SequentialIdGenerator)
    db: InMemoryDatabase = attrs.field(factory=InMemoryDatabase)

    def uow(self) -> InventoryUoW:
        return InventoryUoW(self.db, self.ids)


@pytest.fixture
def deps() -> InventoryTestDeps:
    return InventoryTestDeps()


def result(operation: LegacyOperation, **changes: Any) -> RecordAutomationResult:
    fields: dict[str, Any] = {
        "step_id": "stp_1",
        "operation": operation,
        "company_id": "cmp_north",
        "product_id": "prd_gw",
        "device_legacy_ids": ("DEV000001", "DEV000002"),
        "effective_at": DELIVERED,
        "device_serials": ("SN-1",),
    }
    fields.update(changes)
    return RecordAutomationResult(**fields)


PROVISION = LegacyOperation.PROVISION_DEVICE
REPLACE = LegacyOperation.REPLACE_DEVICE
RETURN = LegacyOperation.RETURN_DEVICE


def event_types(deps: InventoryTestDeps) -> list[str]:
    return [stored.event.type for stored in deps.db.events]


class TestProvision:
    async def test_new_devices_are_held_by_the_company_from_delivery(
        self, deps: InventoryTestDeps
    ) -> None:
        """Each legacy device becomes a Device; the listed serials go to the first units."""
        histories = await record_automation_result(deps, result(PROVISION))
        assert [(h.device.legacy_id, h.device.serial_number) for h in histories] == [
            ("DEV000001", "SN-1"),
            ("DEV000002", None),
        ]
        for history in histories:
            (window,) = history.windows
            assert (window.kind, window.holder_id) == (AssignmentKind.COMPANY, "cmp_north")
            assert (window.valid_from, window.valid_to, window.opened_by) == (
                DELIVERED,
                None,
                "stp_1",
            )
        held = await list_devices(deps, company_id="cmp_north")
        assert [d.legacy_id for d in held] == ["DEV000001", "DEV000002"]
        assert event_types(deps).count("device.registered") == 2

    async def test_a_replayed_result_changes_nothing(self, deps: InventoryTestDeps) -> None:
        """The same step's result twice: still two devices, one window each, no new events."""
        await record_automation_result(deps, result(PROVISION))
        recorded = len(deps.db.events)
        assert await record_automation_result(deps, result(PROVISION)) == []
        devices = await list_devices(deps)
        assert len(devices) == 2
        for device in devices:
            assert len((await get_device_history(deps, device.id)).windows) == 1
        assert len(deps.db.events) == recorded

    async def test_a_serial_of_a_returned_device_reinstalls_it(
        self, deps: InventoryTestDeps
    ) -> None:
        """The same unit installed again keeps its device id and gets the new legacy id."""
        (first, _) = await record_automation_result(deps, result(PROVISION))
        await record_automation_result(
            deps, result(RETURN, step_id="stp_2", device_legacy_ids=("DEV000001",))
        )
        again = DELIVERED + timedelta(days=20)
        (history,) = await record_automation_result(
            deps,
            result(
                PROVISION,
                step_id="stp_3",
                company_id="cmp_south",
                device_legacy_ids=("DEV000077",),
                effective_at=again,
            ),
        )
        assert history.device.id == first.device.id
        assert (history.device.legacy_id, history.device.status) == (
            "DEV000077",
            DeviceStatus.ACTIVE,
        )
        assert [(w.holder_id, w.valid_to) for w in history.windows] == [
            ("cmp_north", DELIVERED),
            ("cmp_south", None),
        ]

    async def test_a_serial_held_by_an_active_device_is_a_conflict(
        self, deps: InventoryTestDeps
    ) -> None:
        """Drift: nothing of the result is stored, so it can be written once the drift is fixed."""
        await record_automation_result(deps, result(PROVISION))
        clash = result(PROVISION, step_id="stp_2", device_legacy_ids=("DEV000009",))
        with pytest.raises(ConflictError):
            await record_automation_result(deps, clash)
        assert len(await list_devices(deps)) == 2
        async with deps.uow() as uow:
            assert not await uow.outbox.already_handled("legacy.automation_results", "stp_2")

    async def test_an_assignment_update_is_not_an_automation_result(
        self, deps: InventoryTestDeps
    ) -> None:
        """Only provision, replacement and return come from automation steps."""
        with pytest.raises(ValidationError):
            await record_automation_result(deps, result(LegacyOperation.UPDATE_ASSIGNMENT))


class TestReplacementAndReturn:
    async def test_a_replacement_retires_the_old_unit_and_installs_the_new(
        self, deps: InventoryTestDeps
    ) -> None:
        """The replaced device's window ends at delivery; the new one's starts then."""
        (old, _) = await record_automation_result(deps, result(PROVISION))
        swap_at = DELIVERED + timedelta(days=30)
        retired, installed = await record_automation_result(
            deps,
            result(
                REPLACE,
                step_id="stp_2",
                device_legacy_ids=("DEV000003",),
                device_serials=("SN-9",),
                replaced_serials=("SN-1", "SN-UNKNOWN"),
                effective_at=swap_at,
            ),
        )
        assert retired.device.id == old.device.id
        assert retired.device.status is DeviceStatus.RETIRED
        assert [w.valid_to for w in retired.windows] == [swap_at]
        assert installed.device.serial_number == "SN-9"
        assert installed.windows[0].valid_from == swap_at
        held = await list_devices(deps, company_id="cmp_north")
        assert sorted(d.legacy_id for d in held) == ["DEV000002", "DEV000003"]
        assert "device.retired" in event_types(deps)

    async def test_a_return_closes_the_windows_and_marks_the_devices_returned(
        self, deps: InventoryTestDeps
    ) -> None:
        """Found by legacy id, or by serial when the legacy id is unknown locally."""
        await record_automation_result(deps, result(PROVISION))
        back_at = DELIVERED + timedelta(days=60)
        returned = await record_automation_result(
            deps,
            result(
                RETURN,
                step_id="stp_2",
                device_legacy_ids=("DEV-OTHER", "DEV000002"),
                device_serials=("SN-1",),
                effective_at=back_at,
            ),
        )
        assert sorted(h.device.legacy_id for h in returned) == ["DEV000001", "DEV000002"]
        assert all(h.device.status is DeviceStatus.RETURNED for h in returned)
        assert all(w.valid_to == back_at for h in returned for w in h.windows)
        assert await list_devices(deps, company_id="cmp_north") == []
        past = await list_devices(deps, company_id="cmp_north", include_past=True)
        assert len(past) == 2


class TestOpsAndQueries:
    async def test_moving_a_device_keeps_its_history(self, deps: InventoryTestDeps) -> None:
        """The company listing shows current holders; the history shows both windows."""
        (history, _) = await record_automation_result(deps, result(PROVISION))
        moved = await assign_device(
            deps, AssignDevice(device_id=history.device.id, company_id="cmp_south", actor="ops")
        )
        assert [(w.holder_id, w.valid_to) for w in moved.windows] == [
            ("cmp_north", NOW),
            ("cmp_south", None),
        ]
        south = await list_devices(deps, company_id="cmp_south")
        assert [d.id for d in south] == [history.device.id]
        stored = await get_device_history(deps, history.device.id)
        assert stored == moved

    async def test_assets_are_registered_once_and_listed_by_company(
        self, deps: InventoryTestDeps
    ) -> None:
        """Same legacy id and company: the stored asset; another company: a conflict."""
        room = await register_asset(
            deps,
            RegisterAsset(company_id="cmp_north", legacy_id="A-1", name="Cold room", kind="site"),
        )
        again = await register_asset(
            deps, RegisterAsset(company_id="cmp_north", legacy_id="A-1", name="Other", kind="x")
        )
        await register_asset(
            deps, RegisterAsset(company_id="cmp_north", legacy_id="A-2", name="Barn", kind="site")
        )
        assert again == room
        with pytest.raises(ConflictError):
            await register_asset(
                deps, RegisterAsset(company_id="cmp_south", legacy_id="A-1", name="X", kind="y")
            )
        assert [a.name for a in await list_assets(deps, "cmp_north")] == ["Barn", "Cold room"]
        assert await list_assets(deps, "cmp_unknown") == []

    async def test_a_device_goes_on_its_companys_assets_only(self, deps: InventoryTestDeps) -> None:
        """An asset of another company is refused; None takes the device off its asset."""
        (history, _) = await record_automation_result(deps, result(PROVISION))
        north = await register_asset(
            deps, RegisterAsset(company_id="cmp_north", legacy_id="A-1", name="Room", kind="site")
        )
        south = await register_asset(
            deps, RegisterAsset(company_id="cmp_south", legacy_id="A-2", name="Shed", kind="site")
        )
        device_id = history.device.id
        with pytest.raises(ConflictError):
            await assign_device_to_asset(
                deps, AssignDeviceToAsset(device_id=device_id, asset_id=south.id, actor="ops")
            )
        mounted = await assign_device_to_asset(
            deps, AssignDeviceToAsset(device_id=device_id, asset_id=north.id, actor="ops")
        )
        assert mounted.asset_id == north.id
        deps.clock.advance(timedelta(hours=1))
        taken_off = await assign_device_to_asset(
            deps, AssignDeviceToAsset(device_id=device_id, asset_id=None, actor="ops")
        )
        assert taken_off.asset_id is None
        assert taken_off.company_id == "cmp_north"

    async def test_queries_validate_and_filter(self, deps: InventoryTestDeps) -> None:
        """Status filters, pages are bounded, an unknown device is not found."""
        await record_automation_result(deps, result(PROVISION))
        await record_automation_result(
            deps, result(RETURN, step_id="stp_2", device_legacy_ids=("DEV000002",))
        )
        returned = await list_devices(deps, status="returned")
        assert [d.legacy_id for d in returned] == ["DEV000002"]
        page = await list_devices(deps, limit=1, offset=1)
        assert [d.legacy_id for d in page] == ["DEV000002"]
        with pytest.raises(ValidationError):
            await list_devices(deps, limit=501)
        with pytest.raises(ValidationError):
            await list_devices(deps, status="lost")
        with pytest.raises(ValidationError):
            await list_devices(deps, offset=-1)
        with pytest.raises(NotFoundError):
            await get_device_history(deps, "dev_missing")


MOVES = st.lists(
    st.tuples(
        st.sampled_from(["move", "mount", "unmount", "return", "reinstall"]),
        st.sampled_from(["cmp_north", "cmp_south"]),
        st.integers(min_value=0, max_value=48),
    ),
    max_size=15,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves=MOVES)
async def test_no_sequence_of_use_cases_stores_a_broken_history(moves: list[Any]) -> None:
    """Whatever Ops and automation do, the stored windows never overlap and each kind has at
    most one current window; refused commands store nothing."""
    deps = InventoryTestDeps()
    (history, _) = await record_automation_result(deps, result(PROVISION))
    device_id = history.device.id
    rooms = {
        company: await register_asset(
            deps, RegisterAsset(company_id=company, legacy_id=f"A-{company}", name="R", kind="s")
        )
        for company in ("cmp_north", "cmp_south")
    }
    for number, (move, company, hours) in enumerate(moves):
        deps.clock.advance(timedelta(hours=hours))
        before = await get_device_history(deps, device_id)
        refused = False
        try:
            await _apply(deps, move, company, device_id, rooms[company].id, number)
        except (ConflictError, ValidationError):
            refused = True
        stored = await get_device_history(deps, device_id)
        if refused:
            assert stored == before
        check_windows(stored.windows)
        if stored.device.status is not DeviceStatus.ACTIVE:
            assert all(not w.is_current for w in stored.windows)


async def _apply(
    deps: InventoryTestDeps, move: str, company: str, device_id: str, asset_id: str, number: int
) -> None:
    match move:
        case "move":
            await assign_device(
                deps, AssignDevice(device_id=device_id, company_id=company, actor="o")
            )
        case "mount":
            command = AssignDeviceToAsset(device_id=device_id, asset_id=asset_id, actor="o")
            await assign_device_to_asset(deps, command)
        case "unmount":
            command = AssignDeviceToAsset(device_id=device_id, asset_id=None, actor="o")
            await assign_device_to_asset(deps, command)
        case "return":
            current = await get_device_history(deps, device_id)
            returned = result(
                RETURN,
                step_id=f"stp_r{number}",
                device_legacy_ids=(current.device.legacy_id,),
                effective_at=deps.clock.now(),
            )
            await record_automation_result(deps, returned)
        case "reinstall":
            again = result(
                PROVISION,
                step_id=f"stp_i{number}",
                company_id=company,
                device_legacy_ids=(f"DEV-R{number}",),
                effective_at=deps.clock.now(),
            )
            await record_automation_result(deps, again)
