"""A PostgreSQL connection killed under a platform (failover, idle timeout, a DBA's
pg_terminate_backend): the request gets a clean ServiceUnavailable and the platform recovers
without a restart."""

from __future__ import annotations

import pytest
from integration_support import Admin, Platforms, new_company
from sqlalchemy import text

from adapters.persistence.sql.uow import SqlUnitOfWork
from entrypoints.bootstrap import Platform
from platform_core.billing.service import (
    CreateDraftInvoice,
    NewInvoiceLine,
    create_draft_invoice,
    get_invoice,
)
from platform_core.shared.errors import ServiceUnavailable
from platform_core.shared.money import Money

pytestmark = pytest.mark.integration

SQL_WORDS = ("SELECT", "select", "FROM", "pg_", "WHERE", "orders")


async def backend_pid(uow: SqlUnitOfWork) -> int:
    return int((await uow._session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def read_after_the_connection_dies(platform: Platform, admin: Admin) -> None:
    async with platform.deps.uow() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        await admin.terminate(await backend_pid(uow))
        await uow.orders.find("ord_after_the_kill")


async def platform_still_works(platform: Platform) -> None:
    """A read and a write through use cases, each in a new unit of work."""
    line = NewInvoiceLine("Site survey", 1, Money(90_00, "CAD"))
    company_id = await new_company(platform)
    command = CreateDraftInvoice(company_id, "CAD", (line,))
    draft = await create_draft_invoice(platform.deps, command)
    assert (await get_invoice(platform.deps, draft.id)).id == draft.id


async def test_a_connection_killed_inside_a_unit_of_work_is_service_unavailable(
    platforms: Platforms, admin: Admin
) -> None:
    """The statement after the server drops the unit of work's connection raises
    ServiceUnavailable whose message and details carry no SQL; the next unit of work on the
    same platform reads and writes normally."""
    platform = platforms.open()

    with pytest.raises(ServiceUnavailable) as raised:
        await read_after_the_connection_dies(platform, admin)

    shown = f"{raised.value} {raised.value.details}"
    assert not [word for word in SQL_WORDS if word in shown], shown
    assert raised.value.retryable
    await platform_still_works(platform)


async def test_a_pooled_connection_killed_between_requests_goes_unnoticed(
    platforms: Platforms, admin: Admin
) -> None:
    """A connection that dies while it waits in the pool is replaced when next checked out,
    so the following request succeeds instead of failing on a dead connection."""
    platform = platforms.open()
    async with platform.deps.uow() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        pid = await backend_pid(uow)

    await admin.terminate(pid)

    await platform_still_works(platform)
