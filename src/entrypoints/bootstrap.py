"""The composition root: builds the whole application from settings.

The API, the worker, the CLI, the demo and the tests all call `bootstrap`; embedding the core
in another Python service is calling it too (see docs/embedding.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

import attrs

from adapters.clock import SystemClock
from adapters.couriers.simulator import SimulatorCourierGateway
from adapters.ids import UuidIdGenerator
from adapters.legacy.fake import FakeLegacyBridge
from adapters.notifications import LoggingNotifier
from adapters.payments.fake import FakePaymentGateway
from adapters.persistence.memory.backend import InMemoryStore
from adapters.persistence.sql import SqlDatabase
from adapters.persistence.sql.engine import database_url
from adapters.persistence.sql.migrate import upgrade
from adapters.queues.inline import InlineJobQueue
from platform_core.automation.service import RunAutomationStep, run_automation_step
from platform_core.jobs.ports import JobsUnitOfWork
from platform_core.legacy.ports import LegacyUnitOfWork
from platform_core.lifecycle.dispatcher import DeliveryPolicy, DispatchReport, dispatch_due
from platform_core.lifecycle.ports import LifecycleUnitOfWork
from platform_core.lifecycle.reactions import subscriptions
from platform_core.ports.core import Clock, IdGenerator, Notifier
from platform_core.ports.idempotency import IdempotencyStore
from platform_core.shared.errors import ValidationError

MEMORY_URL = "memory://"
# The embedded default: a SQLite file in the working directory, migrated on start.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///platform-core.db"
DEFAULT_WEBHOOK_SECRET = "whsec_platform_core_mock"
DEFAULT_COURIER_SECRET = "simulator-secret"


@attrs.frozen
class Settings:
    """Where state lives and which outside services are real. Defaults: everything embedded."""

    database_url: str = DEFAULT_DATABASE_URL
    # None: migrate SQLite on start (the embedded default), leave PostgreSQL to
    # `platform-core db upgrade` (a deploy step, run once, not by every process).
    migrate_on_start: bool | None = None
    queue_url: str = "inline://"
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    courier_webhook_secret: str = DEFAULT_COURIER_SECRET
    public_base_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=env.get("PLATFORM_DATABASE_URL", defaults.database_url),
            migrate_on_start=_flag(env.get("PLATFORM_MIGRATE_ON_START")),
            queue_url=env.get("PLATFORM_QUEUE_URL", defaults.queue_url),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", defaults.stripe_webhook_secret),
            courier_webhook_secret=env.get(
                "PLATFORM_COURIER_WEBHOOK_SECRET", defaults.courier_webhook_secret
            ),
            public_base_url=env.get("PLATFORM_PUBLIC_BASE_URL", defaults.public_base_url),
        )

    @property
    def should_migrate(self) -> bool:
        if self.database_url == MEMORY_URL:
            return False
        if self.migrate_on_start is not None:
            return self.migrate_on_start
        return database_url(self.database_url).get_backend_name() == "sqlite"


def _flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValidationError(f"{value!r} is not a yes/no value", {"field": "migrate_on_start"})


class PlatformUnitOfWork(LifecycleUnitOfWork, LegacyUnitOfWork, JobsUnitOfWork, Protocol):
    """A unit of work over every context: what both persistence adapters provide."""


class Store(Protocol):
    """Where state lives: the in-memory store or a SQL database."""

    @property
    def backend(self) -> str: ...

    def unit_of_work(self, ids: IdGenerator) -> PlatformUnitOfWork: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    async def ping(self) -> bool: ...

    async def dispose(self) -> None: ...


def open_store(settings: Settings) -> Store:
    """The store `settings.database_url` names, migrated first when `should_migrate`."""
    if settings.database_url == MEMORY_URL:
        return InMemoryStore()
    if settings.should_migrate:
        upgrade(settings.database_url)
    return SqlDatabase(settings.database_url)


@attrs.define
class Dependencies:
    """Every port the use cases need; satisfies each context's `Deps` protocol."""

    clock: Clock
    ids: IdGenerator
    store: Store
    payments: FakePaymentGateway
    couriers: SimulatorCourierGateway
    bridge: FakeLegacyBridge
    queue: InlineJobQueue
    notifier: Notifier

    def uow(self) -> PlatformUnitOfWork:
        return self.store.unit_of_work(self.ids)


@attrs.define
class Platform:
    """The built application: its dependencies and the loop that moves work along."""

    deps: Dependencies
    settings: Settings
    delivery: DeliveryPolicy = attrs.field(factory=DeliveryPolicy)

    async def dispatch_events(self, limit: int = 100) -> DispatchReport:
        """Deliver due outbox events to their subscribers once."""
        return await dispatch_due(self.deps, subscriptions(self.deps), limit, self.delivery)

    async def settle(self, max_rounds: int = 100) -> int:
        """Dispatch events and run due jobs until nothing more is due now; return rounds used.

        The embedded default has no background worker, so callers (the demo, tests, an
        embedding service) call this after a use case to let its reactions happen.
        """
        for rounds in range(1, max_rounds + 1):
            report = await self.dispatch_events()
            ran = await self.deps.queue.run_due()
            if report.claimed == 0 and ran == 0:
                return rounds
        raise RuntimeError(f"work still pending after {max_rounds} rounds")

    async def close(self) -> None:
        """Release the database connections."""
        await self.deps.store.dispose()


def _check_supported(settings: Settings) -> None:
    if settings.database_url != MEMORY_URL:
        database_url(settings.database_url)  # ValidationError for an unknown database
    if settings.stripe_secret_key:
        raise ValidationError(
            "a Stripe key is set but this build has only mock mode; unset STRIPE_SECRET_KEY",
            {"field": "stripe_secret_key"},
        )
    if settings.queue_url != "inline://":
        raise ValidationError(
            f"queue {settings.queue_url!r} is not supported by this build; use inline://",
            {"field": "queue_url"},
        )


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    notifier: Notifier | None = None,
) -> Platform:
    """Build the application. Pass `clock`/`ids` to control time and ids (tests, demo) and
    `notifier` to send Ops notifications somewhere of yours (default: the log)."""
    settings = settings or Settings()
    _check_supported(settings)
    clock = clock or SystemClock()
    ids = ids or UuidIdGenerator()
    queue = InlineJobQueue(clock)
    deps = Dependencies(
        clock=clock,
        ids=ids,
        store=open_store(settings),
        payments=FakePaymentGateway(
            clock, settings.stripe_webhook_secret, settings.public_base_url
        ),
        couriers=SimulatorCourierGateway(secret=settings.courier_webhook_secret, clock=clock),
        bridge=FakeLegacyBridge(),
        queue=queue,
        notifier=notifier or LoggingNotifier(),
    )
    _register_jobs(deps)
    return Platform(deps, settings)


def _register_jobs(deps: Dependencies) -> None:
    async def automation_step(payload: Mapping[str, object]) -> object:
        attempt = payload.get("attempt")
        command = RunAutomationStep(
            step_id=str(payload["step_id"]),
            attempt=attempt if isinstance(attempt, int) else None,
        )
        return await run_automation_step(deps, command)

    deps.queue.register("run_automation_step", automation_step)
