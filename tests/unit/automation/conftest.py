"""Fixtures for automation tests."""

from __future__ import annotations

import pytest
from automation_deps import AutomationTestDeps, make_deps


@pytest.fixture
def deps() -> AutomationTestDeps:
    return make_deps()
