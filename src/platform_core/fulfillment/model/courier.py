"""The courier registry: who carries parcels, how their tracking reaches us, and the raw
webhook deliveries kept before they are processed.

A courier's `metadata` holds its credentials and webhook secret. It is never part of an event,
a repr or an API answer: only the names of its keys are shown (`metadata_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit

import attrs

from platform_core.customers.cleaning import clean_text
from platform_core.fulfillment.model.events import FulfillmentEvent, fulfillment_event
from platform_core.fulfillment.model.fields import instant, member_of, optional_instant
from platform_core.fulfillment.model.tracking import check_courier_code, check_tracking_number
from platform_core.shared.errors import ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import id_field, non_negative_int
from platform_core.shared.time import require_aware

COURIER = "courier"
COURIER_WEBHOOK = "courier_webhook"
TRACKING_NUMBER_PLACEHOLDER = "{tracking_number}"
MIN_POLLING_INTERVAL_SECONDS = 60
MAX_POLLING_INTERVAL_SECONDS = 86_400
MAX_POLL_BACKOFF = timedelta(hours=6)
MAX_METADATA_ENTRIES = 32
MAX_METADATA_VALUE_LENGTH = 4096
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_METADATA_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


class IngestionMode(StrEnum):
    """How a courier's tracking reaches us."""

    WEBHOOK = "webhook"
    POLLING = "polling"
    BOTH = "both"


class WebhookAuth(StrEnum):
    """How a courier's webhook proves itself: an HMAC-SHA256 of the raw body keyed with
    metadata ``webhook_secret``, or a fixed token (metadata ``webhook_token``) in a header."""

    HMAC_SHA256 = "hmac_sha256"
    HEADER_TOKEN = "header_token"


WEBHOOK_SECRET_KEY = {
    WebhookAuth.HMAC_SHA256: "webhook_secret",
    WebhookAuth.HEADER_TOKEN: "webhook_token",
}


def _bounded(low: int, high: int) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationError(
                f"{attribute.name} must be an integer from {low} to {high}",
                {"field": attribute.name, "value": repr(value)},
            )

    return check


def _optional_bounded(low: int, high: int) -> Any:
    check = _bounded(low, high)

    def optional(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(instance, attribute, value)

    return optional


def check_tracking_url_template(value: object, field: str = "tracking_url_template") -> str:
    """An http(s) URL with one ``{tracking_number}`` placeholder."""
    text = clean_text(value, field, max_length=500)
    parts = urlsplit(text.replace(TRACKING_NUMBER_PLACEHOLDER, "X"))
    if (
        text.count(TRACKING_NUMBER_PLACEHOLDER) != 1
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or re.search(r"[{}]", text.replace(TRACKING_NUMBER_PLACEHOLDER, ""))
    ):
        raise ValidationError(
            f"{field} must be an http(s) URL with one {TRACKING_NUMBER_PLACEHOLDER} placeholder",
            {"field": field},
        )
    return text


def check_header_name(value: object, field: str = "webhook_header") -> str:
    if not isinstance(value, str) or not _HEADER_NAME.fullmatch(value):
        raise ValidationError(f"{field} must be an HTTP header name", {"field": field})
    return value


def clean_metadata(value: object, field: str = "metadata") -> Mapping[str, str]:
    """Credentials and secrets: lower-case keys, string values, bounded in size."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be an object of strings", {"field": field})
    if len(value) > MAX_METADATA_ENTRIES:
        raise ValidationError(
            f"{field} holds at most {MAX_METADATA_ENTRIES} entries", {"field": field}
        )
    cleaned: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise ValidationError(
                f"{field} keys are lower-case names such as 'client_id'",
                {"field": f"{field}.{key}"},
            )
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE_LENGTH:
            # The value is never echoed: it may be a secret.
            raise ValidationError(
                f"{field}.{key} must be a string of at most {MAX_METADATA_VALUE_LENGTH} characters",
                {"field": f"{field}.{key}"},
            )
        cleaned[key] = item
    return MappingProxyType(dict(sorted(cleaned.items())))


def _metadata_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    clean_metadata(value, attribute.name)


def _code_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    check_courier_code(value, attribute.name)


def _header_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    check_header_name(value, attribute.name)


def _clean_name(value: object) -> str:
    return clean_text(value, "name", max_length=200)


def _freeze_metadata(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class CourierChanges:
    """What an update changes; None keeps a value. `metadata` replaces named entries (an
    empty string removes one), so a secret can be rotated without re-sending the others."""

    name: str | None = None
    tracking_url_template: str | None = None
    ingestion_mode: IngestionMode | None = None
    polling_interval_seconds: int | None = None
    poll_batch_size: int | None = None
    requests_per_minute: int | None = None
    stale_after_days: int | None = None
    webhook_auth: WebhookAuth | None = None
    webhook_header: str | None = None
    metadata: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    active: bool | None = None


@attrs.frozen(kw_only=True)
class Courier:
    """A carrier we track parcels with, and the state of its polling.

    `adapter` names the integration that speaks the carrier's API (``usps``, ``dhl``,
    ``canada_post``, ``chit_chats``, ``simulator``); several registry entries may share one,
    e.g. two DHL accounts. Polling backs off after failures: each failure doubles the wait
    (from the polling interval, at most six hours) unless the carrier said how long to wait.
    """

    id: str = attrs.field(validator=id_field)
    code: str = attrs.field(validator=_code_field)
    name: str = attrs.field(converter=_clean_name)
    adapter: str = attrs.field(validator=_code_field)
    tracking_url_template: str = attrs.field(converter=check_tracking_url_template)
    ingestion_mode: IngestionMode = attrs.field(validator=member_of(IngestionMode))
    polling_interval_seconds: int = attrs.field(
        default=900, validator=_bounded(MIN_POLLING_INTERVAL_SECONDS, MAX_POLLING_INTERVAL_SECONDS)
    )
    poll_batch_size: int = attrs.field(default=50, validator=_bounded(1, 500))
    requests_per_minute: int | None = attrs.field(
        default=None, validator=_optional_bounded(1, 100_000)
    )
    stale_after_days: int = attrs.field(default=30, validator=_bounded(1, 365))
    webhook_auth: WebhookAuth = attrs.field(
        default=WebhookAuth.HMAC_SHA256, validator=member_of(WebhookAuth)
    )
    webhook_header: str = attrs.field(default="X-Webhook-Signature", validator=_header_field)
    metadata: Mapping[str, str] = attrs.field(
        factory=dict, converter=_freeze_metadata, validator=_metadata_field, repr=False
    )
    active: bool = True
    created_at: datetime = attrs.field(validator=instant)
    updated_at: datetime = attrs.field(validator=instant)
    next_poll_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    last_polled_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    poll_failures: int = attrs.field(default=0, validator=non_negative_int)
    last_poll_error: str | None = None
    version: int = 1

    @classmethod
    def register(
        cls, *, courier_id: str, at: datetime, **fields: Any
    ) -> tuple[Courier, list[DomainEvent]]:
        require_aware(at, "at")
        courier = cls(id=courier_id, created_at=at, updated_at=at, **fields)
        return courier, [
            courier._event(FulfillmentEvent.COURIER_REGISTERED, at, courier.settings())
        ]

    # -- reading ------------------------------------------------------------------------------
    @property
    def accepts_webhooks(self) -> bool:
        return self.active and self.ingestion_mode in (IngestionMode.WEBHOOK, IngestionMode.BOTH)

    @property
    def polls(self) -> bool:
        return self.active and self.ingestion_mode in (IngestionMode.POLLING, IngestionMode.BOTH)

    @property
    def metadata_keys(self) -> tuple[str, ...]:
        return tuple(sorted(self.metadata))

    @property
    def webhook_secret(self) -> str | None:
        """The secret or token the webhook is checked against; None: not configured."""
        return self.metadata.get(WEBHOOK_SECRET_KEY[self.webhook_auth]) or None

    def tracking_url(self, tracking_number: str) -> str:
        number = quote(check_tracking_number(tracking_number), safe="")
        return self.tracking_url_template.replace(TRACKING_NUMBER_PLACEHOLDER, number)

    def is_due(self, now: datetime) -> bool:
        return self.polls and (self.next_poll_at is None or self.next_poll_at <= now)

    def stale_before(self, now: datetime) -> datetime:
        """Shipments without news since this instant are no longer polled."""
        return now - timedelta(days=self.stale_after_days)

    def settings(self) -> dict[str, JsonValue]:
        """Everything but the secrets and the polling state: what events and the API show."""
        return {
            "courier_id": self.id,
            "code": self.code,
            "name": self.name,
            "adapter": self.adapter,
            "tracking_url_template": self.tracking_url_template,
            "ingestion_mode": self.ingestion_mode.value,
            "polling_interval_seconds": self.polling_interval_seconds,
            "poll_batch_size": self.poll_batch_size,
            "requests_per_minute": self.requests_per_minute,
            "stale_after_days": self.stale_after_days,
            "webhook_auth": self.webhook_auth.value,
            "webhook_header": self.webhook_header,
            "metadata_keys": list(self.metadata_keys),
            "active": self.active,
        }

    # -- changing -----------------------------------------------------------------------------
    def update(self, changes: CourierChanges, *, at: datetime) -> tuple[Courier, list[DomainEvent]]:
        """Apply `changes`; nothing changed records nothing. A changed secret is named in the
        event (`metadata_changed`), never shown."""
        require_aware(at, "at")
        values = {
            name: value
            for name, value in attrs.asdict(changes, recurse=False).items()
            if value is not None and name != "metadata"
        }
        metadata = self._merged_metadata(changes.metadata)
        updated = attrs.evolve(self, **values, metadata=metadata)
        before, after = self.settings(), updated.settings()
        changed: list[JsonValue] = [name for name in after if after[name] != before[name]]
        secrets_changed = sorted(
            key
            for key in set(self.metadata) | set(metadata)
            if self.metadata.get(key) != metadata.get(key)
        )
        if not changed and not secrets_changed:
            return self, []
        updated = attrs.evolve(updated, updated_at=at)
        payload: dict[str, JsonValue] = {
            **after,
            "changed": changed,
            "metadata_changed": list[JsonValue](secrets_changed),
            "updated_at": at.isoformat(),
        }
        return updated, [updated._event(FulfillmentEvent.COURIER_UPDATED, at, payload)]

    def _merged_metadata(self, entries: Mapping[str, str] | None) -> Mapping[str, str]:
        if entries is None:
            return self.metadata
        merged = dict(self.metadata)
        for key, value in clean_metadata(entries).items():
            if value:
                merged[key] = value
            else:
                merged.pop(key, None)
        return clean_metadata(merged)

    def poll_started(self, *, at: datetime) -> Courier:
        """Booked for a poll now: the next one is due an interval later (no event: this is
        bookkeeping, several times an hour)."""
        require_aware(at, "at")
        return attrs.evolve(
            self,
            last_polled_at=at,
            next_poll_at=at + timedelta(seconds=self.polling_interval_seconds),
        )

    def poll_succeeded(self) -> Courier:
        return attrs.evolve(self, poll_failures=0, last_poll_error=None)

    def poll_failed(
        self, *, at: datetime, error: str, retry_after_seconds: float | None = None
    ) -> Courier:
        """Back off: `retry_after_seconds` when the carrier said, else the interval doubled
        per consecutive failure, capped at six hours."""
        require_aware(at, "at")
        failures = self.poll_failures + 1
        if retry_after_seconds is not None:
            wait = timedelta(seconds=max(retry_after_seconds, 0))
        else:
            doubled = self.polling_interval_seconds * 2 ** min(failures, 16)
            wait = timedelta(seconds=doubled)
        return attrs.evolve(
            self,
            poll_failures=failures,
            last_poll_error=error[:500],
            next_poll_at=at + min(wait, MAX_POLL_BACKOFF),
        )

    def _event(
        self, kind: FulfillmentEvent, at: datetime, payload: dict[str, JsonValue]
    ) -> DomainEvent:
        return fulfillment_event(kind, COURIER, self.id, at, payload)


def _text_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


class WebhookStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class CourierWebhook:
    """One webhook delivery as the courier sent it, kept before it is processed so nothing
    is lost if processing fails: the `shipments` queue processes it, and a failed one can be
    processed again. The authenticating header is not kept."""

    id: str = attrs.field(validator=id_field)
    courier_code: str = attrs.field(validator=_code_field)
    body: str
    content_type: str | None = None
    received_at: datetime = attrs.field(validator=instant)
    correlation_id: str | None = None
    status: WebhookStatus = attrs.field(
        default=WebhookStatus.RECEIVED, validator=member_of(WebhookStatus)
    )
    attempts: int = attrs.field(default=0, validator=non_negative_int)
    processed_at: datetime | None = attrs.field(default=None, validator=optional_instant)
    error: str | None = None
    recorded: int = 0
    duplicates: int = 0
    unmatched: tuple[str, ...] = attrs.field(default=(), converter=_text_tuple)
    version: int = 1

    @property
    def is_processed(self) -> bool:
        return self.status is WebhookStatus.PROCESSED

    def processed(
        self, *, recorded: int, duplicates: int, unmatched: tuple[str, ...], at: datetime
    ) -> CourierWebhook:
        return attrs.evolve(
            self,
            status=WebhookStatus.PROCESSED,
            attempts=self.attempts + 1,
            processed_at=require_aware(at, "at"),
            error=None,
            recorded=recorded,
            duplicates=duplicates,
            unmatched=unmatched,
        )

    def failed(self, *, error: str, at: datetime) -> CourierWebhook:
        return attrs.evolve(
            self,
            status=WebhookStatus.FAILED,
            attempts=self.attempts + 1,
            processed_at=require_aware(at, "at"),
            error=error[:1000],
        )
