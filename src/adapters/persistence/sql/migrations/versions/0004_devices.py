"""Devices, assets and their assignment windows (device <-> company, device <-> asset).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.sql.types import Instant

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# One current window per device and kind: a partial unique index on both databases.
CURRENT_WINDOW = "valid_to IS NULL"


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("legacy_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("registered_at", Instant(), nullable=False),
        sa.Column("status_changed_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("legacy_id", name=op.f("uq_devices_legacy_id")),
        sa.UniqueConstraint("serial_number", name=op.f("uq_devices_serial_number")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_devices_registered_at_id"), ["registered_at", "id"], unique=False
        )

    op.create_table(
        "assets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("legacy_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("registered_at", Instant(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("legacy_id", name=op.f("uq_assets_legacy_id")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assets_company_id_name_id"), ["company_id", "name", "id"], unique=False
        )

    op.create_table(
        "device_assignments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("valid_from", Instant(), nullable=False),
        sa.Column("valid_to", Instant(), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_device_assignments_window_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_assignments")),
    )
    with op.batch_alter_table("device_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_assignments_device_id_valid_from"),
            ["device_id", "valid_from"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_device_assignments_holder_id_kind"),
            ["holder_id", "kind"],
            unique=False,
        )
        batch_op.create_index(
            "uq_device_assignments_current",
            ["device_id", "kind"],
            unique=True,
            postgresql_where=sa.text(CURRENT_WINDOW),
            sqlite_where=sa.text(CURRENT_WINDOW),
        )


def downgrade() -> None:
    with op.batch_alter_table("device_assignments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_device_assignments_current",
            postgresql_where=sa.text(CURRENT_WINDOW),
            sqlite_where=sa.text(CURRENT_WINDOW),
        )
        batch_op.drop_index(batch_op.f("ix_device_assignments_holder_id_kind"))
        batch_op.drop_index(batch_op.f("ix_device_assignments_device_id_valid_from"))
    op.drop_table("device_assignments")

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_company_id_name_id"))
    op.drop_table("assets")

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_registered_at_id"))
    op.drop_table("devices")
