"""Ports of the customers context: its repositories, unit of work and use-case dependencies."""

from __future__ import annotations

from typing import Protocol

from platform_core.customers.model import Address, Company, Contact
from platform_core.ports.core import Repository, ServiceDeps, UnitOfWork


class CompanyRepository(Repository[Company], Protocol):
    """Customer companies, each wrapping exactly one legacy CompanyMirror."""

    async def by_mirror_id(self, company_mirror_id: str) -> Company | None:
        """The company wrapping `company_mirror_id`, if any."""
        ...

    async def list(self, limit: int, offset: int, name: str | None = None) -> list[Company]:
        """Companies oldest first (ties by id); with `name`, only those whose name contains
        it, compared in `search_key` form (case-insensitive)."""
        ...


class ContactRepository(Repository[Contact], Protocol):
    """Contacts; an active contact's normalised e-mail is unique within its company."""

    async def for_company(
        self, company_id: str, *, include_archived: bool = False
    ) -> list[Contact]:
        """The company's contacts, oldest first."""
        ...

    async def by_email(self, company_id: str, email: str) -> Contact | None:
        """The company's active contact whose e-mail equals `email` once both are normalised."""
        ...


class AddressRepository(Repository[Address], Protocol):
    """Addresses; a normalised address occurs at most once per company."""

    async def for_company(self, company_id: str) -> list[Address]:
        """The company's addresses, oldest first."""
        ...

    async def by_normalised_key(self, company_id: str, normalised_key: str) -> Address | None:
        """The company's address with this `Address.normalised_key`, if any."""
        ...


class CustomersUnitOfWork(UnitOfWork, Protocol):
    """A transaction over companies, contacts and addresses."""

    @property
    def companies(self) -> CompanyRepository: ...

    @property
    def contacts(self) -> ContactRepository: ...

    @property
    def addresses(self) -> AddressRepository: ...


class CustomersDeps(ServiceDeps, Protocol):
    """What the customers use cases need: clock, ids and a unit of work."""

    def uow(self) -> CustomersUnitOfWork: ...
