"""Fixtures for legacy tests."""

from __future__ import annotations

import pytest
from legacy_deps import LegacyTestDeps


@pytest.fixture
def deps() -> LegacyTestDeps:
    return LegacyTestDeps()
