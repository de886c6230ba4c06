"""Notifier adapters that need no network."""

from __future__ import annotations

import logging

from platform_core.ports.core import Notification

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LoggingNotifier:
    """Writes notifications to the `platform_core.notifications` logger."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("platform_core.notifications")

    async def notify(self, notification: Notification) -> None:
        level = _LEVELS.get(notification.severity, logging.WARNING)
        self._log.log(level, "%s: %s", notification.subject, notification.body,
                      extra={"related": dict(notification.related)})  # fmt: skip


class RecordingNotifier:
    """Keeps notifications in memory, optionally passing them on; tests and the demo read it."""

    def __init__(self, forward_to: LoggingNotifier | None = None) -> None:
        self.sent: list[Notification] = []
        self._forward = forward_to

    async def notify(self, notification: Notification) -> None:
        self.sent.append(notification)
        if self._forward is not None:
            await self._forward.notify(notification)
