"""Invoice numbers on PostgreSQL: issued concurrently by several processes, with transactions
that draw a number and then roll back among them, the numbers stay unique and gap-free."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from integration_support import Admin, Platforms, new_company

from entrypoints.bootstrap import Platform
from platform_core.billing.model import Invoice
from platform_core.billing.service import (
    CreateDraftInvoice,
    IssueInvoice,
    NewInvoiceLine,
    create_draft_invoice,
    issue_invoice,
)
from platform_core.shared.money import Money

pytestmark = pytest.mark.integration

ISSUED = 30
ROLLED_BACK = 10
PROCESSES = 3
CURRENCY = "CAD"


class IssueAbandoned(Exception):
    """The request failed after drawing its number (say, rendering the PDF blew up)."""


async def draft(platform: Platform, company_id: str) -> Invoice:
    line = NewInvoiceLine("Monthly monitoring", 1, Money(49_00, CURRENCY))
    return await create_draft_invoice(
        platform.deps, CreateDraftInvoice(company_id, CURRENCY, (line,))
    )


async def draw_then_roll_back(platform: Platform) -> int:
    """Draw a number in a transaction that never commits; return the number it saw."""
    drawn = 0
    with contextlib.suppress(IssueAbandoned):
        async with platform.deps.uow() as uow:
            drawn = await uow.invoice_numbers.next_number()
            await asyncio.sleep(0)  # hold the draw while other issuers queue behind it
            raise IssueAbandoned
    return drawn


def sequence_number(invoice: Invoice) -> int:
    assert invoice.number is not None
    prefix, digits = invoice.number.split("-")
    assert prefix == "INV"
    return int(digits)


async def test_concurrent_issuing_gives_unique_gap_free_numbers(
    platforms: Platforms, admin: Admin
) -> None:
    """30 drafts issued at once by three processes while 10 other transactions draw a number
    and roll back: the 30 invoices hold exactly INV-000001..INV-000030 and the counter stops
    at 30, so no rolled-back draw left a gap or a duplicate."""
    processes = platforms.open_many(PROCESSES)
    company_id = await new_company(processes[0], CURRENCY)
    drafts = [await draft(processes[0], company_id) for _ in range(ISSUED)]

    issuing = [
        issue_invoice(processes[n % PROCESSES].deps, IssueInvoice(invoice.id))
        for n, invoice in enumerate(drafts)
    ]
    abandoning = [draw_then_roll_back(processes[n % PROCESSES]) for n in range(ROLLED_BACK)]
    # Interleave the abandoned draws with the issues so they land in the middle of the run.
    work = [*issuing[:10], *abandoning[:5], *issuing[10:20], *abandoning[5:], *issuing[20:]]
    results = await asyncio.gather(*work)

    issued = [r for r in results if isinstance(r, Invoice)]
    drawn_then_dropped = [r for r in results if isinstance(r, int)]
    assert sorted(sequence_number(invoice) for invoice in issued) == list(range(1, ISSUED + 1))
    assert len(drawn_then_dropped) == ROLLED_BACK
    assert all(1 <= number <= ISSUED + 1 for number in drawn_then_dropped)
    assert await admin.scalar("SELECT value FROM sequences WHERE name = 'invoice_number'") == ISSUED
