"""Costs of the pure core and the embedded lifecycle, with baselines from the same run.

Prints per-operation medians of domain commands as ratios to `attrs.evolve` of the same
aggregate (what any immutable state change costs at least), and whole lifecycles per second on
the embedded default (in-memory store, inline queue, mock gateways). Bounded: a few seconds.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Callable

import attrs

from entrypoints.demo import Demo, happy_path
from platform_core.orders.model import (
    Order,
    OrderItem,
    PaymentProvider,
    PaymentReceived,
    PriceSnapshot,
)
from platform_core.pricing.model import PriceSource
from platform_core.shared.money import Money
from platform_core.testing.shared import EPOCH

ROUNDS, PER_ROUND = 7, 2_000


def per_op_us(operation: Callable[[], object]) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(PER_ROUND):
            operation()
        samples.append((time.perf_counter() - start) / PER_ROUND * 1e6)
    return statistics.median(samples)


def order_fixture() -> Order:
    items = [
        OrderItem(f"oit_{n}", f"prd_{n}", f"S-{n}", "Sensor", 2, Money(1_500, "CAD"),
                  PriceSnapshot(PriceSource.PRICEBOOK_GLOBAL, "global"))
        for n in range(3)
    ]  # fmt: skip
    order, _ = Order.draft("ord_1", "cmp_1", "CAD", "con_1", "adr_1", items, EPOCH)
    return order.send_checkout("cs_1", "https://pay", EPOCH)[0]


def domain_costs() -> None:
    order = order_fixture()
    payment = PaymentReceived(PaymentProvider.STRIPE, "pi_1", order.total, EPOCH)
    baseline = per_op_us(lambda: attrs.evolve(order, purchase_order_number="PO"))
    rows = {
        "Order.confirm_payment (3 items, event payload)": lambda: order.confirm_payment(payment),
        "Order.total (3 items)": lambda: order.total,
        "Money + Money": lambda: Money(1, "CAD") + Money(2, "CAD"),
    }
    print(f"baseline attrs.evolve(Order): {baseline:.2f} us/op")
    for name, operation in rows.items():
        cost = per_op_us(operation)
        print(f"{name:<48} {cost:7.2f} us/op  {cost / baseline:5.1f}x baseline")


async def lifecycles(count: int = 30) -> None:
    demo = await Demo.start(io.StringIO())
    start = time.perf_counter()
    for _ in range(count):
        await happy_path(demo)
    elapsed = time.perf_counter() - start
    events = len(demo.platform.deps.db.events)
    print(
        f"embedded lifecycles (draft -> paid -> shipped -> delivered -> automated -> completed): "
        f"{count / elapsed:.1f}/s, {elapsed / count * 1000:.1f} ms each, "
        f"{events / elapsed:.0f} events/s recorded and dispatched"
    )


if __name__ == "__main__":
    domain_costs()
    asyncio.run(lifecycles())
