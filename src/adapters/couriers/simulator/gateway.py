"""The simulated courier: a CourierGateway whose tracking lives in the process.

Scans are scripted per tracking number (`script`); `poll` returns those already due by the
clock, the whole history each time, as real tracking APIs do. Webhooks are JSON,
``{"events": [{"tracking_number", "code", "description", "occurred_at", "location",
"exception_reason"}]}``, signed with HMAC-SHA256 of the raw body in ``X-Simulator-Signature:
sha256=<hex>``. The signature carries no timestamp: a replayed webhook is recorded once
anyway, because tracking events are de-duplicated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from adapters.couriers.webhooks import hmac_signature, verify_webhook
from platform_core.fulfillment.couriers import RegisterCourier
from platform_core.fulfillment.model import (
    Courier,
    IngestionMode,
    TrackingEvent,
    TrackingStatus,
    WebhookAuth,
    check_courier_code,
    check_tracking_number,
)
from platform_core.fulfillment.ports import CourierPoll
from platform_core.ports.core import Clock
from platform_core.shared.errors import ValidationError
from platform_core.shared.time import require_aware

SIMULATOR_COURIER_CODE = "simulator"
SIMULATOR_ADAPTER = "simulator"
SIGNATURE_HEADER = "X-Simulator-Signature"

# The simulator's own event codes. Like a real courier it has a vocabulary of its own,
# which the gateway normalises; a code outside this table means `unknown`.
RAW_CODES: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "LC": TrackingStatus.PRE_TRANSIT,
        "IT": TrackingStatus.IN_TRANSIT,
        "OD": TrackingStatus.OUT_FOR_DELIVERY,
        "DL": TrackingStatus.DELIVERED,
        "EX": TrackingStatus.EXCEPTION,
        "RS": TrackingStatus.RETURNED,
    }
)
_UNKNOWN_CODE = "ZZ"
_CODE_OF_STATUS = {status: code for code, status in RAW_CODES.items()}
_DESCRIPTIONS = {
    "LC": "Label created, awaiting pickup",
    "IT": "In transit to next facility",
    "OD": "Out for delivery",
    "DL": "Delivered",
    "EX": "Delivery exception",
    "RS": "Returned to sender",
    _UNKNOWN_CODE: "Status update",
}
_SIMULATED_EXCEPTION = "Recipient not available (simulated)"


class SimulatorCourierGateway:
    """CourierGateway of the simulated courier (registered as ``simulator`` unless told
    otherwise); `registration` is its registry entry, carrying the webhook secret."""

    def __init__(
        self,
        *,
        secret: str,
        clock: Clock,
        courier_code: str = SIMULATOR_COURIER_CODE,
        base_url: str = "https://tracking.simulator.invalid",
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._secret = secret
        self._clock = clock
        self.courier_code = check_courier_code(courier_code)
        self._base_url = base_url.rstrip("/")
        self._scripts: dict[str, list[TrackingEvent]] = {}

    def registration(self) -> RegisterCourier:
        """The registry entry of this simulated courier: webhooks and polling, signed with
        this gateway's secret."""
        return RegisterCourier(
            code=self.courier_code,
            name="Courier simulator",
            adapter=SIMULATOR_ADAPTER,
            tracking_url_template=self._base_url + "/track/{tracking_number}",
            ingestion_mode=IngestionMode.BOTH,
            polling_interval_seconds=300,
            webhook_auth=WebhookAuth.HMAC_SHA256,
            webhook_header=SIGNATURE_HEADER,
            metadata={"webhook_secret": self._secret},
        )

    # -- scripting (tests, demo, CLI) ---------------------------------------------------------
    def script(
        self,
        tracking_number: str,
        statuses: Sequence[TrackingStatus],
        *,
        start: datetime | None = None,
        every: timedelta = timedelta(hours=6),
        location: str | None = None,
    ) -> list[TrackingEvent]:
        """Plan scans for `tracking_number`: the n-th status happens at `start + n * every`
        (`start` defaults to now). Returns the planned events; later scripts add to them."""
        check_tracking_number(tracking_number)
        first = self._clock.now() if start is None else require_aware(start, "start")
        planned = [
            self._scan(tracking_number, status, first + index * every, location)
            for index, status in enumerate(statuses)
        ]
        self._scripts.setdefault(tracking_number, []).extend(planned)
        return planned

    def sign(self, body: bytes) -> str:
        """The ``X-Simulator-Signature`` header value for `body`."""
        return hmac_signature(self._secret, body)

    def webhook_body(self, events: Sequence[TrackingEvent]) -> bytes:
        """A webhook body carrying `events` in the simulator's JSON format."""
        entries = [
            {
                "tracking_number": event.tracking_number,
                "code": event.raw_code,
                "description": event.raw_text,
                "occurred_at": event.occurred_at.isoformat(),
                "location": event.location,
                "exception_reason": event.exception_reason,
            }
            for event in events
        ]
        return json.dumps({"events": entries}).encode()

    def signed_webhook(self, events: Sequence[TrackingEvent]) -> tuple[dict[str, str], bytes]:
        """Headers and body of the webhook the simulator would send for `events`."""
        body = self.webhook_body(events)
        return {SIGNATURE_HEADER: self.sign(body), "Content-Type": "application/json"}, body

    # -- CourierGateway ---------------------------------------------------------------------
    def supports(self, adapter: str) -> bool:
        return adapter == SIMULATOR_ADAPTER

    def verify_webhook(self, courier: Courier, headers: Mapping[str, str], body: bytes) -> None:
        verify_webhook(courier, headers, body)

    def parse_webhook(self, courier: Courier, body: bytes) -> list[TrackingEvent]:
        entries = _event_entries(body)
        return [
            self._parse_entry(courier.code, entry, f"events[{index}]")
            for index, entry in enumerate(entries)
        ]

    async def poll(self, courier: Courier, tracking_numbers: Sequence[str]) -> CourierPoll:
        now = self._clock.now()
        numbers = list(dict.fromkeys(tracking_numbers))
        events = [
            attrs.evolve(event, courier_code=courier.code)
            for number in numbers
            for event in self._scripts.get(number, [])
            if event.occurred_at <= now
        ]
        unknown = tuple(number for number in numbers if number not in self._scripts)
        return CourierPoll(tuple(events), unknown)

    def check_tracking_number(self, courier: Courier, tracking_number: str) -> None:
        check_tracking_number(tracking_number)  # the simulator prints any format

    # -- internals --------------------------------------------------------------------------
    def _scan(
        self, tracking_number: str, status: TrackingStatus, at: datetime, location: str | None
    ) -> TrackingEvent:
        code = _CODE_OF_STATUS.get(status, _UNKNOWN_CODE)
        return TrackingEvent(
            courier_code=self.courier_code,
            tracking_number=tracking_number,
            status=status,
            raw_code=code,
            raw_text=_DESCRIPTIONS[code],
            occurred_at=at,
            location=location,
            exception_reason=_SIMULATED_EXCEPTION if status is TrackingStatus.EXCEPTION else None,
        )

    def _parse_entry(self, courier_code: str, entry: object, path: str) -> TrackingEvent:
        if not isinstance(entry, dict):
            raise ValidationError(f"{path} must be an object", {"field": path})
        code = _required_text(entry, "code", path)
        tracking_number = _required_text(entry, "tracking_number", path)
        description = _optional_text(entry, "description", path) or ""
        occurred_at = _instant(entry, "occurred_at", path)
        location = _optional_text(entry, "location", path)
        exception_reason = _optional_text(entry, "exception_reason", path)
        try:
            return TrackingEvent(
                courier_code=courier_code,
                tracking_number=tracking_number,
                status=RAW_CODES.get(code, TrackingStatus.UNKNOWN),
                raw_code=code,
                raw_text=description,
                occurred_at=occurred_at,
                location=location,
                exception_reason=exception_reason,
            )
        except ValidationError as error:
            # Name the entry, so the courier (or whoever replays it) can find the bad field.
            field = f"{path}.{error.details.get('field', '')}"
            raise ValidationError(error.message, {**error.details, "field": field}) from None


def _event_entries(body: bytes) -> list[Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError("webhook body is not JSON", {"field": "body"}) from None
    entries = document.get("events") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValidationError("webhook body needs an 'events' list", {"field": "events"})
    return entries


def _required_text(entry: Mapping[str, Any], key: str, path: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{path}.{key} must be a non-empty string", {"field": f"{path}.{key}"}
        )
    return value


def _optional_text(entry: Mapping[str, Any], key: str, path: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{path}.{key} must be a string", {"field": f"{path}.{key}"})
    return value


def _instant(entry: Mapping[str, Any], key: str, path: str) -> datetime:
    text = _required_text(entry, key, path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{path}.{key} must be an ISO 8601 instant", {"field": f"{path}.{key}"}
        ) from None
    return require_aware(moment, f"{path}.{key}")
