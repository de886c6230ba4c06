"""Tables, mappers and repositories of the legacy mirrors and drift reports."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from adapters.persistence.sql.mapper import RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.legacy.model import (
    AssetMirror,
    CompanyMirror,
    DeviceMirror,
    MirrorKind,
    SyncReport,
)

legacy_company_mirrors = Table(
    "legacy_company_mirrors",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(50), nullable=False),
    Column("attributes", Json, nullable=False),
    Column("fetched_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
)

legacy_asset_mirrors = Table(
    "legacy_asset_mirrors",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_legacy_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(50), nullable=False),
    Column("serial_number", String(64)),
    Column("attributes", Json, nullable=False),
    Column("fetched_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "company_legacy_id"),
)

legacy_device_mirrors = Table(
    "legacy_device_mirrors",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("serial_number", String(64), nullable=False),
    Column("status", String(50), nullable=False),
    Column("company_legacy_id", String(64)),
    Column("asset_legacy_id", String(64)),
    Column("attributes", Json, nullable=False),
    Column("fetched_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "serial_number"),
    Index(None, "company_legacy_id"),
)

legacy_sync_reports = Table(
    "legacy_sync_reports",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("generated_at", Instant, nullable=False),
    Column("stale_after_seconds", Integer, nullable=False),
    Column("local_count", Integer, nullable=False),
    Column("remote_count", Integer, nullable=False),
    Column("findings", Json, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "kind", "generated_at"),
    Index(None, "generated_at"),
)


class SqlCompanyMirrorRepository(SqlRepository[CompanyMirror]):
    mapper = RowMapper(CompanyMirror, legacy_company_mirrors)
    kind = "company mirror"

    async def all(self) -> list[CompanyMirror]:
        return await self._where(order_by=(legacy_company_mirrors.c.id,))


class SqlAssetMirrorRepository(SqlRepository[AssetMirror]):
    mapper = RowMapper(AssetMirror, legacy_asset_mirrors)
    kind = "asset mirror"

    async def all(self) -> list[AssetMirror]:
        return await self._where(order_by=(legacy_asset_mirrors.c.id,))

    async def for_company(self, company_legacy_id: str) -> list[AssetMirror]:
        c = legacy_asset_mirrors.c
        return await self._where(c.company_legacy_id == company_legacy_id, order_by=(c.id,))


class SqlDeviceMirrorRepository(SqlRepository[DeviceMirror]):
    mapper = RowMapper(DeviceMirror, legacy_device_mirrors)
    kind = "device mirror"

    async def all(self) -> list[DeviceMirror]:
        return await self._where(order_by=(legacy_device_mirrors.c.id,))

    async def by_serial(self, serial_number: str) -> DeviceMirror | None:
        c = legacy_device_mirrors.c
        found = await self._where(c.serial_number == serial_number, order_by=(c.id,), limit=1)
        return found[0] if found else None


class SqlSyncReportRepository(SqlRepository[SyncReport]):
    mapper = RowMapper(SyncReport, legacy_sync_reports)
    kind = "sync report"

    async def latest(self, kind: MirrorKind) -> SyncReport | None:
        reports = await self.recent(kind, limit=1)
        return reports[0] if reports else None

    async def recent(self, kind: MirrorKind | None = None, limit: int = 20) -> list[SyncReport]:
        c = legacy_sync_reports.c
        conditions = [] if kind is None else [c.kind == kind.value]
        return await self._where(
            *conditions, order_by=(c.generated_at.desc(), c.id.desc()), limit=limit
        )


class LegacyTables:
    """The legacy context's repositories over the unit of work's session."""

    _session: SqlSession

    @property
    def company_mirrors(self) -> SqlCompanyMirrorRepository:
        return SqlCompanyMirrorRepository(self._session)

    @property
    def asset_mirrors(self) -> SqlAssetMirrorRepository:
        return SqlAssetMirrorRepository(self._session)

    @property
    def device_mirrors(self) -> SqlDeviceMirrorRepository:
        return SqlDeviceMirrorRepository(self._session)

    @property
    def sync_reports(self) -> SqlSyncReportRepository:
        return SqlSyncReportRepository(self._session)
