"""What the integration tests share: separate platforms on one database, an admin session that
watches and kills other sessions, and bounded retries of optimistic-concurrency losers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import attrs
import psycopg
import pytest
from tests.support.databases import libpq_url

from adapters.ids import UuidIdGenerator
from entrypoints.bootstrap import Platform, Settings, bootstrap
from platform_core.customers.service import CreateCompany, create_company
from platform_core.ports.core import Clock
from platform_core.shared.errors import StaleVersion

T = TypeVar("T")

# How often, and how many times, to look for a session blocked on a lock before giving up.
LOCK_POLL_SECONDS = 0.02
LOCK_POLLS = 500


def settings_for(url: str) -> Settings:
    """What a deployed process uses: PostgreSQL, migrated beforehand by `db upgrade`."""
    return Settings(database_url=url, migrate_on_start=False)


async def new_company(platform: Platform, currency: str = "CAD") -> str:
    """A new company's id: a manual invoice bills only a company that exists."""
    mirror_id = f"legacy-{uuid.uuid4().hex}"
    command = CreateCompany(f"Company {mirror_id}", mirror_id, currency)
    return (await create_company(platform.deps, command)).id


@attrs.define
class Platforms:
    """Opens platforms on one database; each has its own engine, as a separate process would."""

    url: str
    opened: list[Platform] = attrs.field(factory=list)

    def open(self, clock: Clock | None = None) -> Platform:
        """A new platform; pass `clock` to share a simulated time (the demo's) with it."""
        platform = bootstrap(settings_for(self.url), clock=clock, ids=UuidIdGenerator())
        self.opened.append(platform)
        return platform

    def open_many(self, count: int, clock: Clock | None = None) -> list[Platform]:
        return [self.open(clock) for _ in range(count)]

    async def close(self) -> None:
        for platform in self.opened:
            await platform.close()


@attrs.define
class Admin:
    """A plain psycopg session outside every platform, like a DBA's psql."""

    connection: psycopg.AsyncConnection[tuple[object, ...]]

    @classmethod
    async def connect(cls, url: str) -> Admin:
        return cls(await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True))

    async def close(self) -> None:
        await self.connection.close()

    async def scalar(self, sql: str, *params: object) -> object:
        cursor = await self.connection.execute(sql, params)
        row = await cursor.fetchone()
        assert row is not None
        return row[0]

    async def count(self, table: str) -> int:
        return int(str(await self.scalar(f'SELECT count(*) FROM "{table}"')))

    async def terminate(self, pid: int) -> None:
        assert await self.scalar("SELECT pg_terminate_backend(%s)", pid) is True

    async def wait_for_lock_waiters(self, count: int = 1) -> None:
        """Return once `count` sessions of this database are blocked waiting for a lock."""
        for _ in range(LOCK_POLLS):
            # pg_stat_activity is a per-transaction snapshot: refresh it on every look.
            await self.connection.execute("SELECT pg_stat_clear_snapshot()")
            waiting = await self.scalar(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting == count:
                return
            await asyncio.sleep(LOCK_POLL_SECONDS)
        pytest.fail(f"{count} session(s) never waited for a lock")

    @asynccontextmanager
    async def row_locked(self, table: str, row_id: str) -> AsyncIterator[None]:
        """Hold a row lock of `table` (as a slow transaction elsewhere would) until the block
        ends, so the test decides in which order the platforms' transactions get the row."""
        async with self.connection.transaction():
            locked = await self.connection.execute(
                f'SELECT id FROM "{table}" WHERE id = %s FOR UPDATE', (row_id,)
            )
            assert await locked.fetchone() is not None
            yield


async def retry_stale(attempt: Callable[[], Awaitable[T]], max_attempts: int) -> T:
    """Run `attempt` again while it loses an optimistic-concurrency race, at most
    `max_attempts` times; the last StaleVersion (or any other error) is raised."""
    for _ in range(max_attempts - 1):
        try:
            return await attempt()
        except StaleVersion:
            continue
    return await attempt()
