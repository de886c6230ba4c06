"""Schema migrations on real databases: downgrade removes everything, up/down/up round-trips,
and the migrated schema is exactly what the code's table metadata describes (no drift)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, pool
from tests.support.databases import scratch_postgres

import adapters.persistence.sql.database  # noqa: F401 - puts every table in the metadata
from adapters.persistence.sql.engine import database_url
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.migrate import current_revision, downgrade, head_revision, upgrade

pytestmark = pytest.mark.integration


@contextmanager
def sync_engine(url: str) -> Iterator[Engine]:
    engine = create_engine(database_url(url, sync=True), poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    with sync_engine(url) as engine:
        return set(inspect(engine).get_table_names())


def drift(url: str) -> list[Any]:
    """What autogenerate would put in a new migration: empty when schema and code agree."""
    with sync_engine(url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def assert_round_trips(url: str) -> None:
    """From head: down to base leaves only alembic_version; up/down/up ends at head with the
    metadata's schema and no drift."""
    assert current_revision(url) == head_revision(url)
    assert drift(url) == []

    downgrade(url, "base")
    assert table_names(url) == {"alembic_version"}
    assert current_revision(url) is None

    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
    assert current_revision(url) == head_revision(url)
    assert table_names(url) == {*metadata.tables, "alembic_version"}
    assert drift(url) == []


def test_postgresql_schema_round_trips_without_drift() -> None:
    """On a fresh PostgreSQL database migrated to head, downgrading to base drops every table
    and up/down/up brings back exactly the metadata's schema."""
    with scratch_postgres() as url:
        assert_round_trips(url)


def test_sqlite_schema_round_trips_without_drift(tmp_path: Path) -> None:
    """The same on a SQLite file, migrated from nothing (the embedded default's first start)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/platform.db"
    upgrade(url)
    assert_round_trips(url)
