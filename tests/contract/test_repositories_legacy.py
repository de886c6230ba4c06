"""Contract of the legacy repositories (company, asset and device mirrors; sync reports) on
every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import attrs
from hypothesis import given
from hypothesis import strategies as st
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, Pick, add_all, assert_round_trip, unique

from platform_core.legacy.model import (
    AssetMirror,
    CompanyMirror,
    DeviceMirror,
    Mirror,
    MirrorKind,
    SyncReport,
)
from platform_core.legacy.ports import LegacyUnitOfWork
from platform_core.testing.legacy import mirror_lists, mirrors

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STALE_AFTER = timedelta(days=1)


def legacy_uow(backend: Backend) -> LegacyUnitOfWork:
    """The backend's unit of work, seen through the legacy port (it holds every context)."""
    return cast(LegacyUnitOfWork, backend.uow())


def _companies(uow: Any) -> Any:
    return uow.company_mirrors


def _assets(uow: Any) -> Any:
    return uow.asset_mirrors


def _devices(uow: Any) -> Any:
    return uow.device_mirrors


def _reports(uow: Any) -> Any:
    return uow.sync_reports


REPOSITORY_OF: dict[MirrorKind, Pick] = {
    MirrorKind.COMPANY: _companies,
    MirrorKind.ASSET: _assets,
    MirrorKind.DEVICE: _devices,
}


def company(legacy_id: str) -> CompanyMirror:
    return CompanyMirror(id=legacy_id, name="Acme Sensors", status="active", fetched_at=AT)


def asset(legacy_id: str, company_legacy_id: str) -> AssetMirror:
    return AssetMirror(
        id=legacy_id,
        company_legacy_id=company_legacy_id,
        name="Cold room",
        status="active",
        fetched_at=AT,
    )


def device(legacy_id: str, serial_number: str) -> DeviceMirror:
    return DeviceMirror(id=legacy_id, serial_number=serial_number, status="active", fetched_at=AT)


def report(report_id: str, kind: MirrorKind, minutes: int) -> SyncReport:
    generated, _ = SyncReport.generate(
        report_id, kind, [], [], at=AT + timedelta(minutes=minutes), stale_after=STALE_AFTER
    )
    return generated


def any_mirror() -> st.SearchStrategy[Mirror]:
    return st.sampled_from(MirrorKind).flatmap(mirrors)


def sync_reports() -> st.SearchStrategy[SyncReport]:
    """Reports comparing two drawn lists of mirrors of one kind, findings of every kind."""

    def build(kind: MirrorKind, local: list[Mirror], remote: list[Mirror]) -> SyncReport:
        generated, _ = SyncReport.generate(
            unique("rpt"), kind, local, remote, at=AT + timedelta(days=400), stale_after=STALE_AFTER
        )
        return generated

    return st.sampled_from(MirrorKind).flatmap(
        lambda kind: st.builds(build, st.just(kind), mirror_lists(kind), mirror_lists(kind))
    )


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=any_mirror())
    async def test_mirror(self, backend: Backend, drawn: Mirror) -> None:
        """A mirror of any kind, with its raw attributes, is stored and read back whole; a
        refresh updates it."""
        stored = attrs.evolve(drawn, id=unique(drawn.id))
        changed = attrs.evolve(
            stored,
            status="retired",
            attributes={"firmware": "2.1", "tier": 3, "contract": False},
            fetched_at=AT + timedelta(days=400),
        )
        await assert_round_trip(backend, REPOSITORY_OF[drawn.kind], stored, changed)

    @ROUND_TRIP
    @given(drawn=sync_reports())
    async def test_sync_report(self, backend: Backend, drawn: SyncReport) -> None:
        """A report and its findings (with their field differences) are stored and read back."""
        changed = attrs.evolve(drawn, stale_after_seconds=drawn.stale_after_seconds + 1)
        await assert_round_trip(backend, _reports, drawn, changed)


class TestMirrors:
    async def test_all_and_the_lookups_of_each_kind(self, backend: Backend) -> None:
        """all lists every mirror of the kind; assets are found per company, devices by
        serial number (None when no device has it)."""
        companies = [company("C2"), company("C1")]
        assets = [asset("A1", "C1"), asset("A2", "C2"), asset("A3", "C1")]
        devices = [device("D1", "SN-00001"), device("D2", "SN-00002")]
        await add_all(backend, _companies, *companies)
        await add_all(backend, _assets, *assets)
        await add_all(backend, _devices, *devices)
        async with legacy_uow(backend) as uow:
            all_companies = await uow.company_mirrors.all()
            all_assets = await uow.asset_mirrors.all()
            of_c1 = await uow.asset_mirrors.for_company("C1")
            assert await uow.asset_mirrors.for_company("C9") == []
            all_devices = await uow.device_mirrors.all()
            assert await uow.device_mirrors.by_serial("SN-00002") == devices[1]
            assert await uow.device_mirrors.by_serial("SN-99999") is None
        assert sorted(m.id for m in all_companies) == ["C1", "C2"]
        assert sorted(m.id for m in all_assets) == ["A1", "A2", "A3"]
        assert sorted(m.id for m in of_c1) == ["A1", "A3"]
        assert sorted(m.id for m in all_devices) == ["D1", "D2"]

    async def test_empty_repositories_list_nothing(self, backend: Backend) -> None:
        """With no mirrors stored, every list is empty."""
        async with legacy_uow(backend) as uow:
            assert await uow.company_mirrors.all() == []
            assert await uow.asset_mirrors.all() == []
            assert await uow.device_mirrors.all() == []


class TestSyncReports:
    async def test_latest_and_recent_are_newest_first(self, backend: Backend) -> None:
        """latest gives a kind's newest report (None without one); recent lists reports
        newest first, of one kind or all, up to the limit."""
        await add_all(
            backend,
            _reports,
            report("rpt_1", MirrorKind.COMPANY, minutes=1),
            report("rpt_2", MirrorKind.DEVICE, minutes=2),
            report("rpt_3", MirrorKind.COMPANY, minutes=3),
            report("rpt_4", MirrorKind.DEVICE, minutes=0),
        )
        async with legacy_uow(backend) as uow:
            reports = uow.sync_reports
            assert (await reports.latest(MirrorKind.COMPANY)).id == "rpt_3"
            assert (await reports.latest(MirrorKind.DEVICE)).id == "rpt_2"
            assert await reports.latest(MirrorKind.ASSET) is None
            every = await reports.recent()
            devices = await reports.recent(MirrorKind.DEVICE)
            newest = await reports.recent(limit=2)
            assert await reports.recent(MirrorKind.ASSET) == []
        assert [r.id for r in every] == ["rpt_3", "rpt_2", "rpt_1", "rpt_4"]
        assert [r.id for r in devices] == ["rpt_2", "rpt_4"]
        assert [r.id for r in newest] == ["rpt_3", "rpt_2"]
