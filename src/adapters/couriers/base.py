"""What every courier adapter shares: its errors and what one tracking request yields.

Each carrier package (``usps``, ``dhl``, ``canada_post``, ``chit_chats``) has a pure parser
(raw payload -> normalised `TrackingEvent`s) and an httpx client that implements
`CourierClient`. Parsers raise the errors below for documents that are errors themselves (an
unknown tracking number, bad credentials) or that cannot be read, never a bare KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from platform_core.fulfillment.model import TrackingEvent
from platform_core.shared.errors import ExternalServiceError


class CourierAdapterError(ExternalServiceError):
    """A courier answered with an error, or with something that is not a tracking answer."""


class TrackingNumberNotFound(CourierAdapterError):
    """The courier does not know the tracking number (yet: a label may not be scanned)."""

    def __init__(self, courier_code: str, tracking_number: str, message: str = "") -> None:
        super().__init__(
            message or f"{courier_code} does not know tracking number {tracking_number}",
            {"courier_code": courier_code, "tracking_number": tracking_number},
            retryable=False,
        )
        self.tracking_number = tracking_number


class CourierAuthError(CourierAdapterError):
    """The courier refused our credentials: retrying cannot help until they are fixed."""

    def __init__(self, courier_code: str, message: str) -> None:
        super().__init__(message, {"courier_code": courier_code}, retryable=False)


class CourierRateLimited(CourierAdapterError):
    """The courier asked us to slow down (HTTP 429); `retry_after` seconds, when it said."""

    def __init__(self, courier_code: str, retry_after: float | None) -> None:
        super().__init__(
            f"{courier_code} rate limit reached",
            {"courier_code": courier_code, "retry_after_seconds": retry_after},
            retryable=True,
        )
        self.retry_after = retry_after


class CourierUnavailable(CourierAdapterError):
    """5xx answers, timeouts or refused connections, still so after the client's retries."""

    def __init__(self, courier_code: str, message: str) -> None:
        super().__init__(message, {"courier_code": courier_code}, retryable=True)


class CourierPayloadError(CourierAdapterError):
    """A document we cannot read: not JSON/XML, the wrong shape, a hostile XML construct."""

    def __init__(self, courier_code: str, message: str) -> None:
        super().__init__(message, {"courier_code": courier_code}, retryable=False)


def required_credentials(
    courier_code: str, credentials: Mapping[str, str], *keys: str
) -> list[str]:
    """The values of `keys`, in order, or CourierAuthError naming the missing keys (never any
    value: credentials stay out of messages and logs)."""
    missing = [key for key in keys if not credentials.get(key)]
    if missing:
        raise CourierAuthError(
            courier_code, f"{courier_code} credentials lack {', '.join(missing)}"
        )
    return [credentials[key] for key in keys]


@attrs.frozen
class TrackingResult:
    """What asking a courier about some tracking numbers gave: their events (every event
    the courier returned, oldest or newest first as it sent them) and the numbers it did not
    know."""

    events: tuple[TrackingEvent, ...] = ()
    not_found: tuple[str, ...] = ()

    def __add__(self, other: TrackingResult) -> TrackingResult:
        return TrackingResult(self.events + other.events, self.not_found + other.not_found)


class CourierClient(Protocol):
    """A carrier's tracking API. `max_batch` is how many numbers one `track` call may take
    (the carrier's per-request limit); the caller splits longer lists."""

    @property
    def max_batch(self) -> int: ...

    async def track(self, tracking_numbers: Sequence[str]) -> TrackingResult:
        """Events of each number. Unknown numbers go to `not_found`; raises CourierAuthError,
        CourierRateLimited, CourierUnavailable or CourierPayloadError for the whole call."""
        ...

    async def aclose(self) -> None: ...
