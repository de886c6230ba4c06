"""Behaviour every route shares: the error payload, keys and roles, rate limits, idempotency,
request ids, body limits, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.api import ApiSettings, create_app
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.access.service import RevokeApiKey, list_api_keys, revoke_api_key
from platform_core.shared.errors import ServiceUnavailable
from tests.api.api_support import Keys, assert_error


async def test_a_request_without_a_key_is_refused_with_authn(
    anonymous: AsyncTestClient[Litestar],
) -> None:
    """No Authorization header: 401 AUTHN in the one error payload."""
    assert_error(await anonymous.get("/v1/api-keys"), 401, "AUTHN")


async def test_an_unknown_or_revoked_key_is_refused_alike(
    anonymous: AsyncTestClient[Litestar], client: AsyncTestClient[Litestar]
) -> None:
    """A wrong secret and a revoked one get the same answer, so neither can be told apart."""
    unknown = await anonymous.get("/v1/api-keys", headers={"Authorization": "Bearer pck_nope"})
    created = (await client.post("/v1/api-keys", json={"name": "temp", "role": "ops"})).json()
    revoked = await client.post(f"/v1/api-keys/{created['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    after = await anonymous.get(
        "/v1/api-keys", headers={"Authorization": f"Bearer {created['token']}"}
    )
    first = assert_error(unknown, 401, "AUTHN")
    second = assert_error(after, 401, "AUTHN")
    assert first["message"] == second["message"]


async def test_an_admin_creates_keys_whose_secret_is_shown_once(
    client: AsyncTestClient[Litestar], anonymous: AsyncTestClient[Litestar]
) -> None:
    """The secret comes back at creation only; listings show its prefix; the new key works."""
    created = await client.post("/v1/api-keys", json={"name": "support desk", "role": "support"})
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("pck_")
    assert body["token"][:8] == body["key_prefix"]
    listed = (await client.get("/v1/api-keys")).json()["items"]
    assert any(item["id"] == body["id"] and "token" not in item for item in listed)
    as_support = await anonymous.get(
        "/v1/api-keys", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert_error(as_support, 403, "AUTHZ")


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.OPS, Role.READONLY])
async def test_only_admins_manage_keys(
    role: Role, keys: Keys, anonymous: AsyncTestClient[Litestar]
) -> None:
    """Key management is the admin's alone."""
    headers = await keys.headers(role)
    denied = await anonymous.post(
        "/v1/api-keys", json={"name": "x", "role": "admin"}, headers=headers
    )
    assert_error(denied, 403, "AUTHZ")


async def test_an_admin_key_cannot_be_company_scoped(
    client: AsyncTestClient[Litestar], seeded: SeededCatalogue
) -> None:
    """A scoped admin makes no sense and is refused as a validation error, even for a
    company that exists; a scope naming no company is not found."""
    scoped_admin = {"name": "x", "role": "admin", "company_id": seeded.company_id}
    assert_error(await client.post("/v1/api-keys", json=scoped_admin), 422, "VALIDATION")
    nowhere = {"name": "x", "role": "support", "company_id": "cmp_missing"}
    assert_error(await client.post("/v1/api-keys", json=nowhere), 404, "NOT_FOUND")


async def test_a_malformed_body_lists_the_offending_fields(
    client: AsyncTestClient[Litestar],
) -> None:
    """Wrong types, unknown roles and unknown fields: 400 VALIDATION naming each field."""
    response = await client.post("/v1/api-keys", json={"name": "", "role": "emperor"})
    error = assert_error(response, 400, "VALIDATION")
    fields = {item["field"] for item in error["details"]["fields"]}
    assert fields & {"name", "role"}
    unknown = await client.post("/v1/api-keys", json={"name": "a", "role": "ops", "extra": 1})
    assert_error(unknown, 400, "VALIDATION")
    not_json = await client.post(
        "/v1/api-keys", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(not_json, 400, "VALIDATION")


async def test_unknown_routes_and_records_are_not_found(client: AsyncTestClient[Litestar]) -> None:
    assert_error(await client.get("/v1/no-such-thing"), 404, "NOT_FOUND")
    missing = await client.post("/v1/api-keys/key_missing/revoke")
    error = assert_error(missing, 404, "NOT_FOUND")
    assert error["details"]["id"] == "key_missing"


async def test_revoking_twice_is_a_conflict(client: AsyncTestClient[Litestar]) -> None:
    created = (await client.post("/v1/api-keys", json={"name": "t", "role": "ops"})).json()
    assert (await client.post(f"/v1/api-keys/{created['id']}/revoke")).status_code == 200
    assert_error(await client.post(f"/v1/api-keys/{created['id']}/revoke"), 409, "CONFLICT")


async def test_the_request_id_is_echoed_and_kept_when_sane(
    client: AsyncTestClient[Litestar],
) -> None:
    """A caller's X-Request-ID is kept; a missing or hostile one is replaced by ours."""
    kept = await client.get("/v1/api-keys", headers={"X-Request-ID": "trace-1234abcd"})
    assert kept.headers["x-request-id"] == "trace-1234abcd"
    replaced = await client.get("/v1/api-keys", headers={"X-Request-ID": "bad id\n"})
    assert replaced.headers["x-request-id"] != "bad id\n"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_an_unexpected_failure_answers_internal_without_a_traceback(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a use case is logged server side; the client sees INTERNAL and a request id."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM table -- must not leak")

    monkeypatch.setattr("entrypoints.api.routes.access.list_api_keys", broken)
    response = await client.get("/v1/api-keys")
    error = assert_error(response, 500, "INTERNAL")
    assert "SELECT" not in response.text
    assert error["message"] == "internal error"


async def test_a_database_outage_answers_503(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise ServiceUnavailable("the database is unavailable; try again")

    monkeypatch.setattr("entrypoints.api.routes.access.list_api_keys", down)
    response = await client.get("/v1/api-keys")
    assert_error(response, 503, "INTERNAL")
    assert response.headers["retry-after"]


async def test_a_body_over_the_limit_is_refused(platform: Platform, keys: Keys) -> None:
    app = create_app(platform, ApiSettings(max_body_bytes=200))
    async with AsyncTestClient(app=app) as small:
        small.headers.update(await keys.headers(Role.ADMIN))
        response = await small.post("/v1/api-keys", json={"name": "x" * 500, "role": "ops"})
        assert_error(response, 413, "VALIDATION")
        keyed = await small.post(
            "/v1/api-keys",
            json={"name": "x" * 500, "role": "ops"},
            headers={"Idempotency-Key": "big-1"},
        )
        assert_error(keyed, 413, "VALIDATION")


@pytest.fixture
async def limited(platform: Platform, keys: Keys) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(platform, ApiSettings(rate_limit_per_minute=3))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_rate_limits_count_per_key_and_spare_health(
    limited: AsyncTestClient[Litestar], keys: Keys
) -> None:
    """Once a key has proved genuine, its fourth request within the minute is 429 with
    RateLimit-* and Retry-After; another key keeps its own budget; health never counts."""
    first = await keys.headers(Role.READONLY)
    second = await keys.headers(Role.READONLY)
    answers = [await limited.get("/health/live", headers=first) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    # A key's first request is counted against the client's address: the key is not yet
    # known to be genuine. Two such requests leave the address one.
    for headers in (first, second):
        assert (await limited.get("/v1/orders", headers=headers)).status_code == 200
    for remaining in (2, 1, 0):
        ok = await limited.get("/v1/api-keys", headers=first)
        assert ok.headers["ratelimit-remaining"] == str(remaining)
        assert ok.headers["ratelimit-limit"] == "3"
    refused = await limited.get("/v1/api-keys", headers=first)
    assert_error(refused, 429, "RATE_LIMIT")
    assert int(refused.headers["retry-after"]) >= 0
    assert refused.headers["ratelimit-remaining"] == "0"
    other = await limited.get("/v1/api-keys", headers=second)
    assert other.status_code == 403  # readonly may not list keys, but was not rate limited


async def test_made_up_keys_share_their_address_budget(
    limited: AsyncTestClient[Litestar],
) -> None:
    """A new invented token per request does not buy a new budget: unknown keys count
    against the client's address, and the fourth is refused before any key lookup."""
    statuses = []
    for attempt in range(4):
        bogus = {"Authorization": f"Bearer pck_invented_{attempt:040d}"}
        statuses.append((await limited.get("/v1/orders", headers=bogus)).status_code)
    assert statuses == [401, 401, 401, 429]


async def test_a_replayed_post_returns_the_stored_response(
    client: AsyncTestClient[Litestar],
) -> None:
    """Same Idempotency-Key and body: the first answer again, and only one key created."""
    headers = {"Idempotency-Key": "create-ops-key-1"}
    body = {"name": "ops robot", "role": "ops"}
    first = await client.post("/v1/api-keys", json=body, headers=headers)
    again = await client.post("/v1/api-keys", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    listed = (await client.get("/v1/api-keys")).json()["items"]
    assert [item["name"] for item in listed].count("ops robot") == 1


async def test_the_same_key_with_another_body_is_422(client: AsyncTestClient[Litestar]) -> None:
    headers = {"Idempotency-Key": "create-key-2"}
    await client.post("/v1/api-keys", json={"name": "a", "role": "ops"}, headers=headers)
    other = await client.post("/v1/api-keys", json={"name": "b", "role": "ops"}, headers=headers)
    error = assert_error(other, 422, "VALIDATION")
    assert error["details"]["field"] == "Idempotency-Key"


async def test_keys_are_scoped_per_caller(client: AsyncTestClient[Litestar], keys: Keys) -> None:
    """Two callers using the same Idempotency-Key do not see each other's responses."""
    other = await keys.headers(Role.ADMIN)
    body = {"name": "mine", "role": "ops"}
    first = await client.post("/v1/api-keys", json=body, headers={"Idempotency-Key": "k"})
    second = await client.post("/v1/api-keys", json=body, headers={"Idempotency-Key": "k", **other})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_a_failed_request_releases_its_key(client: AsyncTestClient[Litestar]) -> None:
    """A refused request changed nothing, so the same key may be used again once fixed."""
    headers = {"Idempotency-Key": "retry-after-fix"}
    bad = await client.post("/v1/api-keys/key_missing/revoke", headers=headers)
    assert bad.status_code == 404
    again = await client.post("/v1/api-keys/key_missing/revoke", headers=headers)
    assert again.status_code == 404
    assert "idempotent-replayed" not in again.headers


async def test_a_replay_while_the_first_runs_is_409(
    app: Litestar, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second delivery arrives while the first is still inside the route.

    httpx's ASGI transport runs the app on this test's event loop, so both requests really
    overlap (Litestar's test client runs the app on a thread of its own)."""
    from entrypoints.api.routes import access

    entered, release = asyncio.Event(), asyncio.Event()
    real = access.create_api_key

    async def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(access, "create_api_key", slow)
    headers = {"Idempotency-Key": "slow-1", **await keys.headers(Role.ADMIN)}
    body = {"name": "slow", "role": "ops"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        first = asyncio.create_task(http.post("/v1/api-keys", json=body, headers=headers))
        await asyncio.wait_for(entered.wait(), 5)
        second = await http.post("/v1/api-keys", json=body, headers=headers)
        release.set()
        assert_error(second, 409, "CONFLICT")
        assert (await asyncio.wait_for(first, 5)).status_code == 201


async def test_health_liveness_and_readiness(anonymous: AsyncTestClient[Litestar]) -> None:
    assert (await anonymous.get("/health")).json()["status"] == "ok"
    assert (await anonymous.get("/health/live")).status_code == 200
    ready = await anonymous.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "queue": "ok"}


async def test_readiness_is_503_when_the_database_is_down(
    anonymous: AsyncTestClient[Litestar], platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> bool:
        return False

    monkeypatch.setattr(platform.deps.store, "ping", unreachable)
    response = await anonymous.get("/health/ready")
    error = assert_error(response, 503, "INTERNAL")
    assert error["details"]["failing"] == ["database"]


async def test_metrics_are_prometheus_text(anonymous: AsyncTestClient[Litestar]) -> None:
    """Request counts and latencies, queue depth, outbox lag, automation failures, orders paid."""
    await anonymous.get("/health")
    response = await anonymous.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "platform_http_requests_total",
        "platform_http_request_duration_seconds",
        "platform_queue_depth",
        "platform_outbox_lag_seconds",
        "platform_automation_steps_failed",
        "platform_orders_paid",
    ):
        assert name in text, name


async def test_cors_is_off_unless_configured(platform: Platform) -> None:
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "GET",
    }
    async with AsyncTestClient(app=create_app(platform)) as closed:
        answer = await closed.options("/v1/api-keys", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
    allowed = create_app(platform, ApiSettings(cors_origins=("https://shop.example",)))
    async with AsyncTestClient(app=allowed) as open_client:
        answer = await open_client.options("/v1/api-keys", headers=preflight)
        assert answer.headers["access-control-allow-origin"] == "https://shop.example"


async def test_the_bootstrap_key_becomes_the_first_admin(platform: Platform) -> None:
    token = "pck_bootstrap_" + "x" * 40
    app = create_app(platform, ApiSettings(bootstrap_api_key=token))
    async with AsyncTestClient(app=app) as test_client:
        response = await test_client.get(
            "/v1/api-keys", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        assert [item["name"] for item in response.json()["items"]] == ["bootstrap"]


async def test_request_lines_are_logged_as_json(
    client: AsyncTestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="platform_core.api.requests"):
        response = await client.get("/v1/api-keys")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("requests")]
    assert lines[-1]["request_id"] == response.headers["x-request-id"]
    assert lines[-1]["status"] == 200
    assert lines[-1]["path"] == "/v1/api-keys"
    assert lines[-1]["api_key_id"]


async def test_a_key_revoked_elsewhere_is_trusted_at_most_the_cache_ttl(
    platform: Platform, keys: Keys
) -> None:
    """Another process's revocation reaches this one when its cached check expires; with
    the cache off it reaches it at once."""
    for ttl, still_accepted in ((60, True), (0, False)):
        app = create_app(platform, ApiSettings(api_key_cache_seconds=ttl))
        async with AsyncTestClient(app=app) as test_client:
            headers = await keys.headers(Role.READONLY)
            assert (await test_client.get("/health/ready")).status_code == 200
            assert (await test_client.get("/v1/orders", headers=headers)).status_code == 200
            # The one key not revoked yet: all share the fixed clock's instant, so "newest"
            # cannot be told by creation time.
            (newest,) = [
                key for key in await list_api_keys(platform.deps, 500, 0) if key.revoked_at is None
            ]
            await revoke_api_key(platform.deps, RevokeApiKey(newest.id))
            after = await test_client.get("/v1/orders", headers=headers)
            assert (after.status_code == 200) is still_accepted
