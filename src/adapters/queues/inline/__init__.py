"""In-process job queue for the embedded default, the demo and tests."""

from adapters.queues.inline.queue import InlineJobQueue, JobHandler, QueuedJob

__all__ = ["InlineJobQueue", "JobHandler", "QueuedJob"]
