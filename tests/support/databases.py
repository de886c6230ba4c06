"""Databases for tests: a throw-away PostgreSQL database and SQLite file, migrated to head.

PostgreSQL comes from the machine (PLATFORM_TEST_DATABASE_URL, by default the local server's
`test` database); the tests create their own database next to it and drop it at the end.
Under CI=true an unreachable server fails the tests that need it; elsewhere they are skipped
with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from adapters.persistence.sql import SqlDatabase
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.migrate import upgrade

ADMIN_URL = os.environ.get(
    "PLATFORM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def unavailable(reason: str) -> None:
    """Fail under CI (a missing service is a broken build there), skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: integration services must be up)")
    pytest.skip(reason)


def libpq_url(url: str) -> str:
    """`url` as libpq (psycopg.connect) reads it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards."""
    try:
        admin = psycopg.connect(libpq_url(ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL at {ADMIN_URL} is unreachable: {error}")
        raise  # unreachable: unavailable() always raises
    name = f"platform_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_sqlite(directory: str) -> str:
    url = f"sqlite+aiosqlite:///{directory}/platform-{uuid.uuid4().hex[:8]}.db"
    upgrade(url)
    return url


async def empty(database: SqlDatabase) -> None:
    """Delete every row (schema and migrations stay) so each test starts clean. DELETE, not
    TRUNCATE: on tables this small it is an order of magnitude faster on PostgreSQL."""
    async with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(delete(table))
