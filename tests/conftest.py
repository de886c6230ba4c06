"""Fixtures shared by every test folder: the databases the persistence tests run on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import scratch_postgres, scratch_sqlite


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with scratch_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return scratch_sqlite(str(tmp_path_factory.mktemp("sqlite")))
