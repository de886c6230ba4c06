"""Integration fixtures: an emptied PostgreSQL database per test, platforms built on it the way
users build them, a seeded demo driver and an admin session."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from integration_support import Admin, Platforms, settings_for
from tests.support.databases import empty

from adapters.ids import UuidIdGenerator
from adapters.persistence.sql import SqlDatabase
from entrypoints.demo import Demo


@pytest.fixture
async def database_url(postgresql_url: str) -> str:
    """The session's scratch PostgreSQL database, emptied for this test."""
    database = SqlDatabase(postgresql_url)
    try:
        await empty(database)
    finally:
        await database.dispose()
    return postgresql_url


@pytest.fixture
async def platforms(database_url: str) -> AsyncIterator[Platforms]:
    opened = Platforms(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def demo(database_url: str) -> AsyncIterator[Demo]:
    """A seeded platform (company, contacts, catalogue, prices) driven like the CLI demo."""
    started = await Demo.start(io.StringIO(), settings_for(database_url), ids=UuidIdGenerator())
    try:
        yield started
    finally:
        await started.platform.close()


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[Admin]:
    connected = await Admin.connect(database_url)
    try:
        yield connected
    finally:
        await connected.close()
