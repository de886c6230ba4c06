"""A seeded embedded platform with a controllable clock, and a demo driver over it."""

from __future__ import annotations

import io

import pytest

from entrypoints.demo import Demo


@pytest.fixture
async def demo() -> Demo:
    return await Demo.start(io.StringIO())
