"""Billing test fixtures: in-memory store, fixed clock, sequential ids."""

from __future__ import annotations

import pytest
from billing_examples import START, BillingDepsForTests, example_customers

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.store import InMemoryDatabase


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def db() -> InMemoryDatabase:
    return example_customers()


@pytest.fixture
def deps(clock: FixedClock, db: InMemoryDatabase) -> BillingDepsForTests:
    return BillingDepsForTests(clock=clock, ids=SequentialIdGenerator(), db=db)
