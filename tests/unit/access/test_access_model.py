"""The ApiKey aggregate: issuing, scoping, revoking and what its events reveal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from access_examples import START
from hypothesis import given

from platform_core.access.model import AccessEvent, ApiKey, Role
from platform_core.access.service import hash_token
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.testing.access import api_keys, tokens

TOKEN = "tok_" + "x" * 40


def issue(**changes: Any) -> tuple[ApiKey, list[DomainEvent]]:
    arguments: dict[str, Any] = {
        "api_key_id": "key_1",
        "name": "  Ops   dashboard ",
        "role": Role.OPS,
        "key_prefix": TOKEN[:8],
        "key_hash": hash_token(TOKEN),
        "at": START,
    }
    return ApiKey.issue(**(arguments | changes))


def test_issue_makes_an_active_key_and_an_event_without_the_hash() -> None:
    """A new key is active, its name cleaned; api_key.created names it but never its hash."""
    key, events = issue()
    assert (key.name, key.role, key.company_id, key.revoked_at) == (
        "Ops dashboard", Role.OPS, None, None,
    )  # fmt: skip
    assert key.version == 1
    [created] = events
    assert created.type == AccessEvent.API_KEY_CREATED
    assert (created.aggregate_type, created.aggregate_id) == ("api_key", "key_1")
    assert dict(created.payload) == {
        "api_key_id": "key_1",
        "name": "Ops dashboard",
        "role": "ops",
        "company_id": None,
        "key_prefix": TOKEN[:8],
    }
    assert key.key_hash not in str(created.as_dict())


def test_role_names_are_accepted_and_unknown_ones_refused() -> None:
    """A role given by name becomes the Role; an unknown name is a ValidationError."""
    key, _ = issue(role="support")
    assert key.role is Role.SUPPORT
    with pytest.raises(ValidationError) as raised:
        issue(role="root")
    assert raised.value.details["field"] == "role"


def test_an_admin_key_cannot_be_company_scoped() -> None:
    """Admin keys see everything, so limiting one to a company is refused; other roles may be."""
    with pytest.raises(ValidationError) as raised:
        issue(role=Role.ADMIN, company_id="cmp_1")
    assert raised.value.details["field"] == "company_id"
    scoped, _ = issue(role=Role.READONLY, company_id="cmp_1")
    assert scoped.company_id == "cmp_1"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key_hash", "not-a-digest"),
        ("key_hash", hash_token(TOKEN).upper()),
        ("key_prefix", "short"),
        ("key_prefix", TOKEN[:9]),
        ("name", "   "),
        ("api_key_id", ""),
    ],
)
def test_malformed_fields_are_refused(field: str, value: str) -> None:
    """A hash that is not a lower-case SHA-256 digest, a prefix of the wrong length, a blank
    name or id are refused at construction."""
    with pytest.raises(ValidationError):
        issue(**{field: value})


def test_a_naive_instant_is_refused() -> None:
    """Issuing and revoking need timezone-aware instants."""
    with pytest.raises(ValidationError):
        issue(at=datetime(2026, 3, 2, 9, 0))
    key, _ = issue()
    with pytest.raises(ValidationError):
        key.revoke(at=datetime(2026, 3, 2, 10, 0))


def test_revoke_once_then_conflict() -> None:
    """Revoking sets revoked_at and emits api_key.revoked; revoking again is a ConflictError."""
    key, _ = issue()
    later = START + timedelta(hours=2)
    revoked, events = key.revoke(at=later)
    assert revoked.revoked_at == later
    assert revoked.is_revoked
    assert not key.is_revoked
    assert [event.type for event in events] == [AccessEvent.API_KEY_REVOKED]
    assert dict(events[0].payload)["revoked_at"] == later.isoformat()
    with pytest.raises(ConflictError):
        revoked.revoke(at=later + timedelta(hours=1))


@given(key=api_keys(), token=tokens())
def test_generated_keys_are_valid_and_revocable(key: ApiKey, token: str) -> None:
    """Every generated key passes construction again, is active, is never an admin key when
    scoped, and revokes once."""
    assert ApiKey(**attrs.asdict(key, recurse=False)) == key
    assert not key.is_revoked
    assert key.company_id is None or key.role is not Role.ADMIN
    assert len(hash_token(token)) == 64
    revoked, _ = key.revoke(at=key.created_at + timedelta(seconds=1))
    with pytest.raises(ConflictError):
        revoked.revoke(at=key.created_at + timedelta(seconds=2))
