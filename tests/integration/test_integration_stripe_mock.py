"""`platform-core stripe-mock` against the running stack on PostgreSQL: the events it signs go
through the API's Stripe webhook and move the order like real Stripe events would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from api_stack import Stack, running_stack
from integration_support import settings_for

from entrypoints.cli.stripe_mock import MockAction, play

pytestmark = pytest.mark.integration


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    return {**env, "PLATFORM_DATABASE_URL": database_url, **extra}


async def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process; in a thread, so the stack's server keeps answering."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "entrypoints.cli.main", "stripe-mock", *args],
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


async def test_pay_with_a_delayed_method_goes_through_processing_to_paid(
    stack: Stack, database_url: str
) -> None:
    """`pay --async` sends completed (unpaid) then async_payment_succeeded: the order is paid
    with the session's payment intent and its fulfillment order follows."""
    order = await stack.draft({"GW-100": 1})
    session_id = await stack.checkout(order["id"])
    status = await play(
        settings_for(database_url), MockAction.PAY, order["id"], stack.base_url, delayed=True
    )
    assert status == 0
    paid = await stack.order_in(order["id"], "paid")
    assert paid["payment"]["payment_intent_id"].startswith("pi_test_")
    timeline = await stack.call("GET", f"/v1/orders/{order['id']}/timeline")
    types = [entry["type"] for entry in timeline["entries"]]
    assert types.index("order.payment_processing") < types.index("order.paid")
    fulfillment = await stack.fulfillment_of(order["id"])
    assert fulfillment["order_id"] == order["id"]
    assert paid["checkout"]["session_id"] == session_id


async def test_the_command_fails_and_expires_checkouts_in_its_own_process(
    stack: Stack, database_url: str
) -> None:
    """Run as `platform-core stripe-mock`: fail declines the card (payment_failed), and after
    a re-sent checkout, expire expires the new session."""
    order = await stack.draft({"MNT-KIT": 2})
    await stack.checkout(order["id"])
    env = _env(database_url)
    failed = await cli(env, "fail", order["id"], "--api-url", stack.base_url)
    assert failed.returncode == 0, failed.stderr
    assert "payment_intent.payment_failed" in failed.stdout
    assert (await stack.order_in(order["id"], "payment_failed"))["failure_reason"]
    await stack.checkout(order["id"])
    expired = await cli(env, "expire", order["id"], "--api-url", stack.base_url)
    assert expired.returncode == 0, expired.stderr
    assert "checkout.session.expired" in expired.stdout
    shown = await stack.order_in(order["id"], "checkout_expired")
    assert shown["checkout"]["attempt"] == 2


async def test_the_command_refuses_real_mode_and_orders_without_a_checkout(
    stack: Stack, database_url: str
) -> None:
    """With a Stripe key set the mock refuses to play the customer; a draft has no session to
    pay. Both exit 2 with one line, no traceback, and change nothing."""
    order = await stack.draft({"MNT-KIT": 1})
    real = await cli(
        _env(database_url, STRIPE_API_KEY="sk_test_123", STRIPE_WEBHOOK_SECRET="whsec_real"),
        "pay",
        order["id"],
        "--api-url",
        stack.base_url,
    )
    assert real.returncode == 2
    assert "Stripe key is set" in real.stderr
    no_session = await cli(_env(database_url), "pay", order["id"], "--api-url", stack.base_url)
    assert no_session.returncode == 2
    assert "CONFLICT" in no_session.stderr
    assert "Traceback" not in real.stderr + no_session.stderr
    assert (await stack.call("GET", f"/v1/orders/{order['id']}"))["status"] == "draft"
