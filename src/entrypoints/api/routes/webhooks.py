"""Webhooks from Stripe and the couriers: public, proven by their signature on the raw body.

Both verify before anything is stored and are safe to receive twice: Stripe events are handled
once per event id (reactions such as invoicing run later from the outbox); courier webhooks
are kept raw and processed on the `shipments` queue, each scan recorded once per shipment.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath

from entrypoints.api.dependencies import Deps, RequestId
from entrypoints.api.errors import error_response
from entrypoints.api.openapi import ERRORS_WEBHOOK
from entrypoints.api.schemas import Ack, ErrorBody, View
from platform_core.fulfillment.couriers import (
    MAX_WEBHOOK_BYTES,
    ReceiveCourierWebhook,
    receive_courier_webhook,
)
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
    webhook_id: str


def as_bad_request(request: Request[Any, Any, Any], error: DomainError) -> Response[ErrorBody]:
    """400 VALIDATION: what senders expect for a payload or signature they must not retry as
    is (Stripe's documented answer to a failed signature check)."""
    return error_response(request, 400, ErrorCode.VALIDATION, error.message, error.details)


def body_too_large(request: Request[Any, Any, Any], _: Exception) -> Response[ErrorBody]:
    """400, not 413: to a courier an oversized delivery is a malformed one, not to retry."""
    return error_response(
        request,
        400,
        ErrorCode.VALIDATION,
        f"webhook body exceeds {MAX_WEBHOOK_BYTES} bytes",
        {"field": "body"},
    )


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
        status_code=202,
        summary="A courier's tracking webhook",
        description=(
            "Authenticated per courier (HMAC-SHA256 of the raw body or a token, in the header "
            "the registry names; compared in constant time): a wrong or missing proof answers "
            "401 and stores nothing. A body that is not the courier's format (or not JSON), "
            "or larger than 1 MB, answers 400 and stores nothing. Otherwise the raw body is "
            "kept and 202 answers at once with its id; the `shipments` queue records the "
            "tracking events, and a failure there shows in the job runs, not here."
        ),
        responses=ERRORS_WEBHOOK,
        request_max_body_size=MAX_WEBHOOK_BYTES,
        exception_handlers={
            ValidationError: as_bad_request,
            RequestEntityTooLarge: body_too_large,
        },
    )
    async def courier(
        self,
        courier_code: FromPath[str],
        request: Request[Any, Any, Any],
        deps: Deps,
        request_id: RequestId,
    ) -> CourierWebhookView:
        body = await request.body()
        command = ReceiveCourierWebhook(courier_code, dict(request.headers), body, request_id)
        webhook = await receive_courier_webhook(deps, command)
        return CourierWebhookView(status="accepted", webhook_id=webhook.id)


ROUTES = [WebhookController]
