"""Stateful properties of the customers machines: contacts, address validation, primaries."""

from __future__ import annotations

from datetime import datetime, timedelta

from customers_examples import START, address, company, contact
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from platform_core.customers.model import (
    CONTACT_MACHINE,
    Address,
    AddressValidationStatus,
    Company,
    Contact,
    ContactRole,
    ContactStatus,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError
from platform_core.testing.customers import contact_roles, names, role_sets, street_lines

FAST = settings(max_examples=50, stateful_step_count=30, deadline=None)


class ContactLifecycle(RuleBasedStateMachine):
    """Commands on one contact, checked against a plain model of its roles and status."""

    def __init__(self) -> None:
        super().__init__()
        self.contact = contact(roles=())
        self.roles: set[ContactRole] = set()
        self.archived = False
        self.now = START

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    @rule(grant=role_sets(), revoke=role_sets())
    def change_roles(self, grant: frozenset[ContactRole], revoke: frozenset[ContactRole]) -> None:
        before = self.contact
        try:
            self.contact, events = before.change_roles(grant=grant, revoke=revoke, at=self._tick())
        except IllegalTransition:
            assert self.archived
            assert self.contact is before
            return
        except ValidationError:
            assert grant & revoke
            assert self.contact is before
            return
        assert not self.archived
        expected = (self.roles | grant) - revoke
        assert bool(events) == (expected != self.roles)
        self.roles = expected

    @rule(name=names())
    def rename(self, name: str) -> None:
        before = self.contact
        try:
            self.contact, _ = before.update(name=name, at=self._tick())
        except IllegalTransition:
            assert self.archived
            assert self.contact is before
            return
        assert self.contact.name == name

    @rule()
    def archive(self) -> None:
        try:
            self.contact, events = self.contact.archive(at=self._tick())
        except IllegalTransition:
            assert self.archived
            return
        assert not self.archived
        assert len(events) == 1
        self.archived = True

    @invariant()
    def roles_match_the_model(self) -> None:
        assert self.contact.roles == self.roles

    @invariant()
    def status_follows_archived_at(self) -> None:
        expected = ContactStatus.ARCHIVED if self.archived else ContactStatus.ACTIVE
        assert self.contact.status is expected
        assert (self.contact.archived_at is not None) == self.archived
        assert CONTACT_MACHINE.is_terminal(self.contact.status) == self.archived


class AddressValidation(RuleBasedStateMachine):
    """Edits, verdicts and use marks on one address."""

    def __init__(self) -> None:
        super().__init__()
        self.address: Address = address()
        self.last_used: datetime | None = None
        self.now = START

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    @rule(lines=street_lines())
    def move(self, lines: tuple[str, ...]) -> None:
        before = self.address
        self.address, _ = before.update(lines=lines, at=self._tick())
        if self.address.normalised_key != before.normalised_key:
            assert self.address.validation_status is AddressValidationStatus.UNVERIFIED

    @rule()
    def shout_the_city(self) -> None:
        before = self.address
        self.address, _ = before.update(city=before.city.upper(), at=self._tick())
        assert self.address.validation_status is before.validation_status

    @rule(
        verdict=st.sampled_from([AddressValidationStatus.VERIFIED, AddressValidationStatus.INVALID])
    )
    def validate(self, verdict: AddressValidationStatus) -> None:
        before = self.address
        allowed = (before.validation_status, verdict) in {
            (AddressValidationStatus.UNVERIFIED, AddressValidationStatus.VERIFIED),
            (AddressValidationStatus.UNVERIFIED, AddressValidationStatus.INVALID),
            (AddressValidationStatus.VERIFIED, AddressValidationStatus.INVALID),
        }
        try:
            self.address, _ = before.record_validation(verdict, at=self._tick())
        except IllegalTransition:
            assert not allowed
            assert self.address is before
            return
        assert allowed
        assert self.address.validation_status is verdict

    @rule(minutes=st.integers(-120, 120))
    def use(self, minutes: int) -> None:
        at = self.now + timedelta(minutes=minutes)
        self.address, _ = self.address.mark_used(at=at)
        if self.last_used is None or at > self.last_used:
            self.last_used = at

    @invariant()
    def last_use_never_goes_back(self) -> None:
        assert self.address.last_used_at == self.last_used

    @invariant()
    def identity_is_stable(self) -> None:
        assert (self.address.id, self.address.company_id) == ("adr_1", "cmp_1")


class PrimaryContacts(RuleBasedStateMachine):
    """Contacts come, change roles and leave; the company's primary contacts stay valid."""

    def __init__(self) -> None:
        super().__init__()
        self.company: Company = company()
        self.contacts: list[Contact] = []
        self.now = START

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def _replace(self, updated: Contact) -> None:
        self.contacts = [updated if c.id == updated.id else c for c in self.contacts]

    @rule(roles=role_sets(), foreign=st.booleans())
    def add_contact(self, roles: frozenset[ContactRole], foreign: bool) -> None:
        number = len(self.contacts) + 1
        owner = "cmp_2" if foreign else "cmp_1"
        self.contacts.append(
            contact(f"con_{number}", owner, roles, email=f"person{number}@example.com")
        )

    @precondition(lambda self: self.contacts)
    @rule(data=st.data(), role=contact_roles())
    def make_primary(self, data: st.DataObject, role: ContactRole) -> None:
        candidate = data.draw(st.sampled_from(self.contacts))
        try:
            self.company, _ = self.company.set_primary_contact(role, candidate, at=self._tick())
        except (ValidationError, ConflictError):
            assert (
                candidate.company_id != self.company.id
                or candidate.is_archived
                or role not in candidate.roles
            )

    @precondition(lambda self: self.contacts)
    @rule(data=st.data())
    def archive(self, data: st.DataObject) -> None:
        candidate = data.draw(st.sampled_from(self.contacts))
        try:
            archived, _ = candidate.archive(at=self._tick())
            self.company.require_not_primary(candidate.id)
        except (IllegalTransition, ConflictError):
            return
        self._replace(archived)

    @precondition(lambda self: self.contacts)
    @rule(data=st.data(), role=contact_roles())
    def revoke(self, data: st.DataObject, role: ContactRole) -> None:
        candidate = data.draw(st.sampled_from(self.contacts))
        try:
            updated, _ = candidate.change_roles(revoke={role}, at=self._tick())
            self.company.require_not_primary(candidate.id, candidate.roles - updated.roles)
        except (IllegalTransition, ConflictError):
            return
        self._replace(updated)

    @invariant()
    def every_primary_contact_is_an_active_company_contact_holding_its_role(self) -> None:
        by_id = {c.id: c for c in self.contacts}
        for role, contact_id in self.company.primary_contacts:
            holder = by_id[contact_id]
            assert holder.company_id == self.company.id
            assert not holder.is_archived
            assert role in holder.roles


TestContactLifecycle = FAST(ContactLifecycle).TestCase
TestAddressValidation = FAST(AddressValidation).TestCase
TestPrimaryContacts = FAST(PrimaryContacts).TestCase
