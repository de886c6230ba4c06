"""Fixtures shared by every test folder: the databases the persistence tests run on, and
the Redis server of the queue and rate-limit tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.support.databases import scratch_postgres, scratch_sqlite, unavailable

REDIS_URL = os.environ.get("PLATFORM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with scratch_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return scratch_sqlite(str(tmp_path_factory.mktemp("sqlite")))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis server (PLATFORM_TEST_REDIS_URL, by default the local one, database 0).

    Every test shares it, and so may other test runs on this machine: keep your keys under a
    prefix of your own (the queue tests use a queue namespace per test) and delete only those,
    never FLUSHDB. Under CI=true an unreachable server fails the tests that need it; elsewhere
    they are skipped.
    """
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"Redis at {REDIS_URL} is unreachable: {error}")
    finally:
        client.close()
    return REDIS_URL
