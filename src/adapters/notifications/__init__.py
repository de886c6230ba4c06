"""Notifiers: to the log, to memory (tests, demo), and out to a webhook (later issues)."""

from adapters.notifications.notifiers import LoggingNotifier, RecordingNotifier

__all__ = ["LoggingNotifier", "RecordingNotifier"]
