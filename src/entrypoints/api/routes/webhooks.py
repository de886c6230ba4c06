"""Webhooks from Stripe and the couriers: public, proven by their signature on the raw body.

Both verify before anything is stored, answer as soon as the event is recorded (reactions such
as invoicing or automation run later from the outbox), and are safe to receive twice: Stripe
events are handled once per event id, courier scans once per shipment and scan.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import FromPath

from entrypoints.api.dependencies import Deps, RequestId
from entrypoints.api.errors import error_response
from entrypoints.api.openapi import ERRORS_WEBHOOK
from entrypoints.api.schemas import Ack, ErrorBody, View
from platform_core.fulfillment.service import RecordTrackingEvents, record_tracking_events
from platform_core.lifecycle.provider_events import RecordProviderEvent, record_provider_event
from platform_core.lifecycle.service import handle_provider_notification
from platform_core.shared.errors import (
    AuthenticationError,
    DomainError,
    ErrorCode,
    ValidationError,
)


class CourierWebhookView(View):
    status: str
    recorded: int
    duplicates: int
    unmatched: list[str]


def as_bad_request(request: Request[Any, Any, Any], error: DomainError) -> Response[ErrorBody]:
    """400 VALIDATION: what senders expect for a payload or signature they must not retry as
    is (Stripe's documented answer to a failed signature check)."""
    return error_response(request, 400, ErrorCode.VALIDATION, error.message, error.details)


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["Webhooks"]
    # No API key: the signature is the proof (security.PUBLIC_PATHS lets these through).
    security = [{}]

    @post(
        "/stripe",
        status_code=200,
        summary="Stripe events (checkout completed, async payment, expired, failed)",
        description=(
            "Verified with the Stripe-Signature header on the raw body; a bad or stale "
            "signature answers 400 and changes nothing. Each event id is handled once: a "
            'repeat answers 200 {"status": "duplicate"}. Otherwise status is applied or '
            "ignored (an event for no order, a late event that would move an order back)."
        ),
        responses=ERRORS_WEBHOOK,
        exception_handlers={
            AuthenticationError: as_bad_request,
            ValidationError: as_bad_request,
        },
    )
    async def stripe(self, request: Request[Any, Any, Any], deps: Deps) -> Ack:
        body = await request.body()
        notification = deps.payments.parse_webhook(body, dict(request.headers))
        outcome = await handle_provider_notification(deps, notification)
        # After handling, under its own once-per-event inbox: if this process dies between
        # the two, Stripe gets no 200 and retries, and the retry records the forward.
        await record_provider_event(
            deps, RecordProviderEvent(notification.event_id, notification.event_type, body)
        )
        return Ack(status=outcome)

    @post(
        "/couriers/{courier_code:str}",
        status_code=200,
        summary="A courier's tracking events",
        description=(
            "Verified with the courier's signature on the raw body: a wrong one answers 401 "
            "and stores nothing; an unreadable payload or unknown courier answers 400. Scans "
            "already recorded are counted as duplicates; tracking numbers no shipment carries "
            "are listed as unmatched (not refused, so the courier does not retry forever)."
        ),
        responses=ERRORS_WEBHOOK,
        exception_handlers={ValidationError: as_bad_request},
    )
    async def courier(
        self,
        courier_code: FromPath[str],
        request: Request[Any, Any, Any],
        deps: Deps,
        request_id: RequestId,
    ) -> CourierWebhookView:
        body = await request.body()
        events = deps.couriers.parse_webhook(courier_code, dict(request.headers), body)
        command = RecordTrackingEvents(courier_code, tuple(events), request_id)
        report = await record_tracking_events(deps, command)
        return CourierWebhookView(
            status="accepted",
            recorded=report.recorded,
            duplicates=report.duplicates,
            unmatched=list(report.unmatched),
        )


ROUTES = [WebhookController]
