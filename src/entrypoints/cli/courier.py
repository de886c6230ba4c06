"""`platform-core simulate-courier`: replay a realistic tracking sequence through the webhook.

The events go over HTTP to the running API's `/v1/webhooks/couriers/{courier}` route, signed
like the simulator courier signs them, so they take exactly the path a real courier's do. The
sequence includes a duplicate delivery and an event that arrives after a later one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from adapters.clock import SystemClock
from adapters.couriers.simulator import SimulatorCourierGateway
from entrypoints.bootstrap import Settings
from platform_core.fulfillment.model import TrackingEvent, TrackingStatus

SEQUENCE = (
    TrackingStatus.PRE_TRANSIT,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.DELIVERED,
)


def deliveries(
    gateway: SimulatorCourierGateway, tracking_number: str, start: datetime
) -> list[list[TrackingEvent]]:
    """The webhook bodies to send, in order: each scan once, the second scan twice
    (a duplicate), and the first in-transit scan only after out-for-delivery (out of order)."""
    scans = gateway.script(tracking_number, SEQUENCE, start=start, every=timedelta(hours=5))
    pre, first_transit, second_transit, out, delivered = scans
    return [[pre], [second_transit], [second_transit], [out], [first_transit], [delivered]]


def simulate(api_url: str, tracking_number: str, courier: str, hours_ago: float) -> int:
    settings = Settings.from_env()
    gateway = SimulatorCourierGateway(
        secret=settings.courier_webhook_secret, clock=SystemClock(), courier_code=courier
    )
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    url = f"{api_url.rstrip('/')}/v1/webhooks/couriers/{courier}"
    for events in deliveries(gateway, tracking_number, start):
        headers, body = gateway.signed_webhook(events)
        status, answer = post_json(url, headers, body)
        codes = ",".join(event.raw_code for event in events)
        print(f"{codes:<4} {events[0].occurred_at.isoformat()} -> {status} {answer}")
        if status >= 400:
            return 1
    return 0


def post_json(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """POST `body` and return the status and a one-line excerpt of the answer."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _short(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _short(error.read())


def _short(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), separators=(",", ":"))[:200]
    except ValueError:
        return body[:200].decode("utf-8", "replace")
