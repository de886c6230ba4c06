"""Request ids and request logging: one structured line per request.

The request id comes from a sane `X-Request-ID` header or is made here; it is echoed in the
response header, in every error body, and passed to use cases as their correlation id, so a
client's report, the log line and the stored events can be joined.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("platform_core.api.requests")

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id_of(scope: Scope | dict[str, Any]) -> str:
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else ""


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if _SANE_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Outermost middleware: sets the request id and logs the request when it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_line(scope, request_id, status, time.perf_counter() - started)


def _log_line(scope: Scope, request_id: str, status: int, seconds: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    user = scope.get("user")
    line = {
        "event": "request",
        "request_id": request_id,
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "api_key_id": getattr(user, "key_id", None),
    }
    log.info(json.dumps(line, separators=(",", ":")))
