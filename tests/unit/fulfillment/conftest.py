"""Fulfillment test wiring: in-memory tables, a fixed clock, sequential ids, the simulator."""

from __future__ import annotations

import pytest
from fulfillment_examples import FulfillmentDepsForTests, make_deps


@pytest.fixture
def deps() -> FulfillmentDepsForTests:
    return make_deps()
