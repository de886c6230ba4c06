"""Helpers the repository contract suites share: fresh ids, adding and updating through a
unit of work, and the round trip every repository must pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import attrs
import pytest
from hypothesis import HealthCheck, settings

from platform_core.shared.errors import NotFoundError, StaleVersion
from tests.contract.conftest import Backend

# The database is not emptied between hypothesis examples: each example uses fresh ids.
ROUND_TRIP = settings(
    max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)

# Picks one repository out of a unit of work, e.g. `lambda uow: uow.orders`.
Pick = Callable[[Any], Any]


def unique(prefix: str) -> str:
    """An id no other example or test uses."""
    return f"{prefix}_{uuid4().hex[:12]}"


async def add_all(backend: Backend, pick: Pick, *aggregates: Any) -> None:
    """Add `aggregates` in one unit of work and commit it."""
    async with backend.uow() as uow:
        for aggregate in aggregates:
            await pick(uow).add(aggregate)
        await uow.commit()


async def update(backend: Backend, pick: Pick, aggregate: Any) -> Any:
    """Store a change in its own unit of work; returns the stored aggregate."""
    async with backend.uow() as uow:
        stored = await pick(uow).update(aggregate)
        await uow.commit()
    return stored


async def assert_round_trip(backend: Backend, pick: Pick, aggregate: Any, changed: Any) -> None:
    """add then get gives the aggregate back; update gives version + 1 and get returns it; an
    update from the old version is stale; an unknown id is not found."""
    await add_all(backend, pick, aggregate)
    async with backend.uow() as uow:
        assert await pick(uow).get(aggregate.id) == aggregate
        stored = await pick(uow).update(changed)
        await uow.commit()
    assert stored == attrs.evolve(changed, version=aggregate.version + 1)
    async with backend.uow() as uow:
        assert await pick(uow).get(aggregate.id) == stored
        with pytest.raises(StaleVersion):
            await pick(uow).update(changed)
        assert await pick(uow).find(unique("missing")) is None
        with pytest.raises(NotFoundError):
            await pick(uow).get(unique("missing"))
