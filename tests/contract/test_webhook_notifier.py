"""WebhookNotifier against a real HTTP receiver on 127.0.0.1 (uvicorn): signed JSON, retries
on 5xx, timeouts and refused connections, none on 4xx, and never an error for the caller;
FanoutNotifier and the bootstrap settings that turn the webhook on."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from tests.support.network import free_port
from tests.support.network import serving as serving_app

from adapters.clock import FixedClock
from adapters.notifications import (
    FanoutNotifier,
    LoggingNotifier,
    RecordingNotifier,
    WebhookNotifier,
)
from entrypoints.bootstrap import MEMORY_URL, Settings, bootstrap
from platform_core.ports.core import Notification
from platform_core.shared.errors import ValidationError

SECRET = "ops-webhook-secret"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALERT = Notification(
    subject="Legacy drift: device mirrors disagree",
    body="Drift report syn_1 (device): mismatched 1.",
    severity="warning",
    tags=("legacy", "drift"),
    related={"sync_report_id": "syn_1"},
)


@attrs.define
class Received:
    headers: dict[str, str]
    body: bytes


@attrs.define
class Receiver:
    """A tiny ASGI webhook receiver: answers the scripted statuses in turn (then 200), and
    holds a request open while `stall` is set, as a hung receiver would."""

    statuses: list[int] = attrs.field(factory=list)
    received: list[Received] = attrs.field(factory=list)
    stall: bool = False
    released: asyncio.Event = attrs.field(factory=asyncio.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body))
        if self.stall:
            await self.released.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[str]:
    """`receiver` under uvicorn on 127.0.0.1 in this event loop; yields its URL. A stalled
    request is released first, so the server can stop."""
    async with serving_app(receiver) as base_url:
        try:
            yield f"{base_url}/ops-hook"
        finally:
            receiver.released.set()


class Sleeps:
    """Records the pauses between attempts instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def notifier_for() -> AsyncIterator[Any]:
    made: list[WebhookNotifier] = []

    def make(url: str, **options: Any) -> WebhookNotifier:
        options.setdefault("sleep", Sleeps())
        notifier = WebhookNotifier(url, SECRET, FixedClock(NOW), **options)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.aclose()


def expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_a_notification_arrives_as_signed_json(notifier_for: Any) -> None:
    """One POST; the JSON carries every field and the clock's time; the HMAC-SHA256 of the
    raw body with the shared secret matches the signature header."""
    receiver = Receiver()
    async with serving(receiver) as url:
        await notifier_for(url).notify(ALERT)
    (request,) = receiver.received
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-platform-signature"] == expected_signature(request.body)
    assert json.loads(request.body) == {
        "subject": ALERT.subject,
        "body": ALERT.body,
        "severity": "warning",
        "tags": ["legacy", "drift"],
        "related": {"sync_report_id": "syn_1"},
        "sent_at": NOW.isoformat(),
    }
    forged = hmac.new(b"another secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-platform-signature"] != f"sha256={forged}"


async def test_5xx_answers_are_retried_until_one_succeeds(notifier_for: Any) -> None:
    """Two 503s then 200: three identical signed requests, with growing pauses between."""
    receiver = Receiver(statuses=[503, 502])
    sleeps = Sleeps()
    async with serving(receiver) as url:
        await notifier_for(url, sleep=sleeps, retry_delay_seconds=0.5).notify(ALERT)
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1
    assert sleeps.delays == [0.5, 1.0]


async def test_a_receiver_that_keeps_failing_is_logged_not_raised(
    notifier_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Three 500s: two retries, then an error in the log; the caller sees nothing."""
    receiver = Receiver(statuses=[500, 500, 500, 500])
    async with serving(receiver) as url:
        with caplog.at_level(logging.ERROR, "platform_core.notifications.webhook"):
            await notifier_for(url).notify(ALERT)
    assert len(receiver.received) == 3
    assert "not delivered after 3 attempt(s): the receiver answered 500" in caplog.text


async def test_a_4xx_answer_is_not_retried(
    notifier_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The receiver refused this message: sending it again would change nothing."""
    receiver = Receiver(statuses=[401])
    async with serving(receiver) as url:
        with caplog.at_level(logging.ERROR, "platform_core.notifications.webhook"):
            await notifier_for(url).notify(ALERT)
    assert len(receiver.received) == 1
    assert "not delivered after 1 attempt(s): the receiver answered 401" in caplog.text


async def test_a_hung_receiver_times_out_and_is_retried(
    notifier_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request is held open past the timeout: every attempt is made, then logged."""
    receiver = Receiver(stall=True)
    async with serving(receiver) as url:
        with caplog.at_level(logging.ERROR, "platform_core.notifications.webhook"):
            await notifier_for(url, timeout_seconds=0.2).notify(ALERT)
    assert len(receiver.received) == 3
    assert "ReadTimeout" in caplog.text


async def test_nobody_listening_is_logged_not_raised(
    notifier_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused connection is retried like an outage and never reaches the caller."""
    url = f"http://127.0.0.1:{free_port()}/ops-hook"
    sleeps = Sleeps()
    with caplog.at_level(logging.ERROR, "platform_core.notifications.webhook"):
        await notifier_for(url, sleep=sleeps).notify(ALERT)
    assert len(sleeps.delays) == 2
    assert "ConnectError" in caplog.text


def test_a_webhook_needs_an_http_url_and_a_secret() -> None:
    clock = FixedClock(NOW)
    with pytest.raises(ValidationError):
        WebhookNotifier("ftp://example.test/hook", SECRET, clock)
    with pytest.raises(ValidationError):
        WebhookNotifier("https://example.test/hook", "", clock)


class Broken:
    async def notify(self, notification: Notification) -> None:
        raise RuntimeError("channel down")


async def test_the_fanout_reaches_every_notifier_even_past_a_broken_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A notifier that raises is logged; the ones after it still get the notification."""
    first, last = RecordingNotifier(), RecordingNotifier()
    fanout = FanoutNotifier([first, Broken(), last])
    with caplog.at_level(logging.ERROR, "platform_core.notifications.webhook"):
        await fanout.notify(ALERT)
    assert first.sent == [ALERT]
    assert last.sent == [ALERT]
    assert "notifier Broken failed" in caplog.text


async def test_bootstrap_sends_ops_notifications_to_the_log_and_the_webhook() -> None:
    """With PLATFORM_OPS_WEBHOOK_URL and its secret the platform's notifier is the log plus
    the webhook, reaching a real receiver; without the URL it is the log alone; a URL
    without a secret is refused at start."""
    receiver = Receiver()
    async with serving(receiver) as url:
        settings = Settings.from_env(
            {
                "PLATFORM_DATABASE_URL": MEMORY_URL,
                "PLATFORM_OPS_WEBHOOK_URL": url,
                "PLATFORM_OPS_WEBHOOK_SECRET": SECRET,
            }
        )
        assert (settings.ops_webhook_url, settings.ops_webhook_secret) == (url, SECRET)
        platform = bootstrap(settings)
        try:
            notifier = platform.deps.notifier
            assert isinstance(notifier, FanoutNotifier)
            assert [type(n) for n in notifier.notifiers] == [LoggingNotifier, WebhookNotifier]
            await notifier.notify(ALERT)
        finally:
            await platform.close()
    (request,) = receiver.received
    assert request.headers["x-platform-signature"] == expected_signature(request.body)
    plain = bootstrap(Settings(database_url=MEMORY_URL))
    try:
        assert isinstance(plain.deps.notifier, LoggingNotifier)
    finally:
        await plain.close()
    with pytest.raises(ValidationError):
        bootstrap(Settings(database_url=MEMORY_URL, ops_webhook_url=url))
