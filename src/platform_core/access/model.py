"""Access model: the ApiKey aggregate, the roles a key grants, and its events.

A key is stored as the SHA-256 of its token and the token's first characters (to recognise a
key in a listing); the token itself never reaches the core's aggregates or events.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import attrs

from platform_core.customers.cleaning import clean_text
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import check_id, id_field, non_empty_text, optional_id_field
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE: Final = "access"

# How many leading characters of a token a listing shows; enough to tell keys apart, far too
# few to guess the rest of a token of at least MIN_TOKEN_LENGTH random characters.
KEY_PREFIX_LENGTH: Final = 8

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class Role(StrEnum):
    """What a key may do; the edges map each role to the operations it allows."""

    ADMIN = "admin"
    SUPPORT = "support"
    OPS = "ops"
    READONLY = "readonly"


class AccessEvent(StrEnum):
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"


def to_role(value: object) -> Role:
    """A Role from its name; unknown names are refused."""
    if isinstance(value, str) and value in Role.__members__.values():
        return Role(value)
    raise ValidationError(f"unknown role {value!r}", {"field": "role", "value": repr(value)})


def _key_hash_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise ValidationError(
            f"{attribute.name} must be a lower-case SHA-256 hex digest", {"field": attribute.name}
        )


def _key_prefix_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or len(value) != KEY_PREFIX_LENGTH or value != value.strip():
        raise ValidationError(
            f"{attribute.name} must be the first {KEY_PREFIX_LENGTH} characters of the token",
            {"field": attribute.name},
        )


def _scope_allowed(instance: Any, _: attrs.Attribute[Any], company_id: str | None) -> None:
    # An admin key manages keys and everything else; limiting it to one company would be a
    # contradiction the edges could not enforce consistently.
    if company_id is not None and instance.role is Role.ADMIN:
        raise ValidationError(
            "an admin key cannot be limited to a company", {"field": "company_id"}
        )


@attrs.frozen(kw_only=True)
class ApiKey:
    """A bearer credential: a role, optionally limited to one company's data, until revoked."""

    id: str = attrs.field(validator=id_field)
    name: str = attrs.field(validator=non_empty_text)
    role: Role = attrs.field(converter=to_role)
    company_id: str | None = attrs.field(
        default=None, validator=[optional_id_field, _scope_allowed]
    )
    key_prefix: str = attrs.field(validator=_key_prefix_field)
    key_hash: str = attrs.field(validator=_key_hash_field)
    created_at: datetime = attrs.field(validator=aware)
    revoked_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = 1

    @classmethod
    def issue(
        cls,
        *,
        api_key_id: str,
        name: str,
        role: Role,
        key_prefix: str,
        key_hash: str,
        company_id: str | None = None,
        at: datetime,
    ) -> tuple[ApiKey, list[DomainEvent]]:
        """A new active key. That a company-scoped key names an existing company and that no
        other key has the same hash are the service's checks (they need the repositories)."""
        key = cls(
            id=api_key_id,
            name=clean_text(name, "name"),
            role=role,
            company_id=None if company_id is None else check_id(company_id, "company_id"),
            key_prefix=key_prefix,
            key_hash=key_hash,
            created_at=require_aware(at, "at"),
        )
        return key, [key._event(AccessEvent.API_KEY_CREATED, at, key.snapshot())]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self, *, at: datetime) -> tuple[ApiKey, list[DomainEvent]]:
        """Revoke the key for good: it authenticates nothing from now on."""
        require_aware(at, "at")
        if self.revoked_at is not None:
            raise ConflictError(
                f"API key {self.id} was already revoked",
                {"api_key_id": self.id, "revoked_at": self.revoked_at.isoformat()},
            )
        key = attrs.evolve(self, revoked_at=at)
        payload: dict[str, JsonValue] = {
            "api_key_id": self.id,
            "key_prefix": self.key_prefix,
            "revoked_at": at.isoformat(),
        }
        return key, [key._event(AccessEvent.API_KEY_REVOKED, at, payload)]

    def snapshot(self) -> dict[str, JsonValue]:
        """The key as an event payload: never its hash, which only authentication needs."""
        return {
            "api_key_id": self.id,
            "name": self.name,
            "role": self.role.value,
            "company_id": self.company_id,
            "key_prefix": self.key_prefix,
        }

    def _event(self, kind: AccessEvent, at: datetime, payload: dict[str, JsonValue]) -> DomainEvent:
        return DomainEvent(
            type=kind.value,
            aggregate_type="api_key",
            aggregate_id=self.id,
            payload=payload,
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )
