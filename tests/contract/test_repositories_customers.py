"""Contract of the customers repositories (companies, contacts, addresses) on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique, update

from platform_core.customers.model import (
    Address,
    AddressValidationStatus,
    Company,
    Contact,
    ContactRole,
)
from platform_core.shared.errors import ConflictError
from platform_core.testing.customers import addresses, companies, contacts

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def company(mirror_id: str, company_id: str | None = None, minutes: int = 0) -> Company:
    created, _ = Company.create(
        company_id=company_id or unique("cmp"),
        name="Acme Sensors",
        company_mirror_id=mirror_id,
        currency="CAD",
        region="CA-ON",
        at=AT + timedelta(minutes=minutes),
    )
    return created


def contact(
    company_id: str, email: str, contact_id: str | None = None, minutes: int = 0
) -> Contact:
    created, _ = Contact.create(
        contact_id=contact_id or unique("con"),
        company_id=company_id,
        name="Ada Lovelace",
        email=email,
        roles={ContactRole.BILLING},
        at=AT + timedelta(minutes=minutes),
    )
    return created


def address(
    company_id: str, street: str, address_id: str | None = None, minutes: int = 0
) -> Address:
    created, _ = Address.create(
        address_id=address_id or unique("adr"),
        company_id=company_id,
        lines=[street],
        city="Toronto",
        region="ON",
        postal_code="M5V 2T6",
        country="CA",
        at=AT + timedelta(minutes=minutes),
    )
    return created


def _companies(uow: Any) -> Any:
    return uow.companies


def _contacts(uow: Any) -> Any:
    return uow.contacts


def _addresses(uow: Any) -> Any:
    return uow.addresses


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=companies())
    async def test_company(self, backend: Backend, drawn: Company) -> None:
        """A company (with its primary contacts and defaults) is stored and read back whole."""
        stored = attrs.evolve(drawn, id=unique("cmp"), company_mirror_id=unique("mir"))
        changed = attrs.evolve(
            stored,
            name="Renamed Sensors",
            default_billing_address_id="adr_1",
            primary_contacts=((ContactRole.BILLING, "con_1"), (ContactRole.SHIPPING, "con_2")),
        )
        await assert_round_trip(backend, _companies, stored, changed)

    @ROUND_TRIP
    @given(drawn=contacts())
    async def test_contact(self, backend: Backend, drawn: Contact) -> None:
        """A contact and its roles are stored and read back; changed roles are replaced."""
        stored = attrs.evolve(drawn, id=unique("con"), company_id=unique("cmp"))
        renamed, _ = stored.update(name="Grace Hopper", at=AT)
        changed = attrs.evolve(renamed, roles=frozenset(ContactRole) - stored.roles)
        await assert_round_trip(backend, _contacts, stored, changed)

    @ROUND_TRIP
    @given(drawn=addresses())
    async def test_address(self, backend: Backend, drawn: Address) -> None:
        """An address is stored and read back; its validation and last use are updated."""
        stored = attrs.evolve(drawn, id=unique("adr"), company_id=unique("cmp"))
        verified, _ = stored.record_validation(AddressValidationStatus.VERIFIED, at=AT)
        changed, _ = verified.mark_used(at=AT + timedelta(days=400))
        await assert_round_trip(backend, _addresses, stored, changed)


class TestCompanies:
    async def test_by_mirror_id_and_one_company_per_mirror(self, backend: Backend) -> None:
        """by_mirror_id finds the company wrapping a mirror (None for an unknown mirror); a
        second company for a wrapped mirror is a conflict, in a later or the same transaction."""
        first, second = company("mir_1"), company("mir_2")
        await add_all(backend, _companies, first, second)
        with pytest.raises(ConflictError):
            await add_all(backend, _companies, company("mir_1"))
        with pytest.raises(ConflictError):
            await add_all(backend, _companies, company("mir_3"), company("mir_3"))
        async with backend.uow() as uow:
            assert await uow.companies.by_mirror_id("mir_1") == first
            assert await uow.companies.by_mirror_id("mir_2") == second
            assert await uow.companies.by_mirror_id("mir_3") is None

    async def test_list_is_oldest_first_and_pages(self, backend: Backend) -> None:
        """Companies come oldest first, ties by id; limit and offset page through them."""
        await add_all(
            backend,
            _companies,
            company("mir_c", "cmp_c", minutes=5),
            company("mir_b", "cmp_b", minutes=1),
            company("mir_a", "cmp_a", minutes=1),
            company("mir_d", "cmp_d", minutes=0),
        )
        async with backend.uow() as uow:
            every = await uow.companies.list(10, 0)
            page = await uow.companies.list(2, 1)
            assert await uow.companies.list(10, 4) == []
        assert [c.id for c in every] == ["cmp_d", "cmp_a", "cmp_b", "cmp_c"]
        assert [c.id for c in page] == ["cmp_a", "cmp_b"]

    async def test_list_by_name_matches_a_folded_substring(self, backend: Backend) -> None:
        """`name` matches anywhere in the name ignoring case, also beyond ASCII (ß is ss);
        % and _ are plain characters, not wildcards; the filter combines with paging."""
        names = {
            "cmp_1": "Acme Sensors",
            "cmp_2": "NORTHWIND sensors Ltd",
            "cmp_3": "Große Straße GmbH",
            "cmp_4": "100% Uptime_Co",
            "cmp_5": "Borealis",
        }
        await add_all(
            backend,
            _companies,
            *(
                attrs.evolve(company(f"mir_{i}", i, minutes=n), name=name)
                for n, (i, name) in enumerate(names.items())
            ),
        )

        async def found(name: str, limit: int = 10, offset: int = 0) -> list[str]:
            async with backend.uow() as uow:
                return [c.id for c in await uow.companies.list(limit, offset, name)]

        assert await found("SENSORS") == ["cmp_1", "cmp_2"]
        assert await found("sensors", limit=1, offset=1) == ["cmp_2"]
        assert await found("wind  SENS") == ["cmp_2"]
        assert await found("STRASSE") == ["cmp_3"]
        assert await found("große") == ["cmp_3"]
        assert await found("0%") == ["cmp_4"]
        assert await found("e_c") == ["cmp_4"]
        assert await found("%") == ["cmp_4"]
        assert await found("a_m") == []
        assert await found("zeta") == []
        assert len(await found("")) == 5


class TestContacts:
    async def test_for_company_lists_active_contacts_oldest_first(self, backend: Backend) -> None:
        """Only the company's contacts, oldest first (ties by id); archived ones on request."""
        late = contact("cmp_1", "late@example.com", "con_c", minutes=5)
        tie_b = contact("cmp_1", "b@example.com", "con_b", minutes=1)
        tie_a = contact("cmp_1", "a@example.com", "con_a", minutes=1)
        gone, _ = contact("cmp_1", "gone@example.com", "con_d", minutes=0).archive(at=AT)
        other = contact("cmp_2", "a@example.com", "con_e")
        await add_all(backend, _contacts, late, tie_b, tie_a, gone, other)
        async with backend.uow() as uow:
            active = await uow.contacts.for_company("cmp_1")
            every = await uow.contacts.for_company("cmp_1", include_archived=True)
            assert await uow.contacts.for_company("cmp_unknown") == []
        assert [c.id for c in active] == ["con_a", "con_b", "con_c"]
        assert [c.id for c in every] == ["con_d", "con_a", "con_b", "con_c"]

    async def test_by_email_finds_the_active_contact_of_the_company(self, backend: Backend) -> None:
        """by_email ignores case and surrounding blanks, stays within the company and skips
        archived contacts."""
        ada = contact("cmp_1", "Ada.Lovelace@Example.COM")
        archived, _ = contact("cmp_1", "grace@example.com").archive(at=AT)
        await add_all(backend, _contacts, ada, archived)
        async with backend.uow() as uow:
            assert await uow.contacts.by_email("cmp_1", "  ada.lovelace@example.com ") == ada
            assert await uow.contacts.by_email("cmp_2", "ada.lovelace@example.com") is None
            assert await uow.contacts.by_email("cmp_1", "grace@example.com") is None
            assert await uow.contacts.by_email("cmp_1", "nobody@example.com") is None

    async def test_an_active_email_is_unique_within_the_company(self, backend: Backend) -> None:
        """A second active contact with the e-mail (any case) conflicts, at add and at update;
        another company may use it."""
        ada, grace = contact("cmp_1", "ada@example.com"), contact("cmp_1", "grace@example.com")
        await add_all(backend, _contacts, ada, grace)
        with pytest.raises(ConflictError):
            await add_all(backend, _contacts, contact("cmp_1", "ADA@example.com"))
        taken, _ = grace.update(email="Ada@Example.com", at=AT)
        with pytest.raises(ConflictError):
            await update(backend, _contacts, taken)
        await add_all(backend, _contacts, contact("cmp_2", "ada@example.com"))
        async with backend.uow() as uow:
            assert (await uow.contacts.get(grace.id)).email == "grace@example.com"

    async def test_archiving_or_changing_an_email_frees_it(self, backend: Backend) -> None:
        """Once its holder is archived or moves to another e-mail, a new contact of the
        company may take the e-mail."""
        ada, grace = contact("cmp_1", "ada@example.com"), contact("cmp_1", "grace@example.com")
        await add_all(backend, _contacts, ada, grace)
        archived, _ = ada.archive(at=AT)
        moved, _ = grace.update(email="grace@new.example.com", at=AT)
        await update(backend, _contacts, archived)
        await update(backend, _contacts, moved)
        newcomers = contact("cmp_1", "ada@example.com"), contact("cmp_1", "grace@example.com")
        await add_all(backend, _contacts, *newcomers)
        async with backend.uow() as uow:
            assert await uow.contacts.by_email("cmp_1", "ada@example.com") == newcomers[0]
            assert await uow.contacts.by_email("cmp_1", "grace@example.com") == newcomers[1]


class TestAddresses:
    async def test_for_company_and_by_normalised_key(self, backend: Backend) -> None:
        """for_company lists the company's addresses oldest first (ties by id);
        by_normalised_key finds an address from a differently written copy of it."""
        late = address("cmp_1", "3 King St", "adr_c", minutes=5)
        tie_b = address("cmp_1", "2 King Street West", "adr_b", minutes=1)
        tie_a = address("cmp_1", "1 King St", "adr_a", minutes=1)
        other = address("cmp_2", "1 King St", "adr_d")
        await add_all(backend, _addresses, late, tie_b, tie_a, other)
        key = address("cmp_1", "2, KING  street west.").normalised_key
        async with backend.uow() as uow:
            found = await uow.addresses.for_company("cmp_1")
            assert await uow.addresses.for_company("cmp_unknown") == []
            assert await uow.addresses.by_normalised_key("cmp_1", key) == tie_b
            assert await uow.addresses.by_normalised_key("cmp_2", key) is None
            assert await uow.addresses.by_normalised_key("cmp_1", "nowhere") is None
        assert [a.id for a in found] == ["adr_a", "adr_b", "adr_c"]

    async def test_an_address_occurs_once_per_company(self, backend: Backend) -> None:
        """The same normalised address twice in a company conflicts, at add and when an edit
        makes two equal; another company may hold it; an edit frees the old key."""
        first, second = address("cmp_1", "1 King St"), address("cmp_1", "2 King St")
        await add_all(backend, _addresses, first, second)
        with pytest.raises(ConflictError):
            await add_all(backend, _addresses, address("cmp_1", "1 KING ST"))
        duplicate, _ = second.update(lines=["1 king st"], at=AT)
        with pytest.raises(ConflictError):
            await update(backend, _addresses, duplicate)
        await add_all(backend, _addresses, address("cmp_2", "1 King St"))
        moved, _ = second.update(lines=["4 King St"], at=AT)
        await update(backend, _addresses, moved)
        await add_all(backend, _addresses, address("cmp_1", "2 King St"))
