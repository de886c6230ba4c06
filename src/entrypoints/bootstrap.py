"""The composition root: builds the whole application from settings.

The API, the worker, the CLI, the demo and the tests all call `bootstrap`; embedding the core
in another Python service is calling it too (see docs/embedding.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from adapters.clock import SystemClock
from adapters.couriers.simulator import SimulatorCourierGateway
from adapters.ids import UuidIdGenerator
from adapters.legacy.fake import FakeLegacyBridge
from adapters.notifications import LoggingNotifier
from adapters.payments.fake import FakePaymentGateway
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.unit_of_work import InMemoryUnitOfWork
from adapters.queues.inline import InlineJobQueue
from platform_core.automation.service import RunAutomationStep, run_automation_step
from platform_core.lifecycle.dispatcher import DeliveryPolicy, DispatchReport, dispatch_due
from platform_core.lifecycle.reactions import subscriptions
from platform_core.ports.core import Clock, IdGenerator, Notifier
from platform_core.shared.errors import ValidationError

DEFAULT_WEBHOOK_SECRET = "whsec_platform_core_mock"
DEFAULT_COURIER_SECRET = "simulator-secret"


@attrs.frozen
class Settings:
    """Where state lives and which outside services are real. Defaults: everything embedded."""

    database_url: str = "memory://"
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
            queue_url=env.get("PLATFORM_QUEUE_URL", defaults.queue_url),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", defaults.stripe_webhook_secret),
            courier_webhook_secret=env.get(
                "PLATFORM_COURIER_WEBHOOK_SECRET", defaults.courier_webhook_secret
            ),
            public_base_url=env.get("PLATFORM_PUBLIC_BASE_URL", defaults.public_base_url),
        )


@attrs.define
class Dependencies:
    """Every port the use cases need; satisfies each context's `Deps` protocol."""

    clock: Clock
    ids: IdGenerator
    db: InMemoryDatabase
    payments: FakePaymentGateway
    couriers: SimulatorCourierGateway
    bridge: FakeLegacyBridge
    queue: InlineJobQueue
    notifier: Notifier

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.db, self.ids)


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


def _check_supported(settings: Settings) -> None:
    if settings.database_url != "memory://":
        raise ValidationError(
            f"database {settings.database_url!r} is not supported by this build; use memory://",
            {"field": "database_url"},
        )
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
        db=InMemoryDatabase(),
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
