"""`platform-core demo`: whole order lifecycles on the embedded adapters, with timelines.

Every step goes through the same use cases, webhooks (signed like Stripe's and the courier's)
and event reactions the API and worker use; only time is simulated, with a fixed clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator, UuidIdGenerator
from adapters.notifications import LoggingNotifier, RecordingNotifier
from entrypoints.bootstrap import MEMORY_URL, Dependencies, Platform, Settings, bootstrap
from entrypoints.seed import COMPANY_MIRROR_ID, SeededCatalogue, seed_catalogue
from platform_core.automation.service import TriggerFallback, trigger_fallback
from platform_core.fulfillment.couriers import ReceiveCourierWebhook, receive_courier_webhook
from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    FulfillmentOrder,
    Shipment,
    TrackingStatus,
)
from platform_core.fulfillment.service import (
    CreateShipment,
    MarkShipmentReady,
    create_shipment,
    mark_shipment_ready,
)
from platform_core.legacy.model import CompanyRecord
from platform_core.lifecycle.service import order_timeline
from platform_core.orders.model import Order
from platform_core.orders.service import (
    CreateDraftOrder,
    SendCheckout,
    create_draft_order,
    handle_payment_notification,
    send_checkout,
)
from platform_core.ports.core import IdGenerator
from platform_core.pricing.model import QuoteLine

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
COURIER = "simulator"
DELIVERY_SCANS = [
    TrackingStatus.PRE_TRANSIT,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.DELIVERED,
]


@attrs.define
class Demo:
    """A seeded platform and the moves a customer, Stripe, a courier and Ops make on it."""

    platform: Platform
    clock: FixedClock
    seeded: SeededCatalogue
    out: TextIO
    notifications: RecordingNotifier
    parcels: int = 0
    # Tracking numbers are unique per courier for ever: a run on a kept database needs its own.
    tracking_prefix: str = "SIM"

    @classmethod
    async def start(
        cls, out: TextIO, settings: Settings | None = None, ids: IdGenerator | None = None
    ) -> Demo:
        """A seeded platform; by default in memory with readable sequential ids."""
        clock = FixedClock(START)
        notifications = RecordingNotifier(forward_to=LoggingNotifier())
        platform = bootstrap(
            settings or Settings(database_url=MEMORY_URL),
            clock=clock,
            ids=ids or SequentialIdGenerator(),
            notifier=notifications,
        )
        await platform.prepare()
        seeded = await seed_catalogue(platform.deps)
        platform.deps.legacy_fake.put(
            CompanyRecord(COMPANY_MIRROR_ID, "Northwind Sensors Ltd", "active")
        )
        return cls(platform, clock, seeded, out, notifications)

    @property
    def deps(self) -> Dependencies:
        return self.platform.deps

    def say(self, text: str) -> None:
        print(f"  - {text}", file=self.out)

    async def draft(self, lines: Sequence[tuple[str, int]]) -> Order:
        quote = [QuoteLine(self.seeded.product_ids[sku], qty) for sku, qty in lines]
        command = CreateDraftOrder(
            self.seeded.company_id, self.seeded.billing_contact_id,
            self.seeded.billing_address_id, quote,
        )  # fmt: skip
        order = await create_draft_order(self.deps, command)
        priced = ", ".join(f"{i.quantity} x {i.sku} @ {i.unit_amount} ({i.price.price_type})"
                           for i in order.items)  # fmt: skip
        self.say(f"drafted {order.id}: {priced}; total {order.total}")
        return order

    async def checkout(self, order: Order) -> str:
        sent = await send_checkout(self.deps, SendCheckout(order.id))
        assert sent.checkout is not None
        self.say(f"checkout attempt {sent.checkout.number} sent: {sent.checkout.url}")
        return sent.checkout.session_id

    async def stripe_webhook(self, signed: tuple[bytes, dict[str, str]]) -> None:
        note = self.deps.payments.parse_webhook(*signed)
        result = await handle_payment_notification(self.deps, note)
        self.say(f"Stripe {note.event_type} -> {result.outcome}")
        await self.platform.settle()

    async def pay(self, order: Order) -> None:
        session = await self.checkout(order)
        await self.stripe_webhook(self.deps.mock_payments.complete(session))

    async def fulfillment(self, order: Order) -> FulfillmentOrder:
        async with self.deps.uow() as uow:
            found = await uow.fulfillment_orders.find_by_order(order.id)
        assert found is not None, "order.paid should have created the fulfillment order"
        return found

    async def ship(self, order: Order, quantities: dict[str, int] | None = None) -> Shipment:
        fulfillment = await self.fulfillment(order)
        by_item = {item.order_item_id: item for item in fulfillment.items}
        allocations = tuple(
            Allocation(by_item[oi.id].id, (quantities or {}).get(oi.sku, oi.quantity))
            for oi in order.items
            if (quantities is None or oi.sku in quantities)
        )
        self.parcels += 1
        tracking = f"{self.tracking_prefix}{self.parcels:09d}"
        command = CreateShipment(
            fulfillment.id, await self._destination(), allocations, COURIER, tracking
        )
        shipment = await create_shipment(self.deps, command)
        shipment = await mark_shipment_ready(self.deps, MarkShipmentReady(shipment.id))
        units = sum(item.quantity for item in shipment.items)
        self.say(f"shipment {shipment.id} ready with {units} unit(s), tracking {tracking}")
        return shipment

    async def _destination(self) -> AddressSnapshot:
        async with self.deps.uow() as uow:
            address = await uow.addresses.get(self.seeded.shipping_address_id)
        return AddressSnapshot(
            name="Northwind receiving", lines=address.lines, city=address.city,
            region=address.region, postal_code=address.postal_code, country=address.country,
        )  # fmt: skip

    async def deliver(self, shipment: Shipment) -> None:
        assert shipment.tracking_number is not None
        simulator = self.deps.courier_simulator
        scans = simulator.script(shipment.tracking_number, DELIVERY_SCANS, every=timedelta(hours=8))
        self.clock.advance(timedelta(days=1))
        headers, body = simulator.signed_webhook(scans)
        # The path a courier's webhook takes: authenticated, stored, processed on the queue.
        await receive_courier_webhook(self.deps, ReceiveCourierWebhook(COURIER, headers, body))
        self.say(f"courier reported {len(scans)} scans for {shipment.tracking_number}")
        await self.platform.settle()

    async def print_timeline(self, order: Order) -> None:
        print(f"\n  timeline of {order.id}:", file=self.out)
        for entry in await order_timeline(self.deps, order.id):
            when = entry.occurred_at.strftime("%Y-%m-%d %H:%M")
            detail = entry.aggregate_id
            if entry.lane == "courier":  # show the scan itself, not when we recorded it
                detail += (
                    f" {entry.payload.get('status')} (scanned {entry.payload.get('occurred_at')})"
                )
            print(f"    {when}  [{entry.lane:<8}] {entry.type:<34} {detail}", file=self.out)


async def happy_path(demo: Demo) -> Order:
    """Order two products, pay by card, ship everything, deliver, automate."""
    order = await demo.draft([("GW-100", 2), ("PRB-200", 3), ("MNT-KIT", 2)])
    await demo.pay(order)
    await demo.deliver(await demo.ship(order))
    return order


async def failed_payment(demo: Demo) -> Order:
    """The card is declined, the checkout is re-sent as a new attempt and paid."""
    order = await demo.draft([("PRB-200", 5)])
    first = await demo.checkout(order)
    await demo.stripe_webhook(demo.deps.mock_payments.fail(first))
    await demo.pay(order)
    await demo.deliver(await demo.ship(order))
    return order


async def split_shipment(demo: Demo) -> Order:
    """Ten probes leave in two parcels; fulfillment completes after the second delivery."""
    order = await demo.draft([("PRB-200", 10)])
    await demo.pay(order)
    first = await demo.ship(order, {"PRB-200": 6})
    second = await demo.ship(order, {"PRB-200": 4})
    await demo.deliver(first)
    await demo.deliver(second)
    return order


async def automation_fallback(demo: Demo) -> Order:
    """The legacy system keeps failing; after max attempts Ops provisions by hand."""
    order = await demo.draft([("GW-100", 1)])
    await demo.pay(order)
    shipment = await demo.ship(order)
    # Down for every attempt (the bridge's own retries included), back after the fallback.
    demo.deps.legacy_fake.fail_next(100, message="legacy API returned 503")
    await demo.deliver(shipment)
    for _ in range(2):  # the scenario's retry delay, twice
        demo.clock.advance(timedelta(minutes=10))
        await demo.platform.settle()
    demo.deps.legacy_fake.clear_faults()
    async with demo.deps.uow() as uow:
        (step,) = await uow.automation_steps.for_shipment(shipment.id)
    demo.say(f"step {step.id} is {step.status} after {step.attempts} attempts")
    command = TriggerFallback(step.id, "Provisioned by hand in the legacy console", "ops@northwind")
    await trigger_fallback(demo.deps, command)
    demo.say("Ops triggered the fallback")
    await demo.platform.settle()
    return order


SCENARIOS: dict[str, Callable[[Demo], Awaitable[Order]]] = {
    "happy": happy_path,
    "failed-payment": failed_payment,
    "split-shipment": split_shipment,
    "automation-fallback": automation_fallback,
}


async def run_demo(scenario: str, out: TextIO, database_url: str = MEMORY_URL) -> int:
    """Run the scenarios; on a persistent database ids are UUIDs, so runs never collide."""
    ids = None if database_url == MEMORY_URL else UuidIdGenerator()
    demo = await Demo.start(out, Settings(database_url=database_url), ids)
    if ids is not None:
        demo.tracking_prefix = f"SIM{ids.new_id('run')[-8:].upper()}"
    try:
        return await _run_scenarios(demo, scenario, out)
    finally:
        await demo.platform.close()


async def _run_scenarios(demo: Demo, scenario: str, out: TextIO) -> int:
    names = list(SCENARIOS) if scenario == "all" else [scenario]
    for name in names:
        run = SCENARIOS[name]
        print(f"\n== {name}: {run.__doc__}", file=out)
        order = await run(demo)
        fulfillment = await demo.fulfillment(order)
        async with demo.deps.uow() as uow:
            invoice = await uow.invoices.for_order(order.id)
        status = invoice and f"{invoice.number} {invoice.status}"
        demo.say(f"fulfillment {fulfillment.id}: {fulfillment.status}; invoice {status}")
        await demo.print_timeline(order)
    return 0
