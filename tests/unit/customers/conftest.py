"""Customers test fixtures: in-memory store, fixed clock, sequential ids."""

from __future__ import annotations

import pytest
from customers_examples import CustomersDepsForTests


@pytest.fixture
def deps() -> CustomersDepsForTests:
    return CustomersDepsForTests.fresh()
