"""Job queues: SAQ (Redis or PostgreSQL) and the inline in-process queue of the embedded
default. Both take the same queue options and report to the same JobObserver."""

from adapters.queues.observer import (
    JobHandler,
    JobInfo,
    JobObserver,
    QueueBackend,
    report_progress,
)
from adapters.queues.options import QueueOptions, queue_options

__all__ = [
    "JobHandler",
    "JobInfo",
    "JobObserver",
    "QueueBackend",
    "QueueOptions",
    "queue_options",
    "report_progress",
]
