"""In-memory repository of orders."""

from __future__ import annotations

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.orders.model import Order
from platform_core.orders.ports import OrderFilter


class InMemoryOrderRepository(InMemoryRepository[Order]):
    table = "orders"
    kind = "order"

    async def list(self, filters: OrderFilter, limit: int, offset: int) -> list[Order]:
        rows = self._where(lambda order: _matches(order, filters))
        rows.sort(key=lambda order: (order.created_at, order.id), reverse=True)
        return rows[offset : offset + limit]

    async def find_by_checkout_session(self, session_id: str) -> Order | None:
        found = self._where(
            lambda o: o.checkout is not None and o.checkout.session_id == session_id
        )
        return found[0] if found else None

    async def find_by_item(self, order_item_id: str) -> Order | None:
        found = self._where(lambda o: any(item.id == order_item_id for item in o.items))
        return found[0] if found else None


def _matches(order: Order, filters: OrderFilter) -> bool:
    return (
        (filters.company_id is None or order.company_id == filters.company_id)
        and (filters.status is None or order.status is filters.status)
        and (filters.created_from is None or order.created_at >= filters.created_from)
        and (filters.created_to is None or order.created_at < filters.created_to)
    )


class OrderTables:
    _tx: Transaction

    @property
    def orders(self) -> InMemoryOrderRepository:
        return InMemoryOrderRepository(self._tx)
