"""LegacyHttpBridge against the fake legacy server: the LegacyBridge contract, then HTTP.

The contract suite of tests/contract/test_legacy_fake.py runs twice: in process through
httpx.ASGITransport and over a real socket to the server under uvicorn on 127.0.0.1. The
HTTP-specific tests (headers, paging, retries, timeouts, auth, the breaker on the wire) use
the server's call log and its /_control endpoints, the way any test of a deployment would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.contract.test_legacy_fake import (
    ACME,
    CORR,
    GLOBEX,
    SENSOR,
    TRUCK,
    YARD,
    LegacyBridgeContract,
    provision,
)
from tests.support.network import free_port, serving

from adapters.clock import FixedClock
from adapters.legacy.fake.bridge import CallOutcome
from adapters.legacy.http import CircuitBreaker, LegacyHttpBridge, MemoryBreakerStore, Outcome
from adapters.legacy.server import LegacyServer, create_legacy_app
from platform_core.legacy.model import LegacyRecord
from platform_core.legacy.ports import LegacyBridge
from platform_core.shared.errors import ExternalServiceError, NotAttempted

BASE = "http://legacy.test"


def memory_breaker(clock: FixedClock | None = None, threshold: int = 5) -> CircuitBreaker:
    return CircuitBreaker(
        MemoryBreakerStore(),
        clock=clock or FixedClock(datetime(2025, 3, 1, tzinfo=UTC)),
        failure_threshold=threshold,
        reset_timeout_seconds=30,
    )


class Sleeps:
    """Records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# -- the contract, twice ------------------------------------------------------------------------


class HttpContract(LegacyBridgeContract):
    """The port's contract through the HTTP client; the server's fake holds the data."""

    server: LegacyServer

    def seed(self, bridge: LegacyBridge, records: Sequence[LegacyRecord]) -> None:
        self.server.bridge.put(*records)


class TestLegacyHttpBridgeInProcess(HttpContract):
    @pytest.fixture
    async def bridge(self) -> AsyncIterator[LegacyHttpBridge]:
        self.server = create_legacy_app()
        bridge = LegacyHttpBridge(
            BASE,
            breaker=memory_breaker(),
            transport=httpx.ASGITransport(app=self.server),
            page_size=2,  # so the lists page through the API
        )
        yield bridge
        await bridge.aclose()


class TestLegacyHttpBridgeOverSocket(HttpContract):
    @pytest.fixture
    async def bridge(self) -> AsyncIterator[LegacyHttpBridge]:
        self.server = create_legacy_app()
        async with serving(self.server) as url:
            bridge = LegacyHttpBridge(url, breaker=memory_breaker(), page_size=2)
            yield bridge
            await bridge.aclose()


# -- HTTP behaviour -----------------------------------------------------------------------------


@pytest.fixture
def server() -> LegacyServer:
    app = create_legacy_app()
    app.bridge.put(ACME, GLOBEX, TRUCK, YARD, SENSOR)
    return app


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, tzinfo=UTC))


@pytest.fixture
async def make_bridge(
    server: LegacyServer, sleeps: Sleeps
) -> AsyncIterator[Callable[..., LegacyHttpBridge]]:
    """Builds in-process bridges to `server`; `breaker` and other options can be given."""
    opened: list[LegacyHttpBridge] = []

    def make(**options: Any) -> LegacyHttpBridge:
        options.setdefault("breaker", memory_breaker())
        options.setdefault("transport", httpx.ASGITransport(app=server))
        options.setdefault("sleep", sleeps)
        opened.append(LegacyHttpBridge(options.pop("base_url", BASE), **options))
        return opened[-1]

    yield make
    for bridge in opened:
        await bridge.aclose()


async def control(server: LegacyServer, method: str, path: str, **kwargs: Any) -> Any:
    """Call the server's /_control endpoints over HTTP, as an outside test harness would."""
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.request(method, f"/_control/{path}", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def statuses(server: LegacyServer) -> list[int | None]:
    return [call.status for call in server.calls]


async def test_every_call_carries_the_correlation_id_and_writes_the_key(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """Reads send X-Correlation-ID; writes also send the request's Idempotency-Key."""
    bridge = make_bridge()
    await bridge.get_company("C100", correlation_id="corr_read")
    await bridge.provision_device(provision("stp_9:r2", correlation_id="corr_write"))

    calls = (await control(server, "GET", "calls"))["requests"]
    assert [(c["method"], c["correlation_id"], c["idempotency_key"]) for c in calls] == [
        ("GET", "corr_read", None),
        ("POST", "corr_write", "stp_9:r2"),
    ]


async def test_the_server_echoes_the_correlation_id(server: LegacyServer) -> None:
    """The legacy API answers with the caller's X-Correlation-ID."""
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/api/v1/companies/C100", headers={"X-Correlation-ID": "c7"})

    assert (response.status_code, response.headers["X-Correlation-ID"]) == (200, "c7")


async def test_writes_without_an_idempotency_key_are_refused(server: LegacyServer) -> None:
    """The legacy API refuses a write that carries no Idempotency-Key, applying nothing."""
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.post(
            "/api/v1/devices/provision",
            json={"channel": "vendor", "company_id": "cmp_1", "product_id": "p", "quantity": 1},
            headers={"X-Correlation-ID": "c8"},
        )

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "Idempotency-Key"
    assert server.bridge.applied == {}


async def test_lists_page_through_the_api(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """With a page of one, listing two companies takes two requests and returns both."""
    bridge = make_bridge(page_size=1)

    companies = await bridge.list_companies(correlation_id=CORR)

    assert list(companies) == [ACME, GLOBEX]
    assert [call.path for call in server.calls] == ["/api/v1/companies"] * 2


async def test_transient_5xx_is_retried_with_backoff_then_succeeds(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge], sleeps: Sleeps
) -> None:
    """Two 503s then a success: three requests, exponential backoff, applied once."""
    await control(server, "POST", "faults", json={"mode": "fail", "count": 2})
    bridge = make_bridge(attempts=3, backoff_seconds=0.2)

    result = await bridge.provision_device(provision())

    assert statuses(server) == [503, 503, 200]
    assert sleeps.delays == [0.2, 0.4]
    assert list(server.bridge.applied.values()) == [result]


async def test_5xx_past_the_attempts_is_a_retryable_error(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """When every attempt gets a 502, the bridge gives up retryably and nothing is applied."""
    await control(server, "POST", "faults", json={"mode": "fail", "count": 3, "status": 502})
    bridge = make_bridge(attempts=3)

    with pytest.raises(ExternalServiceError) as error:
        await bridge.provision_device(provision())

    assert error.value.retryable is True
    assert statuses(server) == [502, 502, 502]
    assert server.bridge.applied == {}


async def test_a_500_is_retryable_but_not_retried_at_once(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """A plain 500 is left to the job's retry schedule: one request, a retryable error."""
    await control(server, "POST", "faults", json={"mode": "fail", "status": 500})
    bridge = make_bridge(attempts=3)

    with pytest.raises(ExternalServiceError) as error:
        await bridge.get_company("C100", correlation_id=CORR)

    assert (error.value.retryable, statuses(server)) == (True, [500])


async def test_a_4xx_is_not_retried(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """A refusal is final: one request, a non-retryable error carrying the legacy message."""
    await control(server, "POST", "faults", json={"mode": "error4xx", "count": 3})
    bridge = make_bridge(attempts=3)

    with pytest.raises(ExternalServiceError) as error:
        await bridge.provision_device(provision())

    assert error.value.retryable is False
    assert error.value.message == "injected error4xx fault"
    assert error.value.details["status"] == 422
    assert statuses(server) == [422]


async def test_the_legacy_refusal_message_reaches_the_caller(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """The legacy system's own reason (here, an unknown company) is the error's message."""
    bridge = make_bridge()

    with pytest.raises(ExternalServiceError) as error:
        await bridge.provision_device(provision(company_legacy_id="C999"))

    assert error.value.message == "unknown company C999"
    assert error.value.details["company_legacy_id"] == "C999"
    assert len(server.calls) == 1


async def test_a_429_is_retried(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """Rate limiting is transient: the call is tried again."""
    await control(server, "POST", "faults", json={"mode": "fail", "status": 429})

    company = await make_bridge().get_company("C100", correlation_id=CORR)

    assert (company, statuses(server)) == (ACME, [429, 200])


async def test_the_same_key_twice_is_applied_once(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """A duplicated job sends the same key twice: the server's fake applies it once."""
    bridge = make_bridge()
    first = await bridge.provision_device(provision())
    again = await bridge.provision_device(provision(correlation_id="corr_2"))

    outcomes = [c["outcome"] for c in (await control(server, "GET", "calls"))["bridge_calls"]]
    assert again == first
    assert outcomes == [CallOutcome.APPLIED, CallOutcome.REPLAYED]


async def test_cleared_faults_no_longer_apply(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """DELETE /_control/faults drops the pending faults."""
    await control(server, "POST", "faults", json={"mode": "fail", "count": 5})
    await control(server, "DELETE", "faults")

    assert await make_bridge().get_company("C100", correlation_id=CORR) == ACME


async def test_records_can_be_seeded_over_http(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """PUT /_control/records stores records, for a server running in another process."""
    body = {"companies": [{"legacy_id": "C300", "name": "Initech", "status": "active"}]}
    await control(server, "PUT", "records", json=body)

    company = await make_bridge().get_company("C300", correlation_id=CORR)

    assert company is not None
    assert company.name == "Initech"


async def test_a_bearer_token_is_required_when_set(sleeps: Sleeps) -> None:
    """With a token configured, the right token passes and a missing one is a permanent 401."""
    server = create_legacy_app(token="s3cret")
    server.bridge.put(ACME)
    transport = httpx.ASGITransport(app=server)
    good = LegacyHttpBridge(BASE, breaker=memory_breaker(), token="s3cret", transport=transport)
    bad = LegacyHttpBridge(BASE, breaker=memory_breaker(), transport=transport, sleep=sleeps)
    try:
        assert await good.get_company("C100", correlation_id=CORR) == ACME
        with pytest.raises(ExternalServiceError) as error:
            await bad.get_company("C100", correlation_id=CORR)
    finally:
        await good.aclose()
        await bad.aclose()

    assert (error.value.retryable, error.value.details["status"]) == (False, 401)


# -- over a real socket -------------------------------------------------------------------------


async def test_a_server_that_times_out_is_retried_then_fails_retryably(
    server: LegacyServer,
) -> None:
    """Every attempt hits the client's socket timeout: three requests, a retryable error."""
    await control(server, "POST", "faults", json={"mode": "timeout", "count": 3})
    async with serving(server) as url:
        bridge = LegacyHttpBridge(
            url, breaker=memory_breaker(), timeout_seconds=0.2, attempts=3, backoff_seconds=0
        )
        try:
            with pytest.raises(ExternalServiceError) as error:
                await bridge.provision_device(provision())
        finally:
            await bridge.aclose()

    assert error.value.retryable is True
    assert "timed out" in error.value.message
    assert [call.fault for call in server.calls] == ["timeout"] * 3
    assert server.bridge.applied == {}


async def test_a_slow_answer_within_the_timeout_succeeds(server: LegacyServer) -> None:
    """A slow legacy system that answers before the timeout is a plain success."""
    await control(server, "POST", "faults", json={"mode": "slow", "delay_seconds": 0.05})
    async with serving(server) as url:
        bridge = LegacyHttpBridge(url, breaker=memory_breaker(), timeout_seconds=5)
        try:
            company = await bridge.get_company("C100", correlation_id=CORR)
        finally:
            await bridge.aclose()

    assert (company, statuses(server)) == (ACME, [200])


async def test_a_timed_out_write_retried_with_its_key_is_applied_once(
    server: LegacyServer,
) -> None:
    """The first attempt times out but is applied late; the retry with the same key and the
    late one together register the devices once."""
    await control(server, "POST", "faults", json={"mode": "slow", "delay_seconds": 0.5})
    async with serving(server) as url:
        bridge = LegacyHttpBridge(
            url, breaker=memory_breaker(), timeout_seconds=0.1, attempts=2, backoff_seconds=0
        )
        try:
            result = await bridge.provision_device(provision())
        finally:
            await bridge.aclose()
    # Leaving `serving` waited for the slow first request to finish on the server.

    outcomes = [call.outcome for call in server.bridge.calls_to("provision_device")]
    assert outcomes == [CallOutcome.APPLIED, CallOutcome.REPLAYED]
    assert server.bridge.applied == {"stp_1:r1": result}
    assert len(server.bridge.devices) == 3


async def test_a_refused_connection_is_retried_then_fails_retryably(sleeps: Sleeps) -> None:
    """Nothing listening: each attempt fails to connect and counts as a breaker failure."""
    breaker = memory_breaker()
    bridge = LegacyHttpBridge(
        f"http://127.0.0.1:{free_port()}", breaker=breaker, attempts=2, sleep=sleeps
    )
    try:
        with pytest.raises(ExternalServiceError) as error:
            await bridge.get_company("C100", correlation_id=CORR)
    finally:
        await bridge.aclose()

    assert error.value.retryable is True
    assert (await breaker.snapshot()).count("get_company", Outcome.FAILURE) == 2


# -- the breaker on the wire --------------------------------------------------------------------


async def test_the_breaker_opens_fails_fast_and_closes_after_a_good_probe(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge], clock: FixedClock
) -> None:
    """Two failed calls open it; the next call never reaches the server; after the reset
    timeout one probe goes through and its success closes the breaker."""
    breaker = memory_breaker(clock, threshold=2)
    bridge = make_bridge(breaker=breaker, attempts=1)
    await control(server, "POST", "faults", json={"mode": "fail", "count": 2})
    for _ in range(2):
        with pytest.raises(ExternalServiceError):
            await bridge.get_company("C100", correlation_id=CORR)

    with pytest.raises(ExternalServiceError) as error:
        await bridge.get_company("C100", correlation_id=CORR)
    assert (error.value.details["breaker"], len(server.calls)) == ("open", 2)

    clock.advance(timedelta(seconds=30))
    assert await bridge.get_company("C100", correlation_id=CORR) == ACME
    assert await bridge.get_company("C200", correlation_id=CORR) == GLOBEX

    snapshot = await breaker.snapshot()
    assert snapshot.state == "closed"
    assert [
        snapshot.count("get_company", outcome)
        for outcome in (Outcome.FAILURE, Outcome.REJECTED, Outcome.SUCCESS)
    ] == [2, 1, 2]


async def test_a_failed_probe_reopens_the_breaker(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge], clock: FixedClock
) -> None:
    """The probe fails: the breaker opens again and the call stops there; it is a failed call
    (a request was sent), not one that never happened."""
    breaker = memory_breaker(clock, threshold=1)
    bridge = make_bridge(breaker=breaker, attempts=3)
    await control(server, "POST", "faults", json={"mode": "fail", "count": 2})
    with pytest.raises(ExternalServiceError):
        await bridge.get_company("C100", correlation_id=CORR)  # opens after its first attempt
    clock.advance(timedelta(seconds=30))

    with pytest.raises(ExternalServiceError) as error:
        await bridge.get_company("C100", correlation_id=CORR)

    assert not isinstance(error.value, NotAttempted)
    assert error.value.retryable
    assert error.value.details["attempts"] == 1
    assert statuses(server) == [503, 503]
    assert (await breaker.snapshot()).state == "open"


async def test_a_refusal_keeps_the_breaker_closed(
    server: LegacyServer, make_bridge: Callable[..., LegacyHttpBridge]
) -> None:
    """4xx answers mean the legacy system is up: they never open the breaker."""
    breaker = memory_breaker(threshold=1)
    bridge = make_bridge(breaker=breaker)
    await control(server, "POST", "faults", json={"mode": "error4xx", "count": 3})
    for _ in range(3):
        with pytest.raises(ExternalServiceError):
            await bridge.provision_device(provision())

    snapshot = await breaker.snapshot()
    assert (snapshot.state, snapshot.count("provision_device", Outcome.REFUSED)) == ("closed", 3)
