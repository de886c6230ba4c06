"""In-memory repositories of the customers context and their unit-of-work mixin.

Contact e-mails and address keys are unique per company but can change or be freed (an
archived contact's e-mail may be reused), which `Transaction.claim_unique` cannot express: it
never releases a value. They are kept in small index tables instead, written through the same
transaction with the same optimistic versions as the aggregates, so two concurrent units of
work claiming one value cannot both commit, like a unique index in SQL.
"""

from __future__ import annotations

import attrs

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.customers.cleaning import normalise_email
from platform_core.customers.model import Address, Company, Contact, search_key
from platform_core.shared.errors import ConflictError

# Separates the company id from the value in index keys; it cannot occur in either.
_SEPARATOR = "\x1f"


@attrs.frozen
class IndexEntry:
    """One value of a unique index and who holds it (None once released)."""

    id: str
    owner_id: str | None
    version: int = 1


class UniqueIndex(InMemoryRepository[IndexEntry]):
    """A unique index whose values can be released and claimed again."""

    field = ""

    async def claim(self, value: str, owner_id: str) -> None:
        entry = await self.find(value)
        if entry is None:
            await self.add(IndexEntry(value, owner_id))
        elif entry.owner_id is None:
            await self.update(attrs.evolve(entry, owner_id=owner_id))
        elif entry.owner_id != owner_id:
            raise ConflictError(
                f"{self.kind} is already used by {entry.owner_id}",
                {"field": self.field, "existing_id": entry.owner_id},
            )

    async def release(self, value: str, owner_id: str) -> None:
        entry = await self.find(value)
        if entry is not None and entry.owner_id == owner_id:
            await self.update(attrs.evolve(entry, owner_id=None))

    async def move(self, old: str | None, new: str | None, owner_id: str) -> None:
        """Hand `owner_id`'s claim from `old` to `new` (either may be None: no claim)."""
        if old == new:
            return
        if old is not None:
            await self.release(old, owner_id)
        if new is not None:
            await self.claim(new, owner_id)


class ContactEmailIndex(UniqueIndex):
    table = "contact_email_index"
    kind = "contact e-mail"
    field = "email"


class AddressKeyIndex(UniqueIndex):
    table = "address_key_index"
    kind = "address"
    field = "address_id"


def _email_value(contact: Contact) -> str | None:
    # Archived contacts give their e-mail back: a new contact of the company may use it.
    if contact.is_archived:
        return None
    return f"{contact.company_id}{_SEPARATOR}{contact.normalised_email}"


def _address_value(address: Address) -> str:
    return f"{address.company_id}{_SEPARATOR}{address.normalised_key}"


class InMemoryCompanyRepository(InMemoryRepository[Company]):
    table = "companies"
    kind = "company"

    async def add(self, aggregate: Company) -> Company:
        self._tx.claim_unique("company_mirror_id", aggregate.company_mirror_id, aggregate.id)
        return await super().add(aggregate)

    async def by_mirror_id(self, company_mirror_id: str) -> Company | None:
        found = self._where(lambda company: company.company_mirror_id == company_mirror_id)
        return found[0] if found else None

    async def list(self, limit: int, offset: int, name: str | None = None) -> list[Company]:
        wanted = None if name is None else search_key(name)
        rows = self._where(lambda company: wanted is None or wanted in company.name_search_key)
        rows.sort(key=lambda company: (company.created_at, company.id))
        return rows[offset : offset + limit]


class InMemoryContactRepository(InMemoryRepository[Contact]):
    table = "contacts"
    kind = "contact"

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self._emails = ContactEmailIndex(tx)

    async def add(self, aggregate: Contact) -> Contact:
        value = _email_value(aggregate)
        if value is not None:
            await self._emails.claim(value, aggregate.id)
        return await super().add(aggregate)

    async def update(self, aggregate: Contact) -> Contact:
        before = await self.get(aggregate.id)
        stored = await super().update(aggregate)
        await self._emails.move(_email_value(before), _email_value(aggregate), aggregate.id)
        return stored

    async def for_company(
        self, company_id: str, *, include_archived: bool = False
    ) -> list[Contact]:
        rows = self._where(
            lambda contact: (
                contact.company_id == company_id and (include_archived or not contact.is_archived)
            )
        )
        return sorted(rows, key=lambda contact: (contact.created_at, contact.id))

    async def by_email(self, company_id: str, email: str) -> Contact | None:
        wanted = normalise_email(email)
        found = self._where(
            lambda contact: (
                contact.company_id == company_id
                and not contact.is_archived
                and contact.normalised_email == wanted
            )
        )
        return found[0] if found else None


class InMemoryAddressRepository(InMemoryRepository[Address]):
    table = "addresses"
    kind = "address"

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self._keys = AddressKeyIndex(tx)

    async def add(self, aggregate: Address) -> Address:
        await self._keys.claim(_address_value(aggregate), aggregate.id)
        return await super().add(aggregate)

    async def update(self, aggregate: Address) -> Address:
        before = await self.get(aggregate.id)
        stored = await super().update(aggregate)
        await self._keys.move(_address_value(before), _address_value(aggregate), aggregate.id)
        return stored

    async def for_company(self, company_id: str) -> list[Address]:
        rows = self._where(lambda address: address.company_id == company_id)
        return sorted(rows, key=lambda address: (address.created_at, address.id))

    async def by_normalised_key(self, company_id: str, normalised_key: str) -> Address | None:
        found = self._where(
            lambda address: (
                address.company_id == company_id and address.normalised_key == normalised_key
            )
        )
        return found[0] if found else None


class CustomersTables:
    """The customers repositories, mixed into an in-memory unit of work beside
    `InMemoryUnitOfWorkBase`; all share the unit of work's transaction."""

    _tx: Transaction

    @property
    def companies(self) -> InMemoryCompanyRepository:
        return InMemoryCompanyRepository(self._tx)

    @property
    def contacts(self) -> InMemoryContactRepository:
        return InMemoryContactRepository(self._tx)

    @property
    def addresses(self) -> InMemoryAddressRepository:
        return InMemoryAddressRepository(self._tx)
