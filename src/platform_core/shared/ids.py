"""Identifiers: opaque strings made by the IdGenerator port; the core never invents them."""

from __future__ import annotations

from typing import Any

import attrs

from platform_core.shared.errors import ValidationError

MAX_ID_LENGTH = 64


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise ValidationError(f"{field} must be a non-empty id", {"field": field})
    return value


def id_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator for a required id."""
    check_id(value, attribute.name)


def optional_id_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_id(value, attribute.name)


def non_empty_text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: a required human text (name, description)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must not be empty", {"field": attribute.name})


def positive_int(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(
            f"{attribute.name} must be a positive integer",
            {"field": attribute.name, "value": repr(value)},
        )


def non_negative_int(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(
            f"{attribute.name} must be a non-negative integer",
            {"field": attribute.name, "value": repr(value)},
        )
