"""In-process job queue for the embedded default, the demo and tests."""

from adapters.queues.inline.queue import InlineJobQueue, QueuedJob
from adapters.queues.observer import JobHandler

__all__ = ["InlineJobQueue", "JobHandler", "QueuedJob"]
