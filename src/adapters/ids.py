"""Id generators: random (UUID4) for production, sequential for tests and readable demos."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict


class UuidIdGenerator:
    def new_id(self, kind: str) -> str:
        return f"{kind}_{uuid.uuid4().hex}"


class SequentialIdGenerator:
    """Ids like ``ord_000001``: deterministic, so demo output and test failures are readable."""

    def __init__(self) -> None:
        self._counters: defaultdict[str, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )

    def new_id(self, kind: str) -> str:
        return f"{kind}_{next(self._counters[kind]):06d}"
