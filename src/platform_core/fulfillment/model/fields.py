"""attrs validators the fulfillment model's classes share; each raises ValidationError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from platform_core.shared.errors import ValidationError
from platform_core.shared.time import require_aware

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def member_of(enum_type: type[StrEnum], *, optional: bool = False) -> Validator:
    """Validator: the value is a member of `enum_type` (or None when `optional`)."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, enum_type):
            raise ValidationError(
                f"{attribute.name} must be one of {[member.value for member in enum_type]}",
                {"field": attribute.name, "value": repr(value)},
            )

    return check


def instant(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validator: a required timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{attribute.name} must be a datetime", {"field": attribute.name})
    require_aware(value, attribute.name)


def optional_instant(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        instant(_, attribute, value)


def text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validator: a string, possibly empty (free text a courier may leave blank)."""
    if not isinstance(value, str):
        raise ValidationError(f"{attribute.name} must be text", {"field": attribute.name})


def optional_text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        text(_, attribute, value)
