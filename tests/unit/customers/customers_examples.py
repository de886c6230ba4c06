"""Example aggregates, fixed instants and in-memory wiring for the customers tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.customers import CustomersTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.customers.model import Address, Company, Contact, ContactRole

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


class CustomersUnitOfWorkForTests(CustomersTables, InMemoryUnitOfWorkBase):
    """The customers mixin composed the way the application's unit of work composes it."""


@attrs.define
class CustomersDepsForTests:
    """Satisfies CustomersDeps with real in-memory adapters."""

    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase

    def uow(self) -> CustomersUnitOfWorkForTests:
        return CustomersUnitOfWorkForTests(self.db, self.ids)

    @classmethod
    def fresh(cls) -> CustomersDepsForTests:
        return cls(FixedClock(START), SequentialIdGenerator(), InMemoryDatabase())


def company(company_id: str = "cmp_1", region: str | None = "CA-ON") -> Company:
    created, _ = Company.create(
        company_id=company_id,
        name="Acme Sensors",
        company_mirror_id=f"mir_{company_id}",
        currency="CAD",
        region=region,
        at=START,
    )
    return created


def contact(
    contact_id: str = "con_1",
    company_id: str = "cmp_1",
    roles: Iterable[ContactRole] = (ContactRole.BILLING,),
    email: str = "ada@example.com",
) -> Contact:
    created, _ = Contact.create(
        contact_id=contact_id,
        company_id=company_id,
        name="Ada Lovelace",
        email=email,
        phone="+1 416 555 0100",
        roles=roles,
        at=START,
    )
    return created


def address(address_id: str = "adr_1", company_id: str = "cmp_1") -> Address:
    created, _ = Address.create(
        address_id=address_id,
        company_id=company_id,
        lines=["100 King St W", "Suite 200"],
        city="Toronto",
        region="ON",
        postal_code="m5x 1a9",
        country="ca",
        at=START,
    )
    return created
