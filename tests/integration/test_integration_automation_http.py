"""The automation worker end to end over the HTTP legacy bridge.

PostgreSQL holds the state, a real SAQ worker on Redis runs the steps, and the fake legacy
server runs under uvicorn on 127.0.0.1: the worker reaches it over real HTTP
(`Settings.legacy_url`), through the bridge's retries and the circuit breaker kept in Redis.
The test plays the legacy system's outages through the server's `/_control` endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import redis.asyncio as aioredis
from api_stack import Stack, forget_redis_keys, queue_settings, running_stack
from prometheus_client.parser import text_string_to_metric_families
from tests.support.network import serving

from adapters.legacy.fake import FakeLegacyBridge
from adapters.legacy.http import RedisBreakerStore
from adapters.legacy.server import create_legacy_app
from adapters.legacy.server.app import LegacyServer, ReceivedCall
from entrypoints.bootstrap import Platform, Settings, bootstrap
from entrypoints.seed import COMPANY_MIRROR_ID
from platform_core.access.model import Role
from platform_core.automation.model import AutomationStep, StepStatus
from platform_core.automation.service import (
    CreateStep,
    UpdateScenarioConfig,
    create_step,
    update_scenario_config,
)
from platform_core.jobs.model import JobStatus
from platform_core.legacy.model import CompanyRecord
from platform_core.shared.scenarios import AutomationScenario

pytestmark = pytest.mark.integration

WAIT_SECONDS = 60.0
POLL_SECONDS = 0.05
SCENARIO = AutomationScenario.SENSOR_VENDOR_FIRST_TIME
PROVISION_PATH = "/api/v1/devices/provision"
# The bridge's own attempts per call: a step attempt fails only once all of them failed.
CLIENT_ATTEMPTS = 3
# High enough that the failures these tests inject never open the breaker, except in the
# breaker's own test.
QUIET_BREAKER_THRESHOLD = 50
# The breaker test: one failed call (three attempts) opens it for this long.
BREAKER_THRESHOLD = 3
BREAKER_RESET_SECONDS = 8
# The kill test: the killed worker's call is answered this late (after the kill), and the step
# may be resumed once its scenario timeout has passed since the attempt started; that is
# shorter than the time SAQ takes to find the job lost (heartbeat + sweep + 5 s abort wait).
SLOW_ANSWER_SECONDS = 3.0
SCENARIO_TIMEOUT_SECONDS = 4


# -- the fake legacy server under uvicorn ------------------------------------------------------


@attrs.define
class LegacyService:
    """The fake legacy server on 127.0.0.1 and a client of its `/_control` endpoints."""

    server: LegacyServer
    url: str
    control: httpx.AsyncClient

    @property
    def fake(self) -> FakeLegacyBridge:
        """The legacy data behind the server: what it applied, once per idempotency key."""
        return self.server.bridge

    async def fault(self, mode: str, count: int, **extra: Any) -> None:
        """Fault the next `count` API requests (fail, timeout, slow, error4xx)."""
        body = {"mode": mode, "count": count, **extra}
        response = await self.control.post("/_control/faults", json=body)
        assert response.status_code == 200, response.text

    async def clear_faults(self) -> None:
        response = await self.control.delete("/_control/faults")
        assert response.status_code == 200, response.text

    async def received(self) -> dict[str, Any]:
        """`GET /_control/calls`: the HTTP requests and the legacy operations they made."""
        response = await self.control.get("/_control/calls")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def provisions(self) -> list[ReceivedCall]:
        """The provision requests the server received, in arrival order."""
        return [call for call in self.server.calls if call.path == PROVISION_PATH]


@pytest.fixture
async def legacy() -> AsyncIterator[LegacyService]:
    """The fake legacy server, knowing the seeded company (its legacy mirror id)."""
    server = create_legacy_app()
    server.bridge.put(CompanyRecord(COMPANY_MIRROR_ID, "Northwind Sensors Ltd", "active"))
    async with (
        serving(server, WAIT_SECONDS) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as control,
    ):
        yield LegacyService(server, url, control)
        await control.delete("/_control/faults")  # nothing left to hold the shutdown


# -- deployments -------------------------------------------------------------------------------


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    """This test's queue namespace; its queues, jobs and breaker keys are deleted after it."""
    chosen = f"t{uuid.uuid4().hex[:10]}-"
    yield chosen
    await forget_redis_keys(redis_url, chosen)


def http_settings(
    database_url: str,
    redis_url: str,
    namespace: str,
    legacy: LegacyService,
    *,
    breaker_threshold: int = QUIET_BREAKER_THRESHOLD,
    breaker_reset_seconds: int = 30,
) -> Settings:
    """PostgreSQL, the SAQ queue on Redis, and the bridge over HTTP to `legacy` with its
    breaker in the same Redis (under the namespace)."""
    return attrs.evolve(
        queue_settings("redis", database_url, redis_url),
        queue_namespace=namespace,
        legacy_url=legacy.url,
        legacy_timeout_seconds=5,
        legacy_attempts=CLIENT_ATTEMPTS,
        legacy_breaker_threshold=breaker_threshold,
        legacy_breaker_reset_seconds=breaker_reset_seconds,
    )


@pytest.fixture
async def stack(
    database_url: str, redis_url: str, namespace: str, legacy: LegacyService
) -> AsyncIterator[Stack]:
    """The API under uvicorn and a SAQ worker (in this process) on one platform."""
    async with running_stack(http_settings(database_url, redis_url, namespace, legacy)) as up:
        yield up


# -- helpers -----------------------------------------------------------------------------------


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `condition` until it holds; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT_SECONDS}s")
        await asyncio.sleep(POLL_SECONDS)


async def configure(
    platform: Platform,
    *,
    max_attempts: int | None = None,
    retry_delay_seconds: int | None = None,
    timeout_seconds: int | None = None,
) -> None:
    """Change the scenario's config for this test (None keeps a setting)."""
    command = UpdateScenarioConfig(
        scenario=SCENARIO,
        max_attempts=max_attempts,
        retry_delay_seconds=retry_delay_seconds,
        timeout_seconds=timeout_seconds,
    )
    await update_scenario_config(platform.deps, command)


async def shipped_order(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """A paid order of one gateway, its fulfillment and a ready shipment of it."""
    order = await stack.draft({"GW-100": 1})
    session = await stack.checkout(order["id"])
    await stack.stripe(stack.platform.deps.payments.complete(session))
    await stack.order_in(order["id"], "paid")
    fulfillment = await stack.fulfillment_of(order["id"])
    shipment = await stack.ship(fulfillment, {order["items"][0]["id"]: 1})
    return fulfillment, shipment


async def step_in(stack: Stack, shipment_id: str, done: Callable[[dict[str, Any]], bool]) -> Any:
    """The shipment's single automation step (API view) once `done` holds for it."""
    found: list[dict[str, Any]] = []

    async def reached() -> bool:
        page = await stack.call("GET", f"/v1/shipments/{shipment_id}/automation-steps")
        found[:] = page["items"]
        return len(found) == 1 and done(found[0])

    await eventually(reached, f"the automation step of shipment {shipment_id}")
    return found[0]


async def event_types(platform: Platform, step_id: str) -> list[str]:
    async with platform.deps.uow() as uow:
        stored = await uow.events.for_aggregate("automation_step", step_id)
    return [entry.event.type for entry in stored]


async def stored_step(platform: Platform, step_id: str) -> AutomationStep:
    async with platform.deps.uow() as uow:
        return await uow.automation_steps.get(step_id)


async def new_step(platform: Platform) -> AutomationStep:
    """A step added through the core (no company in the legacy call); queued at once."""
    return await create_step(
        platform.deps,
        CreateStep(
            shipment_id=f"shp_{uuid.uuid4().hex}",
            shipment_item_id=f"shi_{uuid.uuid4().hex}",
            fulfillment_order_id=f"ful_{uuid.uuid4().hex}",
            order_id=f"ord_{uuid.uuid4().hex}",
            company_id=f"cmp_{uuid.uuid4().hex}",
            scenario=SCENARIO,
            product_id=f"prd_{uuid.uuid4().hex}",
            quantity=1,
        ),
    )


def _status_is(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda step: bool(step["status"] == status)


# -- the flows ---------------------------------------------------------------------------------


async def test_a_delivered_shipment_is_provisioned_over_http_and_completes(
    stack: Stack, legacy: LegacyService
) -> None:
    """Delivery queues the step; the worker provisions the device over HTTP with the step's
    idempotency key and correlation id; the step succeeds and the fulfillment completes."""
    fulfillment, shipment = await shipped_order(stack)
    await stack.deliver(shipment)
    step = await step_in(stack, shipment["id"], _status_is("succeeded"))
    await stack.fulfillment_in(fulfillment["id"], "completed")

    assert step["attempts"] == 1
    assert step["legacy_reference"]
    [request] = legacy.provisions()
    assert (request.method, request.status, request.fault) == ("POST", 200, None)
    assert request.idempotency_key == f"{step['id']}:r1"
    assert request.correlation_id
    [applied] = legacy.fake.applied.values()
    assert applied.reference == step["legacy_reference"]
    assert list(applied.device_legacy_ids) == step["legacy_device_ids"]
    device = legacy.fake.devices[applied.device_legacy_ids[0]]
    assert device.company_legacy_id == COMPANY_MIRROR_ID


async def test_two_failed_attempts_are_retried_and_the_third_succeeds(
    stack: Stack, legacy: LegacyService
) -> None:
    """The server answers 503 to the first two attempts (each through all of the client's own
    retries); the step is retried after the scenario's delay with the same legacy key, the
    third attempt provisions once and the fulfillment completes."""
    await configure(stack.platform, max_attempts=3, retry_delay_seconds=1)
    fulfillment, shipment = await shipped_order(stack)
    await legacy.fault("fail", 2 * CLIENT_ATTEMPTS)
    await stack.deliver(shipment)
    step = await step_in(stack, shipment["id"], _status_is("succeeded"))
    await stack.fulfillment_in(fulfillment["id"], "completed")

    assert step["attempts"] == 3
    types = await event_types(stack.platform, step["id"])
    assert types.count("automation.step_retry_scheduled") == 2
    assert types.count("automation.step_succeeded") == 1
    assert "automation.step_failed" not in types
    requests = legacy.provisions()
    assert [r.status for r in requests] == [503] * (2 * CLIENT_ATTEMPTS) + [200]
    assert {r.idempotency_key for r in requests} == {f"{step['id']}:r1"}
    outcomes = [str(call.outcome) for call in legacy.fake.calls_to("provision_device")]
    assert outcomes == ["applied"]  # the 503s never reached the legacy data


async def test_failures_past_max_attempts_open_a_task_and_the_fallback_completes(
    stack: Stack, legacy: LegacyService, caplog: pytest.LogCaptureFixture
) -> None:
    """Every attempt fails: past max attempts the step fails for good (automation.step_failed),
    a manual task opens and Ops is notified; Ops' fallback through the API settles the step,
    resolves the task, and the fulfillment completes without any provisioning."""
    caplog.set_level(logging.WARNING, logger="platform_core.notifications")
    await configure(stack.platform, max_attempts=2, retry_delay_seconds=1)
    fulfillment, shipment = await shipped_order(stack)
    await legacy.fault("fail", 2 * CLIENT_ATTEMPTS)
    await stack.deliver(shipment)
    step = await step_in(
        stack, shipment["id"], lambda s: s["status"] == "failed" and s["manual_task"] is not None
    )

    assert step["attempts"] == 2
    assert step["next_attempt_at"] is None
    assert step["last_error_retryable"] is True
    assert step["manual_task"]["status"] == "open"
    types = await event_types(stack.platform, step["id"])
    assert types.count("automation.step_failed") == 1
    assert types.count("automation.step_retry_scheduled") == 1
    notified = [r for r in caplog.records if r.name == "platform_core.notifications"]
    assert [getattr(r, "related", {}).get("step_id") for r in notified] == [step["id"]]
    assert (await stack.call("GET", f"/v1/fulfillments/{fulfillment['id']}"))["status"] != (
        "completed"
    )

    ops = await stack.key(Role.OPS)
    notes = "Provisioned by hand in the legacy console"
    settled = await stack.call(
        "POST", f"/v1/automation-steps/{step['id']}/fallback", json={"notes": notes}, headers=ops
    )
    assert settled["status"] == "fallback_triggered"
    await stack.fulfillment_in(fulfillment["id"], "completed")
    after = await stack.call("GET", f"/v1/automation-steps/{step['id']}")
    assert after["manual_task"]["status"] == "resolved"
    assert after["manual_task"]["notes"] == notes
    assert legacy.fake.applied == {}
    assert len(legacy.provisions()) == 2 * CLIENT_ATTEMPTS


# -- a worker killed during the legacy call ----------------------------------------------------


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PLATFORM_DATABASE_URL": settings.database_url,
        "PLATFORM_MIGRATE_ON_START": "false",
        "PLATFORM_QUEUE_URL": settings.queue_url,
        "PLATFORM_QUEUE_NAMESPACE": settings.queue_namespace,
        "PLATFORM_QUEUE_HEARTBEAT_SECONDS": str(settings.queue_heartbeat_seconds),
        "PLATFORM_LEGACY_URL": settings.legacy_url or "",
        "PLATFORM_LEGACY_ATTEMPTS": str(settings.legacy_attempts),
        "PLATFORM_LEGACY_TIMEOUT_SECONDS": str(settings.legacy_timeout_seconds),
        "PLATFORM_LEGACY_BREAKER_THRESHOLD": str(settings.legacy_breaker_threshold),
    }


@contextlib.contextmanager
def worker_process(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m entrypoints.worker` for `settings`; killed if still alive at the end."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.worker"],
            env=_environment(settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=WAIT_SECONDS)


async def test_a_worker_killed_mid_call_is_replaced_and_the_device_is_provisioned_once(
    database_url: str, redis_url: str, namespace: str, legacy: LegacyService, tmp_path: Path
) -> None:
    """The first worker process is killed (SIGKILL) while the server is slowly applying its
    provision; a second worker process recovers the job, resumes the same attempt with the
    same idempotency key, and the server answers it from its first result: one device."""
    settings = http_settings(database_url, redis_url, namespace, legacy)
    platform = bootstrap(settings)  # the API's side: it enqueues, the workers run
    try:
        await configure(platform, timeout_seconds=SCENARIO_TIMEOUT_SECONDS)
        await legacy.fault("slow", 1, delay_seconds=SLOW_ANSWER_SECONDS)
        with worker_process(settings, tmp_path / "killed.log") as doomed:
            created = await new_step(platform)

            async def calling() -> bool:
                current = await stored_step(platform, created.id)
                return bool(legacy.provisions()) and current.status is StepStatus.RUNNING

            await eventually(calling, "the provision request of the first worker")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=WAIT_SECONDS)

        async def applied_late() -> bool:
            return bool(legacy.fake.applied)

        await eventually(applied_late, "the server applying the killed worker's request")
        with worker_process(settings, tmp_path / "rescuer.log"):

            async def succeeded() -> bool:
                return (await stored_step(platform, created.id)).status is StepStatus.SUCCEEDED

            await eventually(succeeded, "the recovered step's success")

        done = await stored_step(platform, created.id)
        assert done.attempts == 1  # the same attempt, resumed
        requests = legacy.provisions()
        assert [r.fault for r in requests] == ["slow", None]
        assert {r.idempotency_key for r in requests} == {done.legacy_request_key}
        received = await legacy.received()
        provisions = [c for c in received["bridge_calls"] if c["operation"] == "provision_device"]
        assert [c["outcome"] for c in provisions] == ["applied", "replayed"]
        assert {c["idempotency_key"] for c in provisions} == {done.legacy_request_key}
        assert list(legacy.fake.applied) == [done.legacy_request_key]
        assert len(legacy.fake.devices) == 1
        assert done.legacy_device_ids == tuple(legacy.fake.devices)
        types = await event_types(platform, created.id)
        assert types.count("automation.step_succeeded") == 1

        async def run_completed() -> bool:
            # The worker records the run's outcome just after the step commits its success.
            async with platform.deps.uow() as uow:
                run = await uow.job_runs.find_by_key(created.idempotency_key)
            return run is not None and run.status is JobStatus.COMPLETED

        await eventually(run_completed, "the job run's completion")
        async with platform.deps.uow() as uow:
            run = await uow.job_runs.find_by_key(created.idempotency_key)
        assert run is not None
        assert run.attempts == 2
    finally:
        await platform.close()


# -- the circuit breaker -----------------------------------------------------------------------


@attrs.frozen
class BridgeFigures:
    """What /metrics says about the bridge."""

    state: float
    calls: dict[tuple[str, str], float]

    def count(self, outcome: str) -> float:
        return self.calls.get(("provision_device", outcome), 0.0)


async def bridge_figures(stack: Stack) -> BridgeFigures:
    response = await stack.http.get("/metrics")
    assert response.status_code == 200, response.text
    state = -1.0
    calls: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "legacy_bridge_breaker_state":
                state = sample.value
            elif sample.name == "legacy_bridge_calls_total":
                calls[(sample.labels["operation"], sample.labels["outcome"])] = sample.value
    return BridgeFigures(state, calls)


async def opened_at(store: RedisBreakerStore, redis_url: str) -> str | None:
    """When the shared breaker last opened, as kept in Redis (None while closed)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        value = await client.hget(store.state_key, "opened_at")
    finally:
        await client.aclose()
    return None if value is None else str(value)


async def test_the_breaker_opens_fails_fast_and_closes_after_a_successful_probe(
    database_url: str, redis_url: str, namespace: str, legacy: LegacyService
) -> None:
    """The server fails everything: one failed call opens the shared breaker; while it is
    open the steps' attempts are rejected without reaching the server, and /metrics shows it
    open with the counters. Once the server is back and the reset timeout has passed, a probe
    succeeds, the breaker closes and every step goes through."""
    settings = http_settings(
        database_url,
        redis_url,
        namespace,
        legacy,
        breaker_threshold=BREAKER_THRESHOLD,
        breaker_reset_seconds=BREAKER_RESET_SECONDS,
    )
    async with running_stack(settings) as stack:
        store = stack.platform.deps.breaker.store
        assert isinstance(store, RedisBreakerStore)
        # Attempts are cheap while the breaker is open: enough to outlast it.
        await configure(stack.platform, max_attempts=30, retry_delay_seconds=1)
        await legacy.fault("fail", 1000)
        first = await new_step(stack.platform)

        async def breaker_open() -> bool:
            return (await bridge_figures(stack)).state == 2

        await eventually(breaker_open, "the breaker to open")
        opened = await opened_at(store, redis_url)
        sent = len(legacy.provisions())
        assert sent == BREAKER_THRESHOLD  # one call: all its attempts failed, then it opened
        others = [await new_step(stack.platform) for _ in range(2)]

        async def rejecting() -> bool:
            return (await bridge_figures(stack)).count("rejected") >= 4

        await eventually(rejecting, "attempts rejected by the open breaker")
        assert await opened_at(store, redis_url) == opened  # still the same open period
        assert len(legacy.provisions()) == sent  # the server saw none of them
        figures = await bridge_figures(stack)
        assert figures.state == 2
        assert figures.count("failure") == BREAKER_THRESHOLD
        assert figures.count("success") == 0

        await legacy.clear_faults()  # the legacy system is back

        async def all_succeeded() -> bool:
            steps = [await stored_step(stack.platform, s.id) for s in (first, *others)]
            return all(s.status is StepStatus.SUCCEEDED for s in steps)

        await eventually(all_succeeded, "every step's success after the outage")
        figures = await bridge_figures(stack)
        assert figures.state == 0
        assert figures.count("success") == 3
        assert figures.count("failure") == BREAKER_THRESHOLD
        requests = legacy.provisions()
        assert [r.status for r in requests] == [503] * BREAKER_THRESHOLD + [200] * 3
        assert len(legacy.fake.applied) == 3
        assert await opened_at(store, redis_url) is None  # closed
