"""Typed reads of event payloads (JSON) for the reactions; a malformed payload is a bug,
reported as a ValidationError naming the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from platform_core.shared.errors import ValidationError
from platform_core.shared.events import JsonValue, Payload
from platform_core.shared.money import Money
from platform_core.shared.scenarios import AutomationScenario


def text(payload: Payload, field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str):
        raise ValidationError(f"event payload lacks text field {field!r}", {"field": field})
    return value


def optional_text(payload: Payload, field: str) -> str | None:
    value = payload.get(field)
    return value if isinstance(value, str) else None


def integer(payload: Payload, field: str) -> int:
    value = payload.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"event payload lacks integer field {field!r}", {"field": field})
    return value


def money(payload: Payload, field: str) -> Money:
    return Money.from_payload(dict(mapping(payload, field)))


def mapping(payload: Payload, field: str) -> Mapping[str, JsonValue]:
    value = payload.get(field)
    if not isinstance(value, Mapping):
        raise ValidationError(f"event payload lacks object field {field!r}", {"field": field})
    return value


def records(payload: Payload, field: str) -> Sequence[Mapping[str, JsonValue]]:
    value = payload.get(field)
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValidationError(f"event payload lacks list field {field!r}", {"field": field})
    return [v for v in value if isinstance(v, Mapping)]


def scenario(payload: Payload, field: str = "automation_scenario") -> AutomationScenario | None:
    value = optional_text(payload, field)
    return AutomationScenario(value) if value else None
