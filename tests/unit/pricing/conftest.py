"""Pricing test fixtures: in-memory store (with the customers tables), fixed clock, ids."""

from __future__ import annotations

import pytest
from pricing_examples import PricingDepsForTests


@pytest.fixture
def deps() -> PricingDepsForTests:
    return PricingDepsForTests.fresh()
