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
from adapters.couriers.defaults import DEFAULT_COURIERS
from adapters.couriers.gateway import CourierAdapters
from adapters.couriers.simulator import SimulatorCourierGateway
from adapters.documents import FpdfInvoiceRenderer
from adapters.ids import UuidIdGenerator
from adapters.legacy.fake import FakeLegacyBridge
from adapters.legacy.fanout import DisabledProviderEventForwarder, HttpProviderEventForwarder
from adapters.legacy.http import (
    BreakerStore,
    CircuitBreaker,
    LegacyHttpBridge,
    MemoryBreakerStore,
    RedisBreakerStore,
)
from adapters.legacy.server import in_process_transport
from adapters.notifications import FanoutNotifier, LoggingNotifier, WebhookNotifier
from adapters.payments.fake import FakePaymentGateway
from adapters.payments.stripe import StripePaymentGateway
from adapters.persistence.memory.backend import InMemoryStore
from adapters.persistence.sql import SqlDatabase
from adapters.persistence.sql.engine import database_url
from adapters.persistence.sql.migrate import upgrade
from adapters.queues.inline import InlineJobQueue
from adapters.queues.observer import QueueBackend
from adapters.queues.options import DEFAULT_HEARTBEAT_SECONDS, queue_options
from adapters.queues.saq import SaqJobQueue, queue_backend
from entrypoints.jobs import JobRunRecorder, handlers, job_subscriptions
from platform_core.access.ports import AccessUnitOfWork
from platform_core.automation.service import ensure_scenario_configs
from platform_core.billing.ports import InvoiceRenderer
from platform_core.fulfillment.couriers import ensure_couriers
from platform_core.jobs.ports import JobsUnitOfWork
from platform_core.legacy.ports import LegacyBridge, LegacyUnitOfWork
from platform_core.lifecycle.dispatcher import DeliveryPolicy, DispatchReport, dispatch_due
from platform_core.lifecycle.ports import LifecycleUnitOfWork
from platform_core.lifecycle.provider_events import ProviderEventForwarder, fanout_subscriptions
from platform_core.lifecycle.reactions import subscriptions
from platform_core.orders.ports import PaymentGateway
from platform_core.ports.core import Clock, IdGenerator, Notifier
from platform_core.ports.idempotency import IdempotencyStore
from platform_core.pricing.ports import PriceSyncGateway
from platform_core.shared.errors import ValidationError

MEMORY_URL = "memory://"
INLINE_QUEUE_URL = "inline://"
# The embedded default: a SQLite file in the working directory, migrated on start.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///platform-core.db"
DEFAULT_WEBHOOK_SECRET = "whsec_platform_core_mock"
DEFAULT_COURIER_SECRET = "simulator-secret"
# Stripe replaces the literal {CHECKOUT_SESSION_ID} with the session's id when it redirects.
CHECKOUT_SUCCESS_PATH = "/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CHECKOUT_CANCEL_PATH = "/checkout/cancel"


@attrs.frozen
class Settings:
    """Where state lives and which outside services are real. Defaults: everything embedded."""

    database_url: str = DEFAULT_DATABASE_URL
    # None: migrate SQLite on start (the embedded default), leave PostgreSQL to
    # `platform-core db upgrade` (a deploy step, run once, not by every process).
    migrate_on_start: bool | None = None
    queue_url: str = INLINE_QUEUE_URL
    # How long a job may go without its worker's heartbeat before it is taken for lost and
    # run again elsewhere (SAQ queues only).
    queue_heartbeat_seconds: int = DEFAULT_HEARTBEAT_SECONDS
    # Prefix of the SAQ queue names, for deployments (or test runs) sharing one server.
    queue_namespace: str = ""
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    # The courier simulator (registered as courier `simulator`) for local runs and tests;
    # its webhooks are signed with `courier_webhook_secret`.
    courier_simulator: bool = True
    courier_webhook_secret: str = DEFAULT_COURIER_SECRET
    public_base_url: str = "http://127.0.0.1:8000"
    # Where Stripe Checkout sends the customer back; None: derived from public_base_url.
    checkout_success_url: str | None = None
    checkout_cancel_url: str | None = None
    # The legacy service's Stripe webhook, fed every verified Stripe event until it is
    # retired; None: no fan-out. The secret signs what is sent there.
    stripe_fanout_url: str | None = None
    stripe_fanout_secret: str | None = None
    # The legacy system's API; None: the embedded fake legacy server, reached in process
    # through the same HTTP client, retries and circuit breaker.
    legacy_url: str | None = None
    legacy_token: str | None = None
    legacy_timeout_seconds: int = 5
    legacy_attempts: int = 3
    legacy_breaker_threshold: int = 5
    legacy_breaker_reset_seconds: int = 30
    # Where the breaker's state lives, shared by every process: a Redis URL; None: the
    # queue's Redis when the queue is on Redis, else this process's memory.
    legacy_breaker_redis_url: str | None = None
    # Ops notifications (failed automation, drift) are also POSTed here, signed with the
    # secret (X-Platform-Signature: sha256=<hex>); None: the log only.
    ops_webhook_url: str | None = None
    ops_webhook_secret: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=env.get("PLATFORM_DATABASE_URL", defaults.database_url),
            migrate_on_start=_flag(env.get("PLATFORM_MIGRATE_ON_START")),
            queue_url=env.get("PLATFORM_QUEUE_URL", defaults.queue_url),
            queue_heartbeat_seconds=_seconds(
                env.get("PLATFORM_QUEUE_HEARTBEAT_SECONDS"), defaults.queue_heartbeat_seconds
            ),
            queue_namespace=env.get("PLATFORM_QUEUE_NAMESPACE", defaults.queue_namespace),
            # STRIPE_SECRET_KEY is accepted too: it is what Stripe's own docs call the key.
            stripe_secret_key=env.get("STRIPE_API_KEY") or env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", defaults.stripe_webhook_secret),
            courier_simulator=_flag(env.get("PLATFORM_COURIER_SIMULATOR")) is not False,
            courier_webhook_secret=env.get(
                "PLATFORM_COURIER_WEBHOOK_SECRET", defaults.courier_webhook_secret
            ),
            public_base_url=env.get("PLATFORM_PUBLIC_BASE_URL", defaults.public_base_url),
            checkout_success_url=env.get("PLATFORM_CHECKOUT_SUCCESS_URL") or None,
            checkout_cancel_url=env.get("PLATFORM_CHECKOUT_CANCEL_URL") or None,
            stripe_fanout_url=env.get("PLATFORM_STRIPE_FANOUT_URL") or None,
            stripe_fanout_secret=env.get("PLATFORM_STRIPE_FANOUT_SECRET") or None,
            legacy_url=env.get("PLATFORM_LEGACY_URL") or None,
            legacy_token=env.get("PLATFORM_LEGACY_TOKEN") or None,
            legacy_timeout_seconds=_seconds(
                env.get("PLATFORM_LEGACY_TIMEOUT_SECONDS"), defaults.legacy_timeout_seconds
            ),
            legacy_attempts=_seconds(env.get("PLATFORM_LEGACY_ATTEMPTS"), defaults.legacy_attempts),
            legacy_breaker_threshold=_seconds(
                env.get("PLATFORM_LEGACY_BREAKER_THRESHOLD"), defaults.legacy_breaker_threshold
            ),
            legacy_breaker_reset_seconds=_seconds(
                env.get("PLATFORM_LEGACY_BREAKER_RESET_SECONDS"),
                defaults.legacy_breaker_reset_seconds,
            ),
            legacy_breaker_redis_url=env.get("PLATFORM_LEGACY_BREAKER_REDIS_URL") or None,
            ops_webhook_url=env.get("PLATFORM_OPS_WEBHOOK_URL") or None,
            ops_webhook_secret=env.get("PLATFORM_OPS_WEBHOOK_SECRET") or None,
        )

    @property
    def success_url(self) -> str:
        """Where a paid (or processing) checkout returns the customer."""
        return self.checkout_success_url or self.public_base_url.rstrip("/") + CHECKOUT_SUCCESS_PATH

    @property
    def cancel_url(self) -> str:
        """Where a customer who leaves the checkout lands."""
        return self.checkout_cancel_url or self.public_base_url.rstrip("/") + CHECKOUT_CANCEL_PATH

    @property
    def should_migrate(self) -> bool:
        if self.database_url == MEMORY_URL:
            return False
        if self.migrate_on_start is not None:
            return self.migrate_on_start
        return database_url(self.database_url).get_backend_name() == "sqlite"


def _seconds(value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ValidationError(
            f"{value!r} is not a whole number of seconds", {"field": "queue_heartbeat_seconds"}
        )
    return int(value)


def _flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValidationError(f"{value!r} is not a yes/no value", {"field": "migrate_on_start"})


class PlatformUnitOfWork(
    LifecycleUnitOfWork, LegacyUnitOfWork, JobsUnitOfWork, AccessUnitOfWork, Protocol
):
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


class Payments(PaymentGateway, PriceSyncGateway, Protocol):
    """The payment provider as the use cases see it: checkout, webhooks, refunds, prices."""


@attrs.define
class Dependencies:
    """Every port the use cases need; satisfies each context's `Deps` protocol."""

    clock: Clock
    ids: IdGenerator
    store: Store
    payments: Payments
    couriers: CourierAdapters
    bridge: LegacyBridge
    # The circuit breaker in front of the bridge (for /metrics and Ops).
    breaker: CircuitBreaker
    # The JobQueue port, plus what operating the backend needs (ping, depth, cancel, close).
    queue: QueueBackend
    notifier: Notifier
    renderer: InvoiceRenderer
    # The Stripe webhook fan-out to the legacy service (disabled unless configured).
    forwarder: ProviderEventForwarder = attrs.field(factory=DisabledProviderEventForwarder)
    # The embedded fake legacy system behind the bridge (None with a real legacy URL).
    embedded_legacy: FakeLegacyBridge | None = None

    def uow(self) -> PlatformUnitOfWork:
        return self.store.unit_of_work(self.ids)

    @property
    def legacy_fake(self) -> FakeLegacyBridge:
        """The embedded fake legacy system, to seed records and inject faults (tests, demo)."""
        if self.embedded_legacy is None:
            raise ValidationError(
                "the bridge talks to a real legacy system (PLATFORM_LEGACY_URL is set)",
                {"field": "legacy_url"},
            )
        return self.embedded_legacy

    @property
    def courier_simulator(self) -> SimulatorCourierGateway:
        """The simulated courier, to script scans and sign webhooks (when enabled)."""
        if self.couriers.simulator is None:
            raise ValidationError(
                "the courier simulator is off (PLATFORM_COURIER_SIMULATOR=false)",
                {"field": "courier_simulator"},
            )
        return self.couriers.simulator

    @property
    def mock_payments(self) -> FakePaymentGateway:
        """The mock gateway, to play the customer (pay, fail, expire) in mock mode only."""
        if not isinstance(self.payments, FakePaymentGateway):
            raise ValidationError(
                "payments go to Stripe (a Stripe key is set): there is no mock checkout to drive",
                {"field": "stripe_secret_key"},
            )
        return self.payments


@attrs.define
class Platform:
    """The built application: its dependencies and the loop that moves work along."""

    deps: Dependencies
    settings: Settings
    delivery: DeliveryPolicy = attrs.field(factory=DeliveryPolicy)

    async def prepare(self) -> None:
        """Make sure the registry holds the default couriers (and the simulator when it is
        on) and every automation scenario has its stored config. Every entrypoint calls this
        on start; it is idempotent."""
        registrations = list(DEFAULT_COURIERS)
        if self.deps.couriers.simulator is not None:
            registrations.append(self.deps.couriers.simulator.registration())
        await ensure_couriers(self.deps, registrations)
        await ensure_scenario_configs(self.deps)

    async def dispatch_events(self, limit: int = 100) -> DispatchReport:
        """Deliver due outbox events to their subscribers once."""
        table = subscriptions(self.deps) + job_subscriptions(self.deps.queue)
        table += fanout_subscriptions(self.deps.forwarder)
        return await dispatch_due(self.deps, table, limit, self.delivery)

    async def settle(self, max_rounds: int = 100) -> int:
        """Dispatch events and run due jobs until nothing more is due now; return rounds used.

        The embedded default has no background worker, so callers (the demo, tests, an
        embedding service) call this after a use case to let its reactions happen.
        """
        for rounds in range(1, max_rounds + 1):
            report = await self.dispatch_events()
            # Jobs on SAQ run in the worker processes; only inline jobs run here.
            queue = self.deps.queue
            ran = await queue.run_due() if isinstance(queue, InlineJobQueue) else 0
            if report.claimed == 0 and ran == 0:
                return rounds
        raise RuntimeError(f"work still pending after {max_rounds} rounds")

    async def readiness(self) -> dict[str, bool]:
        """Whether each backing service answers now: the database and the job queue."""
        return {"database": await self.deps.store.ping(), "queue": await self.deps.queue.ping()}

    async def queue_depth(self) -> dict[str, int]:
        """Jobs waiting on each queue."""
        return await self.deps.queue.depth()

    async def close(self) -> None:
        """Release the database, queue, Stripe and fan-out connections."""
        try:
            await self.deps.queue.close()
        finally:
            try:
                await self.deps.store.dispose()
            finally:
                try:
                    if isinstance(self.deps.payments, StripePaymentGateway):
                        await self.deps.payments.aclose()
                finally:
                    try:
                        if isinstance(self.deps.forwarder, HttpProviderEventForwarder):
                            await self.deps.forwarder.aclose()
                    finally:
                        await self.deps.couriers.aclose()
                        await self._close_legacy()
                        if isinstance(self.deps.notifier, FanoutNotifier):
                            await self.deps.notifier.aclose()

    async def _close_legacy(self) -> None:
        if isinstance(self.deps.bridge, LegacyHttpBridge):
            await self.deps.bridge.aclose()
        store = self.deps.breaker.store
        if isinstance(store, RedisBreakerStore):
            await store.aclose()


def _check_supported(settings: Settings) -> None:
    if settings.database_url != MEMORY_URL:
        database_url(settings.database_url)  # ValidationError for an unknown database
    if settings.stripe_secret_key and settings.stripe_webhook_secret == DEFAULT_WEBHOOK_SECRET:
        # Real Stripe signs with the endpoint's own secret: the mock one would refuse every event.
        raise ValidationError(
            "a Stripe key is set: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret",
            {"field": "stripe_webhook_secret"},
        )
    for field in ("success_url", "cancel_url"):
        if not getattr(settings, field).startswith(("https://", "http://")):
            raise ValidationError(
                f"the checkout {field.replace('_', ' ')} must be an http(s) URL",
                {"field": f"checkout_{field}"},
            )
    if settings.queue_url != INLINE_QUEUE_URL:
        queue_backend(settings.queue_url)  # ValidationError for an unknown queue backend


def open_payments(settings: Settings, clock: Clock) -> Payments:
    """Stripe when a secret key is set, else the mock gateway (mock mode)."""
    if settings.stripe_secret_key:
        return StripePaymentGateway(
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            success_url=settings.success_url,
            cancel_url=settings.cancel_url,
            clock=clock,
        )
    return FakePaymentGateway(clock, settings.stripe_webhook_secret, settings.public_base_url)


def open_forwarder(settings: Settings, clock: Clock) -> ProviderEventForwarder:
    """The Stripe fan-out to the legacy service when its URL is set, else none."""
    if settings.stripe_fanout_url is None:
        return DisabledProviderEventForwarder()
    return HttpProviderEventForwarder(
        settings.stripe_fanout_url, settings.stripe_fanout_secret or "", clock=clock
    )


def open_notifier(settings: Settings, clock: Clock) -> Notifier:
    """The log, plus the Ops webhook when its URL is set (it then needs its secret)."""
    if settings.ops_webhook_url is None:
        return LoggingNotifier()
    webhook = WebhookNotifier(settings.ops_webhook_url, settings.ops_webhook_secret or "", clock)
    return FanoutNotifier([LoggingNotifier(), webhook])


def open_couriers(settings: Settings, clock: Clock) -> CourierAdapters:
    """Every carrier integration, plus the simulator unless it is turned off."""
    simulator = (
        SimulatorCourierGateway(secret=settings.courier_webhook_secret, clock=clock)
        if settings.courier_simulator
        else None
    )
    return CourierAdapters(clock=clock, simulator=simulator)


EMBEDDED_LEGACY_URL = "http://legacy.embedded"


def open_legacy(
    settings: Settings, clock: Clock
) -> tuple[LegacyHttpBridge, CircuitBreaker, FakeLegacyBridge | None]:
    """The legacy bridge over HTTP with its breaker; with no legacy URL, in front of an
    embedded fake legacy server (returned too, to seed it)."""
    breaker = CircuitBreaker(
        _breaker_store(settings),
        clock=clock,
        failure_threshold=settings.legacy_breaker_threshold,
        reset_timeout_seconds=settings.legacy_breaker_reset_seconds,
    )
    fake = None
    transport = None
    if settings.legacy_url is None:
        fake = FakeLegacyBridge()
        transport = in_process_transport(fake)
    bridge = LegacyHttpBridge(
        settings.legacy_url or EMBEDDED_LEGACY_URL,
        breaker=breaker,
        token=settings.legacy_token,
        timeout_seconds=settings.legacy_timeout_seconds,
        attempts=settings.legacy_attempts,
        transport=transport,
    )
    return bridge, breaker, fake


def _breaker_store(settings: Settings) -> BreakerStore:
    url = settings.legacy_breaker_redis_url
    if url is None and settings.queue_url.startswith(("redis://", "rediss://")):
        url = settings.queue_url
    if url is None:
        return MemoryBreakerStore()
    # One breaker per deployment: the namespace keeps test runs sharing a server apart.
    return RedisBreakerStore(url, name=f"{settings.queue_namespace}legacy")


def open_queue(settings: Settings, clock: Clock) -> QueueBackend:
    """The job queue `settings.queue_url` names: inline (in this process) or SAQ."""
    options = queue_options(settings.queue_heartbeat_seconds)
    if settings.queue_url == INLINE_QUEUE_URL:
        return InlineJobQueue(clock, options)
    return SaqJobQueue(settings.queue_url, clock, options, namespace=settings.queue_namespace)


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
    # Before the store and queue: a refused Stripe setting leaves no connection behind.
    payments = open_payments(settings, clock)
    forwarder = open_forwarder(settings, clock)
    queue = open_queue(settings, clock)
    bridge, breaker, embedded_legacy = open_legacy(settings, clock)
    deps = Dependencies(
        clock=clock,
        ids=ids,
        store=open_store(settings),
        payments=payments,
        couriers=open_couriers(settings, clock),
        bridge=bridge,
        breaker=breaker,
        embedded_legacy=embedded_legacy,
        queue=queue,
        notifier=notifier or open_notifier(settings, clock),
        renderer=FpdfInvoiceRenderer(),
        forwarder=forwarder,
    )
    platform = Platform(deps, settings)
    _register_jobs(platform)
    return platform


def _register_jobs(platform: Platform) -> None:
    """Job-run telemetry for every queue; the task functions for the inline queue (SAQ runs
    them in the worker processes, see entrypoints.worker)."""
    queue = platform.deps.queue
    queue.attach(JobRunRecorder(platform.deps))
    if isinstance(queue, InlineJobQueue):
        for name, handler in handlers(platform).items():
            queue.register(name, handler)
