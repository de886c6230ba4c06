"""The error responses each kind of route documents in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Mapping

from litestar.openapi.datastructures import ResponseSpec

from entrypoints.api.schemas import ErrorBody


def _error(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description)


_COMMON: Mapping[int, ResponseSpec] = {
    400: _error("VALIDATION: the request could not be decoded; details.fields names each field"),
    401: _error("AUTHN: missing, unknown or revoked API key"),
    403: _error("AUTHZ: the key's role may not use this route"),
    429: _error("RATE_LIMIT: too many requests; see Retry-After and RateLimit-* headers"),
    500: _error("INTERNAL: unexpected failure (logged with the request id)"),
    503: _error("INTERNAL: the database or the queue is unavailable; retry later"),
}

ERRORS_READ: dict[int, ResponseSpec] = {
    **_COMMON,
    404: _error("NOT_FOUND: no such record (or not visible to a company-scoped key)"),
    422: _error("VALIDATION: a value breaks a rule (filters, paging)"),
}

ERRORS_WRITE: dict[int, ResponseSpec] = {
    **ERRORS_READ,
    409: _error("CONFLICT: the current state refuses the change, or a concurrent change won"),
    422: _error(
        "VALIDATION: a value breaks a business rule, or the Idempotency-Key was used "
        "for a different request"
    ),
}

ERRORS_WEBHOOK: dict[int, ResponseSpec] = {
    400: _error("VALIDATION: bad signature, stale timestamp or unreadable payload"),
    401: _error("AUTHN: the sender could not be authenticated"),
    409: _error("CONFLICT: a concurrent delivery of the same event is being handled; retry"),
    429: _error("RATE_LIMIT: too many deliveries from this sender; retry later"),
    500: _error("INTERNAL: unexpected failure"),
    503: _error("INTERNAL: the database is unavailable; the sender should retry"),
}
