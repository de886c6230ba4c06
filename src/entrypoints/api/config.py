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
    # How long a process trusts a key it has just checked (see security.KeyCache); 0 = never.
    api_key_cache_seconds: int = 5

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
            api_key_cache_seconds=_int(env, "PLATFORM_API_KEY_CACHE_SECONDS", defaults, minimum=0),
        )


_FIELDS = {
    "PLATFORM_RATE_LIMIT_PER_MINUTE": "rate_limit_per_minute",
    "PLATFORM_MAX_BODY_BYTES": "max_body_bytes",
    "PLATFORM_API_KEY_CACHE_SECONDS": "api_key_cache_seconds",
}


def _int(env: Mapping[str, str], name: str, defaults: ApiSettings, minimum: int = 1) -> int:
    field = _FIELDS[name]
    raw = env.get(name)
    if raw is None or not raw.strip():
        return int(getattr(defaults, field))
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number", {"field": name}) from None
    if value < minimum:
        raise ValidationError(f"{name} must be at least {minimum}", {"field": name})
    return value
