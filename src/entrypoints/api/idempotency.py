"""`Idempotency-Key` on POST: a retried request gets the first one's response.

The key is reserved before the route runs (scoped to the caller's API key) and completed with
the response after it. A retry with the same key and the same request replays the stored
response byte for byte; the same key with a different request is refused (422); a retry that
arrives while the first is still running is told to wait (409). Only successful answers are
kept: a failed request changed nothing, so its key is released and the client may retry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.bootstrap import Platform
from platform_core.ports.idempotency import IdempotencyRecord, StoredResponse
from platform_core.shared.errors import ConflictError, ValidationError

HEADER = b"idempotency-key"
KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = b"idempotent-replayed"


class IdempotencyMiddleware:
    """Runs inside authentication, so keys are scoped per caller."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER)
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValidationError(
                f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} characters",
                {"field": "Idempotency-Key"},
            )
        body = await _read_body(receive, self.max_body_size)
        platform: Platform = scope["litestar_app"].state.platform
        caller = getattr(scope.get("user"), "key_id", "anonymous")
        store = platform.deps.store.idempotency
        try:
            record = await store.begin(
                caller, key, _fingerprint(scope, body), platform.deps.clock.now(), KEY_TTL
            )
        except ConflictError as error:
            raise ValidationError(
                "this Idempotency-Key was used for a different request",
                {"field": "Idempotency-Key"},
            ) from error
        if record is not None:
            await _answer_with(record, send)
            return
        captured = _Capture(send)
        try:
            await self.app(scope, _replay(body), captured.send)
        finally:
            if captured.response is not None and 200 <= captured.response.status_code < 300:
                await store.complete(caller, key, captured.response)
            else:
                await store.release(caller, key)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", ()):
        if header == name:
            return value.decode("latin-1").strip()
    return None


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(str(scope.get("method", "")).encode())
    digest.update(b" ")
    digest.update(scope.get("path", "").encode())
    digest.update(b"?")
    digest.update(scope.get("query_string", b""))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="the request body is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer_with(record: IdempotencyRecord, send: Send) -> None:
    if record.response is None:
        raise ConflictError(
            "a request with this Idempotency-Key is still being processed; retry shortly",
            {"field": "Idempotency-Key"},
        )
    response = record.response
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        (REPLAYED_HEADER, b"true"),
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


class _Capture:
    """Passes the response through while keeping a copy to store."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._status = 0
        self._content_type = "application/json"
        self._chunks: list[bytes] = []
        self.response: StoredResponse | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            for name, value in message.get("headers", ()):
                if name.lower() == b"content-type":
                    self._content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.response = StoredResponse(
                    self._status, b"".join(self._chunks), self._content_type
                )
        await self._send(message)
