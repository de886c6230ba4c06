"""ProviderEventForwarder over HTTP: Stripe events POSTed to the legacy service, signed.

The legacy service verifies `X-Platform-Signature: t=<unix seconds>,v1=<hex>`, where the hex
is HMAC-SHA256 with the shared fan-out secret of `"<t>.<raw body>"` (Stripe's own scheme, so
the legacy side can reuse its Stripe verification code with another secret), and may refuse
old timestamps. `X-Platform-Event-Id` carries the Stripe event id for its de-duplication:
delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from platform_core.ports.core import Clock
from platform_core.shared.errors import ExternalServiceError, ValidationError

SIGNATURE_HEADER = "X-Platform-Signature"
EVENT_ID_HEADER = "X-Platform-Event-Id"


def fanout_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class HttpProviderEventForwarder:
    """Forwards each event's raw body to one URL; any answer but 2xx is a retryable failure."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        clock: Clock,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValidationError("the fan-out URL must be an http(s) URL", {"field": "url"})
        if not secret:
            raise ValidationError("the fan-out needs a signing secret", {"field": "secret"})
        self._url = url
        self._secret = secret
        self._clock = clock
        # `transport` is for tests (httpx.MockTransport); production uses the default one.
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    @property
    def enabled(self) -> bool:
        return True

    async def forward(self, event_id: str, body: bytes) -> None:
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: fanout_signature(body, self._secret, timestamp),
            EVENT_ID_HEADER: event_id,
        }
        details = {"service": "legacy_fanout", "event_id": event_id}
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise ExternalServiceError(
                f"could not forward event {event_id}: {type(error).__name__}", details
            ) from None
        if not response.is_success:
            # Retryable even for 4xx: the receiver is ours, and a refusal is most often a
            # deploy or configuration slip that is fixed before the dead-letter limit.
            raise ExternalServiceError(
                f"the fan-out receiver answered {response.status_code} for event {event_id}",
                {**details, "status": response.status_code},
            )

    async def aclose(self) -> None:
        await self._client.aclose()


class DisabledProviderEventForwarder:
    """No fan-out configured: nothing is recorded, so nothing is ever forwarded."""

    @property
    def enabled(self) -> bool:
        return False

    async def forward(self, event_id: str, body: bytes) -> None:
        return None
