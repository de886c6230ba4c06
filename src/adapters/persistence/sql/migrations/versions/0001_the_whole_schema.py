"""The whole schema: every context's tables, the event log and outbox, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:18:01.079276
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.sql.types import Instant, Json

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "addresses",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("lines", Json, nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("validation_status", sa.String(length=20), nullable=False),
        sa.Column("normalised_key", sa.Text(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("last_used_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
        sa.UniqueConstraint(
            "company_id", "normalised_key", name=op.f("uq_addresses_company_id_normalised_key")
        ),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_addresses_company_id_created_at"),
            ["company_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "automation_manual_tasks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("fulfillment_order_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_at", Instant(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_manual_tasks")),
    )
    with op.batch_alter_table("automation_manual_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_automation_manual_tasks_status_created_at"),
            ["status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_automation_manual_tasks_step_id_created_at"),
            ["step_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "automation_scenario_configs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=50), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_delay_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("fallback_description", sa.Text(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_scenario_configs")),
        sa.UniqueConstraint("scenario", name=op.f("uq_automation_scenario_configs_scenario")),
    )
    op.create_table(
        "automation_steps",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("shipment_item_id", sa.String(length=64), nullable=False),
        sa.Column("fulfillment_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=50), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("granted_attempts", sa.Integer(), nullable=False),
        sa.Column("request_revision", sa.Integer(), nullable=False),
        sa.Column("queued_at", Instant(), nullable=True),
        sa.Column("started_at", Instant(), nullable=True),
        sa.Column("next_attempt_at", Instant(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_retryable", sa.Boolean(), nullable=True),
        sa.Column("failed_at", Instant(), nullable=True),
        sa.Column("succeeded_at", Instant(), nullable=True),
        sa.Column("legacy_reference", sa.String(length=255), nullable=True),
        sa.Column("legacy_device_ids", Json, nullable=False),
        sa.Column("manual_task_id", sa.String(length=64), nullable=True),
        sa.Column("fallback_notes", sa.Text(), nullable=True),
        sa.Column("fallback_actor", sa.String(length=200), nullable=True),
        sa.Column("fallback_at", Instant(), nullable=True),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_steps")),
        sa.UniqueConstraint(
            "shipment_item_id",
            "scenario",
            name=op.f("uq_automation_steps_shipment_item_id_scenario"),
        ),
    )
    with op.batch_alter_table("automation_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_automation_steps_fulfillment_order_id_created_at"),
            ["fulfillment_order_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_automation_steps_shipment_id_created_at"),
            ["shipment_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_automation_steps_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_automation_steps_status_queued_at"),
            ["status", "queued_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_automation_steps_status_started_at"),
            ["status", "started_at"],
            unique=False,
        )

    op.create_table(
        "companies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company_mirror_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("default_shipping_address_id", sa.String(length=64), nullable=True),
        sa.Column("default_billing_address_id", sa.String(length=64), nullable=True),
        sa.Column("primary_contacts", Json, nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("company_mirror_id", name=op.f("uq_companies_company_mirror_id")),
    )
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_companies_created_at_id"), ["created_at", "id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_normalised", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("archived_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_company_id_created_at"),
            ["company_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_contacts_active_email",
            ["company_id", "email_normalised"],
            unique=True,
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )

    op.create_table(
        "domain_events",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("aggregate_type", sa.String(length=50), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("occurred_at", Instant(), nullable=False),
        sa.Column("source_module", sa.String(length=50), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_domain_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_domain_events_event_id")),
    )
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_domain_events_aggregate_type_aggregate_id_position"),
            ["aggregate_type", "aggregate_id", "position"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_domain_events_correlation_id_position"),
            ["correlation_id", "position"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_domain_events_type_occurred_at"), ["type", "occurred_at"], unique=False
        )

    op.create_table(
        "fulfillment_orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("completed_at", Instant(), nullable=True),
        sa.Column("cancelled_at", Instant(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfillment_orders")),
        sa.UniqueConstraint("order_id", name=op.f("uq_fulfillment_orders_order_id")),
    )
    with op.batch_alter_table("fulfillment_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillment_orders_company_id_created_at"),
            ["company_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_fulfillment_orders_status"), ["status"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("expires_at", Instant(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("allocated_amount", sa.BigInteger(), nullable=False),
        sa.Column("allocated_currency", sa.String(length=3), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_amount", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("issued_at", Instant(), nullable=True),
        sa.Column("payment_terms_days", sa.Integer(), nullable=True),
        sa.Column("due_date", Instant(), nullable=True),
        sa.Column("paid_at", Instant(), nullable=True),
        sa.Column("voided_at", Instant(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("overdue_notified_at", Instant(), nullable=True),
        sa.Column("billing_contact_id", sa.String(length=64), nullable=True),
        sa.Column("billing_address_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "allocated_amount <= total_amount", name=op.f("ck_invoices_allocated_within_total")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("order_id", name=op.f("uq_invoices_order_id")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_company_id_created_at_id"),
            ["company_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_created_at_id"), ["created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoices_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invoices_status_created_at_id"),
            ["status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_status_due_date"), ["status", "due_date"], unique=False
        )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=50), nullable=False),
        sa.Column("job_name", sa.String(length=100), nullable=False),
        sa.Column("job_key", sa.String(length=255), nullable=False),
        sa.Column("retry_policy", Json, nullable=False),
        sa.Column("enqueued_at", Instant(), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("related_entity_type", sa.String(length=50), nullable=True),
        sa.Column("related_entity_id", sa.String(length=64), nullable=True),
        sa.Column("scheduled_for", Instant(), nullable=True),
        sa.Column("started_at", Instant(), nullable=True),
        sa.Column("finished_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job_key", name=op.f("uq_job_runs_job_key")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_runs_enqueued_at_id"), ["enqueued_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_job_runs_queue_status_enqueued_at_id"),
            ["queue", "status", "enqueued_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_job_runs_related_entity_type_related_entity_id"),
            ["related_entity_type", "related_entity_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_job_runs_status_enqueued_at_id"),
            ["status", "enqueued_at", "id"],
            unique=False,
        )

    op.create_table(
        "legacy_asset_mirrors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_legacy_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=True),
        sa.Column("attributes", Json, nullable=False),
        sa.Column("fetched_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_asset_mirrors")),
    )
    with op.batch_alter_table("legacy_asset_mirrors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_legacy_asset_mirrors_company_legacy_id"),
            ["company_legacy_id"],
            unique=False,
        )

    op.create_table(
        "legacy_company_mirrors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("attributes", Json, nullable=False),
        sa.Column("fetched_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_company_mirrors")),
    )
    op.create_table(
        "legacy_device_mirrors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("company_legacy_id", sa.String(length=64), nullable=True),
        sa.Column("asset_legacy_id", sa.String(length=64), nullable=True),
        sa.Column("attributes", Json, nullable=False),
        sa.Column("fetched_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_device_mirrors")),
    )
    with op.batch_alter_table("legacy_device_mirrors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_legacy_device_mirrors_company_legacy_id"),
            ["company_legacy_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_legacy_device_mirrors_serial_number"), ["serial_number"], unique=False
        )

    op.create_table(
        "legacy_sync_reports",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("generated_at", Instant(), nullable=False),
        sa.Column("stale_after_seconds", sa.Integer(), nullable=False),
        sa.Column("local_count", sa.Integer(), nullable=False),
        sa.Column("remote_count", sa.Integer(), nullable=False),
        sa.Column("findings", Json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_sync_reports")),
    )
    with op.batch_alter_table("legacy_sync_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_legacy_sync_reports_generated_at"), ["generated_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_legacy_sync_reports_kind_generated_at"),
            ["kind", "generated_at"],
            unique=False,
        )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_contact_id", sa.String(length=64), nullable=False),
        sa.Column("billing_address_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("purchase_order_number", sa.String(length=100), nullable=True),
        sa.Column("checkout", Json, nullable=True),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_attempts", sa.Integer(), nullable=False),
        sa.Column("payment", Json, nullable=True),
        sa.Column("paid_at", Instant(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", Instant(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=True),
        sa.Column("refunded_currency", sa.String(length=3), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("checkout_session_id", name=op.f("uq_orders_checkout_session_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_company_id_created_at_id"),
            ["company_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_created_at_id"), ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_orders_status_created_at_id"),
            ["status", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("external_reference", sa.String(length=255), nullable=False),
        sa.Column("amount_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_currency", sa.String(length=3), nullable=False),
        sa.Column("allocated_amount", sa.BigInteger(), nullable=False),
        sa.Column("received_at", Instant(), nullable=False),
        sa.Column("refunds", Json, nullable=False),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_charge_id", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "allocated_amount <= amount_amount", name=op.f("ck_payments_allocated_within_amount")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("external_reference", name=op.f("uq_payments_external_reference")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payments_company_id_received_at"),
            ["company_id", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payments_stripe_payment_intent_id"),
            ["stripe_payment_intent_id"],
            unique=False,
        )

    op.create_table(
        "price_agreements",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_from", Instant(), nullable=False),
        sa.Column("effective_to", Instant(), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("activated_at", Instant(), nullable=True),
        sa.Column("ended_at", Instant(), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=True),
        sa.Column("has_unsynced_prices", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_agreements")),
    )
    with op.batch_alter_table("price_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_agreements_company_id_status_created_at"),
            ["company_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_price_agreements_status_effective_to"),
            ["status", "effective_to"],
            unique=False,
        )

    op.create_table(
        "price_book_entries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("price_book_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("unit_amount_amount", sa.BigInteger(), nullable=False),
        sa.Column("unit_amount_currency", sa.String(length=3), nullable=False),
        sa.Column("stripe", Json, nullable=False),
        sa.Column("stripe_sync_status", sa.String(length=20), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_book_entries")),
        sa.UniqueConstraint(
            "price_book_id",
            "product_id",
            name=op.f("uq_price_book_entries_price_book_id_product_id"),
        ),
    )
    with op.batch_alter_table("price_book_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_book_entries_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_price_book_entries_stripe_sync_status_created_at"),
            ["stripe_sync_status", "created_at"],
            unique=False,
        )

    op.create_table(
        "price_books",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("active_key", sa.String(length=40), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_books")),
        sa.UniqueConstraint("active_key", name=op.f("uq_price_books_active_key")),
    )
    with op.batch_alter_table("price_books", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_books_currency_active"), ["currency", "active"], unique=False
        )

    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("processed_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("automation_scenario", sa.String(length=50), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    op.create_table(
        "sequences",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sequences")),
    )
    op.create_table(
        "shipment_tracking_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("event", Json, nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("occurred_at", Instant(), nullable=False),
        sa.Column("recorded_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_tracking_events")),
        sa.UniqueConstraint(
            "shipment_id",
            "dedupe_key",
            name=op.f("uq_shipment_tracking_events_shipment_id_dedupe_key"),
        ),
    )
    with op.batch_alter_table("shipment_tracking_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_tracking_events_shipment_id_occurred_at_recorded_at"),
            ["shipment_id", "occurred_at", "recorded_at"],
            unique=False,
        )

    op.create_table(
        "shipments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fulfillment_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("destination", Json, nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("courier_code", sa.String(length=40), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("tracking_url", sa.Text(), nullable=True),
        sa.Column("ready_at", Instant(), nullable=True),
        sa.Column("in_transit_at", Instant(), nullable=True),
        sa.Column("delivered_at", Instant(), nullable=True),
        sa.Column("cancelled_at", Instant(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("returned_at", Instant(), nullable=True),
        sa.Column("last_tracking_status", sa.String(length=30), nullable=True),
        sa.Column("last_tracking_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint(
            "courier_code",
            "tracking_number",
            name=op.f("uq_shipments_courier_code_tracking_number"),
        ),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipments_fulfillment_order_id_created_at"),
            ["fulfillment_order_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_shipments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shipments_status_courier_code"), ["status", "courier_code"], unique=False
        )

    op.create_table(
        "contact_roles",
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_roles_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "value", name=op.f("pk_contact_roles")),
    )
    op.create_table(
        "fulfillment_items",
        sa.Column("fulfillment_order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_item_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_allocated", sa.Integer(), nullable=False),
        sa.Column("automation_scenario", sa.String(length=50), nullable=True),
        sa.CheckConstraint(
            "quantity_allocated >= 0 AND quantity_allocated <= quantity_ordered",
            name=op.f("ck_fulfillment_items_allocated_within_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["fulfillment_order_id"],
            ["fulfillment_orders.id"],
            name=op.f("fk_fulfillment_items_fulfillment_order_id_fulfillment_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfillment_items")),
    )
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillment_items_fulfillment_order_id_position"),
            ["fulfillment_order_id", "position"],
            unique=False,
        )

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_amount_amount", sa.BigInteger(), nullable=False),
        sa.Column("unit_amount_currency", sa.String(length=3), nullable=False),
        sa.Column("adjustments", Json, nullable=False),
        sa.Column("order_item_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id_position"),
            ["invoice_id", "position"],
            unique=False,
        )

    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_amount_amount", sa.BigInteger(), nullable=False),
        sa.Column("unit_amount_currency", sa.String(length=3), nullable=False),
        sa.Column("price", Json, nullable=False),
        sa.Column("automation_scenario", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_items_order_id_position"), ["order_id", "position"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Instant(), nullable=True),
        sa.Column("dispatched_at", Instant(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["domain_events.event_id"], name=op.f("fk_outbox_event_id_domain_events")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_due",
            ["position", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_status_position"), ["status", "position"], unique=False
        )

    op.create_table(
        "payment_allocations",
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("amount_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_currency", sa.String(length=3), nullable=False),
        sa.Column("allocated_at", Instant(), nullable=False),
        sa.Column("released_amount", sa.BigInteger(), nullable=False),
        sa.Column("released_currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint(
            "released_amount <= amount_amount",
            name=op.f("ck_payment_allocations_released_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_allocations_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocations")),
    )
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_allocations_invoice_id_allocated_at"),
            ["invoice_id", "allocated_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_allocations_payment_id_position"),
            ["payment_id", "position"],
            unique=False,
        )

    op.create_table(
        "price_agreement_prices",
        sa.Column("price_agreement_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("unit_amount_amount", sa.BigInteger(), nullable=False),
        sa.Column("unit_amount_currency", sa.String(length=3), nullable=False),
        sa.Column("stripe", Json, nullable=False),
        sa.ForeignKeyConstraint(
            ["price_agreement_id"],
            ["price_agreements.id"],
            name=op.f("fk_price_agreement_prices_price_agreement_id_price_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "price_agreement_id", "position", name=op.f("pk_price_agreement_prices")
        ),
    )
    op.create_table(
        "shipment_items",
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fulfillment_item_id", sa.String(length=64), nullable=False),
        sa.Column("order_item_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("automation_scenario", sa.String(length=50), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_items_positive_quantity")),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_items_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_items")),
    )
    with op.batch_alter_table("shipment_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_items_shipment_id_position"),
            ["shipment_id", "position"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("shipment_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_items_shipment_id_position"))

    op.drop_table("shipment_items")
    op.drop_table("price_agreement_prices")
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_allocations_payment_id_position"))
        batch_op.drop_index(batch_op.f("ix_payment_allocations_invoice_id_allocated_at"))

    op.drop_table("payment_allocations")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status_position"))
        batch_op.drop_index(
            "ix_outbox_due",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.drop_table("outbox")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_items_order_id_position"))

    op.drop_table("order_items")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id_position"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillment_items_fulfillment_order_id_position"))

    op.drop_table("fulfillment_items")
    op.drop_table("contact_roles")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_status_courier_code"))
        batch_op.drop_index(batch_op.f("ix_shipments_order_id"))
        batch_op.drop_index(batch_op.f("ix_shipments_fulfillment_order_id_created_at"))

    op.drop_table("shipments")
    with op.batch_alter_table("shipment_tracking_events", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_shipment_tracking_events_shipment_id_occurred_at_recorded_at")
        )

    op.drop_table("shipment_tracking_events")
    op.drop_table("sequences")
    op.drop_table("products")
    op.drop_table("processed_events")
    with op.batch_alter_table("price_books", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_books_currency_active"))

    op.drop_table("price_books")
    with op.batch_alter_table("price_book_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_book_entries_stripe_sync_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_price_book_entries_product_id"))

    op.drop_table("price_book_entries")
    with op.batch_alter_table("price_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_agreements_status_effective_to"))
        batch_op.drop_index(batch_op.f("ix_price_agreements_company_id_status_created_at"))

    op.drop_table("price_agreements")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_stripe_payment_intent_id"))
        batch_op.drop_index(batch_op.f("ix_payments_company_id_received_at"))

    op.drop_table("payments")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_orders_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_orders_company_id_created_at_id"))

    op.drop_table("orders")
    with op.batch_alter_table("legacy_sync_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legacy_sync_reports_kind_generated_at"))
        batch_op.drop_index(batch_op.f("ix_legacy_sync_reports_generated_at"))

    op.drop_table("legacy_sync_reports")
    with op.batch_alter_table("legacy_device_mirrors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legacy_device_mirrors_serial_number"))
        batch_op.drop_index(batch_op.f("ix_legacy_device_mirrors_company_legacy_id"))

    op.drop_table("legacy_device_mirrors")
    op.drop_table("legacy_company_mirrors")
    with op.batch_alter_table("legacy_asset_mirrors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legacy_asset_mirrors_company_legacy_id"))

    op.drop_table("legacy_asset_mirrors")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_status_enqueued_at_id"))
        batch_op.drop_index(batch_op.f("ix_job_runs_related_entity_type_related_entity_id"))
        batch_op.drop_index(batch_op.f("ix_job_runs_queue_status_enqueued_at_id"))
        batch_op.drop_index(batch_op.f("ix_job_runs_enqueued_at_id"))

    op.drop_table("job_runs")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_status_due_date"))
        batch_op.drop_index(batch_op.f("ix_invoices_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_issued_at"))
        batch_op.drop_index(batch_op.f("ix_invoices_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_company_id_created_at_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("fulfillment_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillment_orders_status"))
        batch_op.drop_index(batch_op.f("ix_fulfillment_orders_company_id_created_at"))

    op.drop_table("fulfillment_orders")
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_events_type_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_domain_events_correlation_id_position"))
        batch_op.drop_index(batch_op.f("ix_domain_events_aggregate_type_aggregate_id_position"))

    op.drop_table("domain_events")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_contacts_active_email",
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_contacts_company_id_created_at"))

    op.drop_table("contacts")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_companies_created_at_id"))

    op.drop_table("companies")
    with op.batch_alter_table("automation_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_steps_status_started_at"))
        batch_op.drop_index(batch_op.f("ix_automation_steps_status_queued_at"))
        batch_op.drop_index(batch_op.f("ix_automation_steps_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_automation_steps_shipment_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_automation_steps_fulfillment_order_id_created_at"))

    op.drop_table("automation_steps")
    op.drop_table("automation_scenario_configs")
    with op.batch_alter_table("automation_manual_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_manual_tasks_step_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_automation_manual_tasks_status_created_at"))

    op.drop_table("automation_manual_tasks")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_addresses_company_id_created_at"))

    op.drop_table("addresses")
