"""The REST API (Litestar): `create_app(platform, settings)`."""

from entrypoints.api.app import create_app
from entrypoints.api.config import ApiSettings

__all__ = ["ApiSettings", "create_app"]
