"""Test wiring for the legacy context: in-memory unit of work, fixed clock, fake bridge."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.legacy.fake import FakeLegacyBridge
from adapters.persistence.memory.customers import CustomersTables
from adapters.persistence.memory.devices import DevicesTables
from adapters.persistence.memory.legacy import LegacyTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class LegacyUoW(LegacyTables, DevicesTables, CustomersTables, InMemoryUnitOfWorkBase):
    pass


@attrs.define
class LegacyTestDeps:
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(START))
    ids: SequentialIdGenerator = attrs.field(factory=SequentialIdGenerator)
    db: InMemoryDatabase = attrs.field(factory=InMemoryDatabase)
    bridge: FakeLegacyBridge = attrs.field(factory=FakeLegacyBridge)

    def uow(self) -> LegacyUoW:
        return LegacyUoW(self.db, self.ids)
