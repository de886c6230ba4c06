"""Tables, mappers and repositories of the customers context.

Uniqueness lives in the schema: one company per legacy mirror, an active contact's normalised
e-mail once per company (a partial index, so an archived contact frees it), a normalised
address once per company.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from adapters.persistence.sql.mapper import ChildMapper, RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.customers.cleaning import normalise_email
from platform_core.customers.model import Address, Company, Contact, search_key

companies = Table(
    "companies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("company_mirror_id", String(64), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("region", String(10)),
    Column("default_shipping_address_id", String(64)),
    Column("default_billing_address_id", String(64)),
    Column("primary_contacts", Json, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    # The name as searches compare it (Company.name_search_key), folded here rather than by
    # the database: SQLite's lower() only folds ASCII.
    Column("name_search_key", Text, nullable=False),
    Index(None, "created_at", "id"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("email_normalised", String(320), nullable=False),
    Column("phone", String(40)),
    Column("created_at", Instant, nullable=False),
    Column("archived_at", Instant),
    Column("version", Integer, nullable=False),
    Index(None, "company_id", "created_at"),
    Index(
        "uq_contacts_active_email",
        "company_id",
        "email_normalised",
        unique=True,
        postgresql_where=text("archived_at IS NULL"),
        sqlite_where=text("archived_at IS NULL"),
    ),
)

contact_roles = Table(
    "contact_roles",
    metadata,
    Column(
        "contact_id", String(64), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("position", Integer, nullable=False),
    Column("value", String(30), primary_key=True),
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("lines", Json, nullable=False),
    Column("city", String(100), nullable=False),
    Column("region", String(10)),
    Column("postal_code", String(20)),
    Column("country", String(2), nullable=False),
    Column("validation_status", String(20), nullable=False),
    Column("normalised_key", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("last_used_at", Instant),
    Column("version", Integer, nullable=False),
    UniqueConstraint("company_id", "normalised_key"),
    Index(None, "company_id", "created_at"),
)


def _company_columns(company: Company) -> dict[str, Any]:
    return {"name_search_key": company.name_search_key}


def _contact_columns(contact: Contact) -> dict[str, Any]:
    return {"email_normalised": contact.normalised_email}


def _address_columns(address: Address) -> dict[str, Any]:
    return {"normalised_key": address.normalised_key}


class SqlCompanyRepository(SqlRepository[Company]):
    mapper = RowMapper(Company, companies, derived=_company_columns)
    kind = "company"

    def unique_details(self, aggregate: Company) -> dict[str, Any]:
        return {"field": "company_mirror_id", "company_mirror_id": aggregate.company_mirror_id}

    async def by_mirror_id(self, company_mirror_id: str) -> Company | None:
        return await self._first(companies.c.company_mirror_id == company_mirror_id)

    async def list(self, limit: int, offset: int, name: str | None = None) -> list[Company]:
        conditions = []
        if name is not None:
            # autoescape: a % or _ in the search is a character, not a wildcard.
            wanted = search_key(name)
            conditions.append(companies.c.name_search_key.contains(wanted, autoescape=True))
        return await self._where(
            *conditions,
            order_by=(companies.c.created_at, companies.c.id),
            limit=limit,
            offset=offset,
        )


class SqlContactRepository(SqlRepository[Contact]):
    mapper = RowMapper(
        Contact,
        contacts,
        children={"roles": ChildMapper(str, contact_roles, "contact_id")},
        derived=_contact_columns,
    )
    kind = "contact"

    def unique_details(self, aggregate: Contact) -> dict[str, Any]:
        return {"field": "email"}

    async def for_company(
        self, company_id: str, *, include_archived: bool = False
    ) -> list[Contact]:
        conditions = [contacts.c.company_id == company_id]
        if not include_archived:
            conditions.append(contacts.c.archived_at.is_(None))
        return await self._where(*conditions, order_by=(contacts.c.created_at, contacts.c.id))

    async def by_email(self, company_id: str, email: str) -> Contact | None:
        return await self._first(
            contacts.c.company_id == company_id,
            contacts.c.email_normalised == normalise_email(email),
            contacts.c.archived_at.is_(None),
        )


class SqlAddressRepository(SqlRepository[Address]):
    mapper = RowMapper(Address, addresses, derived=_address_columns)
    kind = "address"

    def unique_details(self, aggregate: Address) -> dict[str, Any]:
        return {"field": "address"}

    async def for_company(self, company_id: str) -> list[Address]:
        return await self._where(
            addresses.c.company_id == company_id, order_by=(addresses.c.created_at, addresses.c.id)
        )

    async def by_normalised_key(self, company_id: str, normalised_key: str) -> Address | None:
        return await self._first(
            addresses.c.company_id == company_id, addresses.c.normalised_key == normalised_key
        )


class CustomersTables:
    """The customers repositories over the unit of work's session."""

    _session: SqlSession

    @property
    def companies(self) -> SqlCompanyRepository:
        return SqlCompanyRepository(self._session)

    @property
    def contacts(self) -> SqlContactRepository:
        return SqlContactRepository(self._session)

    @property
    def addresses(self) -> SqlAddressRepository:
        return SqlAddressRepository(self._session)
