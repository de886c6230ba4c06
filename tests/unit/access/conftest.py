"""Access test fixtures: in-memory store (with the customers tables), fixed clock, ids."""

from __future__ import annotations

import pytest
from access_examples import AccessDepsForTests


@pytest.fixture
def deps() -> AccessDepsForTests:
    return AccessDepsForTests.fresh()
