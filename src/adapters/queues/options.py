"""How each queue runs its jobs: the plan's concurrency and retry policy (QUEUE_DEFAULTS) plus
the two limits that let a crashed worker's job be found again, the timeout and the heartbeat."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from platform_core.jobs.model import QUEUE_DEFAULTS, QueueName, RetryPolicy
from platform_core.shared.errors import ValidationError
from platform_core.shared.ids import positive_int

# A job whose worker stopped beating for this long is taken for lost and run again.
DEFAULT_HEARTBEAT_SECONDS = 60

# The longest one attempt may run before it is cut off and counted as failed. Automation waits
# on the legacy system (bounded again by its scenario's own timeout); drift detection reads
# every legacy record.
DEFAULT_TIMEOUTS: Mapping[str, int] = MappingProxyType(
    {
        QueueName.ORDERS: 5 * 60,
        QueueName.SHIPMENTS: 10 * 60,
        QueueName.AUTOMATION: 15 * 60,
        QueueName.RETARGET: 30 * 60,
    }
)


@attrs.frozen
class QueueOptions:
    """Everything a backend needs to know about one queue."""

    name: str
    concurrency: int = attrs.field(validator=positive_int)
    retry: RetryPolicy
    timeout_seconds: int = attrs.field(validator=positive_int)
    heartbeat_seconds: int = attrs.field(validator=positive_int)

    @property
    def max_attempts(self) -> int:
        return self.retry.max_attempts


def queue_options(
    heartbeat_seconds: int = DEFAULT_HEARTBEAT_SECONDS,
) -> dict[str, QueueOptions]:
    """The four queues of the plan with their defaults and the given heartbeat."""
    return {
        name: QueueOptions(
            name=name,
            concurrency=config.concurrency,
            retry=config.retry,
            timeout_seconds=DEFAULT_TIMEOUTS[name],
            heartbeat_seconds=heartbeat_seconds,
        )
        for name, config in QUEUE_DEFAULTS.items()
    }


def options_for(options: Mapping[str, QueueOptions], queue: str) -> QueueOptions:
    """The options of `queue`; ValidationError for a queue the backend does not have."""
    found = options.get(queue)
    if found is None:
        raise ValidationError(
            f"there is no queue {queue!r}",
            {"field": "queue", "value": queue, "known": sorted(options)},
        )
    return found
