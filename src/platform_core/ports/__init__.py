"""Ports shared by every context: clock, ids, unit of work, event outbox, job queue, notifier.

Each context declares the repositories it owns in its own `ports` module; a context's unit of
work protocol extends `UnitOfWork` with those repositories, so no port module imports every
context and the core stays acyclic.
"""

from platform_core.ports.core import (
    Clock,
    IdGenerator,
    JobQueue,
    Notification,
    Notifier,
    Repository,
    ServiceDeps,
    UnitOfWork,
)
from platform_core.ports.outbox import EventLog, OutboxEntry, OutboxStatus, OutboxStore

__all__ = [
    "Clock",
    "EventLog",
    "IdGenerator",
    "JobQueue",
    "Notification",
    "Notifier",
    "OutboxEntry",
    "OutboxStatus",
    "OutboxStore",
    "Repository",
    "ServiceDeps",
    "UnitOfWork",
]
