"""Strategies for orders: priced items and draft orders."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from platform_core.orders.model import Order, OrderItem, PriceSnapshot
from platform_core.pricing.model import PriceSource
from platform_core.shared.scenarios import AutomationScenario
from platform_core.testing.shared import ids, instants, money


def price_snapshots() -> st.SearchStrategy[PriceSnapshot]:
    """Snapshots with consistent provenance for each price type."""

    def build(source: PriceSource, ref: str) -> PriceSnapshot:
        return PriceSnapshot(
            price_type=source,
            label=f"{source.value.lower()} price",
            price_book_entry_id=ref if source.value.startswith("PRICEBOOK") else None,
            price_agreement_id=ref if source is PriceSource.PRICE_AGREEMENT else None,
            stripe_price_id=None if source is PriceSource.BESPOKE else f"price_{ref}",
            bespoke_notes="negotiated by phone" if source is PriceSource.BESPOKE else None,
        )

    return st.builds(build, st.sampled_from(PriceSource), ids("ref"))


def order_items(currency: str = "CAD", max_quantity: int = 50) -> st.SearchStrategy[OrderItem]:
    """Valid order items priced in `currency`."""
    return st.builds(
        OrderItem,
        id=ids("oit"),
        product_id=ids("prd"),
        sku=st.from_regex(r"[A-Z]{3}-[0-9]{3}", fullmatch=True),
        description=st.just("Sensor"),
        quantity=st.integers(1, max_quantity),
        unit_amount=money(currency, 0, 500_000),
        price=price_snapshots(),
        automation_scenario=st.none() | st.sampled_from(AutomationScenario),
    )


def draft_orders(currency: str = "CAD") -> st.SearchStrategy[Order]:
    """Draft orders of 1-5 items with unique item ids."""

    def build(items: list[OrderItem], created_at: datetime) -> Order:
        order, _ = Order.draft("ord_1", "cmp_1", currency, "con_1", "adr_1", items, created_at)
        return order

    items = st.lists(order_items(currency), min_size=1, max_size=5, unique_by=lambda i: i.id)
    return st.builds(build, items, instants())
