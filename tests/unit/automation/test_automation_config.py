"""Scenario configs: the plan's defaults, validation and updates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from platform_core.automation.model import (
    AutomationEvent,
    ScenarioConfig,
    default_scenario_configs,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.scenarios import AutomationScenario

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RETURN = AutomationScenario.SENSOR_RETURN


def test_defaults_cover_every_scenario_with_the_plans_values() -> None:
    """Every scenario has a default: 3 attempts, 600 s apart, 120 s timeout, a fallback text."""
    configs = default_scenario_configs()

    assert [config.scenario for config in configs] == list(AutomationScenario)
    for config in configs:
        assert (config.id, config.max_attempts) == (config.scenario.value, 3)
        assert (config.retry_delay_seconds, config.timeout_seconds) == (600, 120)
        assert config.fallback_description.strip()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"retry_delay_seconds": -5}, "retry_delay_seconds"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"fallback_description": "  "}, "fallback_description"),
        ({"scenario": "sensor_teleport"}, "scenario"),
        ({"id": "sensor_vendor_first_time"}, "id"),
    ],
)
def test_config_refuses_bad_values(changes: dict[str, Any], field: str) -> None:
    """Non-positive attempts or timeout, a negative delay, no fallback text or a wrong id fail."""
    fields: dict[str, Any] = {
        "id": RETURN.value,
        "scenario": RETURN,
        "fallback_description": "Do it by hand.",
    }
    fields.update(changes)

    with pytest.raises(ValidationError) as error:
        ScenarioConfig(**fields)

    assert error.value.details["field"] == field


def test_update_changes_only_given_settings_and_announces_them() -> None:
    """An update changes the given settings and names them in scenario_config_updated."""
    config = ScenarioConfig.default(RETURN)

    updated, events = config.update(at=AT, max_attempts=5, timeout_seconds=120)

    assert (updated.max_attempts, updated.timeout_seconds, updated.updated_at) == (5, 120, AT)
    assert updated.retry_delay_seconds == config.retry_delay_seconds
    assert events[0].type == AutomationEvent.SCENARIO_CONFIG_UPDATED
    assert events[0].payload["changed_fields"] == ["max_attempts"]


def test_update_without_change_records_nothing() -> None:
    """An update to the current values returns the config unchanged and no event."""
    config = ScenarioConfig.default(RETURN)

    assert config.update(at=AT, max_attempts=3) == (config, [])


def test_update_refuses_bad_values_and_keeps_the_config() -> None:
    """An invalid update raises ValidationError; the config is unchanged."""
    config = ScenarioConfig.default(RETURN)

    with pytest.raises(ValidationError) as error:
        config.update(at=AT, retry_delay_seconds=-1)

    assert error.value.details["field"] == "retry_delay_seconds"
    assert config.retry_delay_seconds == 600
