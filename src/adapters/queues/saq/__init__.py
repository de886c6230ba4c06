"""SAQ job queues on Redis or PostgreSQL, and the workers that run them."""

from adapters.queues.saq.queue import SaqJobQueue, queue_backend, redact
from adapters.queues.saq.worker import SaqWorkers, upkeep_seconds

__all__ = ["SaqJobQueue", "SaqWorkers", "queue_backend", "redact", "upkeep_seconds"]
