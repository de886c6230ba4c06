"""Domain events: what happened, to which aggregate, when, from which module, in which flow."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeAlias

import attrs

from platform_core.shared.time import aware

JsonValue: TypeAlias = (
    str | int | float | bool | list["JsonValue"] | Mapping[str, "JsonValue"] | None
)
Payload: TypeAlias = Mapping[str, JsonValue]


def _frozen_payload(value: Mapping[str, Any]) -> Payload:
    return MappingProxyType(dict(value))


@attrs.frozen
class DomainEvent:
    """Something that happened; past tense `type` like ``order.paid``.

    Identity (`event_id`) is given when the event is recorded in the outbox, in the same
    transaction as the aggregate change that caused it.
    """

    type: str
    aggregate_type: str
    aggregate_id: str
    payload: Payload = attrs.field(converter=_frozen_payload)
    occurred_at: datetime = attrs.field(validator=aware)
    source_module: str
    correlation_id: str | None = None

    def with_correlation(self, correlation_id: str | None) -> DomainEvent:
        if correlation_id is None or self.correlation_id is not None:
            return self
        return attrs.evolve(self, correlation_id=correlation_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "payload": dict(self.payload),
            "occurred_at": self.occurred_at.isoformat(),
            "source_module": self.source_module,
            "correlation_id": self.correlation_id,
        }


@attrs.frozen
class StoredEvent:
    """An event as the outbox holds it: with its id and the position it was recorded at."""

    event_id: str
    event: DomainEvent
    position: int
