"""Settings of the HTTP edge: limits, CORS, debug, the bootstrap key. From the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from platform_core.shared.errors import ValidationError


@attrs.frozen
class ApiSettings:
    """How the API behaves at its edge; the platform itself is configured by `Settings`."""

    # Requests per minute per API key (or per client address without one).
    rate_limit_per_minute: int = 600
    # Where rate-limit counters live: a redis:// URL shares them across processes; None keeps
    # them in this process (the embedded default).
    rate_limit_redis_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    debug: bool = False
    bootstrap_api_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        origins = env.get("PLATFORM_CORS_ORIGINS", "")
        return cls(
            rate_limit_per_minute=_int(env, "PLATFORM_RATE_LIMIT_PER_MINUTE", defaults),
            rate_limit_redis_url=env.get("PLATFORM_RATE_LIMIT_REDIS_URL") or None,
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            max_body_bytes=_int(env, "PLATFORM_MAX_BODY_BYTES", defaults),
            debug=env.get("PLATFORM_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"},
            bootstrap_api_key=env.get("PLATFORM_BOOTSTRAP_API_KEY") or None,
        )


_FIELDS = {
    "PLATFORM_RATE_LIMIT_PER_MINUTE": "rate_limit_per_minute",
    "PLATFORM_MAX_BODY_BYTES": "max_body_bytes",
}


def _int(env: Mapping[str, str], name: str, defaults: ApiSettings) -> int:
    field = _FIELDS[name]
    raw = env.get(name)
    if raw is None or not raw.strip():
        return int(getattr(defaults, field))
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number", {"field": name}) from None
    if value < 1:
        raise ValidationError(f"{name} must be at least 1", {"field": name})
    return value
