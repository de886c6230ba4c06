"""Aggregates to plain values and back, with cattrs.

Unstructuring keeps datetimes as datetime objects (columns store them as instants; inside JSON
the engine's serialiser writes ISO 8601) and turns Money into ``{"amount", "currency"}``.
Structuring accepts both forms back, and runs the aggregates' own validators on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import cattrs

from platform_core.legacy.model import AttributeValue
from platform_core.shared.events import JsonValue
from platform_core.shared.money import Money


def _structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"cannot read a datetime from {value!r}")


def _structure_money(value: Mapping[str, Any], _: type) -> Money:
    return Money(int(value["amount"]), str(value["currency"]))


def _plain(value: Any) -> Any:
    """Mappings (often read-only proxies) and sequences as dicts and lists, recursively."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _passthrough(value: Any, _: type) -> Any:
    return value


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, lambda value: value)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(Money, lambda money: money.to_payload())
    converter.register_structure_hook(Money, _structure_money)
    converter.register_unstructure_hook(MappingProxyType, _plain)
    # Free-form JSON (event and job payloads, legacy attributes) is validated by the model's
    # own converters; cattrs only hands it over.
    free_form = (JsonValue, AttributeValue, AttributeValue | None, Mapping[str, JsonValue])
    converter.register_structure_hook_func(lambda kind: kind in free_form, _passthrough)
    return converter


CONVERTER = make_converter()
