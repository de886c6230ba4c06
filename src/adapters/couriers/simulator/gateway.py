"""The simulated courier: a CourierGateway whose tracking lives in the process.

Scans are scripted per tracking number (`script`); `poll` returns those already due by the
clock, the whole history each time, as real tracking APIs do. Webhooks are JSON,
``{"events": [{"tracking_number", "code", "description", "occurred_at", "location",
"exception_reason"}]}``, signed with HMAC-SHA256 of the raw body in ``X-Simulator-Signature:
sha256=<hex>``. The signature carries no timestamp: a replayed webhook is recorded once
anyway, because tracking events are de-duplicated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from platform_core.fulfillment.model import (
    TrackingEvent,
    TrackingStatus,
    check_courier_code,
    check_tracking_number,
)
from platform_core.ports.core import Clock
from platform_core.shared.errors import AuthenticationError, ValidationError
from platform_core.shared.time import require_aware

SIMULATOR_COURIER_CODE = "simulator"
SIGNATURE_HEADER = "X-Simulator-Signature"
_SIGNATURE_PREFIX = "sha256="

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
    """CourierGateway for one simulated courier (code ``simulator`` unless told otherwise)."""

    def __init__(
        self,
        *,
        secret: str | bytes,
        clock: Clock,
        courier_code: str = SIMULATOR_COURIER_CODE,
        base_url: str = "https://tracking.simulator.invalid",
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._clock = clock
        self.courier_code = check_courier_code(courier_code)
        self._base_url = base_url.rstrip("/")
        self._scripts: dict[str, list[TrackingEvent]] = {}

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
        digest = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return _SIGNATURE_PREFIX + digest

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
    def parse_webhook(
        self, courier_code: str, headers: Mapping[str, str], body: bytes
    ) -> list[TrackingEvent]:
        self._check_courier(courier_code)
        self._verify(headers, body)
        entries = _event_entries(body)
        return [self._parse_entry(entry, f"events[{index}]") for index, entry in enumerate(entries)]

    async def poll(self, courier_code: str, tracking_numbers: Sequence[str]) -> list[TrackingEvent]:
        self._check_courier(courier_code)
        now = self._clock.now()
        return [
            event
            for number in dict.fromkeys(tracking_numbers)
            for event in self._scripts.get(number, [])
            if event.occurred_at <= now
        ]

    def tracking_url(self, courier_code: str, tracking_number: str) -> str:
        self._check_courier(courier_code)
        number = quote(check_tracking_number(tracking_number), safe="")
        return f"{self._base_url}/track/{number}"

    # -- internals --------------------------------------------------------------------------
    def _check_courier(self, courier_code: str) -> None:
        if courier_code != self.courier_code:
            raise ValidationError(
                f"this gateway serves {self.courier_code}, not {courier_code!r}",
                {"field": "courier_code", "value": repr(courier_code)},
            )

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        # HTTP header names are case-insensitive; frameworks differ in how they spell them.
        by_name = {name.lower(): value for name, value in headers.items()}
        signature = by_name.get(SIGNATURE_HEADER.lower())
        if signature is None:
            raise AuthenticationError(
                f"missing {SIGNATURE_HEADER} header", {"header": SIGNATURE_HEADER}
            )
        expected = self.sign(body).encode()
        if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
            raise AuthenticationError(
                "webhook signature does not match its body", {"header": SIGNATURE_HEADER}
            )

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

    def _parse_entry(self, entry: object, path: str) -> TrackingEvent:
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
                courier_code=self.courier_code,
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
