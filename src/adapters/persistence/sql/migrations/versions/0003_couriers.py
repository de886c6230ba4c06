"""The courier registry and raw courier webhook deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:39:46.310422
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.sql.types import Instant

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "courier_webhooks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("courier_code", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("received_at", Instant(), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", Instant(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("recorded", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_webhooks")),
    )
    with op.batch_alter_table("courier_webhooks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_courier_webhooks_courier_code_received_at"),
            ["courier_code", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_courier_webhooks_status_received_at"),
            ["status", "received_at"],
            unique=False,
        )

    op.create_table(
        "couriers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("adapter", sa.String(length=40), nullable=False),
        sa.Column("tracking_url_template", sa.Text(), nullable=False),
        sa.Column("ingestion_mode", sa.String(length=20), nullable=False),
        sa.Column("polling_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("poll_batch_size", sa.Integer(), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("stale_after_days", sa.Integer(), nullable=False),
        sa.Column("webhook_auth", sa.String(length=20), nullable=False),
        sa.Column("webhook_header", sa.String(length=64), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("next_poll_at", Instant(), nullable=True),
        sa.Column("last_polled_at", Instant(), nullable=True),
        sa.Column("poll_failures", sa.Integer(), nullable=False),
        sa.Column("last_poll_error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_couriers")),
        sa.UniqueConstraint("code", name=op.f("uq_couriers_code")),
    )


def downgrade() -> None:
    op.drop_table("couriers")
    with op.batch_alter_table("courier_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courier_webhooks_status_received_at"))
        batch_op.drop_index(batch_op.f("ix_courier_webhooks_courier_code_received_at"))

    op.drop_table("courier_webhooks")
