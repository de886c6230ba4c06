"""Notifiers that reach people through an HTTP webhook (Slack relay, PagerDuty bridge, a chat
ops bot), and the fan-out that sends every notification to the log and the webhook.

The receiver verifies `X-Platform-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body
with the shared secret. The core calls a notifier after its transaction has committed and does
not catch its errors, so these notifiers never raise: a notification that cannot be delivered
is logged, and the use case that caused it still succeeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx

from platform_core.ports.core import Clock, Notification, Notifier
from platform_core.shared.errors import ValidationError

SIGNATURE_HEADER = "X-Platform-Signature"
DEFAULT_TIMEOUT_SECONDS = 5.0
# Two retries after the first try, a short pause apart: an alert is worth a second chance, but
# the caller (a worker or a request) must not wait long on a receiver that is down.
DEFAULT_ATTEMPTS = 3
DEFAULT_RETRY_DELAY_SECONDS = 0.5

_log = logging.getLogger("platform_core.notifications.webhook")


def webhook_signature(body: bytes, secret: str) -> str:
    """The signature header value for `body`: `sha256=` and the hex HMAC-SHA256."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookNotifier:
    """POSTs each notification as signed JSON: {subject, body, severity, tags, related, sent_at}.

    5xx answers, timeouts and connection errors are retried (`attempts` tries in all); a 4xx
    answer is not (the receiver refused this message; sending it again changes nothing).
    """

    def __init__(
        self,
        url: str,
        secret: str,
        clock: Clock,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        attempts: int = DEFAULT_ATTEMPTS,
        retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValidationError("the ops webhook URL must be an http(s) URL", {"field": "url"})
        if not secret:
            raise ValidationError("the ops webhook needs a signing secret", {"field": "secret"})
        if attempts < 1:
            raise ValidationError("attempts must be at least 1", {"field": "attempts"})
        self._url = url
        self._secret = secret
        self._clock = clock
        self._attempts = attempts
        self._retry_delay = retry_delay_seconds
        self._sleep = sleep
        # `transport` is for tests (httpx.MockTransport); production uses the default one.
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    def encode(self, notification: Notification) -> bytes:
        """The JSON body sent for `notification` (keys sorted, so it is stable)."""
        document = {
            "subject": notification.subject,
            "body": notification.body,
            "severity": notification.severity,
            "tags": list(notification.tags),
            "related": dict(notification.related),
            "sent_at": self._clock.now().isoformat(),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")

    async def notify(self, notification: Notification) -> None:
        body = self.encode(notification)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature(body, self._secret),
        }
        for attempt in range(1, self._attempts + 1):
            outcome = await self._post(body, headers)
            if outcome is None:
                return
            retryable, reason = outcome
            if not retryable or attempt == self._attempts:
                _log.error(
                    "ops webhook notification %r not delivered after %d attempt(s): %s",
                    notification.subject,
                    attempt,
                    reason,
                    extra={"related": dict(notification.related)},
                )
                return
            await self._sleep(self._retry_delay * attempt)

    async def _post(self, body: bytes, headers: dict[str, str]) -> tuple[bool, str] | None:
        """None when delivered; else (retryable, reason)."""
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as error:  # timeouts, refused connections, broken responses
            return True, f"{type(error).__name__}: {error}"
        if response.is_success:
            return None
        return response.status_code >= 500, f"the receiver answered {response.status_code}"

    async def aclose(self) -> None:
        await self._client.aclose()


class FanoutNotifier:
    """Sends each notification to every notifier in turn; one failing does not stop the rest
    (and nothing is raised to the caller)."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self._notifiers = tuple(notifiers)

    @property
    def notifiers(self) -> tuple[Notifier, ...]:
        return self._notifiers

    async def notify(self, notification: Notification) -> None:
        for notifier in self._notifiers:
            try:
                await notifier.notify(notification)
            except Exception:  # a broken channel must not fail the use case or the others
                name = type(notifier).__name__
                _log.exception("notifier %s failed on %r", name, notification.subject)

    async def aclose(self) -> None:
        for notifier in self._notifiers:
            if isinstance(notifier, WebhookNotifier):
                await notifier.aclose()
