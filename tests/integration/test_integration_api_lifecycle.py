"""The whole product over HTTP: the API under uvicorn, a real SAQ worker on Redis and on
PostgreSQL, state in PostgreSQL. Draft to completed fulfillment, a failed payment re-sent, a
split shipment, an automation failure settled by Ops' fallback, and every error code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from api_stack import Stack, eventually, forget_redis_keys, queue_settings, running_stack

from entrypoints.api import ApiSettings, create_app
from entrypoints.bootstrap import Settings
from platform_core.access.model import Role
from platform_core.automation.service import UpdateScenarioConfig, update_scenario_config
from platform_core.shared.scenarios import AutomationScenario

pytestmark = pytest.mark.integration


@pytest.fixture(params=["redis", "postgresql"])
async def settings(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Settings]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    chosen = queue_settings(request.param, database_url, redis_url)
    yield chosen
    if redis_url:
        await forget_redis_keys(redis_url, chosen.queue_namespace)


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running


def quantities(order: dict[str, Any], **by_sku: int) -> dict[str, int]:
    return {item["id"]: by_sku[item["sku"]] for item in order["items"] if item["sku"] in by_sku}


async def test_draft_to_completed_fulfillment(stack: Stack) -> None:
    """Paid by card: invoice issued and paid, fulfillment created, shipped, delivered,
    provisioned by the worker, and the fulfillment completes."""
    order = await stack.draft({"GW-100": 2, "MNT-KIT": 2})
    assert order["status"] == "draft"
    assert order["total"]["amount"] == 2 * 44_900 + 2 * 2_500
    session = await stack.checkout(order["id"])
    assert await stack.stripe(stack.platform.deps.payments.complete(session)) == "applied"
    await stack.order_in(order["id"], "paid")
    fulfillment = await stack.fulfillment_of(order["id"])
    invoices = await stack.call("GET", "/v1/invoices", params={"order_id": order["id"]})
    assert [i["status"] for i in invoices["items"]] == ["paid"]
    shipment = await stack.ship(fulfillment, quantities(order, **{"GW-100": 2, "MNT-KIT": 2}))
    await stack.deliver(shipment)
    steps = await stack.steps_of(shipment["id"], 1)
    assert {s["scenario"] for s in steps} == {"sensor_vendor_first_time"}
    await stack.fulfillment_in(fulfillment["id"], "completed")
    timeline = await stack.call("GET", f"/v1/orders/{order['id']}/timeline")
    types = [entry["type"] for entry in timeline["entries"]]
    for expected in ("order.created", "order.paid", "invoice.issued", "shipment.delivered"):
        assert expected in types
    runs = await stack.call("GET", "/v1/job-runs", params={"queue": "automation"})
    assert runs["items"]
    assert {r["status"] for r in runs["items"]} == {"completed"}


async def test_a_failed_payment_is_re_sent_and_paid(stack: Stack) -> None:
    order = await stack.draft({"PRB-200": 5})
    first = await stack.checkout(order["id"])
    payments = stack.platform.deps.payments
    assert await stack.stripe(payments.fail(first)) == "applied"
    failed = await stack.order_in(order["id"], "payment_failed")
    assert failed["failure_reason"]
    second = await stack.checkout(order["id"])
    assert second != first
    await stack.stripe(payments.complete(second))
    paid = await stack.order_in(order["id"], "paid")
    assert paid["checkout_attempts"] == 2
    late = payments.expire(first)  # a late event for the old attempt changes nothing
    assert await stack.stripe(late) in {"ignored", "applied"}
    assert (await stack.call("GET", f"/v1/orders/{order['id']}"))["status"] == "paid"


async def test_a_split_shipment_completes_after_the_second_delivery(stack: Stack) -> None:
    order = await stack.draft({"PRB-200": 10})
    session = await stack.checkout(order["id"])
    await stack.stripe(stack.platform.deps.payments.complete(session))
    await stack.order_in(order["id"], "paid")
    fulfillment = await stack.fulfillment_of(order["id"])
    first = await stack.ship(fulfillment, quantities(order, **{"PRB-200": 6}))
    fulfillment = await stack.call("GET", f"/v1/fulfillments/{fulfillment['id']}")
    second = await stack.ship(fulfillment, quantities(order, **{"PRB-200": 4}))
    over = await stack.http.post(
        f"/v1/fulfillments/{fulfillment['id']}/shipments",
        json={
            "destination": {"name": "x", "lines": ["1 St"], "city": "Toronto", "region": "ON",
                            "postal_code": "M5J 2N8", "country": "CA"},
            "items": [{"fulfillment_item_id": fulfillment["items"][0]["id"], "quantity": 1}],
        },
    )  # fmt: skip
    assert over.status_code in {409, 422}  # nothing left to allocate
    await stack.deliver(first)
    await stack.steps_of(first["id"], 1)
    still = await stack.call("GET", f"/v1/fulfillments/{fulfillment['id']}")
    assert still["status"] != "completed"
    await stack.deliver(second)
    await stack.steps_of(second["id"], 1)
    await stack.fulfillment_in(fulfillment["id"], "completed")


async def test_an_automation_failure_is_settled_by_the_fallback(stack: Stack) -> None:
    """The legacy system keeps failing; past max attempts a manual task opens, Ops triggers
    the fallback through the API and the fulfillment completes."""
    await update_scenario_config(
        stack.platform.deps,
        UpdateScenarioConfig(
            scenario=AutomationScenario.SENSOR_VENDOR_FIRST_TIME,
            max_attempts=2,
            retry_delay_seconds=1,
        ),
    )
    order = await stack.draft({"GW-100": 1})
    session = await stack.checkout(order["id"])
    await stack.stripe(stack.platform.deps.payments.complete(session))
    await stack.order_in(order["id"], "paid")
    fulfillment = await stack.fulfillment_of(order["id"])
    shipment = await stack.ship(fulfillment, quantities(order, **{"GW-100": 1}))
    stack.platform.deps.legacy_fake.fail_next(10, message="legacy API returned 503")
    await stack.deliver(shipment)

    async def failed_step() -> dict[str, Any] | None:
        steps = await stack.steps_of(shipment["id"], 1)
        # Failed between attempts too; for good once its manual task is open.
        done = steps[0]["status"] == "failed" and steps[0]["manual_task"] is not None
        return steps[0] if done else None

    step = await eventually(failed_step, "the step to fail for good")
    assert step["attempts"] == 2
    assert step["manual_task"]["status"] == "open"
    ops = await stack.key(Role.OPS)
    await stack.call(
        "POST",
        f"/v1/automation-steps/{step['id']}/fallback",
        json={"notes": "Provisioned by hand in the legacy console"},
        headers=ops,
    )
    await stack.fulfillment_in(fulfillment["id"], "completed")


async def test_every_error_code_over_http(stack: Stack, settings: Settings) -> None:
    """VALIDATION, AUTHN, AUTHZ, NOT_FOUND, CONFLICT, RATE_LIMIT and INTERNAL (503) with the
    one payload, on the deployed stack."""
    http = stack.http

    async def code(response: Any) -> tuple[int, str]:
        body = response.json()
        assert set(body["error"]) == {"code", "message", "details", "request_id"}
        return response.status_code, body["error"]["code"]

    assert await code(await http.post("/v1/orders", json={"lines": "x"})) == (400, "VALIDATION")
    order = await stack.draft({"MNT-KIT": 1})
    bad_status = await http.patch(f"/v1/orders/{order['id']}/status", json={"status": "paid"})
    assert await code(bad_status) == (422, "VALIDATION")  # paid needs a reference
    anonymous = await http.get("/v1/orders", headers={"Authorization": ""})
    assert await code(anonymous) == (401, "AUTHN")
    readonly = await stack.key(Role.READONLY)
    denied = await http.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "x"}, headers=readonly
    )
    assert await code(denied) == (403, "AUTHZ")
    assert await code(await http.get("/v1/orders/ord_nope")) == (404, "NOT_FOUND")
    other = await stack.call(
        "POST", "/v1/companies", 201,
        json={"name": "Other Co", "company_mirror_id": "legacy-other-1", "currency": "CAD"},
    )  # fmt: skip
    scoped = await stack.key(Role.SUPPORT, company_id=other["id"])
    assert await code(await http.get(f"/v1/orders/{order['id']}", headers=scoped)) == (
        404,
        "NOT_FOUND",
    )
    await stack.call("POST", f"/v1/orders/{order['id']}/cancel", json={"reason": "changed mind"})
    again = await http.post(f"/v1/orders/{order['id']}/send-checkout", json={})
    assert await code(again) == (409, "CONFLICT")
    await _rate_limit_is_shared(stack, settings)
    await _outage_is_503(stack)


async def _rate_limit_is_shared(stack: Stack, settings: Settings) -> None:
    """Two API processes with Redis-backed counters share one budget per key."""
    if not settings.queue_url.startswith("redis://"):
        return
    from litestar.testing import AsyncTestClient

    limits = ApiSettings(rate_limit_per_minute=4, rate_limit_redis_url=settings.queue_url)
    headers = await stack.key(Role.READONLY)
    first_app = create_app(stack.platform, limits)
    second_app = create_app(stack.platform, limits)
    async with AsyncTestClient(app=first_app) as one, AsyncTestClient(app=second_app) as two:
        for client in (one, two):  # each process learns the key is genuine (address budget)
            assert (await client.get("/v1/orders", headers=headers)).status_code == 200
        statuses = []
        for client in (one, two, one, two, one):
            statuses.append((await client.get("/v1/orders", headers=headers)).status_code)
        assert statuses[:4] == [200, 200, 200, 200]
        assert statuses[4] == 429


async def _outage_is_503(stack: Stack) -> None:
    """A platform whose database is gone answers 503 INTERNAL, and readiness says so."""
    from litestar.testing import AsyncTestClient

    from entrypoints.bootstrap import bootstrap

    unreachable = "postgresql://nobody@127.0.0.1:1/nowhere"
    broken = bootstrap(Settings(database_url=unreachable, migrate_on_start=False))
    try:
        async with AsyncTestClient(app=create_app(broken)) as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["error"]["code"] == "INTERNAL"
            down = await client.get("/v1/orders", headers=stack.admin)
            assert down.status_code == 503
            assert "nobody" not in down.text
            assert "Traceback" not in down.text
    finally:
        await broken.close()
