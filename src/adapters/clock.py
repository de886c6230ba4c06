"""Clock adapters: the system clock for production, a settable one for tests and demos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from platform_core.shared.time import require_aware


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; tests and the demo drive time with it."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware(moment, "moment")
