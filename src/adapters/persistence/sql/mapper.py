"""Explicit row mappers: one aggregate (with its child entities) to table rows and back.

A mapper is declared next to its table. Each attribute of the aggregate lands in the column of
the same name; a `Money` attribute in two columns, ``<name>_amount`` and ``<name>_currency``;
a nested value object or collection in a JSON column; a child collection (order items,
invoice lines...) in its own table, one row per child with its position. `derived` adds
columns the queries need but the aggregate does not store (normalised keys, flags). Declaring
a column that matches no attribute, or leaving an attribute without a column, fails at import,
so a model change cannot silently drop data.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
from sqlalchemy import Table

from adapters.persistence.sql.codec import CONVERTER

T = TypeVar("T")

PARENT_COLUMNS = frozenset({"position"})


@attrs.frozen
class ChildMapper(Generic[T]):
    """A child collection stored in `table`, linked to its root by `parent_column`."""

    cls: type[T]
    table: Table
    parent_column: str
    derived: Callable[[T], dict[str, Any]] | None = None

    def __attrs_post_init__(self) -> None:
        if self.holds_values:
            return
        _check_columns(self.cls, self.table, {self.parent_column, *PARENT_COLUMNS}, self.derived)

    @property
    def holds_values(self) -> bool:
        """Children that are plain values (e.g. a contact's roles) sit in a `value` column."""
        return not attrs.has(self.cls)

    def to_rows(self, parent_id: str, children: Collection[Any]) -> list[dict[str, Any]]:
        if self.holds_values:
            children = sorted(children)  # a set has no order of its own; store a stable one
        rows = []
        for position, (child, plain) in enumerate(
            zip(children, CONVERTER.unstructure(list(children)), strict=True)
        ):
            row = {"value": plain} if self.holds_values else _flatten(self.table, plain)
            row[self.parent_column] = parent_id
            row["position"] = position
            if self.derived is not None:
                row.update(self.derived(child))
            rows.append(row)
        return rows

    def plain(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        ordered = sorted(rows, key=lambda row: row["position"])
        if self.holds_values:
            return [row["value"] for row in ordered]
        return [_unflatten(self.cls, row) for row in ordered]


@attrs.frozen
class RowMapper(Generic[T]):
    """The root row of an aggregate of type `cls` and its child collections."""

    cls: type[T]
    table: Table
    children: Mapping[str, ChildMapper[Any]] = attrs.field(factory=dict)
    derived: Callable[[T], dict[str, Any]] | None = None

    def __attrs_post_init__(self) -> None:
        _check_columns(self.cls, self.table, set(), self.derived, skip=set(self.children))

    def to_row(self, aggregate: T) -> dict[str, Any]:
        plain = CONVERTER.unstructure(aggregate)
        for name in self.children:
            plain.pop(name)
        row = _flatten(self.table, plain)
        if self.derived is not None:
            row.update(self.derived(aggregate))
        return row

    def child_rows(self, aggregate: T) -> dict[str, list[dict[str, Any]]]:
        entity_id = getattr(aggregate, "id")  # noqa: B009 - every aggregate has an id
        return {
            name: child.to_rows(entity_id, getattr(aggregate, name))
            for name, child in self.children.items()
        }

    def from_rows(
        self, row: Mapping[str, Any], children: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> T:
        plain = _unflatten(self.cls, row)
        for name, child in self.children.items():
            plain[name] = child.plain(children.get(name, ()))
        return CONVERTER.structure(plain, self.cls)


def _money_columns(name: str) -> tuple[str, str]:
    return f"{name}_amount", f"{name}_currency"


def _flatten(table: Table, plain: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    columns = table.c
    for name, value in plain.items():
        if name in columns:
            row[name] = value
            continue
        amount, currency = _money_columns(name)
        row[amount] = None if value is None else value["amount"]
        row[currency] = None if value is None else value["currency"]
    return row


def _unflatten(cls: type[Any], row: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for field in attrs.fields(cls):
        name = field.name
        if name in row:
            plain[name] = row[name]
            continue
        amount, currency = _money_columns(name)
        if amount in row:
            plain[name] = None if row[amount] is None else {
                "amount": row[amount], "currency": row[currency]
            }  # fmt: skip
    return plain


def _check_columns(
    cls: type[Any],
    table: Table,
    extra: set[str],
    derived: Callable[[Any], dict[str, Any]] | None,
    skip: set[str] | None = None,
) -> None:
    expected: set[str] = set(extra)
    for field in attrs.fields(cls):
        if skip and field.name in skip:
            continue
        if field.name in table.c:
            expected.add(field.name)
        else:
            expected.update(_money_columns(field.name))
    missing = expected - set(table.c.keys())
    if missing:
        raise TypeError(f"{table.name} has no column for {sorted(missing)} of {cls.__name__}")
    unmapped = set(table.c.keys()) - expected
    if unmapped and derived is None:
        raise TypeError(f"{table.name} columns {sorted(unmapped)} match nothing in {cls.__name__}")
