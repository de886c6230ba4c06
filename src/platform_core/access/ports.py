"""Ports of the access context: the API key repository, unit of work and use-case deps."""

from __future__ import annotations

from typing import Protocol

from platform_core.access.model import ApiKey
from platform_core.customers.ports import CustomersUnitOfWork
from platform_core.ports.core import Repository, ServiceDeps


class ApiKeyRepository(Repository[ApiKey], Protocol):
    """API keys; a token hash belongs to one key only."""

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        """The key (active or revoked) whose token hashes to `key_hash`, if any."""
        ...

    async def list(self, limit: int, offset: int) -> list[ApiKey]:
        """Keys oldest first (ties by id), revoked ones included."""
        ...


class AccessUnitOfWork(CustomersUnitOfWork, Protocol):
    """A transaction over API keys; includes the customers repositories because a key may be
    limited to a company, which must exist."""

    @property
    def api_keys(self) -> ApiKeyRepository: ...


class AccessDeps(ServiceDeps, Protocol):
    """What the access use cases need: clock, ids and a unit of work."""

    def uow(self) -> AccessUnitOfWork: ...
