"""Column types shared by every table: instants kept in UTC and JSON on both databases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# The JSON text as written, on both databases. Not JSONB: it refuses a \u0000 in a string and
# stores numbers as decimals, so a float read back could change type or value; nothing queries
# inside these documents, so the binary form would buy nothing.
Json = JSON()


class Instant(TypeDecorator[datetime]):
    """An aware datetime stored in UTC.

    PostgreSQL keeps it as `timestamptz`; SQLite has no time zones, so the UTC value is stored
    and read back as UTC. Either way a naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored as an instant")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: object) -> str:
    """The engine's JSON serialiser: datetimes as ISO 8601 with their offset."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), sort_keys=True)
