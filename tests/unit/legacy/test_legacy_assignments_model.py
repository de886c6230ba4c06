"""Devices, assets and assignment windows: the history rules, the device state machine, and a
stateful property test that no sequence of moves breaks the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from platform_core.legacy.assignments import (
    DEVICE_MACHINE,
    Asset,
    AssignmentKind,
    DeviceAssignment,
    DeviceHistory,
    DeviceStatus,
    DeviceTrigger,
    HistoryChange,
    InventoryEvent,
    check_windows,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STEP = "stp_1"


def registered(
    company_id: str = "cmp_1", at: datetime = T0, serial: str | None = "SN-1"
) -> HistoryChange:
    return DeviceHistory.register(
        device_id="dev_1",
        legacy_id="DEV000001",
        product_id="prd_gw",
        serial_number=serial,
        window_id="dwn_1",
        company_id=company_id,
        at=at,
        source=STEP,
    )


def asset(asset_id: str = "ast_1", company_id: str = "cmp_1") -> Asset:
    created, _ = Asset.register(
        asset_id, company_id=company_id, legacy_id=f"L-{asset_id}", name="Cold room",
        kind="site", at=T0,
    )  # fmt: skip
    return created


def window(window_id: str, start: int, end: int | None, kind: str = "company") -> DeviceAssignment:
    return DeviceAssignment(
        id=window_id,
        device_id="dev_1",
        kind=kind,
        holder_id="cmp_1",
        valid_from=T0 + timedelta(hours=start),
        valid_to=None if end is None else T0 + timedelta(hours=end),
    )


def event_types(change: HistoryChange) -> list[str]:
    return [event.type for event in change.events]


class TestRegistration:
    def test_a_registered_device_is_active_and_held_by_its_company_from_then(self) -> None:
        """Registering opens the company window at the registration instant, with events."""
        change = registered()
        history = change.history
        assert history.device.status is DeviceStatus.ACTIVE
        assert history.device.registered_at == T0
        assert history.company_id == "cmp_1"
        assert history.asset_id is None
        assert [w.valid_from for w in change.opened] == [T0]
        assert change.opened[0].opened_by == STEP
        assert event_types(change) == ["device.registered", "device.assignment_opened"]

    def test_an_empty_serial_is_refused(self) -> None:
        """A serial number is either unknown (None) or non-empty text."""
        with pytest.raises(ValidationError):
            registered(serial=" ")

    def test_a_naive_time_is_refused(self) -> None:
        """Every instant carries a time zone."""
        with pytest.raises(ValidationError):
            registered(at=datetime(2026, 3, 1, 9, 0))


class TestMoves:
    def test_moving_to_another_company_closes_one_window_and_opens_the_next(self) -> None:
        """The old window ends exactly when the new one begins; both are in the change."""
        history = registered().history
        later = T0 + timedelta(days=3)
        change = history.assign_company("dwn_2", "cmp_2", at=later, source="ops")
        assert [(w.id, w.valid_to, w.closed_by) for w in change.closed] == [("dwn_1", later, "ops")]
        assert [(w.id, w.holder_id, w.valid_from) for w in change.opened] == [
            ("dwn_2", "cmp_2", later)
        ]
        assert change.history.company_id == "cmp_2"
        assert change.history.holder_at(AssignmentKind.COMPANY, T0 + timedelta(days=1)) == "cmp_1"
        assert change.history.holder_at(AssignmentKind.COMPANY, later) == "cmp_2"
        assert event_types(change) == ["device.assignment_closed", "device.assignment_opened"]

    def test_moving_to_the_company_already_holding_it_changes_nothing(self) -> None:
        """An idempotent move records nothing."""
        history = registered().history
        change = history.assign_company("dwn_2", "cmp_1", at=T0 + timedelta(hours=1), source="ops")
        assert not change.changed
        assert change.history == history

    def test_a_move_dated_before_the_current_window_began_is_refused(self) -> None:
        """History cannot run backwards: the current window would end before it started."""
        history = registered(at=T0 + timedelta(days=1)).history
        with pytest.raises(ValidationError):
            history.assign_company("dwn_2", "cmp_2", at=T0, source="ops")

    def test_a_move_into_a_closed_window_is_refused(self) -> None:
        """A new window may not start inside an earlier, already closed one."""
        history = registered().history
        moved = history.assign_company("dwn_2", "cmp_2", at=T0 + timedelta(days=2), source="ops")
        closed = moved.history.unassign_company(at=T0 + timedelta(days=4), source="ops").history
        with pytest.raises(ValidationError):
            closed.assign_company("dwn_3", "cmp_3", at=T0 + timedelta(days=3), source="ops")

    def test_a_device_goes_on_an_asset_of_its_company_only(self) -> None:
        """The asset must belong to the company holding the device."""
        history = registered().history
        with pytest.raises(ConflictError):
            history.assign_asset("dwn_2", asset(company_id="cmp_2"), at=T0, source="ops")
        change = history.assign_asset("dwn_2", asset(), at=T0 + timedelta(hours=1), source="ops")
        assert change.history.asset_id == "ast_1"
        assert change.history.company_id == "cmp_1"

    def test_moving_to_another_asset_ends_the_previous_asset_window(self) -> None:
        """One current asset window: the next asset takes over at the move's instant."""
        history = registered().history
        on_first = history.assign_asset("dwn_2", asset("ast_1"), at=T0, source="ops").history
        at = T0 + timedelta(hours=5)
        change = on_first.assign_asset("dwn_3", asset("ast_2"), at=at, source="ops")
        assert [(w.holder_id, w.valid_to) for w in change.closed] == [("ast_1", at)]
        assert change.history.asset_id == "ast_2"

    def test_changing_company_takes_the_device_off_its_asset(self) -> None:
        """The asset belongs to the old company, so its window ends with the company's."""
        history = registered().history
        mounted = history.assign_asset("dwn_2", asset(), at=T0, source="ops").history
        at = T0 + timedelta(days=1)
        change = mounted.assign_company("dwn_3", "cmp_2", at=at, source="ops")
        assert sorted(w.kind for w in change.closed) == ["asset", "company"]
        assert change.history.asset_id is None
        assert change.history.company_id == "cmp_2"

    def test_unassigning_an_asset_that_is_not_there_changes_nothing(self) -> None:
        """No current asset window: nothing to close, nothing recorded."""
        assert not registered().history.unassign_asset(at=T0, source="ops").changed


class TestStatus:
    def test_retiring_ends_every_window_and_is_final(self) -> None:
        """A retired device holds no window and cannot be moved, returned or reinstalled."""
        mounted = registered().history.assign_asset("dwn_2", asset(), at=T0, source="ops")
        at = T0 + timedelta(days=9)
        change = mounted.history.retire(at=at, source="stp_2")
        history = change.history
        assert history.device.status is DeviceStatus.RETIRED
        assert history.device.status_changed_at == at
        assert all(not w.is_current for w in history.windows)
        assert event_types(change)[-1] == InventoryEvent.DEVICE_RETIRED
        with pytest.raises(ConflictError):
            history.assign_company("dwn_9", "cmp_2", at=at, source="ops")
        with pytest.raises(IllegalTransition):
            history.mark_returned(at=at, source="ops")
        with pytest.raises(IllegalTransition):
            history.reinstall(
                legacy_id="DEV9", window_id="dwn_9", company_id="c", at=at, source="s"
            )

    def test_a_returned_device_can_be_reinstalled_under_a_new_legacy_id(self) -> None:
        """Returned, then installed again elsewhere: a new company window and legacy id."""
        returned = registered().history.mark_returned(at=T0 + timedelta(days=1), source="stp_2")
        assert returned.history.device.status is DeviceStatus.RETURNED
        assert returned.history.company_id is None
        at = T0 + timedelta(days=5)
        change = returned.history.reinstall(
            legacy_id="DEV000042", window_id="dwn_2", company_id="cmp_2", at=at, source="stp_3"
        )
        device = change.history.device
        assert (device.status, device.legacy_id) == (DeviceStatus.ACTIVE, "DEV000042")
        assert change.history.company_id == "cmp_2"
        assert [w.holder_id for w in change.history.windows] == ["cmp_1", "cmp_2"]
        assert event_types(change) == ["device.reinstalled", "device.assignment_opened"]

    def test_the_device_machine_refuses_everything_outside_its_table(self) -> None:
        """Only retire/return from active and reinstall from returned are allowed."""
        assert DEVICE_MACHINE.is_terminal(DeviceStatus.RETIRED)
        assert DEVICE_MACHINE.triggers_from(DeviceStatus.RETIRED) == []
        assert not DEVICE_MACHINE.can(DeviceStatus.ACTIVE, DeviceTrigger.REINSTALL)


class TestWindowRules:
    def test_a_window_cannot_end_before_it_starts(self) -> None:
        """valid_to >= valid_from, checked at construction."""
        with pytest.raises(ValidationError):
            window("w", start=5, end=4)

    def test_two_current_windows_of_one_kind_are_refused(self) -> None:
        """At most one open window per kind."""
        with pytest.raises(ValidationError):
            check_windows([window("a", 0, None), window("b", 1, None)])

    def test_overlapping_windows_are_refused_and_touching_ones_allowed(self) -> None:
        """Windows are half-open: one may end when the next begins, not after."""
        check_windows([window("a", 0, 2), window("b", 2, None), window("c", 0, None, "asset")])
        check_windows([window("a", 1, 1), window("b", 1, None)])
        with pytest.raises(ValidationError):
            check_windows([window("a", 0, 3), window("b", 2, None)])

    def test_a_history_refuses_another_devices_windows(self) -> None:
        """Every window of a history belongs to its device."""
        device = registered().history.device
        stranger = attrs.evolve(window("a", 0, None), device_id="dev_2")
        with pytest.raises(ValidationError):
            DeviceHistory(device, (stranger,))


COMPANIES = st.sampled_from(["cmp_1", "cmp_2", "cmp_3"])
ASSETS = {"ast_1": "cmp_1", "ast_2": "cmp_1", "ast_3": "cmp_2"}
GAPS = st.integers(min_value=0, max_value=72).map(lambda hours: timedelta(hours=hours))


class DeviceHistoryMachine(RuleBasedStateMachine):
    """Any sequence of moves, asset changes, closes, returns, retirements and reinstalls (some
    backdated) keeps the history whole: no overlap, at most one current window per kind, the
    asset's company holding the device, and nothing current for an inactive device. A refused
    command changes nothing; an accepted one reports exactly the windows it opened and closed."""

    def __init__(self) -> None:
        super().__init__()
        self.history = registered().history
        self.now = T0
        self.numbers = 1

    def _next_id(self) -> str:
        self.numbers += 1
        return f"dwn_{self.numbers}"

    def _apply(self, command: object) -> None:
        before = self.history
        try:
            change = command()  # type: ignore[operator]
        except (ValidationError, ConflictError):
            assert self.history == before
            return
        self._check_bookkeeping(before, change)
        self.history = change.history

    def _check_bookkeeping(self, before: DeviceHistory, change: HistoryChange) -> None:
        old = {w.id: w for w in before.windows}
        for closed in change.closed:
            assert old[closed.id].is_current
            assert not closed.is_current
        for opened in change.opened:
            assert opened.id not in old
            assert opened.is_current
        untouched = set(old) - {w.id for w in change.closed}
        assert {w.id for w in change.history.windows} == untouched | {
            w.id for w in (*change.closed, *change.opened)
        }

    def _at(self, gap: timedelta, backdated: bool) -> datetime:
        if backdated:
            return self.now - gap - timedelta(minutes=1)
        self.now += gap
        return self.now

    @rule(company=COMPANIES, gap=GAPS, backdated=st.booleans())
    def move(self, company: str, gap: timedelta, backdated: bool) -> None:
        at = self._at(gap, backdated)
        self._apply(
            lambda: self.history.assign_company(self._next_id(), company, at=at, source="s")
        )

    @rule(asset_id=st.sampled_from(sorted(ASSETS)), gap=GAPS)
    def mount(self, asset_id: str, gap: timedelta) -> None:
        at = self._at(gap, False)
        target = asset(asset_id, ASSETS[asset_id])
        self._apply(lambda: self.history.assign_asset(self._next_id(), target, at=at, source="s"))

    @rule(gap=GAPS)
    def unmount(self, gap: timedelta) -> None:
        at = self._at(gap, False)
        self._apply(lambda: self.history.unassign_asset(at=at, source="s"))

    @rule(gap=GAPS)
    def close(self, gap: timedelta) -> None:
        at = self._at(gap, False)
        self._apply(lambda: self.history.unassign_company(at=at, source="s"))

    @rule(gap=GAPS)
    def give_back(self, gap: timedelta) -> None:
        at = self._at(gap, False)
        self._apply(lambda: self.history.mark_returned(at=at, source="s"))

    @rule(gap=GAPS)
    def retire(self, gap: timedelta) -> None:
        at = self._at(gap, False)
        self._apply(lambda: self.history.retire(at=at, source="s"))

    @rule(company=COMPANIES, gap=GAPS)
    def reinstall(self, company: str, gap: timedelta) -> None:
        at = self._at(gap, False)
        legacy_id = f"DEV{self.numbers:06d}"
        self._apply(
            lambda: self.history.reinstall(
                legacy_id=legacy_id,
                window_id=self._next_id(),
                company_id=company,
                at=at,
                source="s",
            )
        )

    @invariant()
    def windows_never_overlap_and_one_is_current_per_kind(self) -> None:
        check_windows(self.history.windows)
        for kind in AssignmentKind:
            mine = [w for w in self.history.windows if w.kind is kind]
            assert sum(w.is_current for w in mine) <= 1
            # Checked again here, independently of check_windows: closed windows first.
            ordered = sorted(mine, key=lambda w: (w.valid_from, w.is_current, w.valid_to or T0))
            for earlier, later in pairwise(ordered):
                assert earlier.valid_to is not None
                assert earlier.valid_to <= later.valid_from

    @invariant()
    def an_asset_is_held_only_with_its_company(self) -> None:
        if self.history.asset_id is not None:
            assert ASSETS[self.history.asset_id] == self.history.company_id

    @invariant()
    def an_inactive_device_holds_no_window(self) -> None:
        if self.history.device.status is not DeviceStatus.ACTIVE:
            assert all(not w.is_current for w in self.history.windows)


DeviceHistoryMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30)
TestDeviceHistoryMachine = DeviceHistoryMachine.TestCase
