"""In-memory wiring, tokens and a company for the access tests."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.access import AccessTables
from adapters.persistence.memory.customers import CustomersTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.customers.model import Company

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Shaped like the edge's `secrets.token_urlsafe(32)`; readable, and each one distinct.
ADMIN_TOKEN = "adm1n-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
OPS_TOKEN = "ops-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
SUPPORT_TOKEN = "support-token-cccccccccccccccccccccccccccccccccc"


class AccessUnitOfWorkForTests(CustomersTables, AccessTables, InMemoryUnitOfWorkBase):
    """The customers and access mixins composed the way the application's unit of work is."""


@attrs.define
class AccessDepsForTests:
    """Satisfies AccessDeps with real in-memory adapters."""

    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase

    def uow(self) -> AccessUnitOfWorkForTests:
        return AccessUnitOfWorkForTests(self.db, self.ids)

    @classmethod
    def fresh(cls) -> AccessDepsForTests:
        return cls(FixedClock(START), SequentialIdGenerator(), InMemoryDatabase())


async def stored_company(deps: AccessDepsForTests, company_id: str = "cmp_1") -> Company:
    company, _ = Company.create(
        company_id=company_id,
        name="Acme Sensors",
        company_mirror_id=f"mir_{company_id}",
        currency="CAD",
        at=START,
    )
    async with deps.uow() as uow:
        await uow.companies.add(company)
        await uow.commit()
    return company
