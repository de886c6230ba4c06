"""A fake legacy system served over HTTP: the legacy API in front of a FakeLegacyBridge.

Tests and the embedded default talk to it through `LegacyHttpBridge`, so the real client
(headers, paging, retries, the breaker) is exercised while the legacy system's rules stay in
the fake. `/_control` tells it to fail, time out or answer slowly, lists what it received and
seeds records. It is a bare ASGI app: Litestar belongs to the API layer (import-linter), and
these few routes need no framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

import attrs
import httpx

from adapters.legacy.fake import FakeLegacyBridge
from adapters.legacy.http import wire
from platform_core.legacy.model import LegacyRecord
from platform_core.shared.errors import ExternalServiceError, ValidationError

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_PAGE = 500


class FaultMode(StrEnum):
    FAIL = "fail"  # answer `status` (default 503) without touching the legacy data
    TIMEOUT = "timeout"  # hold the request until the client leaves or `delay_seconds` pass
    SLOW = "slow"  # wait `delay_seconds`, then answer normally
    ERROR_4XX = "error4xx"  # refuse with `status` (default 422)


DEFAULT_STATUS = {FaultMode.FAIL: 503, FaultMode.ERROR_4XX: 422, FaultMode.TIMEOUT: 504}
DEFAULT_DELAY = {FaultMode.TIMEOUT: 60.0, FaultMode.SLOW: 1.0}


@attrs.frozen
class Fault:
    mode: FaultMode
    status: int
    delay_seconds: float


@attrs.frozen
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> object:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ValidationError("the body is not JSON", {"field": "body"}) from None


@attrs.frozen
class Response:
    status: int
    body: object


@attrs.define
class ReceivedCall:
    """One API request the server received; `status` is set once it has answered."""

    method: str
    path: str
    correlation_id: str | None
    idempotency_key: str | None
    fault: str | None
    status: int | None = None

    def to_json(self) -> wire.JsonObject:
        return attrs.asdict(self)


Handler = Callable[[Request, "re.Match[str]"], Awaitable[Response]]


def _error(status: int, message: str, details: dict[str, Any] | None = None) -> Response:
    return Response(status, wire.error_to_json(message, details))


def _header(request: Request, name: str) -> str:
    value = request.header(name)
    if not value:
        raise ValidationError(f"the {name} header is required", {"field": name})
    return value


def _limit(request: Request) -> int:
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", {"field": "limit"})
    return int(raw)


def _page(records: list[wire.JsonObject], request: Request) -> Response:
    """Keyset paging over records ordered by legacy id: `cursor` is the last id already seen."""
    limit, cursor = _limit(request), request.query.get("cursor")
    after = [record for record in records if cursor is None or record["legacy_id"] > cursor]
    page = after[:limit]
    next_cursor = page[-1]["legacy_id"] if len(after) > limit else None
    return Response(200, wire.page_to_json(page, next_cursor))


class LegacyServer:
    """The ASGI app. `bridge` holds the legacy data; `calls` lists the API requests received."""

    def __init__(self, bridge: FakeLegacyBridge, token: str | None) -> None:
        self.bridge = bridge
        self.token = token
        self.calls: list[ReceivedCall] = []
        self.faults: deque[Fault] = deque()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/api/v1/companies/([^/]+)"), self._get_company),
            ("GET", re.compile(r"/api/v1/assets/([^/]+)"), self._get_asset),
            ("GET", re.compile(r"/api/v1/devices/([^/]+)"), self._get_device),
            ("GET", re.compile(r"/api/v1/companies"), self._list_companies),
            ("GET", re.compile(r"/api/v1/assets"), self._list_assets),
            ("GET", re.compile(r"/api/v1/devices"), self._list_devices),
            ("POST", re.compile(r"/api/v1/devices/provision"), self._provision),
            ("POST", re.compile(r"/api/v1/devices/replace"), self._replace),
            ("POST", re.compile(r"/api/v1/devices/return"), self._return),
            ("PUT", re.compile(r"/api/v1/devices/([^/]+)/assignment"), self._reassign),
            ("POST", re.compile(r"/_control/faults"), self._add_faults),
            ("DELETE", re.compile(r"/_control/faults"), self._clear_faults),
            ("GET", re.compile(r"/_control/calls"), self._list_calls),
            ("PUT", re.compile(r"/_control/records"), self._put_records),
        ]

    # -- test controls (also reachable over HTTP under /_control) -----------------------------
    def add_faults(
        self,
        mode: FaultMode,
        count: int = 1,
        *,
        status: int | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next `count` API requests fail, time out or answer slowly."""
        fault = Fault(
            mode,
            status if status is not None else DEFAULT_STATUS.get(mode, 200),
            delay if delay is not None else DEFAULT_DELAY.get(mode, 0.0),
        )
        self.faults.extend(fault for _ in range(count))

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await _read(scope, receive)
        response = await self._answer(request, receive)
        correlation_id = request.header(wire.CORRELATION_HEADER)
        log.info(
            "legacy %s %s -> %d (correlation id %s)",
            request.method,
            request.path,
            response.status,
            correlation_id,
        )
        await _respond(send, response, correlation_id)

    async def _answer(self, request: Request, receive: Receive) -> Response:
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if self.token is not None and request.header("authorization") != f"Bearer {self.token}":
            return _error(401, "missing or wrong bearer token")
        if not request.path.startswith("/api/"):
            return await self._route(request)
        fault = self.faults.popleft() if self.faults else None
        call = ReceivedCall(
            request.method,
            request.path,
            request.header(wire.CORRELATION_HEADER),
            request.header(wire.IDEMPOTENCY_HEADER),
            str(fault.mode) if fault else None,
        )
        self.calls.append(call)
        response = await self._faulted(fault, request, receive)
        call.status = response.status
        return response

    async def _faulted(self, fault: Fault | None, request: Request, receive: Receive) -> Response:
        if fault is None:
            return await self._route(request)
        if fault.mode is FaultMode.SLOW:
            await asyncio.sleep(fault.delay_seconds)
            return await self._route(request)
        if fault.mode is FaultMode.TIMEOUT:
            # Hold the request without answering; the client's timeout is expected to end it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(fault.delay_seconds):
                    await _disconnected(receive)
        return _error(fault.status, f"injected {fault.mode} fault", {"fault": str(fault.mode)})

    async def _route(self, request: Request) -> Response:
        known_path = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            known_path = True
            if method == request.method:
                return await self._handle(handler, request, match)
        if known_path:
            return _error(405, f"{request.method} is not allowed on {request.path}")
        return _error(404, f"no route {request.path}")

    async def _handle(self, handler: Handler, request: Request, match: re.Match[str]) -> Response:
        try:
            return await handler(request, match)
        except ValidationError as error:
            return _error(400, error.message, error.details)
        except ExternalServiceError as error:
            # The fake raises retryable errors for outages and permanent ones for refusals.
            return _error(503 if error.retryable else 422, error.message, error.details)

    # -- reads --------------------------------------------------------------------------------
    async def _get_company(self, request: Request, match: re.Match[str]) -> Response:
        corr = _header(request, wire.CORRELATION_HEADER)
        found = await self.bridge.get_company(match[1], correlation_id=corr)
        return _missing(match[1]) if found is None else Response(200, wire.company_to_json(found))

    async def _get_asset(self, request: Request, match: re.Match[str]) -> Response:
        corr = _header(request, wire.CORRELATION_HEADER)
        found = await self.bridge.get_asset(match[1], correlation_id=corr)
        return _missing(match[1]) if found is None else Response(200, wire.asset_to_json(found))

    async def _get_device(self, request: Request, match: re.Match[str]) -> Response:
        corr = _header(request, wire.CORRELATION_HEADER)
        found = await self.bridge.get_device(match[1], correlation_id=corr)
        return _missing(match[1]) if found is None else Response(200, wire.device_to_json(found))

    async def _list_companies(self, request: Request, _: re.Match[str]) -> Response:
        corr = _header(request, wire.CORRELATION_HEADER)
        found = await self.bridge.list_companies(correlation_id=corr)
        return _page([wire.company_to_json(record) for record in found], request)

    async def _list_assets(self, request: Request, _: re.Match[str]) -> Response:
        corr = _header(request, wire.CORRELATION_HEADER)
        found = await self.bridge.list_assets(correlation_id=corr)
        return _page([wire.asset_to_json(record) for record in found], request)

    async def _list_devices(self, request: Request, _: re.Match[str]) -> Response:
        corr = _header(request, wire.CORRELATION_HEADER)
        found = await self.bridge.list_devices(correlation_id=corr)
        return _page([wire.device_to_json(record) for record in found], request)

    # -- writes -------------------------------------------------------------------------------
    async def _provision(self, request: Request, _: re.Match[str]) -> Response:
        parsed = wire.provision_from_json(request.json(), **_write_headers(request))
        return Response(200, wire.result_to_json(await self.bridge.provision_device(parsed)))

    async def _replace(self, request: Request, _: re.Match[str]) -> Response:
        parsed = wire.replace_from_json(request.json(), **_write_headers(request))
        return Response(200, wire.result_to_json(await self.bridge.replace_device(parsed)))

    async def _return(self, request: Request, _: re.Match[str]) -> Response:
        parsed = wire.return_from_json(request.json(), **_write_headers(request))
        return Response(200, wire.result_to_json(await self.bridge.return_device(parsed)))

    async def _reassign(self, request: Request, match: re.Match[str]) -> Response:
        parsed = wire.assignment_from_json(
            request.json(), device_legacy_id=match[1], **_write_headers(request)
        )
        return Response(200, wire.result_to_json(await self.bridge.update_assignment(parsed)))

    # -- controls -----------------------------------------------------------------------------
    async def _add_faults(self, request: Request, _: re.Match[str]) -> Response:
        body = wire.as_object(request.json())
        try:
            mode = FaultMode(str(body.get("mode")))
        except ValueError:
            raise ValidationError("mode must be fail, timeout, slow or error4xx", {}) from None
        count, status, delay = body.get("count", 1), body.get("status"), body.get("delay_seconds")
        if not isinstance(count, int) or count < 1 or not isinstance(status, int | None):
            raise ValidationError("count must be a positive integer, status an integer", {})
        if not isinstance(delay, int | float | None):
            raise ValidationError("delay_seconds must be a number", {"field": "delay_seconds"})
        self.add_faults(mode, count, status=status, delay=delay)
        return Response(200, {"pending": len(self.faults)})

    async def _clear_faults(self, _: Request, __: re.Match[str]) -> Response:
        self.faults.clear()
        return Response(200, {"pending": 0})

    async def _list_calls(self, _: Request, __: re.Match[str]) -> Response:
        bridge_calls = [
            {
                "operation": call.operation,
                "outcome": str(call.outcome),
                "correlation_id": call.correlation_id,
                "idempotency_key": call.idempotency_key,
                "error": call.error,
            }
            for call in self.bridge.calls
        ]
        requests = [call.to_json() for call in self.calls]
        return Response(200, {"requests": requests, "bridge_calls": bridge_calls})

    async def _put_records(self, request: Request, _: re.Match[str]) -> Response:
        body = wire.as_object(request.json())
        records: list[LegacyRecord] = []
        for name, parse in (
            ("companies", wire.company_from_json),
            ("assets", wire.asset_from_json),
            ("devices", wire.device_from_json),
        ):
            items = body.get(name, [])
            if not isinstance(items, list):
                raise ValidationError(f"{name} must be a list", {"field": name})
            records.extend(parse(item) for item in items)
        self.bridge.put(*records)
        return Response(200, {"stored": len(records)})


def create_legacy_app(
    bridge: FakeLegacyBridge | None = None, *, token: str | None = None
) -> LegacyServer:
    """The fake legacy system's ASGI app over `bridge` (a new, empty one by default)."""
    return LegacyServer(bridge if bridge is not None else FakeLegacyBridge(), token)


def _missing(legacy_id: str) -> Response:
    return _error(404, f"{legacy_id} not found", {"legacy_id": legacy_id})


def _write_headers(request: Request) -> dict[str, str]:
    return {
        "key": _header(request, wire.IDEMPOTENCY_HEADER),
        "correlation_id": _header(request, wire.CORRELATION_HEADER),
    }


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read(scope: Scope, receive: Receive) -> Request:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    query = {name: values[-1] for name, values in parse_qs(scope["query_string"].decode()).items()}
    headers = {name.decode("latin-1").lower(): v.decode("latin-1") for name, v in scope["headers"]}
    return Request(scope["method"], scope["path"], query, headers, b"".join(chunks))


async def _respond(send: Send, response: Response, correlation_id: str | None) -> None:
    data = json.dumps(response.body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if correlation_id:
        headers.append((wire.CORRELATION_HEADER.lower().encode(), correlation_id.encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def in_process_transport(bridge: FakeLegacyBridge) -> httpx.AsyncBaseTransport:
    """An httpx transport that reaches a fake legacy server over `bridge` inside this process:
    the embedded default runs the real HTTP client (retries, breaker) against it."""
    return httpx.ASGITransport(app=create_legacy_app(bridge))
