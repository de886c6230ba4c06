"""API keys; company name search; indexes for the catalogue and agreement listings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:10:44.531333
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.persistence.sql.types import Instant

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _search_key(name: str) -> str:
    # Company.name_search_key as of this revision, frozen here so that a later change of the
    # rule comes with its own migration instead of silently changing this one.
    return " ".join(name.casefold().split())


def _fill_company_search_keys() -> None:
    companies = sa.table(
        "companies",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("name_search_key", sa.Text),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(companies.c.id, companies.c.name)).all()
    if not rows:
        return
    statement = (
        companies.update()
        .where(companies.c.id == sa.bindparam("match_id"))
        .values(name_search_key=sa.bindparam("search_key"))
    )
    bind.execute(
        statement, [{"match_id": row.id, "search_key": _search_key(row.name)} for row in rows]
    )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=True),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("revoked_at", Instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_created_at_id"), ["created_at", "id"], unique=False
        )

    # Added empty, filled from the names, then required: existing companies stay searchable.
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_search_key", sa.Text(), nullable=True))
    _fill_company_search_keys()
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.alter_column("name_search_key", existing_type=sa.Text(), nullable=False)

    with op.batch_alter_table("price_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_agreements_company_id_created_at_id"),
            ["company_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_price_agreements_created_at_id"), ["created_at", "id"], unique=False
        )

    with op.batch_alter_table("price_books", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_books_created_at_id"), ["created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("price_books", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_books_created_at_id"))

    with op.batch_alter_table("price_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_agreements_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_price_agreements_company_id_created_at_id"))

    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("name_search_key")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_created_at_id"))

    op.drop_table("api_keys")
