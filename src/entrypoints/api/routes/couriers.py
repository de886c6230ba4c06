"""The courier registry: list, read, register and change couriers.

Credentials and webhook secrets go in through `metadata` and never come out: answers list only
the names of the metadata entries (`metadata_keys`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody

from entrypoints.api.dependencies import Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.schemas import Body, View
from platform_core.fulfillment.couriers import (
    RegisterCourier,
    UpdateCourier,
    get_courier,
    list_couriers,
    register_courier,
    update_courier,
)
from platform_core.fulfillment.model import Courier, CourierChanges, IngestionMode, WebhookAuth

CourierCode = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["usps", "canada_post"])
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
UrlTemplate = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=500,
        examples=["https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}"],
    ),
]
Interval = Annotated[int, msgspec.Meta(ge=60, le=86_400, description="Seconds between polls")]
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=500)]
PerMinute = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Days = Annotated[int, msgspec.Meta(ge=1, le=365)]
HeaderName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{1,64}$")]
Metadata = Annotated[
    dict[str, str],
    msgspec.Meta(
        description=(
            "Credentials and secrets (e.g. client_id, client_secret, api_key, webhook_secret, "
            "webhook_token, base_url). Write-only: answers list the key names only. In a "
            "PATCH, the named entries are replaced and an empty string removes one."
        )
    ),
]


class CourierIn(Body):
    code: CourierCode
    name: Name
    adapter: CourierCode
    tracking_url_template: UrlTemplate
    ingestion_mode: IngestionMode
    polling_interval_seconds: Interval = 900
    poll_batch_size: BatchSize = 50
    requests_per_minute: PerMinute | None = None
    stale_after_days: Days = 30
    webhook_auth: WebhookAuth = WebhookAuth.HMAC_SHA256
    webhook_header: HeaderName = "X-Webhook-Signature"
    metadata: Metadata = msgspec.field(default_factory=dict)
    active: bool = True


class CourierPatchIn(Body):
    """What to change; a field left out keeps its value."""

    name: Name | None = None
    tracking_url_template: UrlTemplate | None = None
    ingestion_mode: IngestionMode | None = None
    polling_interval_seconds: Interval | None = None
    poll_batch_size: BatchSize | None = None
    requests_per_minute: PerMinute | None = None
    stale_after_days: Days | None = None
    webhook_auth: WebhookAuth | None = None
    webhook_header: HeaderName | None = None
    metadata: Metadata | None = None
    active: bool | None = None


class PollingView(View):
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    consecutive_failures: int
    last_error: str | None


class CourierView(View):
    id: str
    code: str
    name: str
    adapter: str
    tracking_url_template: str
    ingestion_mode: IngestionMode
    polling_interval_seconds: int
    poll_batch_size: int
    requests_per_minute: int | None
    stale_after_days: int
    webhook_auth: WebhookAuth
    webhook_header: str
    webhook_path: Annotated[str, msgspec.Meta(description="Where the courier posts webhooks")]
    metadata_keys: list[str]
    active: bool
    polling: PollingView
    created_at: datetime
    updated_at: datetime
    version: int


class CourierList(View):
    items: list[CourierView]


def courier_view(courier: Courier) -> CourierView:
    return CourierView(
        id=courier.id,
        code=courier.code,
        name=courier.name,
        adapter=courier.adapter,
        tracking_url_template=courier.tracking_url_template,
        ingestion_mode=courier.ingestion_mode,
        polling_interval_seconds=courier.polling_interval_seconds,
        poll_batch_size=courier.poll_batch_size,
        requests_per_minute=courier.requests_per_minute,
        stale_after_days=courier.stale_after_days,
        webhook_auth=courier.webhook_auth,
        webhook_header=courier.webhook_header,
        webhook_path=f"/v1/webhooks/couriers/{courier.code}",
        metadata_keys=list(courier.metadata_keys),
        active=courier.active,
        polling=PollingView(
            next_poll_at=courier.next_poll_at,
            last_polled_at=courier.last_polled_at,
            consecutive_failures=courier.poll_failures,
            last_error=courier.last_poll_error,
        ),
        created_at=courier.created_at,
        updated_at=courier.updated_at,
        version=courier.version,
    )


class CourierController(Controller):
    path = "/v1/couriers"
    tags = ["Couriers"]
    opt = {"family": "couriers"}

    @get("/", summary="Every courier of the registry, by code", responses=ERRORS_READ)
    async def index(self, deps: Deps) -> CourierList:
        return CourierList(items=[courier_view(c) for c in await list_couriers(deps)])

    @get("/{code:str}", summary="Get a courier", responses=ERRORS_READ)
    async def show(self, code: FromPath[str], deps: Deps) -> CourierView:
        return courier_view(await get_courier(deps, code))

    @post(
        "/",
        summary="Register a courier",
        description="A code already registered answers 409; an unknown adapter 422.",
        responses=ERRORS_WRITE,
    )
    async def create(
        self, data: JSONBody[CourierIn], deps: Deps, request_id: RequestId
    ) -> CourierView:
        command = RegisterCourier(
            **{name: getattr(data, name) for name in data.__struct_fields__},
            correlation_id=request_id,
        )
        return courier_view(await register_courier(deps, command))

    @patch(
        "/{code:str}",
        summary="Change a courier's settings, credentials or secrets",
        responses=ERRORS_WRITE,
    )
    async def update(
        self,
        code: FromPath[str],
        data: JSONBody[CourierPatchIn],
        deps: Deps,
        request_id: RequestId,
    ) -> CourierView:
        changes = CourierChanges(**{name: getattr(data, name) for name in data.__struct_fields__})
        return courier_view(await update_courier(deps, UpdateCourier(code, changes, request_id)))


ROUTES = [CourierController]
