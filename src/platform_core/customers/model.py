"""Customers model: the Company, Contact and Address aggregates, their state machines and events.

A company wraps one legacy CompanyMirror; contacts and addresses are separate aggregates that
belong to exactly one company. Commands return the new aggregate and the events it caused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final, TypeAlias, TypeVar

import attrs

from platform_core.customers.cleaning import (
    clean_email,
    clean_lines,
    clean_optional_text,
    clean_phone,
    clean_postal_code,
    clean_text,
    normalise_email,
)
from platform_core.customers.geography import validate_country, validate_region
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import check_id, id_field, non_empty_text, optional_id_field
from platform_core.shared.money import validate_currency
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE: Final = "customers"

# Punctuation that does not change where an address is ("St." and "St" are one street).
_KEY_PUNCTUATION = re.compile(r"[.,#;:'\"/\\]")


class CustomerEvent(StrEnum):
    COMPANY_CREATED = "company.created"
    COMPANY_DEFAULTS_CHANGED = "company.defaults_changed"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_ARCHIVED = "contact.archived"
    CONTACT_ROLES_CHANGED = "contact.roles_changed"
    ADDRESS_CREATED = "address.created"
    ADDRESS_UPDATED = "address.updated"


class ContactRole(StrEnum):
    """The fixed set of roles a contact can hold; a company has one primary contact per role."""

    BILLING = "billing"
    SHIPPING = "shipping"
    OPERATIONS = "operations"
    TECHNICAL = "technical"
    EXECUTIVE = "executive"


class ContactStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class ContactTrigger(StrEnum):
    UPDATE = "update"
    CHANGE_ROLES = "change_roles"
    ARCHIVE = "archive"


CONTACT_MACHINE: Final[StateMachine[ContactStatus, ContactTrigger]] = StateMachine(
    name="contact",
    initial=ContactStatus.ACTIVE,
    transitions={
        (ContactStatus.ACTIVE, ContactTrigger.UPDATE): ContactStatus.ACTIVE,
        (ContactStatus.ACTIVE, ContactTrigger.CHANGE_ROLES): ContactStatus.ACTIVE,
        (ContactStatus.ACTIVE, ContactTrigger.ARCHIVE): ContactStatus.ARCHIVED,
    },
    terminal=frozenset({ContactStatus.ARCHIVED}),
)


class AddressValidationStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    INVALID = "invalid"


class AddressTrigger(StrEnum):
    EDIT = "edit"
    VERIFY = "verify"
    REJECT = "reject"


# A verified address can later be found undeliverable; an invalid one must be edited before it
# can be verified again, and any edit of the location makes it unverified.
ADDRESS_VALIDATION_MACHINE: Final[StateMachine[AddressValidationStatus, AddressTrigger]] = (
    StateMachine(
        name="address_validation",
        initial=AddressValidationStatus.UNVERIFIED,
        transitions={
            (AddressValidationStatus.UNVERIFIED, AddressTrigger.EDIT): (
                AddressValidationStatus.UNVERIFIED
            ),
            (AddressValidationStatus.VERIFIED, AddressTrigger.EDIT): (
                AddressValidationStatus.UNVERIFIED
            ),
            (AddressValidationStatus.INVALID, AddressTrigger.EDIT): (
                AddressValidationStatus.UNVERIFIED
            ),
            (AddressValidationStatus.UNVERIFIED, AddressTrigger.VERIFY): (
                AddressValidationStatus.VERIFIED
            ),
            (AddressValidationStatus.UNVERIFIED, AddressTrigger.REJECT): (
                AddressValidationStatus.INVALID
            ),
            (AddressValidationStatus.VERIFIED, AddressTrigger.REJECT): (
                AddressValidationStatus.INVALID
            ),
        },
    )
)


class Unchanged(Enum):
    """Marks a field a partial update leaves as it is (None cannot: None clears a field)."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED

T = TypeVar("T")
# A field of a partial update: a new value, or UNCHANGED.
Patch: TypeAlias = T | Unchanged


def to_role(value: object, field: str = "role") -> ContactRole:
    if isinstance(value, str) and value in ContactRole.__members__.values():
        return ContactRole(value)
    raise ValidationError(f"unknown contact role {value!r}", {"field": field, "value": repr(value)})


def to_roles(values: Iterable[object]) -> frozenset[ContactRole]:
    """A set of contact roles from their names; unknown names are refused."""
    if isinstance(values, str):
        raise ValidationError("roles must be a list of role names", {"field": "roles"})
    return frozenset(to_role(value, "roles") for value in values)


def ordered_roles(roles: Iterable[ContactRole]) -> list[JsonValue]:
    """Role names in declaration order, for payloads that must be stable."""
    held = set(roles)
    return [role.value for role in ContactRole if role in held]


# -- attrs validators: what every stored aggregate satisfies ---------------------------------


def _currency_field(_: Any, __: attrs.Attribute[Any], value: object) -> None:
    validate_currency(value)


def _region_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and validate_region(value, attribute.name) != value:
        raise ValidationError(
            f"{attribute.name} must be in canonical form", {"field": attribute.name}
        )


def _country_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if validate_country(value, attribute.name) != value:
        raise ValidationError(
            f"{attribute.name} must be an upper-case country code", {"field": attribute.name}
        )


def _email_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    clean_email(value, attribute.name)


def _phone_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    clean_phone(value, attribute.name)


def _lines_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if clean_lines(value, attribute.name) != value:
        raise ValidationError(
            f"{attribute.name} must hold non-empty lines", {"field": attribute.name}
        )


def _as_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _primary_pairs(
    value: Mapping[ContactRole, str] | Iterable[tuple[ContactRole, str]],
) -> tuple[tuple[ContactRole, str], ...]:
    """Primary contacts as (role, contact id) pairs in role order: immutable and hashable."""
    items = value.items() if isinstance(value, Mapping) else value
    pairs: dict[ContactRole, str] = {}
    for raw_role, contact_id in items:
        role = to_role(raw_role, "primary_contacts")
        if role in pairs:
            raise ValidationError(
                f"two primary contacts for role {role}", {"field": "primary_contacts"}
            )
        pairs[role] = check_id(contact_id, "primary_contacts")
    return tuple((role, pairs[role]) for role in ContactRole if role in pairs)


def _event(
    kind: CustomerEvent,
    aggregate_type: str,
    aggregate_id: str,
    at: datetime,
    payload: Mapping[str, JsonValue],
) -> DomainEvent:
    return DomainEvent(
        type=kind.value,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        occurred_at=at,
        source_module=SOURCE_MODULE,
    )


def _changed_fields(current: object, changes: Mapping[str, Any]) -> list[str]:
    return [name for name, value in changes.items() if getattr(current, name) != value]


def search_key(text: str) -> str:
    """The form a name is searched in: case-folded ("STRASSE" finds "Straße") with its
    whitespace collapsed, so every store matches a search the same way."""
    return " ".join(text.casefold().split())


# -- Company ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Company:
    """A customer company: wraps one legacy CompanyMirror and holds the company's defaults.

    `region` (a country or ISO 3166-2 subdivision such as "CA-ON") selects regional price
    books; `currency` is the default billing currency.
    """

    id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    company_mirror_id: str = attrs.field(validator=id_field)
    currency: str = attrs.field(validator=_currency_field)
    region: str | None = attrs.field(default=None, validator=_region_field)
    default_shipping_address_id: str | None = attrs.field(default=None, validator=optional_id_field)
    default_billing_address_id: str | None = attrs.field(default=None, validator=optional_id_field)
    primary_contacts: tuple[tuple[ContactRole, str], ...] = attrs.field(
        default=(), converter=_primary_pairs
    )
    created_at: datetime = attrs.field(validator=aware)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        company_id: str,
        name: str,
        company_mirror_id: str,
        currency: str,
        region: str | None = None,
        at: datetime,
    ) -> tuple[Company, list[DomainEvent]]:
        """A new company for a legacy CompanyMirror, without defaults or primary contacts."""
        company = cls(
            id=company_id,
            name=clean_text(name, "name"),
            company_mirror_id=check_id(company_mirror_id, "company_mirror_id"),
            currency=validate_currency(currency),
            region=None if region is None else validate_region(region),
            created_at=require_aware(at, "at"),
        )
        return company, [
            _event(CustomerEvent.COMPANY_CREATED, "company", company.id, at, company.snapshot())
        ]

    @property
    def name_search_key(self) -> str:
        """The name as `search_key` folds it; company searches match substrings of it."""
        return search_key(self.name)

    def primary_contact(self, role: ContactRole) -> str | None:
        """The id of the company's primary contact for `role`, if one is set."""
        return dict(self.primary_contacts).get(role)

    def primary_roles_of(self, contact_id: str) -> frozenset[ContactRole]:
        """The roles for which `contact_id` is the company's primary contact."""
        return frozenset(role for role, holder in self.primary_contacts if holder == contact_id)

    def change_defaults(
        self,
        *,
        shipping_address: Patch[Address | None] = UNCHANGED,
        billing_address: Patch[Address | None] = UNCHANGED,
        currency: Patch[str] = UNCHANGED,
        region: Patch[str | None] = UNCHANGED,
        at: datetime,
    ) -> tuple[Company, list[DomainEvent]]:
        """Change default addresses, billing currency or pricing region.

        A default address must belong to this company and must not be marked invalid.
        Nothing changes (and no event is emitted) when every given value is the current one.
        """
        require_aware(at, "at")
        changes: dict[str, Any] = {}
        if not isinstance(shipping_address, Unchanged):
            changes["default_shipping_address_id"] = self._own_address_id(
                shipping_address, "default_shipping_address_id"
            )
        if not isinstance(billing_address, Unchanged):
            changes["default_billing_address_id"] = self._own_address_id(
                billing_address, "default_billing_address_id"
            )
        if not isinstance(currency, Unchanged):
            changes["currency"] = validate_currency(currency)
        if not isinstance(region, Unchanged):
            changes["region"] = None if region is None else validate_region(region)
        return self._changed(changes, at)

    def set_primary_contact(
        self, role: ContactRole, contact: Contact | None, *, at: datetime
    ) -> tuple[Company, list[DomainEvent]]:
        """Make `contact` the primary contact for `role`, or clear the role with None.

        The contact must belong to this company, hold `role` and not be archived.
        """
        require_aware(at, "at")
        role = to_role(role)
        pairs = dict(self.primary_contacts)
        if contact is None:
            pairs.pop(role, None)
        else:
            self._check_primary_candidate(role, contact)
            pairs[role] = contact.id
        return self._changed({"primary_contacts": _primary_pairs(pairs)}, at)

    def require_not_primary(
        self, contact_id: str, roles: Iterable[ContactRole] | None = None
    ) -> None:
        """Refuse (ConflictError) when `contact_id` is primary for any of `roles` (default: any).

        Archiving a primary contact or revoking its primary role is refused rather than
        silently leaving the company without, say, a billing contact.
        """
        held = self.primary_roles_of(contact_id)
        if roles is not None:
            held &= frozenset(roles)
        if held:
            names = ordered_roles(held)
            raise ConflictError(
                f"contact {contact_id} is the primary {'/'.join(map(str, names))} contact of "
                f"company {self.id}; set another primary contact first",
                {
                    "field": "contact_id",
                    "company_id": self.id,
                    "contact_id": contact_id,
                    "roles": names,
                },
            )

    def snapshot(self) -> dict[str, JsonValue]:
        """The company as an event payload."""
        return {
            "company_id": self.id,
            "name": self.name,
            "company_mirror_id": self.company_mirror_id,
            "currency": self.currency,
            "region": self.region,
            "default_shipping_address_id": self.default_shipping_address_id,
            "default_billing_address_id": self.default_billing_address_id,
            "primary_contacts": {role.value: holder for role, holder in self.primary_contacts},
        }

    def _own_address_id(self, address: Address | None, field: str) -> str | None:
        if address is None:
            return None
        if address.company_id != self.id:
            raise ValidationError(
                f"address {address.id} does not belong to company {self.id}",
                {"field": field, "address_id": address.id},
            )
        if address.validation_status is AddressValidationStatus.INVALID:
            raise ValidationError(
                f"address {address.id} is marked invalid and cannot be a default",
                {"field": field, "address_id": address.id},
            )
        return address.id

    def _check_primary_candidate(self, role: ContactRole, contact: Contact) -> None:
        if contact.company_id != self.id:
            raise ValidationError(
                f"contact {contact.id} does not belong to company {self.id}",
                {"field": "contact_id", "contact_id": contact.id},
            )
        if contact.is_archived:
            raise ConflictError(
                f"contact {contact.id} is archived and cannot be a primary contact",
                {"field": "contact_id", "contact_id": contact.id},
            )
        if role not in contact.roles:
            raise ValidationError(
                f"contact {contact.id} does not hold the {role} role",
                {"field": "role", "contact_id": contact.id, "role": role.value},
            )

    def _changed(self, changes: dict[str, Any], at: datetime) -> tuple[Company, list[DomainEvent]]:
        changed = _changed_fields(self, changes)
        if not changed:
            return self, []
        company = attrs.evolve(self, **changes)
        payload: dict[str, JsonValue] = {"changed": list(changed), **company.snapshot()}
        event = _event(CustomerEvent.COMPANY_DEFAULTS_CHANGED, "company", self.id, at, payload)
        return company, [event]


# -- Contact ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Contact:
    """A person at one company, with the roles they hold. Archived contacts are read-only."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    email: str = attrs.field(validator=_email_field)
    phone: str | None = attrs.field(default=None, validator=_phone_field)
    roles: frozenset[ContactRole] = attrs.field(default=frozenset(), converter=to_roles)
    created_at: datetime = attrs.field(validator=aware)
    archived_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        contact_id: str,
        company_id: str,
        name: str,
        email: str,
        phone: str | None = None,
        roles: Iterable[ContactRole] = (),
        at: datetime,
    ) -> tuple[Contact, list[DomainEvent]]:
        """A new active contact. Duplicate e-mails are the service's check (it needs the repo)."""
        contact = cls(
            id=contact_id,
            company_id=check_id(company_id, "company_id"),
            name=clean_text(name, "name"),
            email=clean_email(email),
            phone=clean_phone(phone),
            roles=to_roles(roles),
            created_at=require_aware(at, "at"),
        )
        return contact, [
            _event(CustomerEvent.CONTACT_CREATED, "contact", contact.id, at, contact.snapshot())
        ]

    @property
    def status(self) -> ContactStatus:
        return ContactStatus.ACTIVE if self.archived_at is None else ContactStatus.ARCHIVED

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def normalised_email(self) -> str:
        return normalise_email(self.email)

    def update(
        self,
        *,
        name: Patch[str] = UNCHANGED,
        email: Patch[str] = UNCHANGED,
        phone: Patch[str | None] = UNCHANGED,
        at: datetime,
    ) -> tuple[Contact, list[DomainEvent]]:
        """Change name, e-mail or phone (None or blank removes the phone)."""
        CONTACT_MACHINE.next_state(self.status, ContactTrigger.UPDATE)
        require_aware(at, "at")
        changes: dict[str, Any] = {}
        if not isinstance(name, Unchanged):
            changes["name"] = clean_text(name, "name")
        if not isinstance(email, Unchanged):
            changes["email"] = clean_email(email)
        if not isinstance(phone, Unchanged):
            changes["phone"] = clean_phone(phone)
        changed = _changed_fields(self, changes)
        if not changed:
            return self, []
        contact = attrs.evolve(self, **changes)
        payload: dict[str, JsonValue] = {"changed": list(changed), **contact.snapshot()}
        return contact, [_event(CustomerEvent.CONTACT_UPDATED, "contact", self.id, at, payload)]

    def change_roles(
        self,
        *,
        grant: Iterable[ContactRole] = (),
        revoke: Iterable[ContactRole] = (),
        at: datetime,
    ) -> tuple[Contact, list[DomainEvent]]:
        """Grant and revoke roles in one step; a role may not be both granted and revoked.

        Whether a revoked role is a primary role of the company is the service's check.
        """
        CONTACT_MACHINE.next_state(self.status, ContactTrigger.CHANGE_ROLES)
        require_aware(at, "at")
        granted, revoked = to_roles(grant), to_roles(revoke)
        if granted & revoked:
            raise ValidationError(
                "a role cannot be granted and revoked at once",
                {"field": "roles", "roles": ordered_roles(granted & revoked)},
            )
        roles = (self.roles | granted) - revoked
        if roles == self.roles:
            return self, []
        contact = attrs.evolve(self, roles=roles)
        payload: dict[str, JsonValue] = {
            "contact_id": self.id,
            "company_id": self.company_id,
            "roles": ordered_roles(roles),
            "granted": ordered_roles(roles - self.roles),
            "revoked": ordered_roles(self.roles - roles),
        }
        event = _event(CustomerEvent.CONTACT_ROLES_CHANGED, "contact", self.id, at, payload)
        return contact, [event]

    def archive(self, *, at: datetime) -> tuple[Contact, list[DomainEvent]]:
        """Archive the contact: it keeps its data and roles but can no longer change.

        Archiving frees its e-mail address for a new contact of the company. Whether it is a
        primary contact is the service's check (`Company.require_not_primary`).
        """
        CONTACT_MACHINE.next_state(self.status, ContactTrigger.ARCHIVE)
        contact = attrs.evolve(self, archived_at=require_aware(at, "at"))
        payload: dict[str, JsonValue] = {
            "contact_id": self.id,
            "company_id": self.company_id,
            "archived_at": at.isoformat(),
        }
        return contact, [_event(CustomerEvent.CONTACT_ARCHIVED, "contact", self.id, at, payload)]

    def snapshot(self) -> dict[str, JsonValue]:
        """The contact as an event payload."""
        return {
            "contact_id": self.id,
            "company_id": self.company_id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "roles": ordered_roles(self.roles),
        }


# -- Address ---------------------------------------------------------------------------------


def _fold(text: str | None) -> str:
    if text is None:
        return ""
    return " ".join(_KEY_PUNCTUATION.sub(" ", text).casefold().split())


def address_key(
    lines: Iterable[str], city: str, region: str | None, postal_code: str | None, country: str
) -> str:
    """The normalised form two addresses are duplicates by.

    Case, punctuation, repeated whitespace and blanks inside postal codes are ignored;
    abbreviations ("St" vs "Street") are not guessed.
    """
    postal = "".join((postal_code or "").upper().replace("-", " ").split())
    parts = [*(_fold(line) for line in lines), _fold(city), _fold(region), postal, country.upper()]
    # The unit separator cannot appear in cleaned text, so the key is unambiguous.
    return "\x1f".join(parts)


@attrs.frozen(kw_only=True)
class Address:
    """A postal address of one company (shipments copy it; orders keep the billing one)."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    lines: tuple[str, ...] = attrs.field(converter=_as_tuple, validator=_lines_field)
    city: str = attrs.field(validator=non_empty_text)
    region: str | None = None
    postal_code: str | None = None
    country: str = attrs.field(validator=_country_field)
    validation_status: AddressValidationStatus = AddressValidationStatus.UNVERIFIED
    created_at: datetime = attrs.field(validator=aware)
    last_used_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        address_id: str,
        company_id: str,
        lines: Iterable[str],
        city: str,
        region: str | None = None,
        postal_code: str | None = None,
        country: str,
        at: datetime,
    ) -> tuple[Address, list[DomainEvent]]:
        """A new unverified address. Finding duplicates is the service's job (`normalised_key`)."""
        address = cls(
            id=address_id,
            company_id=check_id(company_id, "company_id"),
            lines=clean_lines(lines),
            city=clean_text(city, "city"),
            region=clean_optional_text(region, "region"),
            postal_code=clean_postal_code(postal_code),
            country=validate_country(country),
            created_at=require_aware(at, "at"),
        )
        return address, [
            _event(CustomerEvent.ADDRESS_CREATED, "address", address.id, at, address.snapshot())
        ]

    @property
    def normalised_key(self) -> str:
        return address_key(self.lines, self.city, self.region, self.postal_code, self.country)

    def update(
        self,
        *,
        lines: Patch[Iterable[str]] = UNCHANGED,
        city: Patch[str] = UNCHANGED,
        region: Patch[str | None] = UNCHANGED,
        postal_code: Patch[str | None] = UNCHANGED,
        country: Patch[str] = UNCHANGED,
        at: datetime,
    ) -> tuple[Address, list[DomainEvent]]:
        """Edit the address. A change of location (not mere case or punctuation) makes a
        verified or invalid address unverified again."""
        require_aware(at, "at")
        changes: dict[str, Any] = {}
        if not isinstance(lines, Unchanged):
            changes["lines"] = clean_lines(lines)
        if not isinstance(city, Unchanged):
            changes["city"] = clean_text(city, "city")
        if not isinstance(region, Unchanged):
            changes["region"] = clean_optional_text(region, "region")
        if not isinstance(postal_code, Unchanged):
            changes["postal_code"] = clean_postal_code(postal_code)
        if not isinstance(country, Unchanged):
            changes["country"] = validate_country(country)
        changed = _changed_fields(self, changes)
        if not changed:
            return self, []
        address = attrs.evolve(self, **changes)
        if address.normalised_key != self.normalised_key:
            status = ADDRESS_VALIDATION_MACHINE.next_state(
                self.validation_status, AddressTrigger.EDIT
            )
            address = attrs.evolve(address, validation_status=status)
            if status != self.validation_status:
                changed.append("validation_status")
        return address, [address._updated(changed, at)]

    def record_validation(
        self, status: AddressValidationStatus, *, at: datetime
    ) -> tuple[Address, list[DomainEvent]]:
        """Record the verdict of an address check: verified or invalid."""
        require_aware(at, "at")
        triggers = {
            AddressValidationStatus.VERIFIED: AddressTrigger.VERIFY,
            AddressValidationStatus.INVALID: AddressTrigger.REJECT,
        }
        if status not in triggers:
            raise ValidationError(
                "a validation verdict is either verified or invalid",
                {"field": "validation_status", "value": repr(status)},
            )
        new_status = ADDRESS_VALIDATION_MACHINE.next_state(self.validation_status, triggers[status])
        address = attrs.evolve(self, validation_status=new_status)
        return address, [address._updated(["validation_status"], at)]

    def mark_used(self, *, at: datetime) -> tuple[Address, list[DomainEvent]]:
        """Remember when the address was last used; the mark never moves back in time.

        Bookkeeping only, so it emits no event.
        """
        require_aware(at, "at")
        if self.last_used_at is not None and self.last_used_at >= at:
            return self, []
        return attrs.evolve(self, last_used_at=at), []

    def snapshot(self) -> dict[str, JsonValue]:
        """The address as an event payload (consumers copy it, e.g. as a shipment destination)."""
        return {
            "address_id": self.id,
            "company_id": self.company_id,
            "lines": list(self.lines),
            "city": self.city,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
            "validation_status": self.validation_status.value,
        }

    def _updated(self, changed: list[str], at: datetime) -> DomainEvent:
        payload: dict[str, JsonValue] = {"changed": list(changed), **self.snapshot()}
        return _event(CustomerEvent.ADDRESS_UPDATED, "address", self.id, at, payload)
