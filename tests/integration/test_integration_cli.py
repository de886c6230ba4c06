"""The command line against real services: seed, api-key and simulate-courier."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from api_stack import Stack, eventually, running_stack
from integration_support import settings_for

from entrypoints.cli.courier import simulate

pytestmark = pytest.mark.integration


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLATFORM_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(settings_for(database_url)) as running:
        yield running


def test_seed_is_idempotent_and_api_keys_are_managed(database_url: str) -> None:
    first = cli(database_url, "seed")
    second = cli(database_url, "seed")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # the same ids: nothing new was created
    created = cli(database_url, "api-key", "create", "--role", "ops", "--name", "robot")
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split()[3].rstrip(";")
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("pck_")
    listed = cli(database_url, "api-key", "list").stdout
    assert key_id in listed
    assert token not in listed
    assert cli(database_url, "api-key", "revoke", key_id).returncode == 0
    assert "revoked" in cli(database_url, "api-key", "list").stdout
    refused = cli(database_url, "api-key", "revoke", key_id)
    assert refused.returncode == 2
    assert "CONFLICT" in refused.stderr
    assert "Traceback" not in refused.stderr


async def test_simulate_courier_replays_through_the_webhook(stack: Stack) -> None:
    """A duplicate and an out-of-order scan leave one consistent history: delivered, each
    scan once."""
    order = await stack.draft({"MNT-KIT": 1})
    await stack.checkout(order["id"])
    await stack.call(
        "PATCH",
        f"/v1/orders/{order['id']}/status",
        json={"status": "paid", "reference": "wire-2026-001"},
    )
    await stack.order_in(order["id"], "paid")
    fulfillment = await stack.fulfillment_of(order["id"])
    item = order["items"][0]["id"]
    shipment = await stack.ship(fulfillment, {item: 1})
    status = await asyncio.to_thread(
        simulate, stack.base_url, shipment["tracking_number"], "simulator", 24
    )
    assert status == 0

    async def all_scans() -> dict[str, Any] | None:
        # Webhooks are processed on the shipments queue, after the 202.
        events: dict[str, Any] = await stack.call("GET", f"/v1/shipments/{shipment['id']}/events")
        return events if len(events["items"]) == 5 else None

    tracking = await eventually(all_scans, "the five scans")
    shown: dict[str, Any] = await stack.call("GET", f"/v1/shipments/{shipment['id']}")
    assert shown["status"] == "delivered"
    codes = [event["raw_code"] for event in tracking["items"]]
    assert sorted(codes) == sorted(["LC", "IT", "IT", "OD", "DL"])
    assert len({(e["raw_code"], e["occurred_at"]) for e in tracking["items"]}) == len(codes)
