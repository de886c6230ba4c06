"""Scenario config routes: all five scenarios listed with the plan's defaults until edited;
Ops change attempts, delay, timeout and fallback text; the change steers the next steps."""

from __future__ import annotations

from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.automation.service import list_scenario_configs
from platform_core.shared.scenarios import AutomationScenario
from tests.api.api_support import Client, Keys, assert_error

URL = "/v1/automation/scenario-configs"


async def test_every_scenario_is_listed_with_its_defaults_before_any_edit(client: Client) -> None:
    """Nothing stored yet: the five scenarios in declared order, 3 attempts 600 s apart."""
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["scenario"] for item in items] == [str(s) for s in AutomationScenario]
    for item in items:
        assert (item["max_attempts"], item["retry_delay_seconds"]) == (3, 600)
        assert item["timeout_seconds"] > 0
        assert item["fallback_description"]
        assert (item["is_default"], item["updated_at"], item["version"]) == (True, None, 1)


async def test_ops_change_a_scenario_and_the_change_is_kept(
    client: Client, keys: Keys, platform: Platform
) -> None:
    """PATCH changes only the fields given, stamps updated_at, and what the core reads for
    the next steps is the edited config; the other scenarios keep their defaults."""
    ops = await keys.headers(Role.OPS)
    url = f"{URL}/sensor_return"
    response = await client.patch(
        url,
        json={"max_attempts": 5, "retry_delay_seconds": 0, "fallback_description": "Call them"},
        headers=ops,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scenario"] == "sensor_return"
    assert (body["max_attempts"], body["retry_delay_seconds"]) == (5, 0)
    assert body["fallback_description"] == "Call them"
    assert body["is_default"] is False
    assert body["updated_at"] is not None
    timeout = body["timeout_seconds"]

    second = await client.patch(url, json={"timeout_seconds": 30}, headers=ops)
    assert second.json()["max_attempts"] == 5
    assert second.json()["timeout_seconds"] == 30
    assert timeout != 30

    listed = {item["scenario"]: item for item in (await client.get(URL)).json()["items"]}
    assert listed["sensor_return"]["timeout_seconds"] == 30
    assert listed["sensor_vendor_first_time"]["is_default"] is True
    stored = {c.scenario: c for c in await list_scenario_configs(platform.deps)}
    assert stored[AutomationScenario.SENSOR_RETURN].max_attempts == 5
    assert stored[AutomationScenario.SENSOR_RETURN].retry_delay_seconds == 0


async def test_an_empty_patch_changes_nothing(client: Client) -> None:
    """A PATCH with no field returns the config as it is and stores nothing."""
    response = await client.patch(f"{URL}/sensor_partner_replacement", json={})
    assert response.status_code == 200, response.text
    assert response.json()["is_default"] is True


async def test_bad_values_are_refused(client: Client) -> None:
    """Zero attempts or timeout, a negative delay, an empty or blank fallback text, unknown
    fields and unknown scenarios are refused; nothing changes."""
    url = f"{URL}/sensor_vendor_first_time"
    for body in (
        {"max_attempts": 0},
        {"timeout_seconds": 0},
        {"retry_delay_seconds": -1},
        {"fallback_description": ""},
        {"max_retries": 2},
    ):
        assert_error(await client.patch(url, json=body), 400, "VALIDATION")
    blank = await client.patch(url, json={"fallback_description": "   "})
    assert_error(blank, 422, "VALIDATION")
    assert_error(await client.patch(f"{URL}/sensor_teleport", json={}), 400, "VALIDATION")
    first = (await client.get(URL)).json()["items"][0]
    assert first["is_default"] is True


async def test_every_role_reads_but_only_admin_and_ops_change(
    client: Client, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Support and read-only keys read the configs and are refused changes; company keys are
    refused both."""
    url = f"{URL}/sensor_return"
    for role in (Role.SUPPORT, Role.READONLY):
        headers = await keys.headers(role)
        assert (await client.get(URL, headers=headers)).status_code == 200
        refused = await client.patch(url, json={"max_attempts": 4}, headers=headers)
        assert_error(refused, 403, "AUTHZ")
    scoped = await keys.headers(Role.SUPPORT, seeded.company_id)
    assert_error(await client.get(URL, headers=scoped), 403, "AUTHZ")
