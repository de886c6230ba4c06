"""One error payload for every failure: `{"error": {code, message, details, request_id}}`.

Domain errors carry their taxonomy code; Litestar's own exceptions (bad JSON, unknown route,
rate limit) are mapped to the same codes; anything else is logged with its traceback and
answered as INTERNAL without one. Nothing a client sees names a table, a query or a file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from entrypoints.api.observability import request_id_of
from entrypoints.api.schemas import ErrorBody, ErrorDetail
from platform_core.shared.errors import DomainError, ErrorCode, ServiceUnavailable

log = logging.getLogger("platform_core.api")

STATUS_OF: Mapping[ErrorCode, int] = {
    ErrorCode.VALIDATION: 422,
    ErrorCode.AUTHN: 401,
    ErrorCode.AUTHZ: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMIT: 429,
    ErrorCode.INTERNAL: 500,
}

# Litestar raises these for requests that never reach a route's code.
_CODE_OF_STATUS: Mapping[int, ErrorCode] = {
    400: ErrorCode.VALIDATION,
    401: ErrorCode.AUTHN,
    403: ErrorCode.AUTHZ,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.VALIDATION,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.VALIDATION,
    415: ErrorCode.VALIDATION,
    422: ErrorCode.VALIDATION,
    429: ErrorCode.RATE_LIMIT,
}


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    code: ErrorCode,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[ErrorBody]:
    body = ErrorBody(
        error=ErrorDetail(
            code=str(code),
            message=message,
            details=dict(details or {}),
            request_id=request_id_of(request.scope),
        )
    )
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def on_domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[ErrorBody]:
    if isinstance(error, ServiceUnavailable):
        return error_response(
            request,
            HTTP_503_SERVICE_UNAVAILABLE,
            ErrorCode.INTERNAL,
            error.message,
            error.details,
            headers={"Retry-After": "5"},
        )
    status = STATUS_OF[error.code]
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("request %s failed: %r", request_id_of(request.scope), error)
    return error_response(request, status, error.code, error.message, error.details)


def on_validation_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[ErrorBody]:
    """The request could not be decoded into the route's parameters or body."""
    fields = [_field(item) for item in error.extra or ()] if isinstance(error.extra, list) else []
    details: dict[str, Any] = {"fields": fields} if fields else {}
    message = "the request is invalid" if fields else str(error.detail)
    return error_response(request, 400, ErrorCode.VALIDATION, message, details)


def _field(item: object) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        return {"message": str(item)}
    return {
        "field": item.get("key"),
        "source": item.get("source"),
        "message": item.get("message"),
    }


def on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorBody]:
    status = error.status_code
    code = _CODE_OF_STATUS.get(status, ErrorCode.INTERNAL)
    headers = dict(error.headers or {})
    if status == 429:
        headers.setdefault("Retry-After", headers.get("RateLimit-Reset", "1"))
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("request %s failed: %s", request_id_of(request.scope), error.detail)
        return error_response(request, status, code, "internal error", headers=headers)
    return error_response(request, status, code, str(error.detail), headers=headers)


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[ErrorBody]:
    log.exception("request %s failed", request_id_of(request.scope), exc_info=error)
    return error_response(
        request, HTTP_500_INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL, "internal error"
    )


EXCEPTION_HANDLERS: Mapping[Any, Any] = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
