"""LegacyHttpBridge: the LegacyBridge port over the legacy system's HTTP API, with httpx.

Every request carries `X-Correlation-ID`; writes carry the request's `Idempotency-Key`, so a
retried attempt (ours or a retried job's) is applied once by the legacy system. Each attempt
goes through the circuit breaker. Transient failures (timeouts, connection errors, 408, 429,
502, 503, 504) are retried with exponential backoff; any other answer is final: a 4xx is the
legacy system refusing (not retried, `retryable=False`, its message kept), a 404 on a read is
None, and a 500 is retryable later but not retried at once (a server error on one payload
rarely clears in a second; the job's own retry schedule tries again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import attrs
import httpx

from adapters.legacy.http import wire
from adapters.legacy.http.breaker import CircuitBreaker, Outcome, Permit
from platform_core.legacy.model import AssetRecord, CompanyRecord, DeviceRecord
from platform_core.legacy.ports import (
    BridgeResult,
    LegacyOperation,
    LegacyWrite,
    ProvisionDevice,
    ReplaceDevice,
    ReturnDevice,
    UpdateAssignment,
)
from platform_core.shared.errors import ExternalServiceError, NotAttempted, ValidationError

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({408, 429, 502, 503, 504})
API = "/api/v1"

R = TypeVar("R")


@attrs.frozen
class _Transient:
    """Why one attempt failed in a way another attempt may not."""

    reason: str
    status: int | None = None


def _path(*parts: str) -> str:
    return "/".join([API, *(quote(part, safe="") for part in parts)])


def _parsed(operation: str, parse: Callable[[object], R], body: object) -> R:
    try:
        return parse(body)
    except ValidationError as error:
        raise ExternalServiceError(
            f"the legacy system sent an unreadable answer to {operation}: {error.message}",
            {"operation": operation, **error.details},
            retryable=False,
        ) from error


class LegacyHttpBridge:
    """The legacy system over HTTP. Close it with `aclose()`."""

    def __init__(
        self,
        base_url: str,
        *,
        breaker: CircuitBreaker,
        token: str | None = None,
        timeout_seconds: float = 5.0,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        page_size: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1 or timeout_seconds <= 0 or backoff_seconds < 0 or page_size < 1:
            raise ValidationError(
                "the legacy bridge needs attempts >= 1, a positive timeout and page size",
                {"field": "legacy_bridge"},
            )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
        )
        # httpx times each phase (connect, each read); this bounds a whole attempt, so a server
        # dribbling bytes cannot hold a worker for longer than twice the timeout.
        self._attempt_deadline = 2 * timeout_seconds
        self._breaker = breaker
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._page_size = page_size
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- reads ------------------------------------------------------------------------------
    async def get_company(self, legacy_id: str, *, correlation_id: str) -> CompanyRecord | None:
        return await self._get_one(
            "get_company", _path("companies", legacy_id), correlation_id, wire.company_from_json
        )

    async def get_asset(self, legacy_id: str, *, correlation_id: str) -> AssetRecord | None:
        return await self._get_one(
            "get_asset", _path("assets", legacy_id), correlation_id, wire.asset_from_json
        )

    async def get_device(self, legacy_id: str, *, correlation_id: str) -> DeviceRecord | None:
        return await self._get_one(
            "get_device", _path("devices", legacy_id), correlation_id, wire.device_from_json
        )

    async def list_companies(self, *, correlation_id: str) -> Sequence[CompanyRecord]:
        return await self._list(
            "list_companies", _path("companies"), correlation_id, wire.company_from_json
        )

    async def list_assets(self, *, correlation_id: str) -> Sequence[AssetRecord]:
        return await self._list(
            "list_assets", _path("assets"), correlation_id, wire.asset_from_json
        )

    async def list_devices(self, *, correlation_id: str) -> Sequence[DeviceRecord]:
        return await self._list(
            "list_devices", _path("devices"), correlation_id, wire.device_from_json
        )

    # -- writes -----------------------------------------------------------------------------
    async def provision_device(self, request: ProvisionDevice) -> BridgeResult:
        body = wire.provision_to_json(request)
        return await self._write(
            LegacyOperation.PROVISION_DEVICE, "POST", _path("devices", "provision"), request, body
        )

    async def replace_device(self, request: ReplaceDevice) -> BridgeResult:
        body = wire.replace_to_json(request)
        return await self._write(
            LegacyOperation.REPLACE_DEVICE, "POST", _path("devices", "replace"), request, body
        )

    async def return_device(self, request: ReturnDevice) -> BridgeResult:
        body = wire.return_to_json(request)
        return await self._write(
            LegacyOperation.RETURN_DEVICE, "POST", _path("devices", "return"), request, body
        )

    async def update_assignment(self, request: UpdateAssignment) -> BridgeResult:
        path = _path("devices", request.device_legacy_id, "assignment")
        body = wire.assignment_to_json(request)
        return await self._write(LegacyOperation.UPDATE_ASSIGNMENT, "PUT", path, request, body)

    # -- shapes of calls --------------------------------------------------------------------
    async def _get_one(
        self, operation: str, path: str, correlation_id: str, parse: Callable[[object], R]
    ) -> R | None:
        request = self._http.build_request(
            "GET", path, headers={wire.CORRELATION_HEADER: correlation_id}
        )
        body = await self._call(operation, request, missing_is_none=True)
        return None if body is None else _parsed(operation, parse, body)

    async def _list(
        self, operation: str, path: str, correlation_id: str, parse: Callable[[object], R]
    ) -> list[R]:
        records: list[R] = []
        cursor: str | None = None
        while True:  # one request per page; the legacy API pages by the last id seen
            params: dict[str, str | int] = {"limit": self._page_size}
            if cursor is not None:
                params["cursor"] = cursor
            request = self._http.build_request(
                "GET", path, params=params, headers={wire.CORRELATION_HEADER: correlation_id}
            )
            items, cursor = _parsed(
                operation, wire.page_from_json, await self._call(operation, request)
            )
            records.extend(_parsed(operation, parse, item) for item in items)
            if cursor is None:
                return records

    async def _write(
        self,
        operation: LegacyOperation,
        method: str,
        path: str,
        request: LegacyWrite,
        body: wire.JsonObject,
    ) -> BridgeResult:
        headers = {
            wire.CORRELATION_HEADER: request.correlation_id,
            wire.IDEMPOTENCY_HEADER: request.idempotency_key,
        }
        http_request = self._http.build_request(method, path, json=body, headers=headers)
        answer = await self._call(str(operation), http_request)
        return _parsed(str(operation), wire.result_from_json, answer)

    # -- attempts, retries and the breaker --------------------------------------------------
    async def _call(
        self, operation: str, request: httpx.Request, *, missing_is_none: bool = False
    ) -> Any:
        """The JSON body of the answer (None for a 404 when `missing_is_none`)."""
        correlation_id = request.headers[wire.CORRELATION_HEADER]
        sent = 0
        for attempt in range(1, self._attempts + 1):
            try:
                permit = await self._breaker.enter(operation)
            except NotAttempted:
                if attempt == 1:
                    raise  # nothing was sent: the caller may give the attempt back
                # This call's own failures opened the breaker: requests were sent, so this is
                # a failed call, not one that never happened.
                break
            answer = await self._attempt(operation, permit, request, missing_is_none)
            sent += 1
            if isinstance(answer, httpx.Response):
                return self._settle(operation, answer, missing_is_none)
            failure = answer
            log.warning(
                "legacy %s attempt %d/%d failed: %s (correlation id %s)",
                operation,
                attempt,
                self._attempts,
                failure.reason,
                correlation_id,
            )
            if attempt < self._attempts:
                await self._sleep(self._backoff * 2 ** (attempt - 1))
        raise ExternalServiceError(
            f"legacy {operation} failed after {sent} attempt(s): {failure.reason}",
            {"operation": operation, "attempts": sent, "status": failure.status},
            retryable=True,
        )

    async def _attempt(
        self, operation: str, permit: Permit, request: httpx.Request, missing_is_none: bool
    ) -> httpx.Response | _Transient:
        """One request; the breaker hears how it went. A transient failure is returned."""
        try:
            async with asyncio.timeout(self._attempt_deadline):
                response = await self._http.send(request)
        except (httpx.TimeoutException, TimeoutError):
            answer: httpx.Response | _Transient = _Transient("timed out")
        except httpx.TransportError as error:
            answer = _Transient(f"connection failed ({type(error).__name__})")
        else:
            answer = response
            if response.status_code in TRANSIENT_STATUSES:
                answer = _Transient(f"answered {response.status_code}", response.status_code)
        await self._breaker.record(operation, permit, _outcome(answer, missing_is_none))
        return answer

    def _settle(self, operation: str, response: httpx.Response, missing_is_none: bool) -> Any:
        status = response.status_code
        if status == 404 and missing_is_none:
            return None
        if status < 300:
            try:
                return response.json()
            except ValueError:
                raise ExternalServiceError(
                    f"the legacy system sent an unreadable answer to {operation}",
                    {"operation": operation, "status": status},
                    retryable=False,
                ) from None
        message, details = wire.error_from_json(_json_or_none(response))
        raise ExternalServiceError(
            message,
            {**details, "operation": operation, "status": status},
            retryable=status >= 500,
        )


def _json_or_none(response: httpx.Response) -> object:
    try:
        body: object = response.json()
    except ValueError:
        return None
    return body


def _outcome(answer: httpx.Response | _Transient, missing_is_none: bool) -> Outcome:
    """A breaker counts whether the legacy system is up: a refusal is a healthy answer."""
    if isinstance(answer, _Transient) or answer.status_code >= 500:
        return Outcome.FAILURE
    if answer.status_code < 300 or (answer.status_code == 404 and missing_is_none):
        return Outcome.SUCCESS
    return Outcome.REFUSED
