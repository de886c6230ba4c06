"""The fake legacy system over HTTP, for tests and the embedded default."""

from adapters.legacy.server.app import (
    FaultMode,
    LegacyServer,
    create_legacy_app,
    in_process_transport,
)

__all__ = ["FaultMode", "LegacyServer", "create_legacy_app", "in_process_transport"]
