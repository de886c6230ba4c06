"""Notifiers: to the log, to memory (tests, demo), and out to a signed webhook."""

from adapters.notifications.notifiers import LoggingNotifier, RecordingNotifier
from adapters.notifications.webhook import FanoutNotifier, WebhookNotifier

__all__ = ["FanoutNotifier", "LoggingNotifier", "RecordingNotifier", "WebhookNotifier"]
