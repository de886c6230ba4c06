"""Database URLs and async engines: PostgreSQL through psycopg 3, SQLite through aiosqlite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from adapters.persistence.sql.types import dumps
from platform_core.shared.errors import ValidationError

ASYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+aiosqlite"}
SYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite"}
# How long a SQLite writer waits for another one to finish before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def database_url(url: str, *, sync: bool = False) -> URL:
    """`url` with the driver this adapter uses: ``postgresql://`` and ``postgresql+psycopg://``
    both mean psycopg 3; ``sqlite://`` means aiosqlite (or the standard module when `sync`)."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ValidationError(f"{url!r} is not a database URL", {"field": "database_url"}) from None
    backend = parsed.get_backend_name()
    drivers = SYNC_DRIVERS if sync else ASYNC_DRIVERS
    if backend not in drivers:
        raise ValidationError(
            f"database {backend!r} is not supported: use postgresql:// or sqlite://",
            {"field": "database_url"},
        )
    return parsed.set(drivername=drivers[backend])


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for `url`, set up for this adapter's transactions."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            parsed,
            json_serializer=dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            **options,
        )
        _serialise_sqlite_writers(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    return create_async_engine(parsed, json_serializer=dumps, **options)


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    """SQLite allows one writer. Every unit of work starts with BEGIN IMMEDIATE, so units of
    work take the write lock up front and queue for it (busy timeout) instead of failing
    half-way when two of them upgrade from reading to writing at once."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
