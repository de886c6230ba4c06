"""In-memory repositories of the legacy context: mirrors of companies, assets, devices; reports."""

from __future__ import annotations

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.legacy.model import (
    AssetMirror,
    CompanyMirror,
    DeviceMirror,
    MirrorKind,
    SyncReport,
)


class InMemoryCompanyMirrorRepository(InMemoryRepository[CompanyMirror]):
    table = "legacy_company_mirrors"
    kind = "company mirror"

    async def all(self) -> list[CompanyMirror]:
        return sorted(self._all(), key=lambda mirror: mirror.id)


class InMemoryAssetMirrorRepository(InMemoryRepository[AssetMirror]):
    table = "legacy_asset_mirrors"
    kind = "asset mirror"

    async def all(self) -> list[AssetMirror]:
        return sorted(self._all(), key=lambda mirror: mirror.id)

    async def for_company(self, company_legacy_id: str) -> list[AssetMirror]:
        found = self._where(lambda mirror: mirror.company_legacy_id == company_legacy_id)
        return sorted(found, key=lambda mirror: mirror.id)


class InMemoryDeviceMirrorRepository(InMemoryRepository[DeviceMirror]):
    table = "legacy_device_mirrors"
    kind = "device mirror"

    async def all(self) -> list[DeviceMirror]:
        return sorted(self._all(), key=lambda mirror: mirror.id)

    async def by_serial(self, serial_number: str) -> DeviceMirror | None:
        found = self._where(lambda mirror: mirror.serial_number == serial_number)
        return min(found, key=lambda mirror: mirror.id, default=None)


class InMemorySyncReportRepository(InMemoryRepository[SyncReport]):
    table = "legacy_sync_reports"
    kind = "sync report"

    async def latest(self, kind: MirrorKind) -> SyncReport | None:
        reports = await self.recent(kind, limit=1)
        return reports[0] if reports else None

    async def recent(self, kind: MirrorKind | None = None, limit: int = 20) -> list[SyncReport]:
        found = self._where(lambda report: kind is None or report.kind is kind)
        found.sort(key=lambda report: (report.generated_at, report.id), reverse=True)
        return found[:limit]


class LegacyTables:
    """Mixin for the in-memory unit of work: the legacy context's repositories."""

    _tx: Transaction

    @property
    def company_mirrors(self) -> InMemoryCompanyMirrorRepository:
        return InMemoryCompanyMirrorRepository(self._tx)

    @property
    def asset_mirrors(self) -> InMemoryAssetMirrorRepository:
        return InMemoryAssetMirrorRepository(self._tx)

    @property
    def device_mirrors(self) -> InMemoryDeviceMirrorRepository:
        return InMemoryDeviceMirrorRepository(self._tx)

    @property
    def sync_reports(self) -> InMemorySyncReportRepository:
        return InMemorySyncReportRepository(self._tx)
