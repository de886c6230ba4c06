"""Domain events are immutable records with aware times and JSON payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from platform_core.shared.errors import ValidationError
from platform_core.shared.events import DomainEvent

AT = datetime(2026, 11, 22, tzinfo=UTC)


def event(**changes: object) -> DomainEvent:
    fields: dict[str, object] = {
        "type": "order.paid", "aggregate_type": "order", "aggregate_id": "ord_1",
        "payload": {"a": 1}, "occurred_at": AT, "source_module": "orders",
    }  # fmt: skip
    fields.update(changes)
    return DomainEvent(**fields)  # type: ignore[arg-type]


def test_payload_cannot_be_mutated_after_creation() -> None:
    """The payload is a read-only copy; changing the source dict changes nothing."""
    source = {"a": 1}
    made = event(payload=source)
    source["a"] = 2
    assert made.payload["a"] == 1
    with pytest.raises(TypeError):
        made.payload["a"] = 3  # type: ignore[index]


def test_naive_occurred_at_is_refused() -> None:
    """An event time without a time zone is a validation error."""
    with pytest.raises(ValidationError):
        event(occurred_at=datetime(2026, 11, 22))


def test_correlation_is_stamped_once() -> None:
    """with_correlation sets a missing correlation id and never overwrites one."""
    stamped = event().with_correlation("req_1")
    assert stamped.correlation_id == "req_1"
    assert stamped.with_correlation("req_2").correlation_id == "req_1"
    assert event().with_correlation(None).correlation_id is None
    assert stamped.as_dict()["correlation_id"] == "req_1"
