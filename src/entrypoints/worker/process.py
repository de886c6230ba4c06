"""The worker process: SAQ workers for every queue, the cron schedule and the outbox relay,
all on one platform built by `bootstrap`, stopped gracefully by SIGTERM or SIGINT.

Run as many worker processes as needed: each relays the outbox (events are leased to one
relay at a time), each keeps the cron slots enqueued (a slot's key is the same everywhere, so
the queue holds it once), and SAQ hands each job to one worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator

import attrs

from adapters.queues.saq import SaqJobQueue, SaqWorkers, redact
from adapters.queues.saq.worker import DEFAULT_SHUTDOWN_GRACE_SECONDS
from entrypoints.bootstrap import Platform, Settings, bootstrap
from entrypoints.jobs import CronScheduler, handlers, relay_outbox
from platform_core.shared.errors import ValidationError

log = logging.getLogger("platform_core.worker")


@attrs.frozen
class WorkerOptions:
    """What one worker process runs. Defaults: every queue, the cron schedule and the relay."""

    queues: tuple[str, ...] | None = None
    cron: bool = True
    relay: bool = True
    relay_interval_seconds: float = 1.0
    cron_interval_seconds: float = 1.0
    shutdown_grace_seconds: int = DEFAULT_SHUTDOWN_GRACE_SECONDS


async def run_worker(settings: Settings, options: WorkerOptions | None = None) -> int:
    """Build the platform from `settings` and work until SIGTERM/SIGINT; the exit status."""
    platform = bootstrap(settings)
    stop = asyncio.Event()
    try:
        with _stopped_by_signals(stop):
            await serve_worker(platform, stop, options)
    finally:
        await platform.close()
    return 0


async def serve_worker(
    platform: Platform, stop: asyncio.Event, options: WorkerOptions | None = None
) -> None:
    """Work for `platform` until `stop` is set; running jobs get the grace period to end."""
    options = options or WorkerOptions()
    queue = platform.deps.queue
    if not isinstance(queue, SaqJobQueue):
        raise ValidationError(
            "the worker runs SAQ queues: set PLATFORM_QUEUE_URL to a redis:// or "
            f"postgresql:// URL (now {platform.settings.queue_url!r}; the inline queue runs "
            "inside `platform-core serve`)",
            {"field": "queue_url"},
        )
    workers = SaqWorkers(
        queue,
        handlers(platform),
        queues=options.queues,
        shutdown_grace_seconds=options.shutdown_grace_seconds,
    )
    scheduler = CronScheduler()
    await platform.prepare()
    log.info(
        "worker: %s queue %s, queues %s, cron %s, outbox relay %s",
        queue.backend,
        redact(queue.url),
        ", ".join(options.queues or queue.options),
        "on" if options.cron else "off",
        "on" if options.relay else "off",
    )

    async def jobs() -> None:
        try:
            await workers.run(stop)
        finally:
            stop.set()  # workers that end on their own end the process's other loops too

    async def relay() -> bool:
        return await relay_outbox(platform) > 0

    async def schedule() -> bool:
        await scheduler.tick(queue, platform.deps.clock.now())
        return False

    loops = [jobs()]
    if options.relay:
        loops.append(_repeat("outbox relay", relay, options.relay_interval_seconds, stop))
    if options.cron:
        loops.append(_repeat("cron schedule", schedule, options.cron_interval_seconds, stop))
    await asyncio.gather(*loops)
    log.info("worker stopped")


async def _repeat(
    name: str, step: Callable[[], Awaitable[bool]], interval: float, stop: asyncio.Event
) -> None:
    """Run `step` every `interval` seconds until `stop`; at once again while it reports more
    work. A failing step is logged and tried again next time (the database may be back)."""
    while not stop.is_set():
        try:
            busy = await step()
        except Exception:
            log.exception("%s failed", name)
            busy = False
        if busy:
            await asyncio.sleep(0)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


@contextlib.contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
