"""The outbox on PostgreSQL: events exist only if their change committed, and dispatchers in
separate processes share the work without ever delivering one event twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime

import attrs
import pytest
from integration_support import Admin, Platforms, new_company
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.sql import SqlDatabase
from adapters.persistence.sql.uow import SqlUnitOfWork
from entrypoints.bootstrap import Platform
from platform_core.billing.model import Invoice, InvoiceLine, PaymentMethod
from platform_core.billing.service import (
    CreateDraftInvoice,
    InvoiceLineSpec,
    IssueInvoice,
    IssueInvoiceForPaidOrder,
    NewInvoiceLine,
    PaymentSpec,
    create_draft_invoice,
    issue_invoice,
    issue_invoice_for_paid_order,
)
from platform_core.lifecycle.dispatcher import DispatchReport, Subscription, dispatch_due
from platform_core.ports.core import Clock, IdGenerator
from platform_core.ports.outbox import OutboxStatus
from platform_core.shared.errors import IllegalTransition, ServiceUnavailable
from platform_core.shared.events import DomainEvent, StoredEvent
from platform_core.shared.money import Money

pytestmark = pytest.mark.integration

CURRENCY = "CAD"
ROW_TABLES = ("domain_events", "outbox", "invoices", "invoice_lines", "payments", "sequences")


class RequestFailed(Exception):
    """The rest of a request failed after its events were recorded."""


async def row_counts(admin: Admin) -> dict[str, int]:
    return {table: await admin.count(table) for table in ROW_TABLES}


async def record_then_fail(platform: Platform) -> None:
    """Store an issued invoice (with its number) and record its events, then fail before
    committing."""
    now = platform.deps.clock.now()
    line = InvoiceLine(
        id="invl_1", description="Site survey", quantity=1, unit_amount=Money(90_00, CURRENCY)
    )
    draft, _ = Invoice.draft(
        invoice_id="inv_rolled_back", company_id="cmp_1", currency=CURRENCY, at=now, lines=[line]
    )
    async with platform.deps.uow() as uow:
        invoice, events = draft.issue(number=await uow.invoice_numbers.next_number(), at=now)
        await uow.invoices.add(invoice)
        stored = await uow.events.record(events)
        assert stored, "issuing should have recorded events"
        raise RequestFailed


async def test_a_unit_of_work_that_raises_after_recording_events_leaves_no_rows(
    platforms: Platforms, admin: Admin
) -> None:
    """A change and its events recorded in a unit of work that then raises are rolled back
    together: no domain_events, outbox, invoice or sequence rows remain."""
    with pytest.raises(RequestFailed):
        await record_then_fail(platforms.open())

    assert set((await row_counts(admin)).values()) == {0}


class ConnectionLostAtCommit(SqlUnitOfWork):
    """A unit of work whose connection the server drops just before COMMIT arrives."""

    def __init__(self, engine: AsyncEngine, ids: IdGenerator, admin: Admin) -> None:
        super().__init__(engine, ids)
        self.admin = admin

    async def commit(self) -> None:
        pid = await self._session.execute(text("SELECT pg_backend_pid()"))
        await self.admin.terminate(int(pid.scalar_one()))
        await super().commit()


@attrs.define
class DepsLosingCommits:
    """The platform's clock and ids, with units of work that lose their connection at COMMIT."""

    platform: Platform
    admin: Admin

    @property
    def clock(self) -> Clock:
        return self.platform.deps.clock

    @property
    def ids(self) -> IdGenerator:
        return self.platform.deps.ids

    def uow(self) -> ConnectionLostAtCommit:
        store = self.platform.deps.store
        assert isinstance(store, SqlDatabase)
        return ConnectionLostAtCommit(store.engine, self.ids, self.admin)


def paid_order_invoice(order_id: str) -> IssueInvoiceForPaidOrder:
    amount = Money(129_00, CURRENCY)
    line = InvoiceLineSpec("oit_1", "prd_probe", "Soil moisture probe", 1, amount)
    payment = PaymentSpec(PaymentMethod.MANUAL, f"wire-{order_id}", amount, datetime.now(UTC))
    return IssueInvoiceForPaidOrder(order_id, "cmp_1", CURRENCY, None, None, (line,), payment)


async def test_a_use_case_whose_commit_fails_leaves_no_rows_and_no_number(
    platforms: Platforms, admin: Admin
) -> None:
    """Invoicing a paid order (invoice, number, payment, allocation and their events in one
    transaction) whose connection dies just before COMMIT raises ServiceUnavailable, no row
    is left anywhere, and the retried request gets invoice number 1: no number was burnt."""
    platform = platforms.open()

    with pytest.raises(ServiceUnavailable):
        await issue_invoice_for_paid_order(
            DepsLosingCommits(platform, admin), paid_order_invoice("ord_1")
        )

    assert set((await row_counts(admin)).values()) == {0}
    invoice = await issue_invoice_for_paid_order(platform.deps, paid_order_invoice("ord_1"))
    assert invoice.number == "INV-000001"


async def test_a_refused_issue_records_nothing_for_its_invoice(
    platforms: Platforms, admin: Admin
) -> None:
    """Issuing an invoice that is already issued is refused, and neither its number draw nor
    any event of the refused attempt is kept."""
    platform = platforms.open()
    line = NewInvoiceLine("Site survey", 1, Money(90_00, CURRENCY))
    company_id = await new_company(platform, CURRENCY)
    draft = await create_draft_invoice(
        platform.deps, CreateDraftInvoice(company_id, CURRENCY, (line,))
    )
    await issue_invoice(platform.deps, IssueInvoice(draft.id))
    before = await row_counts(admin)

    with pytest.raises(IllegalTransition):
        await issue_invoice(platform.deps, IssueInvoice(draft.id))

    assert await row_counts(admin) == before
    assert await admin.scalar("SELECT value FROM sequences") == 1


# -- dispatchers ----------------------------------------------------------------------------

EVENTS = 200
DISPATCHERS_PER_PROCESS = 2
CLAIM_LIMIT = 7
# 200 events in claims of 7 take ~29 claims: far fewer rounds than this bound.
MAX_ROUNDS = 200


async def record_probe_events(platform: Platform, count: int) -> list[str]:
    now = platform.deps.clock.now()
    events = [
        DomainEvent("probe.pinged", "probe", f"prb_{n}", {"n": n}, now, "integration")
        for n in range(count)
    ]
    async with platform.deps.uow() as uow:
        stored = await uow.events.record(events, correlation_id=f"run-{uuid.uuid4().hex}")
        await uow.commit()
    return [s.event_id for s in stored]


async def dispatch_until_idle(platform: Platform, subscriptions: list[Subscription]) -> int:
    """Run one dispatcher until a claim finds nothing due; return the events it delivered."""
    delivered = 0
    for _ in range(MAX_ROUNDS):
        report: DispatchReport = await dispatch_due(platform.deps, subscriptions, CLAIM_LIMIT)
        if report.claimed == 0:
            return delivered
        delivered += report.dispatched
    pytest.fail("a dispatcher never ran out of due events")


async def test_dispatchers_in_two_processes_deliver_every_event_exactly_once(
    platforms: Platforms,
) -> None:
    """200 events, four dispatchers in two processes claiming 7 at a time concurrently:
    the subscriber sees every event exactly once and every outbox row ends DISPATCHED."""
    first, second = platforms.open_many(2)
    recorded = await record_probe_events(first, EVENTS)
    seen: list[str] = []

    async def remember(stored: StoredEvent) -> None:
        await asyncio.sleep(0)  # let the other dispatchers claim while this one delivers
        seen.append(stored.event_id)

    subscriptions = [Subscription("integration-recorder", "probe.pinged", remember)]
    dispatchers = [first, second] * DISPATCHERS_PER_PROCESS
    delivered = await asyncio.gather(*(dispatch_until_idle(p, subscriptions) for p in dispatchers))

    duplicates = [event_id for event_id, times in Counter(seen).items() if times > 1]
    assert duplicates == []
    assert sorted(seen) == sorted(recorded)
    assert sum(delivered) == EVENTS
    assert sum(1 for n in delivered if n) > 1, "the dispatchers should have shared the work"
    async with first.deps.uow() as uow:
        entries = await uow.outbox.entries(limit=2 * EVENTS)
    assert len(entries) == EVENTS
    assert {entry.status for entry in entries} == {OutboxStatus.DISPATCHED}
    assert all(entry.attempts == 1 for entry in entries)
