"""Customers use cases over the in-memory adapter: rules, dedupe, events and transactions."""

from __future__ import annotations

import pytest
from customers_examples import LATER, CustomersDepsForTests

from platform_core.customers.model import (
    AddressValidationStatus,
    Company,
    Contact,
    ContactRole,
    CustomerEvent,
)
from platform_core.customers.service import (
    AddAddress,
    AddContact,
    ArchiveContact,
    ChangeContactRoles,
    CreateCompany,
    MarkAddressUsed,
    RecordAddressValidation,
    SetPrimaryContact,
    UpdateAddress,
    UpdateCompanyDefaults,
    UpdateContact,
    add_address,
    add_contact,
    archive_contact,
    change_contact_roles,
    create_company,
    get_company,
    list_addresses,
    list_contacts,
    mark_address_used,
    record_address_validation,
    set_primary_contact,
    update_address,
    update_company_defaults,
    update_contact,
)
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    NotFoundError,
    ValidationError,
)


async def _company(deps: CustomersDepsForTests, mirror: str = "mir_1") -> Company:
    return await create_company(deps, CreateCompany("Acme Sensors", mirror, "CAD", "CA-ON"))


async def _contact(
    deps: CustomersDepsForTests,
    company_id: str,
    email: str = "ada@example.com",
    roles: frozenset[ContactRole] = frozenset({ContactRole.BILLING}),
) -> Contact:
    return await add_contact(deps, AddContact(company_id, "Ada Lovelace", email, roles=roles))


def _event_types(deps: CustomersDepsForTests) -> list[str]:
    return [stored.event.type for stored in deps.db.events]


async def test_create_company_records_the_company_and_its_event(
    deps: CustomersDepsForTests,
) -> None:
    """The company is stored with a generated id and company.created goes to the outbox."""
    company = await create_company(
        deps, CreateCompany("Acme", "mir_1", "CAD", "ca-on", correlation_id="req-1")
    )
    assert company.id == "cmp_000001"
    assert await get_company(deps, company.id) == company
    assert _event_types(deps) == [CustomerEvent.COMPANY_CREATED]
    assert deps.db.events[0].event.correlation_id == "req-1"
    assert len(deps.db.outbox) == 1


async def test_one_company_per_legacy_mirror(deps: CustomersDepsForTests) -> None:
    """A second company for the same CompanyMirror is a conflict naming the first."""
    first = await _company(deps)
    with pytest.raises(ConflictError) as raised:
        await _company(deps)
    assert raised.value.details["existing_company_id"] == first.id
    assert len(deps.db.table("companies")) == 1


async def test_bad_company_input_writes_nothing(deps: CustomersDepsForTests) -> None:
    """An unknown currency is refused before anything is stored."""
    with pytest.raises(ValidationError):
        await create_company(deps, CreateCompany("Acme", "mir_1", "ZZZ"))
    assert deps.db.table("companies") == {}
    assert deps.db.events == []


async def test_add_contact_to_an_unknown_company_is_not_found(
    deps: CustomersDepsForTests,
) -> None:
    """Contacts need an existing company."""
    with pytest.raises(NotFoundError):
        await _contact(deps, "cmp_missing")


async def test_duplicate_email_in_a_company_is_refused_naming_the_contact(
    deps: CustomersDepsForTests,
) -> None:
    """The same e-mail in another case and with spaces is a conflict naming the first contact."""
    company = await _company(deps)
    first = await _contact(deps, company.id)
    with pytest.raises(ConflictError) as raised:
        await _contact(deps, company.id, email="  ADA@example.com ")
    assert raised.value.details == {"field": "email", "existing_contact_id": first.id}
    assert len(await list_contacts(deps, company.id)) == 1


async def test_the_same_email_is_fine_in_another_company(deps: CustomersDepsForTests) -> None:
    """Dedupe is per company."""
    one, other = await _company(deps, "mir_1"), await _company(deps, "mir_2")
    await _contact(deps, one.id)
    await _contact(deps, other.id)
    assert len(deps.db.table("contacts")) == 2


async def test_archiving_frees_the_email(deps: CustomersDepsForTests) -> None:
    """After archiving, a new contact may use the archived contact's e-mail."""
    company = await _company(deps)
    first = await _contact(deps, company.id)
    await archive_contact(deps, ArchiveContact(first.id))
    second = await _contact(deps, company.id, email="Ada@Example.com")
    assert [c.id for c in await list_contacts(deps, company.id)] == [second.id]
    everyone = await list_contacts(deps, company.id, include_archived=True)
    assert [c.id for c in everyone] == [first.id, second.id]


async def test_update_contact_to_a_taken_email_is_refused(deps: CustomersDepsForTests) -> None:
    """Changing an e-mail to another active contact's is a conflict; nothing changes."""
    company = await _company(deps)
    ada = await _contact(deps, company.id)
    bob = await _contact(deps, company.id, email="bob@example.com")
    with pytest.raises(ConflictError) as raised:
        await update_contact(deps, UpdateContact(bob.id, email="ADA@example.com"))
    assert raised.value.details["existing_contact_id"] == ada.id
    async with deps.uow() as uow:
        assert (await uow.contacts.get(bob.id)).email == "bob@example.com"


async def test_update_contact_changes_and_bumps_the_version(deps: CustomersDepsForTests) -> None:
    """A real change is stored with a new version and a contact.updated event."""
    company = await _company(deps)
    ada = await _contact(deps, company.id)
    updated = await update_contact(deps, UpdateContact(ada.id, email="ada@newmail.com"))
    assert updated.version == 2
    assert updated.email == "ada@newmail.com"
    again = await update_contact(deps, UpdateContact(ada.id, email="ada@newmail.com"))
    assert again.version == 2
    assert _event_types(deps)[-1] == CustomerEvent.CONTACT_UPDATED
    # The old e-mail is free again for someone else.
    await _contact(deps, company.id, email="ada@example.com")


async def test_set_primary_contact_and_refuse_archiving_it(deps: CustomersDepsForTests) -> None:
    """A primary contact cannot be archived until another takes its role."""
    company = await _company(deps)
    ada = await _contact(deps, company.id)
    bob = await _contact(deps, company.id, email="bob@example.com")
    company = await set_primary_contact(
        deps, SetPrimaryContact(company.id, ContactRole.BILLING, ada.id)
    )
    assert company.primary_contact(ContactRole.BILLING) == ada.id
    assert company.version == 2
    with pytest.raises(ConflictError) as raised:
        await archive_contact(deps, ArchiveContact(ada.id))
    assert raised.value.details["roles"] == ["billing"]
    await set_primary_contact(deps, SetPrimaryContact(company.id, ContactRole.BILLING, bob.id))
    archived = await archive_contact(deps, ArchiveContact(ada.id))
    assert archived.is_archived


async def test_revoking_a_primary_role_is_refused(deps: CustomersDepsForTests) -> None:
    """The primary billing contact cannot lose the billing role; other roles may change."""
    company = await _company(deps)
    ada = await _contact(deps, company.id, roles=frozenset(ContactRole))
    await set_primary_contact(deps, SetPrimaryContact(company.id, ContactRole.BILLING, ada.id))
    with pytest.raises(ConflictError):
        await change_contact_roles(deps, ChangeContactRoles(ada.id, revoke={ContactRole.BILLING}))
    updated = await change_contact_roles(
        deps, ChangeContactRoles(ada.id, revoke={ContactRole.TECHNICAL})
    )
    assert ContactRole.TECHNICAL not in updated.roles
    assert _event_types(deps)[-1] == CustomerEvent.CONTACT_ROLES_CHANGED


async def test_set_primary_contact_rules(deps: CustomersDepsForTests) -> None:
    """Unknown contacts, other companies' contacts and missing roles are refused."""
    company = await _company(deps)
    other = await _company(deps, "mir_2")
    stranger = await _contact(deps, other.id, roles=frozenset({ContactRole.SHIPPING}))
    with pytest.raises(ValidationError):
        await set_primary_contact(deps, SetPrimaryContact(company.id, ContactRole.BILLING, "x"))
    with pytest.raises(ValidationError):
        await set_primary_contact(
            deps, SetPrimaryContact(company.id, ContactRole.SHIPPING, stranger.id)
        )
    cleared = await set_primary_contact(
        deps, SetPrimaryContact(company.id, ContactRole.BILLING, None)
    )
    assert cleared.version == 1  # nothing to clear, nothing written


async def test_archiving_twice_is_an_illegal_transition(deps: CustomersDepsForTests) -> None:
    """The second archive raises IllegalTransition and records no event."""
    company = await _company(deps)
    ada = await _contact(deps, company.id)
    await archive_contact(deps, ArchiveContact(ada.id))
    events_before = len(deps.db.events)
    with pytest.raises(IllegalTransition):
        await archive_contact(deps, ArchiveContact(ada.id))
    assert len(deps.db.events) == events_before


async def test_add_address_returns_the_existing_duplicate(deps: CustomersDepsForTests) -> None:
    """The same address typed differently returns the stored one and writes nothing."""
    company = await _company(deps)
    first = await add_address(
        deps, AddAddress(company.id, ("100 King St W",), "Toronto", "CA", "ON", "M5X 1A9")
    )
    again = await add_address(
        deps, AddAddress(company.id, ("100 king st. w.",), "TORONTO", "ca", "on", "m5x1a9")
    )
    assert again == first
    assert await list_addresses(deps, company.id) == [first]
    assert _event_types(deps).count(CustomerEvent.ADDRESS_CREATED) == 1


async def test_update_address_into_a_duplicate_is_refused(deps: CustomersDepsForTests) -> None:
    """Editing an address into another address of the company is a conflict naming it."""
    company = await _company(deps)
    king = await add_address(deps, AddAddress(company.id, ("100 King St W",), "Toronto", "CA"))
    bay = await add_address(deps, AddAddress(company.id, ("200 Bay St",), "Toronto", "CA"))
    with pytest.raises(ConflictError) as raised:
        await update_address(deps, UpdateAddress(bay.id, lines=("100 King St. W",)))
    assert raised.value.details["existing_address_id"] == king.id
    moved = await update_address(deps, UpdateAddress(bay.id, lines=("300 Bay St",)))
    assert moved.lines == ("300 Bay St",)
    assert moved.version == 2
    # The key it left is free: a new address may take it.
    again = await add_address(deps, AddAddress(company.id, ("200 Bay St",), "Toronto", "CA"))
    assert again.id not in {king.id, bay.id}


async def test_company_defaults_use_the_companys_own_addresses(
    deps: CustomersDepsForTests,
) -> None:
    """Defaults are set from stored addresses; unknown or foreign ids are refused."""
    company = await _company(deps)
    other = await _company(deps, "mir_2")
    own = await add_address(deps, AddAddress(company.id, ("1 Main St",), "Ottawa", "CA"))
    foreign = await add_address(deps, AddAddress(other.id, ("2 Main St",), "Ottawa", "CA"))
    updated = await update_company_defaults(
        deps, UpdateCompanyDefaults(company.id, default_billing_address_id=own.id)
    )
    assert updated.default_billing_address_id == own.id
    assert updated.version == 2
    for bad in ("adr_missing", foreign.id):
        with pytest.raises(ValidationError) as raised:
            await update_company_defaults(
                deps, UpdateCompanyDefaults(company.id, default_shipping_address_id=bad)
            )
        assert raised.value.details["field"] == "default_shipping_address_id"
    unchanged = await update_company_defaults(deps, UpdateCompanyDefaults(company.id))
    assert unchanged.version == 2


async def test_address_validation_and_use_marks(deps: CustomersDepsForTests) -> None:
    """A verdict is recorded with an event; a use mark is stored silently and only forward."""
    company = await _company(deps)
    home = await add_address(deps, AddAddress(company.id, ("1 Main St",), "Ottawa", "CA"))
    verified = await record_address_validation(
        deps, RecordAddressValidation(home.id, AddressValidationStatus.VERIFIED)
    )
    assert verified.validation_status is AddressValidationStatus.VERIFIED
    events_before = len(deps.db.events)
    deps.clock.set(LATER)
    used = await mark_address_used(deps, MarkAddressUsed(home.id))
    assert used.last_used_at == LATER
    assert len(deps.db.events) == events_before
    assert (await mark_address_used(deps, MarkAddressUsed(home.id))).version == used.version


async def test_concurrent_contacts_with_one_email_cannot_both_commit(
    deps: CustomersDepsForTests,
) -> None:
    """Two transactions that both passed the duplicate check: the second commit is refused."""
    company = await _company(deps)
    first = deps.uow()
    second = deps.uow()
    async with first, second:
        ada = Contact.create(
            contact_id="con_a", company_id=company.id, name="Ada", email="a@x.io", at=LATER
        )[0]
        eve = Contact.create(
            contact_id="con_b", company_id=company.id, name="Eve", email="A@X.io", at=LATER
        )[0]
        assert await first.contacts.by_email(company.id, "a@x.io") is None
        assert await second.contacts.by_email(company.id, "a@x.io") is None
        await first.contacts.add(ada)
        await second.contacts.add(eve)
        await first.commit()
        with pytest.raises(ConflictError):
            await second.commit()
    assert list(deps.db.table("contacts")) == ["con_a"]
