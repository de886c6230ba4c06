"""One unit of work's connection: statements, error translation and loaded versions.

Database errors never leave the adapter raw: a unique or check violation becomes
ConflictError (the state refuses the change), a lost or refused connection becomes
ServiceUnavailable (retry later), anything else InternalError, each without SQL text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Select, Table, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from platform_core.shared.errors import ConflictError, InternalError, ServiceUnavailable

# PostgreSQL's deadlock_detected and serialization_failure: this transaction lost a race and was
# rolled back; the request may be retried, it is not an outage.
LOST_RACE_STATES = frozenset({"40P01", "40001"})


def translate(error: DBAPIError) -> Exception:
    """The taxonomy error for a database error (the SQL and parameters stay out of it)."""
    if getattr(error.orig, "sqlstate", None) in LOST_RACE_STATES:
        return ConflictError("the change collided with a concurrent one; retry", {})
    if isinstance(error, IntegrityError):
        return ConflictError(
            "the change conflicts with stored data (a unique key or limit)",
            {"constraint": _constraint_name(error)},
        )
    if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
        return ServiceUnavailable("the database is unavailable; try again")
    return InternalError("the database refused the statement", {"error": type(error).__name__})


def _constraint_name(error: IntegrityError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


class SqlSession:
    """The connection of one unit of work and the versions of what it has read."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        # Child rows as last read or written, by (table, root id): unchanged children are not
        # rewritten on update.
        self.loaded_children: dict[tuple[str, str], object] = {}

    async def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> Result[Any]:
        """Run `statement`, with one row of parameters (a mapping) or many (a sequence)."""
        try:
            if parameters is None:
                return await self.connection.execute(statement)
            if isinstance(parameters, Mapping):
                return await self.connection.execute(statement, dict(parameters))
            return await self.connection.execute(statement, list(parameters))
        except DBAPIError as error:
            raise translate(error) from error

    async def insert_new(self, table: Table, row: Mapping[str, Any]) -> bool:
        """Insert `row` unless it collides with a primary or unique key; True if inserted.

        A collision is reported, not raised by the database, so the transaction stays usable
        and the caller raises the precise ConflictError.
        """
        statement = statements(table).insert_new(self.dialect)
        return (await self.execute(statement, row)).first() is not None


class TableStatements:
    """A table's common statements, built once: building a statement and its cache key costs
    more than running it on a warm connection. Rows are bound at execute time."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._insert_new: dict[str, Executable] = {}

    @functools.cached_property
    def insert(self) -> Executable:
        return insert(self.table)

    # Only aggregate roots have an id and a version; child tables never ask for these two.
    @functools.cached_property
    def by_id(self) -> Select[Any]:
        return select(self.table).where(self.table.c.id == bindparam("match_id"))

    @functools.cached_property
    def update_versioned(self) -> Executable:
        c = self.table.c
        return update(self.table).where(
            c.id == bindparam("match_id"), c.version == bindparam("match_version")
        )

    def insert_new(self, dialect: str) -> Executable:
        if dialect not in self._insert_new:
            dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            self._insert_new[dialect] = (
                dialect_insert(self.table).on_conflict_do_nothing().returning(literal_column("1"))
            )
        return self._insert_new[dialect]


_STATEMENTS: dict[Table, TableStatements] = {}


def statements(table: Table) -> TableStatements:
    if table not in _STATEMENTS:
        _STATEMENTS[table] = TableStatements(table)
    return _STATEMENTS[table]
