"""Costs of the SQL persistence adapter on PostgreSQL, against raw psycopg from the same run.

Prints write transactions per second (raw psycopg 3, one aggregate through a unit of work,
three use cases with their statement counts) and an order's timeline read at two sizes of the
event log. Works in its own scratch database, dropped at the end. `--quick` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import bindparam, event, insert, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.ids import UuidIdGenerator
from adapters.persistence.sql import SqlDatabase
from adapters.persistence.sql.jobs import SqlJobRunRepository, job_runs
from benchlib import finish, libpq, scratch_database
from entrypoints.bootstrap import Platform, Settings, bootstrap
from entrypoints.seed import SeededCatalogue, seed_catalogue
from platform_core.billing.service import (
    CreateDraftInvoice,
    IssueInvoice,
    NewInvoiceLine,
    RecordManualPayment,
    create_draft_invoice,
    issue_invoice,
    record_manual_payment,
)
from platform_core.fulfillment.model import AddressSnapshot, Allocation, FulfillmentOrder
from platform_core.fulfillment.service import CreateShipment, create_shipment
from platform_core.jobs.model import QUEUE_DEFAULTS, JobRun, QueueName
from platform_core.lifecycle.service import order_timeline
from platform_core.orders.model import Order
from platform_core.orders.service import (
    CreateDraftOrder,
    SendCheckout,
    create_draft_order,
    handle_payment_notification,
    send_checkout,
)
from platform_core.pricing.model import QuoteLine
from platform_core.shared.money import Money

ORDER_LINES = [("GW-100", 2), ("PRB-200", 3), ("MNT-KIT", 2)]
RAW_STATEMENTS = 2  # INSERT + UPDATE; BEGIN and COMMIT are not counted on either side
WARM_UP = 10
ROUNDS = 5
TARGET = 2.0  # the adapter's one-aggregate transaction against raw psycopg
EVENTS_PER_AGGREGATE = 5
SERVER_READ = "events query in the server (EXPLAIN ANALYZE)"
COPY_EVENTS = (
    "COPY domain_events (event_id, type, aggregate_type, aggregate_id, payload, occurred_at, "
    "source_module, correlation_id) FROM STDIN"
)
SYNTHETIC_TYPES = ["order", "invoice", "payment", "fulfillment_order", "shipment"]


@attrs.frozen
class Sizes:
    """How much each section does. Every write workload stops after `budget_s` seconds in all."""

    write_tx: int
    use_case_tx: int
    reads: int
    small_log: int
    large_log: int
    budget_s: float


FULL = Sizes(write_tx=2_000, use_case_tx=300, reads=200, small_log=1_000, large_log=100_000,
             budget_s=10.0)  # fmt: skip
QUICK = Sizes(write_tx=200, use_case_tx=30, reads=30, small_log=1_000, large_log=10_000,
              budget_s=2.0)  # fmt: skip


@attrs.frozen
class Figure:
    """One kind of write transaction: medians over the rounds, statements per transaction."""

    name: str
    runs: int
    us_each: float
    cpu_us_each: float
    statements: float = RAW_STATEMENTS

    @property
    def per_second(self) -> float:
        return 1e6 / self.us_each

    def against(self, raw: Figure) -> tuple[float, float]:
        """(x raw per transaction, x raw per statement)."""
        per_tx = self.us_each / raw.us_each
        per_statement = (self.us_each / self.statements) / (raw.us_each / raw.statements)
        return per_tx, per_statement


@attrs.frozen
class Reads:
    """Median latency of one read at the small and the large event log."""

    name: str
    small_ms: float
    large_ms: float
    events: int


# -- timing -------------------------------------------------------------------------------------


class StatementCounter:
    """SQL statements sent through an engine (pool pre-ping, BEGIN and COMMIT are not seen)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _seen(*_: Any) -> None:
            self.count += 1


@attrs.define
class Workload:
    """A write transaction to time; `work(n)` runs it once (n differs between calls)."""

    name: str
    work: Callable[[int], Awaitable[object]]
    count: int
    counter: StatementCounter | None = None
    calls: int = 0
    runs: int = 0
    statements: int = 0
    wall_us: list[float] = attrs.field(factory=list)
    cpu_us: list[float] = attrs.field(factory=list)

    async def once(self) -> None:
        self.calls += 1
        await self.work(self.calls)

    async def chunk(self, runs: int, budget_s: float) -> None:
        seen = self.counter.count if self.counter else 0
        done, wall, cpu = 0, time.perf_counter(), time.process_time()
        while done < runs and (done == 0 or time.perf_counter() - wall < budget_s):
            await self.once()
            done += 1
        self.wall_us.append((time.perf_counter() - wall) / done * 1e6)
        self.cpu_us.append((time.process_time() - cpu) / done * 1e6)
        self.runs += done
        self.statements += (self.counter.count if self.counter else 0) - seen

    def figure(self) -> Figure:
        statements = self.statements / self.runs if self.counter else RAW_STATEMENTS
        wall, cpu = statistics.median(self.wall_us), statistics.median(self.cpu_us)
        return Figure(self.name, self.runs, wall, cpu, statements)


async def interleaved(workloads: list[Workload], budget_s: float) -> list[Figure]:
    """Time the workloads in ROUNDS rounds, a chunk of each per round, and keep the median
    round of each: load from other processes on the machine then weighs on all alike."""
    for workload in workloads:
        for _ in range(WARM_UP):
            await workload.once()
    for _ in range(ROUNDS):
        for workload in workloads:
            await workload.chunk(math.ceil(workload.count / ROUNDS), budget_s / ROUNDS)
    return [workload.figure() for workload in workloads]


async def median_ms(read: Callable[[], Awaitable[object]], count: int) -> float:
    for _ in range(WARM_UP):
        await read()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await read()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def print_figure(figure: Figure, raw: Figure) -> None:
    per_tx, per_statement = figure.against(raw)
    print(
        f"  {figure.name:<44} {figure.per_second:6.0f} tx/s {figure.us_each:7.0f} us/tx "
        f"(cpu {figure.cpu_us_each:5.0f})  {figure.statements:4.1f} stmts/tx  "
        f"{per_tx:5.1f}x raw, {per_statement:4.1f}x per stmt  [{figure.runs} runs]"
    )


# -- 1. raw psycopg -----------------------------------------------------------------------------

RAW_TABLE = """
CREATE TABLE bench_raw (
    id text PRIMARY KEY, status text NOT NULL, payload jsonb NOT NULL,
    updated_at timestamptz NOT NULL, version integer NOT NULL
)"""
RAW_INSERT = (
    "INSERT INTO bench_raw (id, status, payload, updated_at, version) VALUES (%s, %s, %s, %s, 1)"
)
RAW_UPDATE = (
    "UPDATE bench_raw SET status = %s, updated_at = %s, version = version + 1 "
    "WHERE id = %s AND version = 1"
)


async def raw_workload(connection: psycopg.AsyncConnection[Any], sizes: Sizes) -> Workload:
    """INSERT + UPDATE of one row of a plain table, committed, on one held connection."""
    await connection.execute(RAW_TABLE)
    await connection.commit()

    async def one(_: int) -> None:
        row_id, now = uuid.uuid4().hex, datetime.now(UTC)
        await connection.execute(RAW_INSERT, (row_id, "queued", Jsonb({"n": 1}), now))
        await connection.execute(RAW_UPDATE, ("active", now, row_id))
        await connection.commit()

    return Workload("raw psycopg INSERT+UPDATE", one, sizes.write_tx)


# -- 2. one aggregate through a unit of work -----------------------------------------------------


def adapter_workload(database: SqlDatabase, label: str, sizes: Sizes) -> Workload:
    """A unit of work that adds a JobRun and updates it (started), committed."""
    ids = UuidIdGenerator()
    policy = QUEUE_DEFAULTS[QueueName.ORDERS].retry

    async def one(_: int) -> None:
        now, job_id = datetime.now(UTC), ids.new_id("job")
        job, _events = JobRun.enqueue(job_id, "orders", "bench.noop", job_id, policy, now)
        async with database.unit_of_work(ids) as uow:
            await uow.job_runs.add(job)
            await uow.job_runs.update(job.start(now)[0])
            await uow.commit()

    name = f"adapter add+update {label}"
    return Workload(name, one, sizes.write_tx, StatementCounter(database.engine))


def core_workload(engine: AsyncEngine, sizes: Sizes) -> Workload:
    """The same JobRun rows with SQLAlchemy Core and statements built once (parameters passed
    per execution): what the async engine costs before the adapter builds any statement."""
    ids = UuidIdGenerator()
    policy = QUEUE_DEFAULTS[QueueName.ORDERS].retry
    mapper = SqlJobRunRepository.mapper
    add = insert(job_runs)
    change = update(job_runs).where(
        job_runs.c.id == bindparam("where_id"), job_runs.c.version == bindparam("where_version")
    )

    async def one(_: int) -> None:
        now, job_id = datetime.now(UTC), ids.new_id("job")
        job, _events = JobRun.enqueue(job_id, "orders", "bench.noop", job_id, policy, now)
        async with engine.connect() as connection:
            await connection.execute(add, mapper.to_row(job))
            row = {**mapper.to_row(job.start(now)[0]), "version": job.version + 1}
            await connection.execute(change, {**row, "where_id": job.id, "where_version": 1})
            await connection.commit()

    return Workload("SQLAlchemy Core floor (same rows)", one, sizes.write_tx,
                    StatementCounter(engine))  # fmt: skip


# -- 3. use cases -------------------------------------------------------------------------------


async def paid_order(platform: Platform, seeded: SeededCatalogue,
                     lines: list[tuple[str, int]]) -> tuple[Order, FulfillmentOrder]:  # fmt: skip
    """An order paid by card (signed webhook) and its fulfillment order, as in the demo."""
    deps = platform.deps
    order = await create_draft_order(deps, draft_command(seeded, lines))
    sent = await send_checkout(deps, SendCheckout(order.id))
    assert sent.checkout is not None
    notification = deps.payments.parse_webhook(*deps.payments.complete(sent.checkout.session_id))
    await handle_payment_notification(deps, notification)
    await platform.settle()
    async with deps.uow() as uow:
        fulfillment = await uow.fulfillment_orders.find_by_order(order.id)
    assert fulfillment is not None, "order.paid should have created the fulfillment order"
    return order, fulfillment


def draft_command(seeded: SeededCatalogue, lines: list[tuple[str, int]]) -> CreateDraftOrder:
    quote = [QuoteLine(seeded.product_ids[sku], quantity) for sku, quantity in lines]
    return CreateDraftOrder(
        seeded.company_id, seeded.billing_contact_id, seeded.billing_address_id, quote
    )


async def destination(platform: Platform, seeded: SeededCatalogue) -> AddressSnapshot:
    async with platform.deps.uow() as uow:
        address = await uow.addresses.get(seeded.shipping_address_id)
    return AddressSnapshot(
        name="Bench receiving", lines=address.lines, city=address.city, region=address.region,
        postal_code=address.postal_code, country=address.country,
    )  # fmt: skip


async def open_invoice(platform: Platform, seeded: SeededCatalogue) -> str:
    """An issued manual invoice large enough to take every payment of the run."""
    deps = platform.deps
    line = NewInvoiceLine("Bench account credit", 1, Money(10**12, "CAD"))
    draft = await create_draft_invoice(deps, CreateDraftInvoice(seeded.company_id, "CAD", (line,)))
    await issue_invoice(deps, IssueInvoice(draft.id))
    return draft.id


async def use_case_workloads(
    platform: Platform, seeded: SeededCatalogue, sizes: Sizes
) -> list[Workload]:
    """Create order, record a manual payment, allocate a shipment: each against state made
    once up front (an issued invoice with room for every payment, a paid order with a unit
    for every shipment)."""
    deps = platform.deps
    counter = StatementCounter(deps.store.engine)  # type: ignore[attr-defined]
    invoice_id = await open_invoice(platform, seeded)
    units = sizes.use_case_tx + WARM_UP + ROUNDS
    _, fulfillment = await paid_order(platform, seeded, [("PRB-200", units)])
    (item,) = fulfillment.items
    to = await destination(platform, seeded)
    run = uuid.uuid4().hex[:8]

    async def create_order(_: int) -> None:
        await create_draft_order(deps, draft_command(seeded, ORDER_LINES))

    async def record_payment(n: int) -> None:
        command = RecordManualPayment(invoice_id, f"bench-{run}-{n}", Money(100, "CAD"))
        await record_manual_payment(deps, command)

    async def allocate_shipment(_: int) -> None:
        command = CreateShipment(fulfillment.id, to, (Allocation(item.id, 1),))
        await create_shipment(deps, command)

    return [
        Workload("create order (3 lines)", create_order, sizes.use_case_tx, counter),
        Workload("record manual payment", record_payment, sizes.use_case_tx, counter),
        Workload("allocate shipment (1 unit)", allocate_shipment, sizes.use_case_tx, counter),
    ]


def report_writes(raw: Figure, adapters: list[Figure], cases: list[Figure]) -> None:
    print("\n== 1. baseline: raw psycopg 3 (async), INSERT + UPDATE of one row, committed")
    print_figure(raw, raw)
    print("\n== 2. adapter: SqlDatabase(url).unit_of_work(ids), JobRun add + update, committed")
    for figure in adapters:
        print_figure(figure, raw)
    print("  (no pre-ping = SqlDatabase(url, pool_pre_ping=False); the default engine sends an")
    print("   uncounted ping on every connection checkout, i.e. once per unit of work. Core floor")
    print("   = the default engine, statements built once: the share SQLAlchemy itself takes)")
    verdict = "met" if adapters[0].against(raw)[0] <= TARGET else "NOT met"
    print(f"  target within {TARGET:.0f}x of raw per transaction (default engine): {verdict}")
    print("\n== 3. use cases through the adapter (bootstrap on PostgreSQL, UUID ids)")
    for figure in cases:
        print_figure(figure, raw)


# -- 4. timeline reads --------------------------------------------------------------------------


def synthetic_row(n: int, start: datetime) -> tuple[Any, ...]:
    aggregate = n // EVENTS_PER_AGGREGATE
    kind = SYNTHETIC_TYPES[aggregate % len(SYNTHETIC_TYPES)]
    payload = json.dumps({"n": n, f"{kind}_id": f"{kind[:3]}_bench{aggregate:07d}"})
    return (
        f"evt_bench{n:08d}", f"{kind}.bench_recorded", kind, f"{kind[:3]}_bench{aggregate:07d}",
        payload, start + timedelta(seconds=n), "bench", f"cor_bench{aggregate:07d}",
    )  # fmt: skip


async def grow_event_log(url: str, total: int) -> tuple[int, float]:
    """COPY synthetic events (spread over many aggregates) with dispatched outbox rows until
    the log holds `total` events; (events added, seconds)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(libpq(url)) as connection:
        cursor = await connection.execute(
            "SELECT count(*), coalesce(max(position), 0) FROM domain_events"
        )
        count, last = await cursor.fetchone() or (0, 0)
        first = await _synthetic_count(connection)
        missing = max(0, total - count)
        async with connection.cursor().copy(COPY_EVENTS) as copy:
            for n in range(first, first + missing):
                await copy.write_row(synthetic_row(n, start))
        await connection.execute(
            "INSERT INTO outbox (event_id, position, status, attempts, dispatched_at) "
            "SELECT event_id, position, 'dispatched', 1, occurred_at FROM domain_events "
            "WHERE position > %s",
            (last,),
        )
        await connection.commit()
        # A production table this size has statistics; without them the plan is a guess.
        await connection.execute("ANALYZE domain_events")
        await connection.execute("ANALYZE outbox")
        await connection.commit()
    return missing, time.perf_counter() - began


async def _synthetic_count(connection: psycopg.AsyncConnection[Any]) -> int:
    cursor = await connection.execute(
        "SELECT count(*) FROM domain_events WHERE source_module = 'bench'"
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def server_side(url: str, order_id: str, count: int) -> tuple[str, float]:
    """The plan of the order's events query and its median execution time in the server
    (EXPLAIN ANALYZE): what the index decides, without the client's share or its noise."""
    times, plan = [], "?"
    async with await psycopg.AsyncConnection.connect(libpq(url), autocommit=True) as connection:
        for _ in range(count):
            cursor = await connection.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM domain_events "
                "WHERE aggregate_type = 'order' AND aggregate_id = %s ORDER BY position",
                (order_id,),
            )
            row = await cursor.fetchone()
            assert row is not None
            (explained,) = row[0]
            times.append(float(explained["Execution Time"]))
            node = explained["Plan"]
            plan = f"{node['Node Type']} using {node.get('Index Name', '-')}"
    return plan, statistics.median(times)


async def timeline_reads(url: str, platform: Platform, seeded: SeededCatalogue,
                         sizes: Sizes) -> list[Reads]:  # fmt: skip
    print(f"\n== 4. timeline reads at {sizes.small_log:,} and {sizes.large_log:,} stored events")
    async with await psycopg.AsyncConnection.connect(libpq(url)) as connection:
        # Start the log from the timeline's own order; sections 2-3 left events of their own.
        await connection.execute("TRUNCATE outbox, domain_events")
        await connection.commit()
    deps = platform.deps
    order, fulfillment = await paid_order(platform, seeded, ORDER_LINES)
    allocations = tuple(Allocation(item.id, item.quantity_ordered) for item in fulfillment.items)
    to = await destination(platform, seeded)
    await create_shipment(deps, CreateShipment(fulfillment.id, to, allocations))

    async def order_events() -> int:
        async with deps.uow() as uow:
            return len(await uow.events.for_aggregate("order", order.id))

    async def whole_timeline() -> int:
        return len(await order_timeline(deps, order.id))

    reads = {"events.for_aggregate('order', id)": order_events,
             "order_timeline (order + related)": whole_timeline}  # fmt: skip
    latencies: dict[str, list[float]] = {name: [] for name in [*reads, SERVER_READ]}
    for total in [sizes.small_log, sizes.large_log]:
        added, seconds = await grow_event_log(url, total)
        for name, read in reads.items():
            latencies[name].append(await median_ms(read, sizes.reads))
        plan, server_ms = await server_side(url, order.id, sizes.reads)
        latencies[SERVER_READ].append(server_ms)
        print(f"  {total:>7,} events (+{added:,} by COPY in {seconds:.1f} s); plan: {plan}")
    results = [
        Reads(name, small, large, await reads[name]() if name in reads else 0)
        for name, (small, large) in latencies.items()
    ]
    for result in results:
        events = f"{result.events} events, " if result.events else ""
        print(
            f"  {result.name:<44} {result.small_ms:6.3f} ms -> {result.large_ms:6.3f} ms "
            f"(x{result.large_ms / result.small_ms:.2f}; {events}median of {sizes.reads})"
        )
    return results


# -- summary ------------------------------------------------------------------------------------


def summary(raw: Figure, writes: list[Figure], reads: list[Reads], sizes: Sizes) -> None:
    print("\n== summary")
    print(f"  {'write transaction':<44} {'tx/s':>6} {'us/tx':>7} {'cpu us':>7} {'stmts':>6} "
          f"{'x raw':>6} {'x raw/stmt':>10}")  # fmt: skip
    for figure in [raw, *writes]:
        per_tx, per_statement = figure.against(raw)
        print(
            f"  {figure.name:<44} {figure.per_second:6.0f} {figure.us_each:7.0f} "
            f"{figure.cpu_us_each:7.0f} {figure.statements:6.1f} {per_tx:6.1f} "
            f"{per_statement:10.1f}"
        )
    small, large = f"at {sizes.small_log:,}", f"at {sizes.large_log:,}"
    print(f"\n  {'timeline read (median ms)':<44} {small:>9} {large:>10} {'ratio':>6}")
    for result in reads:
        print(f"  {result.name:<44} {result.small_ms:9.3f} {result.large_ms:10.3f} "
              f"{result.large_ms / result.small_ms:6.2f}")  # fmt: skip


async def run(url: str, sizes: Sizes) -> None:
    platform = bootstrap(Settings(database_url=url, migrate_on_start=False), ids=UuidIdGenerator())
    databases = {"(default engine)": SqlDatabase(url),
                 "(no pre-ping)": SqlDatabase(url, pool_pre_ping=False)}  # fmt: skip
    connection = await psycopg.AsyncConnection.connect(libpq(url))
    try:
        seeded = await seed_catalogue(platform.deps)
        raw = await raw_workload(connection, sizes)
        adapters = [adapter_workload(db, label, sizes) for label, db in databases.items()]
        adapters.append(core_workload(databases["(default engine)"].engine, sizes))
        cases = await use_case_workloads(platform, seeded, sizes)
        print(
            f"write transactions timed interleaved: {ROUNDS} rounds, medians of the rounds "
            f"(cpu = this process's CPU time per transaction)"
        )
        figures = await interleaved([raw, *adapters, *cases], sizes.budget_s)
        report_writes(figures[0], figures[1:4], figures[4:])
        reads = await timeline_reads(url, platform, seeded, sizes)
    finally:
        await connection.close()
        for database in databases.values():
            await database.dispose()
        await platform.close()
    summary(figures[0], figures[1:], reads, sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    sizes = QUICK if parser.parse_args().quick else FULL
    began = time.perf_counter()
    with scratch_database() as url:
        with psycopg.connect(libpq(url)) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'} at {make_url(url).host}, "
              f"{os.cpu_count()} CPUs; scratch database {make_url(url).database}")  # fmt: skip
        asyncio.run(run(url, sizes))
    finish(began)


if __name__ == "__main__":
    main()
