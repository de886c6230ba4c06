"""A seeded platform with a controllable clock, and a demo driver over it, on every store:
the whole lifecycle runs on the in-memory adapter, SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from tests.support.databases import empty

from adapters.persistence.sql import SqlDatabase
from entrypoints.bootstrap import MEMORY_URL, Settings
from entrypoints.demo import Demo


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def demo(request: pytest.FixtureRequest) -> AsyncIterator[Demo]:
    url = MEMORY_URL
    if request.param != "memory":
        url = request.getfixturevalue(f"{request.param}_url")
        database = SqlDatabase(url)
        await empty(database)
        await database.dispose()
    started = await Demo.start(io.StringIO(), Settings(database_url=url, migrate_on_start=False))
    try:
        yield started
    finally:
        await started.platform.close()
