"""Tables, mapper and repository of orders and their items (each with its price snapshot)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, select

from adapters.persistence.sql.mapper import ChildMapper, RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.orders.model import Order, OrderItem
from platform_core.orders.ports import OrderFilter

orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("billing_contact_id", String(64), nullable=False),
    Column("billing_address_id", String(64), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("status", String(30), nullable=False),
    Column("purchase_order_number", String(100)),
    Column("checkout", Json),
    Column("checkout_session_id", String(255), unique=True),
    Column("checkout_attempts", Integer, nullable=False),
    Column("payment", Json),
    Column("paid_at", Instant),
    Column("failure_reason", Text),
    Column("cancelled_at", Instant),
    Column("cancellation_reason", Text),
    Column("refunded_amount", BigInteger),
    Column("refunded_currency", String(3)),
    Column("version", Integer, nullable=False),
    # The list endpoint: newest first, optionally per company and/or status.
    Index(None, "created_at", "id"),
    Index(None, "company_id", "created_at", "id"),
    Index(None, "status", "created_at", "id"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(64), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("id", String(64), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_amount_amount", BigInteger, nullable=False),
    Column("unit_amount_currency", String(3), nullable=False),
    Column("price", Json, nullable=False),
    Column("automation_scenario", String(50)),
    Index(None, "order_id", "position"),
)


def _order_columns(order: Order) -> dict[str, Any]:
    return {"checkout_session_id": order.checkout.session_id if order.checkout else None}


class SqlOrderRepository(SqlRepository[Order]):
    mapper = RowMapper(
        Order,
        orders,
        children={"items": ChildMapper(OrderItem, order_items, "order_id")},
        derived=_order_columns,
    )
    kind = "order"

    async def list(self, filters: OrderFilter, limit: int, offset: int) -> list[Order]:
        conditions = []
        if filters.company_id is not None:
            conditions.append(orders.c.company_id == filters.company_id)
        if filters.status is not None:
            conditions.append(orders.c.status == filters.status.value)
        if filters.created_from is not None:
            conditions.append(orders.c.created_at >= filters.created_from)
        if filters.created_to is not None:
            conditions.append(orders.c.created_at < filters.created_to)
        return await self._where(
            *conditions,
            order_by=(orders.c.created_at.desc(), orders.c.id.desc()),
            limit=limit,
            offset=offset,
        )

    async def find_by_checkout_session(self, session_id: str) -> Order | None:
        return await self._first(orders.c.checkout_session_id == session_id)

    async def find_by_item(self, order_item_id: str) -> Order | None:
        # Item ids are the primary key of order_items, so this is one index lookup.
        owner = select(order_items.c.order_id).where(order_items.c.id == order_item_id)
        return await self._first(orders.c.id == owner.scalar_subquery())


class OrderTables:
    """The orders repository over the unit of work's session."""

    _session: SqlSession

    @property
    def orders(self) -> SqlOrderRepository:
        return SqlOrderRepository(self._session)
