"""Courier use cases: the registry, webhook intake, and scheduled polling.

A webhook is authenticated and read at once (so a bad one is refused and nothing is stored),
then kept raw and handed to the `shipments` queue as ``process_courier_webhook``. Polling is
planned by a cron job (``plan_tracking_polls``): each courier that is due gets its in-flight
shipments split into batches, one ``poll_courier_tracking`` job per batch. Both jobs are
idempotent: recording tracking events is (scans are de-duplicated per shipment).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from platform_core.fulfillment.model import (
    Courier,
    CourierChanges,
    CourierWebhook,
    IngestionMode,
    WebhookAuth,
    check_courier_code,
)
from platform_core.fulfillment.ports import CourierIngestDeps, FulfillmentDeps
from platform_core.fulfillment.service import (
    PollTracking,
    RecordTrackingEvents,
    TrackingReport,
    poll_tracking,
    record_tracking_events,
    registered_courier,
)
from platform_core.shared.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    ExternalServiceError,
    NotFoundError,
    ValidationError,
)

SHIPMENTS_QUEUE = "shipments"
PROCESS_WEBHOOK_JOB = "process_courier_webhook"
POLL_COURIER_JOB = "poll_courier_tracking"
# A delivery still unprocessed this long after it arrived has lost its job: enqueue it again.
LOST_WEBHOOK_AFTER = timedelta(minutes=5)
MAX_WEBHOOK_BYTES = 1_000_000


# -- registry -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegisterCourier:
    code: str
    name: str
    adapter: str
    tracking_url_template: str
    ingestion_mode: IngestionMode
    polling_interval_seconds: int = 900
    poll_batch_size: int = 50
    requests_per_minute: int | None = None
    stale_after_days: int = 30
    webhook_auth: WebhookAuth = WebhookAuth.HMAC_SHA256
    webhook_header: str = "X-Webhook-Signature"
    metadata: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    active: bool = True
    correlation_id: str | None = None


@attrs.frozen
class UpdateCourier:
    code: str
    changes: CourierChanges
    correlation_id: str | None = None


async def list_couriers(deps: FulfillmentDeps) -> list[Courier]:
    async with deps.uow() as uow:
        return await uow.couriers.all()


async def get_courier(deps: FulfillmentDeps, code: str) -> Courier:
    async with deps.uow() as uow:
        courier = await uow.couriers.by_code(code)
    if courier is None:
        raise NotFoundError.of("courier", code)
    return courier


async def register_courier(deps: FulfillmentDeps, command: RegisterCourier) -> Courier:
    """Add a courier to the registry. Rules: the code is new; the adapter is one this
    deployment has; the fields are valid (see `Courier`)."""
    _check_adapter(deps, command.adapter)
    fields: dict[str, Any] = attrs.asdict(command, recurse=False)
    del fields["correlation_id"]
    courier, events = Courier.register(
        courier_id=deps.ids.new_id("cou"), at=deps.clock.now(), **fields
    )
    async with deps.uow() as uow:
        if await uow.couriers.by_code(courier.code) is not None:
            raise ConflictError(
                f"courier {courier.code} is already registered", {"code": courier.code}
            )
        courier = await uow.couriers.add(courier)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return courier


async def update_courier(deps: FulfillmentDeps, command: UpdateCourier) -> Courier:
    """Change a courier's settings or secrets; a change that changes nothing records
    nothing. The code and adapter stay: shipments and their events refer to them."""
    async with deps.uow() as uow:
        courier = await uow.couriers.by_code(command.code)
        if courier is None:
            raise NotFoundError.of("courier", command.code)
        courier, events = courier.update(command.changes, at=deps.clock.now())
        if not events:
            return courier
        courier = await uow.couriers.update(courier)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return courier


async def ensure_couriers(
    deps: FulfillmentDeps, registrations: Sequence[RegisterCourier]
) -> list[Courier]:
    """Register those of `registrations` whose code the registry lacks (at start-up); an
    existing entry is left as Ops made it. Safe when several processes start together."""
    added = []
    for registration in registrations:
        async with deps.uow() as uow:
            if await uow.couriers.by_code(registration.code) is not None:
                continue
        try:
            added.append(await register_courier(deps, registration))
        except ConflictError:
            continue  # another process registered it first
    return added


def _check_adapter(deps: FulfillmentDeps, adapter: str) -> None:
    check_courier_code(adapter, "adapter")
    if not deps.couriers.supports(adapter):
        raise ValidationError(
            f"no courier integration named {adapter!r}", {"field": "adapter", "value": adapter}
        )


# -- webhooks -----------------------------------------------------------------------------


@attrs.frozen
class ReceiveCourierWebhook:
    courier_code: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    correlation_id: str | None = None


@attrs.frozen
class ProcessCourierWebhook:
    webhook_id: str
    correlation_id: str | None = None


async def receive_courier_webhook(
    deps: CourierIngestDeps, command: ReceiveCourierWebhook
) -> CourierWebhook:
    """Take in a courier's webhook: authenticate it, check it can be read, keep it raw and
    enqueue its processing. Rules: an unknown courier is NOT_FOUND; a courier that does not
    take webhooks, or has no secret configured, refuses every webhook (AUTHN); a bad proof is
    AUTHN; an unreadable or oversized body is VALIDATION; in each case nothing is stored."""
    async with deps.uow() as uow:
        courier = await uow.couriers.by_code(command.courier_code)
    if courier is None:
        raise NotFoundError.of("courier", command.courier_code)
    if not courier.accepts_webhooks or courier.webhook_secret is None:
        raise _refused(courier, "does not accept webhooks")
    deps.couriers.verify_webhook(courier, command.headers, command.body)
    text = _webhook_text(command.body)
    deps.couriers.parse_webhook(courier, command.body)
    webhook = CourierWebhook(
        id=deps.ids.new_id("cwh"),
        courier_code=courier.code,
        body=text,
        content_type=_header(command.headers, "content-type"),
        received_at=deps.clock.now(),
        correlation_id=command.correlation_id,
    )
    async with deps.uow() as uow:
        webhook = await uow.courier_webhooks.add(webhook)
        await uow.commit()
    await _enqueue_processing(deps, webhook.id)
    return webhook


async def process_courier_webhook(
    deps: FulfillmentDeps, command: ProcessCourierWebhook
) -> CourierWebhook:
    """Record the tracking events of a stored webhook. Processing it again changes nothing;
    a body that no longer parses (the courier's adapter changed) is marked failed and the
    error raised, so the job run shows it."""
    async with deps.uow() as uow:
        webhook = await uow.courier_webhooks.get(command.webhook_id)
        courier = await registered_courier(uow, webhook.courier_code)
    if webhook.is_processed:
        return webhook
    correlation_id = command.correlation_id or webhook.correlation_id
    try:
        events = deps.couriers.parse_webhook(courier, webhook.body.encode())
        report = await record_tracking_events(
            deps, RecordTrackingEvents(courier.code, tuple(events), correlation_id)
        )
    except ValidationError as error:
        message = error.message
        await _mark(deps, webhook.id, lambda hook: hook.failed(error=message, at=deps.clock.now()))
        raise ExternalServiceError(
            f"courier webhook {webhook.id} cannot be processed: {error.message}",
            {"webhook_id": webhook.id, **error.details},
            retryable=False,
        ) from None
    return await _mark(
        deps,
        webhook.id,
        lambda hook: hook.processed(
            recorded=report.recorded,
            duplicates=report.duplicates,
            unmatched=report.unmatched,
            at=deps.clock.now(),
        ),
    )


async def _mark(
    deps: FulfillmentDeps, webhook_id: str, change: Callable[[CourierWebhook], CourierWebhook]
) -> CourierWebhook:
    async with deps.uow() as uow:
        webhook = await uow.courier_webhooks.get(webhook_id)
        if webhook.is_processed:
            return webhook
        webhook = await uow.courier_webhooks.update(change(webhook))
        await uow.commit()
    return webhook


async def get_courier_webhook(deps: FulfillmentDeps, webhook_id: str) -> CourierWebhook:
    async with deps.uow() as uow:
        return await uow.courier_webhooks.get(webhook_id)


async def _enqueue_processing(deps: CourierIngestDeps, webhook_id: str) -> None:
    await deps.queue.enqueue(
        SHIPMENTS_QUEUE, PROCESS_WEBHOOK_JOB, {"webhook_id": webhook_id}, key=f"cwh:{webhook_id}"
    )


def _webhook_text(body: bytes) -> str:
    if len(body) > MAX_WEBHOOK_BYTES:
        raise ValidationError(f"webhook body exceeds {MAX_WEBHOOK_BYTES} bytes", {"field": "body"})
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("webhook body is not UTF-8 text", {"field": "body"}) from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value[:200]
    return None


def _refused(courier: Courier, why: str) -> DomainError:
    return AuthenticationError(f"courier {courier.code} {why}", {"courier_code": courier.code})


# -- polling ------------------------------------------------------------------------------


@attrs.frozen
class PollBatch:
    courier_code: str
    tracking_numbers: tuple[str, ...]
    key: str


@attrs.frozen
class PollCourier:
    courier_code: str
    tracking_numbers: tuple[str, ...]
    correlation_id: str | None = None


async def plan_tracking_polls(deps: CourierIngestDeps) -> list[PollBatch]:
    """The cron side of polling: for each courier that polls and is due, its in-flight
    shipments with news within `stale_after_days`, in batches of `poll_batch_size`, each
    enqueued as one job; the courier's next poll is booked an interval later. Also
    re-enqueues webhook deliveries whose processing job seems lost."""
    now = deps.clock.now()
    batches: list[PollBatch] = []
    async with deps.uow() as uow:
        couriers = [courier for courier in await uow.couriers.all() if courier.is_due(now)]
    for courier in couriers:
        batches += await _plan_courier(deps, courier, now)
    for batch in batches:
        await deps.queue.enqueue(
            SHIPMENTS_QUEUE,
            POLL_COURIER_JOB,
            {"courier_code": batch.courier_code, "tracking_numbers": list(batch.tracking_numbers)},
            key=batch.key,
        )
    await _requeue_lost_webhooks(deps, now)
    return batches


async def _plan_courier(
    deps: CourierIngestDeps, courier: Courier, now: datetime
) -> list[PollBatch]:
    async with deps.uow() as uow:
        shipments = await uow.shipments.in_flight(
            courier.code, active_since=courier.stale_before(now)
        )
        booked = courier.poll_started(at=now)
        try:
            await uow.couriers.update(booked)
        except ConflictError:
            return []  # another scheduler booked this round, or the courier was just edited
        await uow.commit()
    numbers = [shipment.tracking_number for shipment in shipments if shipment.tracking_number]
    size = courier.poll_batch_size
    slot = now.strftime("%Y%m%dT%H%M%S")
    return [
        PollBatch(
            courier.code, tuple(numbers[i : i + size]), f"poll:{courier.code}:{slot}:{i // size}"
        )
        for i in range(0, len(numbers), size)
    ]


async def _requeue_lost_webhooks(deps: CourierIngestDeps, now: datetime) -> None:
    async with deps.uow() as uow:
        lost = await uow.courier_webhooks.unprocessed(now - LOST_WEBHOOK_AFTER, limit=500)
    for webhook in lost:
        await _enqueue_processing(deps, webhook.id)


async def poll_courier(deps: FulfillmentDeps, command: PollCourier) -> TrackingReport:
    """One batch of a courier's poll. A failure backs the courier's polling off (by the
    carrier's Retry-After when it gave one) and is raised, so the job run shows it; the
    next scheduled round tries again, so the job itself is not retried."""
    try:
        report = await poll_tracking(
            deps,
            PollTracking(command.courier_code, command.tracking_numbers, command.correlation_id),
        )
    except ExternalServiceError as error:
        retry_after = error.details.get("retry_after_seconds")
        await _note_poll(deps, command.courier_code, error.message, retry_after)
        raise ExternalServiceError(error.message, error.details, retryable=False) from error
    await _note_poll(deps, command.courier_code, None, None)
    return report


async def _note_poll(
    deps: FulfillmentDeps, courier_code: str, error: str | None, retry_after: object
) -> None:
    async with deps.uow() as uow:
        courier = await registered_courier(uow, courier_code)
        if error is None:
            if courier.poll_failures == 0:
                return
            changed = courier.poll_succeeded()
        else:
            seconds = float(retry_after) if isinstance(retry_after, int | float) else None
            changed = courier.poll_failed(
                at=deps.clock.now(), error=error, retry_after_seconds=seconds
            )
        try:
            await uow.couriers.update(changed)
        except ConflictError:
            return  # a concurrent edit wins; the next failure backs off again
        await uow.commit()
