"""Customers use cases: companies, their defaults and primary contacts, contacts and addresses."""

from __future__ import annotations

import attrs

from platform_core.customers.cleaning import normalise_email
from platform_core.customers.model import (
    UNCHANGED,
    Address,
    AddressValidationStatus,
    Company,
    Contact,
    ContactRole,
    Patch,
    Unchanged,
)
from platform_core.customers.ports import CustomersDeps, CustomersUnitOfWork
from platform_core.shared.errors import ConflictError, ValidationError

# -- companies -------------------------------------------------------------------------------


@attrs.frozen
class CreateCompany:
    name: str
    company_mirror_id: str
    currency: str
    region: str | None = None
    correlation_id: str | None = None


async def create_company(deps: CustomersDeps, command: CreateCompany) -> Company:
    """Create the company that wraps a legacy CompanyMirror.

    Rules: one company per CompanyMirror (a second one is refused with a ConflictError naming
    the existing company); the currency is a known ISO 4217 code; the region, when given, is a
    country or ISO 3166-2 subdivision code such as "CA-ON".
    """
    async with deps.uow() as uow:
        existing = await uow.companies.by_mirror_id(command.company_mirror_id)
        if existing is not None:
            raise ConflictError(
                f"company {existing.id} already wraps mirror {command.company_mirror_id}",
                {"field": "company_mirror_id", "existing_company_id": existing.id},
            )
        company, events = Company.create(
            company_id=deps.ids.new_id("cmp"),
            name=command.name,
            company_mirror_id=command.company_mirror_id,
            currency=command.currency,
            region=command.region,
            at=deps.clock.now(),
        )
        await uow.companies.add(company)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return company


async def get_company(deps: CustomersDeps, company_id: str) -> Company:
    async with deps.uow() as uow:
        return await uow.companies.get(company_id)


async def find_company_by_mirror(deps: CustomersDeps, company_mirror_id: str) -> Company | None:
    """The company wrapping the legacy company `company_mirror_id`, if any."""
    async with deps.uow() as uow:
        return await uow.companies.by_mirror_id(company_mirror_id)


async def list_companies(
    deps: CustomersDeps, limit: int = 50, offset: int = 0, name: str | None = None
) -> list[Company]:
    """Companies oldest first, a page at a time.

    Rules: limit 1..500 and offset >= 0 (ValidationError); `name` keeps the companies whose
    name contains it, ignoring case and repeated blanks.
    """
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1..500 and offset >= 0", {"field": "limit"})
    async with deps.uow() as uow:
        return await uow.companies.list(limit, offset, name)


@attrs.frozen
class UpdateCompanyDefaults:
    """A partial update: fields left UNCHANGED keep their value, None clears an address."""

    company_id: str
    default_shipping_address_id: Patch[str | None] = UNCHANGED
    default_billing_address_id: Patch[str | None] = UNCHANGED
    currency: Patch[str] = UNCHANGED
    region: Patch[str | None] = UNCHANGED
    correlation_id: str | None = None


async def update_company_defaults(deps: CustomersDeps, command: UpdateCompanyDefaults) -> Company:
    """Change a company's default addresses, billing currency or pricing region.

    Rules: a default address must exist, belong to the company and not be marked invalid; the
    currency must be known; an update that changes nothing writes nothing and emits no event.
    """
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        company, events = company.change_defaults(
            shipping_address=await _address_arg(
                uow, command.default_shipping_address_id, "default_shipping_address_id"
            ),
            billing_address=await _address_arg(
                uow, command.default_billing_address_id, "default_billing_address_id"
            ),
            currency=command.currency,
            region=command.region,
            at=deps.clock.now(),
        )
        if not events:
            return company
        company = await uow.companies.update(company)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return company


async def _address_arg(
    uow: CustomersUnitOfWork, address_id: Patch[str | None], field: str
) -> Patch[Address | None]:
    if isinstance(address_id, Unchanged) or address_id is None:
        return address_id
    address = await uow.addresses.find(address_id)
    if address is None:
        raise ValidationError(f"address {address_id} not found", {"field": field})
    return address


@attrs.frozen
class SetPrimaryContact:
    """Make `contact_id` the company's primary contact for `role`; None clears the role."""

    company_id: str
    role: ContactRole
    contact_id: str | None
    correlation_id: str | None = None


async def set_primary_contact(deps: CustomersDeps, command: SetPrimaryContact) -> Company:
    """Set or clear the company's primary contact for one role.

    Rules: the contact exists, belongs to the company, holds the role and is not archived;
    setting the current primary again changes nothing.
    """
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        contact = None
        if command.contact_id is not None:
            contact = await uow.contacts.find(command.contact_id)
            if contact is None:
                raise ValidationError(
                    f"contact {command.contact_id} not found", {"field": "contact_id"}
                )
        company, events = company.set_primary_contact(command.role, contact, at=deps.clock.now())
        if not events:
            return company
        company = await uow.companies.update(company)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return company


# -- contacts --------------------------------------------------------------------------------


@attrs.frozen
class AddContact:
    company_id: str
    name: str
    email: str
    phone: str | None = None
    roles: frozenset[ContactRole] = frozenset()
    correlation_id: str | None = None


async def add_contact(deps: CustomersDeps, command: AddContact) -> Contact:
    """Add a contact to a company.

    Rules: the company exists; the e-mail is valid and no active contact of the company has
    the same e-mail ignoring case and surrounding whitespace (ConflictError naming that
    contact); roles come from the fixed set.
    """
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        contact, events = Contact.create(
            contact_id=deps.ids.new_id("con"),
            company_id=company.id,
            name=command.name,
            email=command.email,
            phone=command.phone,
            roles=command.roles,
            at=deps.clock.now(),
        )
        await _refuse_duplicate_email(uow, contact)
        await uow.contacts.add(contact)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return contact


async def _refuse_duplicate_email(uow: CustomersUnitOfWork, contact: Contact) -> None:
    existing = await uow.contacts.by_email(contact.company_id, contact.email)
    if existing is not None and existing.id != contact.id:
        raise ConflictError(
            f"contact {existing.id} of company {contact.company_id} already uses "
            f"{normalise_email(contact.email)}",
            {"field": "email", "existing_contact_id": existing.id},
        )


async def list_contacts(
    deps: CustomersDeps, company_id: str, *, include_archived: bool = False
) -> list[Contact]:
    async with deps.uow() as uow:
        await uow.companies.get(company_id)
        return await uow.contacts.for_company(company_id, include_archived=include_archived)


@attrs.frozen
class UpdateContact:
    """A partial update: fields left UNCHANGED keep their value; None removes the phone."""

    contact_id: str
    name: Patch[str] = UNCHANGED
    email: Patch[str] = UNCHANGED
    phone: Patch[str | None] = UNCHANGED
    correlation_id: str | None = None


async def update_contact(deps: CustomersDeps, command: UpdateContact) -> Contact:
    """Change a contact's name, e-mail or phone.

    Rules: archived contacts cannot change (CONFLICT); a new e-mail must not be used by another
    active contact of the company; an update that changes nothing writes nothing.
    """
    async with deps.uow() as uow:
        contact = await uow.contacts.get(command.contact_id)
        updated, events = contact.update(
            name=command.name, email=command.email, phone=command.phone, at=deps.clock.now()
        )
        if not events:
            return contact
        if updated.normalised_email != contact.normalised_email:
            await _refuse_duplicate_email(uow, updated)
        updated = await uow.contacts.update(updated)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return updated


@attrs.frozen
class ArchiveContact:
    contact_id: str
    correlation_id: str | None = None


async def archive_contact(deps: CustomersDeps, command: ArchiveContact) -> Contact:
    """Archive a contact.

    Rules: an archived contact cannot be archived again (CONFLICT); a contact that is the
    company's primary contact for any role is refused (CONFLICT naming the roles): set another
    primary contact first, so a company never silently loses e.g. its billing contact.
    Archiving frees the contact's e-mail for a new contact.
    """
    async with deps.uow() as uow:
        contact = await uow.contacts.get(command.contact_id)
        archived, events = contact.archive(at=deps.clock.now())
        company = await uow.companies.get(contact.company_id)
        company.require_not_primary(contact.id)
        archived = await uow.contacts.update(archived)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return archived


@attrs.frozen
class ChangeContactRoles:
    contact_id: str
    grant: frozenset[ContactRole] = frozenset()
    revoke: frozenset[ContactRole] = frozenset()
    correlation_id: str | None = None


async def change_contact_roles(deps: CustomersDeps, command: ChangeContactRoles) -> Contact:
    """Grant and revoke a contact's roles.

    Rules: archived contacts cannot change (CONFLICT); a role cannot be granted and revoked at
    once; revoking a role for which the contact is the company's primary contact is refused
    (CONFLICT); a change that changes nothing writes nothing.
    """
    async with deps.uow() as uow:
        contact = await uow.contacts.get(command.contact_id)
        updated, events = contact.change_roles(
            grant=command.grant, revoke=command.revoke, at=deps.clock.now()
        )
        if not events:
            return contact
        company = await uow.companies.get(contact.company_id)
        company.require_not_primary(contact.id, contact.roles - updated.roles)
        updated = await uow.contacts.update(updated)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return updated


# -- addresses -------------------------------------------------------------------------------


@attrs.frozen
class AddAddress:
    company_id: str
    lines: tuple[str, ...]
    city: str
    country: str
    region: str | None = None
    postal_code: str | None = None
    correlation_id: str | None = None


async def add_address(deps: CustomersDeps, command: AddAddress) -> Address:
    """Add an address to a company, or return the one it already has.

    Rules: the company exists; lines, city and country (ISO 3166-1 alpha-2) are valid; when
    the company already has the same address in normalised form (ignoring case, punctuation
    and spacing) that address is returned and nothing is written, so re-submitting a form is
    harmless.
    """
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        address, events = Address.create(
            address_id=deps.ids.new_id("adr"),
            company_id=company.id,
            lines=command.lines,
            city=command.city,
            region=command.region,
            postal_code=command.postal_code,
            country=command.country,
            at=deps.clock.now(),
        )
        existing = await uow.addresses.by_normalised_key(company.id, address.normalised_key)
        if existing is not None:
            return existing
        await uow.addresses.add(address)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return address


async def list_addresses(deps: CustomersDeps, company_id: str) -> list[Address]:
    async with deps.uow() as uow:
        await uow.companies.get(company_id)
        return await uow.addresses.for_company(company_id)


@attrs.frozen
class UpdateAddress:
    """A partial update: fields left UNCHANGED keep their value; None clears region or postcode."""

    address_id: str
    lines: Patch[tuple[str, ...]] = UNCHANGED
    city: Patch[str] = UNCHANGED
    region: Patch[str | None] = UNCHANGED
    postal_code: Patch[str | None] = UNCHANGED
    country: Patch[str] = UNCHANGED
    correlation_id: str | None = None


async def update_address(deps: CustomersDeps, command: UpdateAddress) -> Address:
    """Edit an address.

    Rules: a change of location makes the address unverified again; the edited address must
    not duplicate another address of the company (ConflictError naming it); an update that
    changes nothing writes nothing.
    """
    async with deps.uow() as uow:
        address = await uow.addresses.get(command.address_id)
        updated, events = address.update(
            lines=command.lines,
            city=command.city,
            region=command.region,
            postal_code=command.postal_code,
            country=command.country,
            at=deps.clock.now(),
        )
        if not events:
            return address
        twin = await uow.addresses.by_normalised_key(updated.company_id, updated.normalised_key)
        if twin is not None and twin.id != address.id:
            raise ConflictError(
                f"company {address.company_id} already has this address as {twin.id}",
                {"field": "address_id", "existing_address_id": twin.id},
            )
        updated = await uow.addresses.update(updated)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return updated


@attrs.frozen
class RecordAddressValidation:
    address_id: str
    status: AddressValidationStatus
    correlation_id: str | None = None


async def record_address_validation(
    deps: CustomersDeps, command: RecordAddressValidation
) -> Address:
    """Record an address check's verdict (verified or invalid).

    Rules: only unverified addresses can be verified; unverified and verified ones can be found
    invalid; an invalid address must be edited before it can be verified (CONFLICT otherwise).
    """
    async with deps.uow() as uow:
        address = await uow.addresses.get(command.address_id)
        address, events = address.record_validation(command.status, at=deps.clock.now())
        address = await uow.addresses.update(address)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return address


@attrs.frozen
class MarkAddressUsed:
    address_id: str


async def mark_address_used(deps: CustomersDeps, command: MarkAddressUsed) -> Address:
    """Note that an address was just used (for "recently used" ordering).

    Rules: the mark only moves forward in time; it is bookkeeping and emits no event.
    """
    async with deps.uow() as uow:
        address = await uow.addresses.get(command.address_id)
        marked, _ = address.mark_used(at=deps.clock.now())
        if marked is address:
            return address
        marked = await uow.addresses.update(marked)
        await uow.commit()
    return marked
