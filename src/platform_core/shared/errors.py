"""The error taxonomy as domain exceptions; every edge maps `code` to its own status."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION = "VALIDATION"
    AUTHN = "AUTHN"
    AUTHZ = "AUTHZ"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMIT = "RATE_LIMIT"
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    """Base of every error the core raises on purpose; `details` is safe to show a client."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class ValidationError(DomainError):
    """Input breaks a rule of the model (bad value, missing field, over-allocation...)."""

    code = ErrorCode.VALIDATION


class AuthenticationError(DomainError):
    code = ErrorCode.AUTHN


class PermissionDenied(DomainError):
    code = ErrorCode.AUTHZ


class NotFoundError(DomainError):
    code = ErrorCode.NOT_FOUND

    @classmethod
    def of(cls, kind: str, entity_id: str) -> NotFoundError:
        return cls(f"{kind} {entity_id} not found", {"kind": kind, "id": entity_id})


class ConflictError(DomainError):
    """The request is valid but the current state refuses it (illegal transition, stale version)."""

    code = ErrorCode.CONFLICT


class IllegalTransition(ConflictError):
    """A state machine was asked for a (state, trigger) pair its table does not hold."""

    def __init__(self, machine: str, state: str, trigger: str) -> None:
        super().__init__(
            f"{machine}: cannot {trigger} from {state}",
            {"machine": machine, "state": state, "trigger": trigger},
        )
        self.machine = machine
        self.state = state
        self.trigger = trigger


class StaleVersion(ConflictError):
    """Optimistic concurrency: someone else changed the aggregate since it was read."""

    @classmethod
    def of(cls, kind: str, entity_id: str, expected: int) -> StaleVersion:
        return cls(
            f"{kind} {entity_id} was changed concurrently (expected version {expected})",
            {"kind": kind, "id": entity_id, "expected_version": expected},
        )


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMIT


class InternalError(DomainError):
    code = ErrorCode.INTERNAL


class ExternalServiceError(DomainError):
    """A port's remote side failed; `retryable` tells the caller whether trying again can help."""

    code = ErrorCode.INTERNAL

    def __init__(
        self, message: str, details: Mapping[str, Any] | None = None, *, retryable: bool = True
    ) -> None:
        super().__init__(message, details)
        self.retryable = retryable


class NotAttempted(ExternalServiceError):
    """A port refused to call its remote side at all (a circuit breaker is open): nothing was
    sent, so nothing can have changed there, and the same call can succeed later."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details, retryable=True)


class ServiceUnavailable(ExternalServiceError):
    """A backing service (the database, the queue) cannot be reached right now; the same
    request can succeed later. Edges answer it with 503. Nothing was changed, except when the
    connection was lost during the commit itself: then the change may have been stored, which
    is why use cases and their callers are written to be safely retried."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details, retryable=True)
