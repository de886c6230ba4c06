"""The inline worker: the background loop of the embedded default (`platform-core serve` with
the inline queue). Every tick it enqueues due cron slots, relays the outbox and runs the
inline queue's due jobs, in this process, by the platform's clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.queues.inline import InlineJobQueue
from entrypoints.bootstrap import Platform
from entrypoints.jobs import CronScheduler, relay_outbox
from platform_core.shared.errors import ValidationError

log = logging.getLogger(__name__)


class InlineWorker:
    """Moves the embedded platform's work along; one per process (SAQ workers replace it when
    the queue is Redis or PostgreSQL)."""

    def __init__(self, platform: Platform, scheduler: CronScheduler | None = None) -> None:
        queue = platform.deps.queue
        if not isinstance(queue, InlineJobQueue):
            raise ValidationError(
                "the inline worker runs only the inline queue; run `platform-core worker` "
                f"for {platform.settings.queue_url}",
                {"field": "queue_url"},
            )
        self._platform = platform
        self._queue = queue
        self._scheduler = scheduler or CronScheduler()

    async def tick(self) -> int:
        """One round: cron slots, the outbox, due jobs. Returns how many events and jobs ran."""
        await self._scheduler.tick(self._queue, self._platform.deps.clock.now())
        relayed = await relay_outbox(self._platform)
        ran = await self._queue.run_due()
        return relayed + ran

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Tick every `interval` seconds until `stop` is set; a failed tick is logged and the
        loop goes on (the outbox and the queue keep what failed for a later tick)."""
        while not stop.is_set():
            try:
                busy = await self.tick()
            except Exception:
                log.exception("inline worker tick failed")
                busy = 0
            if busy:
                # Work begets work (events -> jobs -> events): go again at once, but let the
                # API's requests in first (the in-memory store never suspends on its own).
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
