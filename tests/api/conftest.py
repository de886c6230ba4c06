"""The API over the in-memory store, driven through Litestar's test client.

`client` sends an admin key; `keys.headers(role, company_id)` makes a key of any role (or
company scope) and returns its Authorization header; `seeded` is the demo company and
catalogue; `platform.settle()` lets outbox reactions and inline jobs run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.clock import FixedClock
from entrypoints.api import ApiSettings, create_app
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.seed import SeededCatalogue, seed_catalogue
from platform_core.access.model import Role
from tests.api.api_support import Keys

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def platform(clock: FixedClock) -> AsyncIterator[Platform]:
    built = bootstrap(Settings(database_url=MEMORY_URL), clock=clock)
    yield built
    await built.close()


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings()


@pytest.fixture
def app(platform: Platform, api_settings: ApiSettings) -> Litestar:
    return create_app(platform, api_settings)


@pytest.fixture
def keys(platform: Platform) -> Keys:
    return Keys(platform)


@pytest.fixture
async def seeded(platform: Platform) -> SeededCatalogue:
    return await seed_catalogue(platform.deps)


@pytest.fixture
async def client(app: Litestar, keys: Keys) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        test_client.headers.update(await keys.headers(Role.ADMIN))
        yield test_client


@pytest.fixture
async def anonymous(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
