"""Contact: creation rules, partial updates, roles and archiving."""

from __future__ import annotations

import pytest
from customers_examples import LATER, START, contact
from hypothesis import given

from platform_core.customers.model import (
    UNCHANGED,
    Contact,
    ContactRole,
    ContactStatus,
    CustomerEvent,
)
from platform_core.shared.errors import IllegalTransition, ValidationError
from platform_core.testing.customers import emails


def test_create_cleans_input_and_announces_the_contact() -> None:
    """A contact is active, keeps its e-mail's case, and emits contact.created with its roles."""
    created, events = Contact.create(
        contact_id="con_1",
        company_id="cmp_1",
        name=" Ada  Lovelace ",
        email="  Ada@Example.COM ",
        phone="  ",
        roles=["technical", ContactRole.BILLING],
        at=START,
    )
    assert created.name == "Ada Lovelace"
    assert created.email == "Ada@Example.COM"
    assert created.normalised_email == "ada@example.com"
    assert created.phone is None
    assert created.status is ContactStatus.ACTIVE
    assert created.roles == {ContactRole.BILLING, ContactRole.TECHNICAL}
    assert events[0].type == CustomerEvent.CONTACT_CREATED
    assert events[0].payload["roles"] == ["billing", "technical"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a b@example.com"}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "+1 2"}, "phone"),
        ({"name": ""}, "name"),
        ({"roles": ["purchasing"]}, "roles"),
        ({"roles": "billing"}, "roles"),
        ({"company_id": " "}, "company_id"),
    ],
)
def test_create_refuses_bad_input(changes: dict[str, object], field: str) -> None:
    """Malformed e-mail or phone, blank name, unknown role or a bare role string are refused."""
    arguments: dict[str, object] = {
        "contact_id": "con_1",
        "company_id": "cmp_1",
        "name": "Ada",
        "email": "ada@example.com",
        **changes,
    }
    with pytest.raises(ValidationError) as raised:
        Contact.create(**arguments, at=START)  # type: ignore[arg-type]
    assert raised.value.details["field"] == field


@given(emails())
def test_normalised_email_ignores_case_and_surrounding_space(email: str) -> None:
    """Two spellings differing in case and outer whitespace normalise alike."""
    upper = contact(email=f"  {email.upper()} ")
    lower = contact(email=email.lower())
    assert upper.normalised_email == lower.normalised_email == email.lower()


def test_update_changes_only_given_fields() -> None:
    """Name changes, phone is removed with None, UNCHANGED keeps the e-mail."""
    updated, events = contact().update(name="Ada King", phone=None, email=UNCHANGED, at=LATER)
    assert (updated.name, updated.phone, updated.email) == ("Ada King", None, "ada@example.com")
    assert events[0].type == CustomerEvent.CONTACT_UPDATED
    assert events[0].payload["changed"] == ["name", "phone"]


def test_update_without_change_emits_nothing() -> None:
    """Setting the current values returns the same contact and no event."""
    original = contact()
    same, events = original.update(name="Ada Lovelace", email="ada@example.com", at=LATER)
    assert same is original
    assert events == []


def test_update_refuses_a_bad_email_and_leaves_the_contact_unchanged() -> None:
    """An invalid new e-mail raises and the original keeps its e-mail."""
    original = contact()
    with pytest.raises(ValidationError):
        original.update(email="nope", at=LATER)
    assert original.email == "ada@example.com"


def test_change_roles_grants_and_revokes_in_one_step() -> None:
    """Granted and revoked roles are applied together and listed in the event."""
    updated, events = contact().change_roles(
        grant={ContactRole.SHIPPING, ContactRole.EXECUTIVE}, revoke={ContactRole.BILLING}, at=LATER
    )
    assert updated.roles == {ContactRole.SHIPPING, ContactRole.EXECUTIVE}
    assert events[0].type == CustomerEvent.CONTACT_ROLES_CHANGED
    assert events[0].payload["granted"] == ["shipping", "executive"]
    assert events[0].payload["revoked"] == ["billing"]


def test_granting_a_held_role_changes_nothing() -> None:
    """Granting a role already held, or revoking one not held, is a no-op."""
    original = contact()
    same, events = original.change_roles(
        grant={ContactRole.BILLING}, revoke={ContactRole.TECHNICAL}, at=LATER
    )
    assert same is original
    assert events == []


def test_a_role_cannot_be_granted_and_revoked_at_once() -> None:
    """Contradictory role changes are refused and the contact is unchanged."""
    original = contact()
    with pytest.raises(ValidationError) as raised:
        original.change_roles(grant={ContactRole.BILLING}, revoke={ContactRole.BILLING}, at=LATER)
    assert raised.value.details["field"] == "roles"
    assert original.roles == {ContactRole.BILLING}


def test_archive_stamps_the_time_and_keeps_the_roles() -> None:
    """Archiving sets archived_at and emits contact.archived; roles stay for the record."""
    archived, events = contact().archive(at=LATER)
    assert archived.is_archived
    assert archived.archived_at == LATER
    assert archived.status is ContactStatus.ARCHIVED
    assert archived.roles == {ContactRole.BILLING}
    assert events[0].type == CustomerEvent.CONTACT_ARCHIVED
    assert events[0].payload["archived_at"] == LATER.isoformat()


@pytest.mark.parametrize(
    "command",
    [
        lambda c: c.archive(at=LATER),
        lambda c: c.update(name="Someone Else", at=LATER),
        lambda c: c.change_roles(grant={ContactRole.TECHNICAL}, at=LATER),
    ],
)
def test_an_archived_contact_refuses_every_command(command: object) -> None:
    """Archived is terminal: archive, update and role changes raise IllegalTransition."""
    archived, _ = contact().archive(at=LATER)
    with pytest.raises(IllegalTransition):
        command(archived)  # type: ignore[operator]
    assert archived.name == "Ada Lovelace"
    assert archived.roles == {ContactRole.BILLING}
