"""Companies, their contacts and addresses: the customers family of the API.

A company-scoped key reaches only its own company: another company, or a contact or address
of another company, answers 404 exactly like one that does not exist. It may not create
companies or change a company's currency or region (they decide its prices).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from entrypoints.api.dependencies import Caller, Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, View
from entrypoints.api.security import Principal
from entrypoints.bootstrap import Dependencies
from platform_core.customers.model import (
    UNCHANGED,
    Address,
    AddressValidationStatus,
    Company,
    Contact,
    ContactRole,
    ContactStatus,
    Patch,
    search_key,
)
from platform_core.customers.service import (
    AddAddress,
    AddContact,
    ArchiveContact,
    ChangeContactRoles,
    CreateCompany,
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
    list_companies,
    list_contacts,
    set_primary_contact,
    update_address,
    update_company_defaults,
    update_contact,
)
from platform_core.shared.errors import NotFoundError

T = TypeVar("T")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, examples=["CAD"])]
Region = Annotated[str, msgspec.Meta(min_length=2, max_length=10, examples=["CA-ON"])]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Phone = Annotated[str, msgspec.Meta(max_length=40)]
AddressLine = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
AddressLines = Annotated[list[AddressLine], msgspec.Meta(min_length=1, max_length=4)]
City = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Country = Annotated[str, msgspec.Meta(min_length=2, max_length=2, examples=["CA"])]
PostalCode = Annotated[str, msgspec.Meta(max_length=20)]


def _patch(value: T | msgspec.UnsetType) -> Patch[T]:
    """A field left out of a PATCH body keeps its value; an explicit null clears it."""
    return UNCHANGED if isinstance(value, msgspec.UnsetType) else value


# -- companies -------------------------------------------------------------------------------


class CompanyIn(Body):
    name: Name
    company_mirror_id: Annotated[
        str, msgspec.Meta(min_length=1, max_length=200, description="The legacy CompanyMirror")
    ]
    currency: Currency
    region: Region | None = None


class CompanyPatch(Body):
    """Only the fields present change; null clears a default address or the region."""

    default_shipping_address_id: Identifier | msgspec.UnsetType | None = msgspec.UNSET
    default_billing_address_id: Identifier | msgspec.UnsetType | None = msgspec.UNSET
    currency: Currency | msgspec.UnsetType = msgspec.UNSET
    region: Region | msgspec.UnsetType | None = msgspec.UNSET


class PrimaryContactIn(Body):
    contact_id: Annotated[
        Identifier | None, msgspec.Meta(description="The new primary contact; null clears it")
    ]


class CompanyView(View):
    id: str
    name: str
    company_mirror_id: str
    currency: str
    region: str | None
    default_shipping_address_id: str | None
    default_billing_address_id: str | None
    primary_contacts: Annotated[
        dict[str, str], msgspec.Meta(description="contact role -> primary contact id")
    ]
    created_at: datetime
    version: int


class CompanyPage(View):
    items: list[CompanyView]
    limit: int
    offset: int


def company_view(company: Company) -> CompanyView:
    return CompanyView(
        id=company.id,
        name=company.name,
        company_mirror_id=company.company_mirror_id,
        currency=company.currency,
        region=company.region,
        default_shipping_address_id=company.default_shipping_address_id,
        default_billing_address_id=company.default_billing_address_id,
        primary_contacts={str(role): contact_id for role, contact_id in company.primary_contacts},
        created_at=company.created_at,
        version=company.version,
    )


class CompanyController(Controller):
    path = "/v1/companies"
    tags = ["Customers"]
    opt = {"family": "customers"}

    @post(
        "/",
        summary="Create a company for a legacy company mirror",
        responses=ERRORS_WRITE,
        opt={"scoped": False},
    )
    async def create(
        self, data: JSONBody[CompanyIn], deps: Deps, request_id: RequestId
    ) -> CompanyView:
        command = CreateCompany(
            data.name, data.company_mirror_id, data.currency, data.region, request_id
        )
        return company_view(await create_company(deps, command))

    @get("/", summary="List companies, oldest first", responses=ERRORS_READ)
    async def list(
        self,
        deps: Deps,
        principal: Caller,
        name: Annotated[
            str | None, Parameter(description="Keep companies whose name contains this")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> CompanyPage:
        if principal.company_id is not None:
            # A scoped key's list is its own company: the one record it may see.
            own = await get_company(deps, principal.company_id)
            items = [own] if offset == 0 and _name_matches(own, name) else []
        else:
            items = await list_companies(deps, limit, offset, name)
        return CompanyPage(items=[company_view(c) for c in items], limit=limit, offset=offset)

    @get("/{company_id:str}", summary="Get a company", responses=ERRORS_READ)
    async def show(self, company_id: FromPath[str], deps: Deps, principal: Caller) -> CompanyView:
        principal.require_company(company_id, "company", company_id)
        return company_view(await get_company(deps, company_id))

    # Region and currency choose which prices apply, so a company key may not change them.
    @patch(
        "/{company_id:str}",
        summary="Change a company's default addresses, currency or pricing region",
        responses=ERRORS_WRITE,
        opt={"scoped": False},
    )
    async def update(
        self,
        company_id: FromPath[str],
        data: JSONBody[CompanyPatch],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> CompanyView:
        principal.require_company(company_id, "company", company_id)
        command = UpdateCompanyDefaults(
            company_id,
            default_shipping_address_id=_patch(data.default_shipping_address_id),
            default_billing_address_id=_patch(data.default_billing_address_id),
            currency=_patch(data.currency),
            region=_patch(data.region),
            correlation_id=request_id,
        )
        return company_view(await update_company_defaults(deps, command))

    @put(
        "/{company_id:str}/primary-contacts/{role:str}",
        summary="Set or clear the company's primary contact for a role",
        responses=ERRORS_WRITE,
    )
    async def set_primary_contact(
        self,
        company_id: FromPath[str],
        role: FromPath[ContactRole],
        data: JSONBody[PrimaryContactIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> CompanyView:
        principal.require_company(company_id, "company", company_id)
        command = SetPrimaryContact(company_id, role, data.contact_id, request_id)
        return company_view(await set_primary_contact(deps, command))


def _name_matches(company: Company, name: str | None) -> bool:
    # The same folding the repositories apply, so a scoped key's filter behaves like an admin's.
    return name is None or search_key(name) in company.name_search_key


# -- contacts --------------------------------------------------------------------------------


class ContactIn(Body):
    name: Name
    email: Email
    phone: Phone | None = None
    roles: list[ContactRole] = []


class ContactPatch(Body):
    """Only the fields present change; a null phone removes it."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET


class ContactRolesIn(Body):
    grant: list[ContactRole] = []
    revoke: list[ContactRole] = []


class ContactView(View):
    id: str
    company_id: str
    name: str
    email: str
    phone: str | None
    roles: list[ContactRole]
    status: ContactStatus
    created_at: datetime
    archived_at: datetime | None
    version: int


class ContactList(View):
    items: list[ContactView]
    total: int


def contact_view(contact: Contact) -> ContactView:
    return ContactView(
        id=contact.id,
        company_id=contact.company_id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        roles=[role for role in ContactRole if role in contact.roles],
        status=contact.status,
        created_at=contact.created_at,
        archived_at=contact.archived_at,
        version=contact.version,
    )


class CompanyContactController(Controller):
    path = "/v1/companies/{company_id:str}/contacts"
    tags = ["Customers"]
    opt = {"family": "customers"}

    @get("/", summary="List a company's contacts", responses=ERRORS_READ)
    async def list(
        self,
        company_id: FromPath[str],
        deps: Deps,
        principal: Caller,
        include_archived: FromQuery[bool] = False,
    ) -> ContactList:
        principal.require_company(company_id, "company", company_id)
        contacts = await list_contacts(deps, company_id, include_archived=include_archived)
        return ContactList(items=[contact_view(c) for c in contacts], total=len(contacts))

    @post("/", summary="Add a contact to a company", responses=ERRORS_WRITE)
    async def create(
        self,
        company_id: FromPath[str],
        data: JSONBody[ContactIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> ContactView:
        principal.require_company(company_id, "company", company_id)
        command = AddContact(
            company_id, data.name, data.email, data.phone, frozenset(data.roles), request_id
        )
        return contact_view(await add_contact(deps, command))


async def _require_own_contact(deps: Dependencies, principal: Principal, contact_id: str) -> None:
    """A scoped key may change only its own company's contacts (others are 'not found')."""
    if principal.company_id is None:
        return
    contacts = await list_contacts(deps, principal.company_id, include_archived=True)
    if all(contact.id != contact_id for contact in contacts):
        raise NotFoundError.of("contact", contact_id)


class ContactController(Controller):
    path = "/v1/contacts/{contact_id:str}"
    tags = ["Customers"]
    opt = {"family": "customers"}

    @patch("/", summary="Change a contact's name, e-mail or phone", responses=ERRORS_WRITE)
    async def update(
        self,
        contact_id: FromPath[str],
        data: JSONBody[ContactPatch],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> ContactView:
        await _require_own_contact(deps, principal, contact_id)
        command = UpdateContact(
            contact_id,
            name=_patch(data.name),
            email=_patch(data.email),
            phone=_patch(data.phone),
            correlation_id=request_id,
        )
        return contact_view(await update_contact(deps, command))

    @post("/archive", status_code=200, summary="Archive a contact", responses=ERRORS_WRITE)
    async def archive(
        self, contact_id: FromPath[str], deps: Deps, principal: Caller, request_id: RequestId
    ) -> ContactView:
        await _require_own_contact(deps, principal, contact_id)
        return contact_view(await archive_contact(deps, ArchiveContact(contact_id, request_id)))

    @post(
        "/roles",
        status_code=200,
        summary="Grant and revoke a contact's roles",
        responses=ERRORS_WRITE,
    )
    async def change_roles(
        self,
        contact_id: FromPath[str],
        data: JSONBody[ContactRolesIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> ContactView:
        await _require_own_contact(deps, principal, contact_id)
        command = ChangeContactRoles(
            contact_id, frozenset(data.grant), frozenset(data.revoke), request_id
        )
        return contact_view(await change_contact_roles(deps, command))


# -- addresses -------------------------------------------------------------------------------


class AddressIn(Body):
    lines: AddressLines
    city: City
    country: Country
    region: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    postal_code: PostalCode | None = None


class AddressPatch(Body):
    """Only the fields present change; null clears the region or the postal code."""

    lines: AddressLines | msgspec.UnsetType = msgspec.UNSET
    city: City | msgspec.UnsetType = msgspec.UNSET
    country: Country | msgspec.UnsetType = msgspec.UNSET
    region: Annotated[str, msgspec.Meta(max_length=100)] | msgspec.UnsetType | None = msgspec.UNSET
    postal_code: PostalCode | msgspec.UnsetType | None = msgspec.UNSET


class AddressView(View):
    id: str
    company_id: str
    lines: list[str]
    city: str
    region: str | None
    postal_code: str | None
    country: str
    validation_status: AddressValidationStatus
    created_at: datetime
    last_used_at: datetime | None
    version: int


class AddressList(View):
    items: list[AddressView]
    total: int


def address_view(address: Address) -> AddressView:
    return AddressView(
        id=address.id,
        company_id=address.company_id,
        lines=list(address.lines),
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
        validation_status=address.validation_status,
        created_at=address.created_at,
        last_used_at=address.last_used_at,
        version=address.version,
    )


class CompanyAddressController(Controller):
    path = "/v1/companies/{company_id:str}/addresses"
    tags = ["Customers"]
    opt = {"family": "customers"}

    @get("/", summary="List a company's addresses", responses=ERRORS_READ)
    async def list(self, company_id: FromPath[str], deps: Deps, principal: Caller) -> AddressList:
        principal.require_company(company_id, "company", company_id)
        addresses = await list_addresses(deps, company_id)
        return AddressList(items=[address_view(a) for a in addresses], total=len(addresses))

    @post(
        "/",
        summary="Add an address to a company (an existing identical address is returned)",
        responses=ERRORS_WRITE,
    )
    async def create(
        self,
        company_id: FromPath[str],
        data: JSONBody[AddressIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> AddressView:
        principal.require_company(company_id, "company", company_id)
        command = AddAddress(
            company_id,
            tuple(data.lines),
            data.city,
            data.country,
            data.region,
            data.postal_code,
            request_id,
        )
        return address_view(await add_address(deps, command))


class AddressController(Controller):
    path = "/v1/addresses/{address_id:str}"
    tags = ["Customers"]
    opt = {"family": "customers"}

    @patch("/", summary="Edit an address", responses=ERRORS_WRITE)
    async def update(
        self,
        address_id: FromPath[str],
        data: JSONBody[AddressPatch],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> AddressView:
        if principal.company_id is not None:
            # A scoped key may edit only its own company's addresses (others are 'not found').
            own = await list_addresses(deps, principal.company_id)
            if all(address.id != address_id for address in own):
                raise NotFoundError.of("address", address_id)
        command = UpdateAddress(
            address_id,
            lines=UNCHANGED if isinstance(data.lines, msgspec.UnsetType) else tuple(data.lines),
            city=_patch(data.city),
            region=_patch(data.region),
            postal_code=_patch(data.postal_code),
            country=_patch(data.country),
            correlation_id=request_id,
        )
        return address_view(await update_address(deps, command))


ROUTES = [
    CompanyController,
    CompanyContactController,
    ContactController,
    CompanyAddressController,
    AddressController,
]
