"""Time rules of the core: every instant is timezone-aware; the Clock port supplies `now`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from platform_core.shared.errors import ValidationError


def require_aware(value: datetime, field: str = "timestamp") -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{field} must carry a time zone", {"field": field})
    return value


def aware(_: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    """attrs validator: an optional datetime field must be timezone-aware when set."""
    if value is not None:
        require_aware(value, attribute.name)
