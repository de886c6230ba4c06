"""The SQL repository every aggregate's repository builds on.

`update` is a guarded update: ``UPDATE ... SET version = version + 1 WHERE id = :id AND
version = :read_version``. When another transaction changed the row first, no row matches
(PostgreSQL re-checks the condition after waiting for the other writer's lock), nothing is
written and StaleVersion is raised, so two requests can never both apply a change computed
from the same state: this is what keeps allocations within their limits.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import attrs
from sqlalchemy import ColumnElement, Select, Table, bindparam, delete, func, select

from adapters.persistence.sql.mapper import RowMapper
from adapters.persistence.sql.session import SqlSession, statements
from platform_core.ports.core import Aggregate
from platform_core.shared.errors import ConflictError, NotFoundError, StaleVersion

A = TypeVar("A", bound=Aggregate)


class SqlRepository(Generic[A]):
    """get/find/add/update of one aggregate type; subclasses add their queries."""

    mapper: ClassVar[RowMapper[Any]]
    kind: ClassVar[str]

    def __init__(self, session: SqlSession) -> None:
        self._session = session

    @property
    def _table(self) -> Any:
        return self.mapper.table

    async def get(self, entity_id: str) -> A:
        found = await self.find(entity_id)
        if found is None:
            raise NotFoundError.of(self.kind, entity_id)
        return found

    async def find(self, entity_id: str) -> A | None:
        found = await self._select(statements(self._table).by_id, {"match_id": entity_id})
        return found[0] if found else None

    async def add(self, aggregate: A) -> A:
        if not await self._session.insert_new(self._table, self.mapper.to_row(aggregate)):
            raise await self._add_conflict(aggregate)
        await self._insert_children(aggregate)
        return aggregate

    async def update(self, aggregate: A) -> A:
        row = self.mapper.to_row(aggregate)
        row["version"] = aggregate.version + 1
        row["match_id"], row["match_version"] = aggregate.id, aggregate.version
        result = await self._session.execute(statements(self._table).update_versioned, row)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self._raise_not_updated(aggregate)
        stored: A = attrs.evolve(aggregate, version=aggregate.version + 1)  # type: ignore[misc]
        await self._replace_children(stored)
        return stored

    # -- queries for subclasses -------------------------------------------------------------
    async def _where(
        self,
        *conditions: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[A]:
        statement = select(self._table).where(*conditions).order_by(*order_by)
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return await self._select(statement)

    async def _first(self, *conditions: ColumnElement[bool]) -> A | None:
        found = await self._where(*conditions, limit=1)
        return found[0] if found else None

    async def _count(self, *conditions: ColumnElement[bool]) -> int:
        statement = select(func.count()).select_from(self._table).where(*conditions)
        return int((await self._session.execute(statement)).scalar_one())

    async def _select(
        self, statement: Select[Any], parameters: dict[str, Any] | None = None
    ) -> list[A]:
        result = await self._session.execute(statement, parameters)
        rows = [dict(row) for row in result.mappings()]
        if not rows:
            return []
        children = await self._load_children([row["id"] for row in rows])
        found = []
        for row in rows:
            mine = {name: by_parent.get(row["id"], []) for name, by_parent in children.items()}
            aggregate: A = self.mapper.from_rows(row, mine)
            self._remember_children(aggregate)
            found.append(aggregate)
        return found

    # -- child tables -------------------------------------------------------------------------
    async def _load_children(
        self, root_ids: Sequence[str]
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        loaded: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for name, child in self.mapper.children.items():
            statement = _children_of(child.table, child.parent_column)
            result = await self._session.execute(statement, {"root_ids": list(root_ids)})
            by_parent: dict[str, list[dict[str, Any]]] = {}
            for row in result.mappings():
                by_parent.setdefault(row[child.parent_column], []).append(dict(row))
            loaded[name] = by_parent
        return loaded

    def _remember_children(self, aggregate: A) -> None:
        for name, child in self.mapper.children.items():
            key = (child.table.name, aggregate.id)
            self._session.loaded_children[key] = getattr(aggregate, name)

    async def _insert_children(self, aggregate: A) -> None:
        for name, rows in self.mapper.child_rows(aggregate).items():
            if rows:
                child = self.mapper.children[name]
                await self._session.execute(statements(child.table).insert, rows)
        self._remember_children(aggregate)

    async def _replace_children(self, aggregate: A) -> None:
        changed = {
            name: child
            for name, child in self.mapper.children.items()
            if self._session.loaded_children.get((child.table.name, aggregate.id), _UNKNOWN)
            != getattr(aggregate, name)
        }
        for name, child in changed.items():
            parent = child.table.c[child.parent_column]
            await self._session.execute(delete(child.table).where(parent == aggregate.id))
            rows = child.to_rows(aggregate.id, getattr(aggregate, name))
            if rows:
                await self._session.execute(statements(child.table).insert, rows)
        self._remember_children(aggregate)

    # -- errors -------------------------------------------------------------------------------
    async def _add_conflict(self, aggregate: A) -> ConflictError:
        if await self._count(self._table.c.id == aggregate.id):
            return ConflictError(f"{self.kind} {aggregate.id} already exists", {"id": aggregate.id})
        return ConflictError(
            f"{self.kind} {aggregate.id} conflicts with an existing {self.kind}",
            {"id": aggregate.id, **self.unique_details(aggregate)},
        )

    def unique_details(self, aggregate: A) -> dict[str, Any]:
        """What makes `aggregate` unique besides its id, for the conflict's details."""
        return {}

    async def _raise_not_updated(self, aggregate: A) -> None:
        if await self._count(self._table.c.id == aggregate.id):
            raise StaleVersion.of(self.kind, aggregate.id, aggregate.version)
        raise NotFoundError.of(self.kind, aggregate.id)


class _Unknown:
    """Children never loaded in this unit of work: always rewritten."""


_UNKNOWN = _Unknown()


@functools.cache
def _children_of(table: Table, parent_column: str) -> Select[Any]:
    """Child rows of several roots at once, built once per child table."""
    parent = table.c[parent_column]
    return select(table).where(parent.in_(bindparam("root_ids", expanding=True)))
