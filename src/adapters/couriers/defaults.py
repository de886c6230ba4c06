"""The couriers every registry starts with: USPS, DHL, Canada Post and Chit Chats.

They are registered without credentials (Ops add them with `PATCH /v1/couriers/{code}`), so
polling a carrier fails, visibly in its job runs, until it has them. Rates follow the
carriers' default quotas (USPS grants 60 tracking calls an hour to a new app; DHL's Unified
API a call every few seconds and a daily cap), which is why their polls are hourly.
"""

from __future__ import annotations

from platform_core.fulfillment.couriers import RegisterCourier
from platform_core.fulfillment.model import IngestionMode, WebhookAuth

DEFAULT_COURIERS: tuple[RegisterCourier, ...] = (
    RegisterCourier(
        code="usps",
        name="USPS",
        adapter="usps",
        tracking_url_template="https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}",
        ingestion_mode=IngestionMode.BOTH,
        polling_interval_seconds=3600,
        poll_batch_size=20,
        requests_per_minute=1,
        webhook_auth=WebhookAuth.HMAC_SHA256,
        webhook_header="X-USPS-Signature",
    ),
    RegisterCourier(
        code="dhl",
        name="DHL",
        adapter="dhl",
        tracking_url_template=(
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking_number}"
        ),
        ingestion_mode=IngestionMode.BOTH,
        polling_interval_seconds=3600,
        poll_batch_size=10,
        requests_per_minute=10,
        webhook_auth=WebhookAuth.HEADER_TOKEN,
        webhook_header="DHL-Webhook-Token",
    ),
    RegisterCourier(
        code="canada_post",
        name="Canada Post",
        adapter="canada_post",
        tracking_url_template=(
            "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{tracking_number}"
        ),
        ingestion_mode=IngestionMode.POLLING,
        polling_interval_seconds=3600,
        poll_batch_size=50,
        requests_per_minute=60,
    ),
    RegisterCourier(
        code="chit_chats",
        name="Chit Chats",
        adapter="chit_chats",
        tracking_url_template="https://chitchats.com/tracking/{tracking_number}",
        ingestion_mode=IngestionMode.POLLING,
        polling_interval_seconds=1800,
        poll_batch_size=50,
        requests_per_minute=60,
    ),
)
