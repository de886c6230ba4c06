"""Tables, mappers and repositories of devices, assets and their assignment windows.

The schema holds the history's rules too: legacy ids and known serial numbers are unique, a
window never ends before it starts, and a partial unique index allows one current window
(valid_to IS NULL) per device and kind, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ColumnElement,
    Index,
    Integer,
    String,
    Table,
    select,
    text,
)

from adapters.persistence.sql.mapper import RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant
from platform_core.legacy.assignments import (
    Asset,
    AssignmentKind,
    Device,
    DeviceAssignment,
    DeviceStatus,
)

CURRENT_WINDOW = "valid_to IS NULL"

devices = Table(
    "devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("legacy_id", String(64), nullable=False, unique=True),
    Column("product_id", String(64), nullable=False),
    # NULL while unknown; unique columns allow any number of NULLs on both databases.
    Column("serial_number", String(64), unique=True),
    Column("status", String(20), nullable=False),
    Column("registered_at", Instant, nullable=False),
    Column("status_changed_at", Instant),
    Column("version", Integer, nullable=False),
    # The device listing, oldest registered first.
    Index(None, "registered_at", "id"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("legacy_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("registered_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "company_id", "name", "id"),
)

device_assignments = Table(
    "device_assignments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("holder_id", String(64), nullable=False),
    Column("valid_from", Instant, nullable=False),
    Column("valid_to", Instant),
    Column("opened_by", String(64)),
    Column("closed_by", String(64)),
    Column("version", Integer, nullable=False),
    CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="window_order"),
    Index(
        "uq_device_assignments_current",
        "device_id",
        "kind",
        unique=True,
        postgresql_where=text(CURRENT_WINDOW),
        sqlite_where=text(CURRENT_WINDOW),
    ),
    # A device's history, and the devices a company holds (now or ever).
    Index(None, "device_id", "valid_from"),
    Index(None, "holder_id", "kind"),
)


class SqlDeviceRepository(SqlRepository[Device]):
    mapper = RowMapper(Device, devices)
    kind = "device"

    def unique_details(self, aggregate: Device) -> dict[str, Any]:
        return {"legacy_id": aggregate.legacy_id, "serial_number": aggregate.serial_number}

    async def by_legacy_id(self, legacy_id: str) -> Device | None:
        return await self._first(devices.c.legacy_id == legacy_id)

    async def by_serial(self, serial_number: str) -> Device | None:
        return await self._first(devices.c.serial_number == serial_number)

    async def listing(
        self,
        *,
        company_id: str | None = None,
        status: DeviceStatus | None = None,
        include_past: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Device]:
        c = devices.c
        conditions: list[ColumnElement[bool]] = []
        if company_id is not None:
            w = device_assignments.c
            held = select(w.device_id).where(
                w.kind == AssignmentKind.COMPANY.value, w.holder_id == company_id
            )
            if not include_past:
                held = held.where(w.valid_to.is_(None))
            conditions.append(c.id.in_(held))
        if status is not None:
            conditions.append(c.status == status.value)
        return await self._where(
            *conditions, order_by=(c.registered_at, c.id), limit=limit, offset=offset
        )


class SqlAssetRepository(SqlRepository[Asset]):
    mapper = RowMapper(Asset, assets)
    kind = "asset"

    def unique_details(self, aggregate: Asset) -> dict[str, Any]:
        return {"legacy_id": aggregate.legacy_id}

    async def by_legacy_id(self, legacy_id: str) -> Asset | None:
        return await self._first(assets.c.legacy_id == legacy_id)

    async def for_company(self, company_id: str) -> list[Asset]:
        c = assets.c
        return await self._where(c.company_id == company_id, order_by=(c.name, c.id))


class SqlDeviceAssignmentRepository(SqlRepository[DeviceAssignment]):
    mapper = RowMapper(DeviceAssignment, device_assignments)
    kind = "device assignment"

    def unique_details(self, aggregate: DeviceAssignment) -> dict[str, Any]:
        return {"device_id": aggregate.device_id, "kind": str(aggregate.kind)}

    async def for_device(self, device_id: str) -> list[DeviceAssignment]:
        c = device_assignments.c
        return await self._where(c.device_id == device_id, order_by=(c.valid_from, c.id))


class DevicesTables:
    """Devices, assets and assignment windows over the unit of work's session."""

    _session: SqlSession

    @property
    def devices(self) -> SqlDeviceRepository:
        return SqlDeviceRepository(self._session)

    @property
    def assets(self) -> SqlAssetRepository:
        return SqlAssetRepository(self._session)

    @property
    def device_assignments(self) -> SqlDeviceAssignmentRepository:
        return SqlDeviceAssignmentRepository(self._session)
