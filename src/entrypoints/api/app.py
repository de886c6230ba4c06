"""The Litestar application: routes, error handling, authentication, rate limits, OpenAPI.

`create_app(platform)` serves an already built Platform; the CLI's `serve`, the tests and an
embedding service call it. Around everything: the request id and log line; then Prometheus,
rate limit, authentication, idempotency, then the route.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from entrypoints.api.config import ApiSettings
from entrypoints.api.dependencies import DEPENDENCIES
from entrypoints.api.errors import EXCEPTION_HANDLERS
from entrypoints.api.idempotency import IdempotencyMiddleware
from entrypoints.api.observability import RequestLogMiddleware
from entrypoints.api.routes import ROUTES
from entrypoints.api.security import (
    PUBLIC_PATHS,
    ApiKeyAuthentication,
    KeyCache,
    authorize,
    bearer_token,
)
from entrypoints.bootstrap import Platform
from platform_core.access.service import ensure_bootstrap_key, hash_token
from platform_core.shared.errors import ServiceUnavailable

log = logging.getLogger(__name__)
VERSION = "0.1.0"
RATE_LIMIT_STORE = "rate_limit"
EXEMPT_FROM_RATE_LIMIT = ["^/health", "^/metrics", "^/schema"]


def caller_identity(request: Request[Any, Any, Any]) -> str:
    """Rate limits count per API key (by its hash, never the secret) once the key has proved
    genuine in this process, else per client address: inventing a new token per request must
    not buy a fresh budget (nor a free database lookup) each time."""
    token = bearer_token(request)
    if token is not None:
        token_hash = hash_token(token)
        cache: KeyCache = request.app.state.key_cache
        if cache.is_genuine(token_hash):
            return f"key:{token_hash[:32]}"
    return f"addr:{get_remote_address(request)}"


def _rate_limit_store(settings: ApiSettings) -> Store:
    if settings.rate_limit_redis_url:
        return RedisStore.with_client(url=settings.rate_limit_redis_url, namespace="ratelimit")
    return MemoryStore()


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="platform-core",
        version=VERSION,
        description=(
            "Orders, pricing, billing, fulfillment and automation for B2B hardware commerce. "
            "Every error answers {error: {code, message, details, request_id}}."
        ),
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "ApiKey": SecurityScheme(
                    type="http", scheme="bearer", description="An API key: Bearer pck_..."
                )
            }
        ),
        security=[{"ApiKey": []}],
    )


def create_app(platform: Platform, settings: ApiSettings | None = None) -> Litestar:
    """The API over `platform`. Closing the app does not close the platform: its owner does."""
    settings = settings or ApiSettings()
    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=EXEMPT_FROM_RATE_LIMIT,
        exclude_opt_key="exclude_from_rate_limit",
        identifier_for_request=caller_identity,
        store=RATE_LIMIT_STORE,
    )
    prometheus = PrometheusConfig(
        app_name="platform-core", prefix="platform_http", group_path=True, exclude=["^/metrics"]
    )

    async def on_startup(app: Litestar) -> None:
        try:
            await platform.prepare()
        except ServiceUnavailable as error:
            # Serve anyway: readiness answers 503 until the database is back, and the next
            # start (or a worker's) registers the default couriers.
            log.warning("courier registry not prepared: %s", error.message)
        if settings.bootstrap_api_key:
            await ensure_bootstrap_key(platform.deps, settings.bootstrap_api_key)

    app = Litestar(
        route_handlers=ROUTES,
        dependencies=DEPENDENCIES,
        exception_handlers=dict(EXCEPTION_HANDLERS),
        guards=[authorize],
        middleware=[
            prometheus.middleware,
            rate_limit.middleware,
            DefineMiddleware(ApiKeyAuthentication, exclude=list(PUBLIC_PATHS)),
            DefineMiddleware(IdempotencyMiddleware, max_body_size=settings.max_body_bytes),
        ],
        stores={RATE_LIMIT_STORE: _rate_limit_store(settings)},
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins))
        if settings.cors_origins
        else None,
        openapi_config=_openapi(),
        request_max_body_size=settings.max_body_bytes,
        on_startup=[on_startup],
        state=State({"platform": platform, "key_cache": KeyCache(settings.api_key_cache_seconds)}),
        debug=settings.debug,
        # Logging is the host process's to configure (the CLI does it for `serve`).
        logging_config=None,
    )
    # Outside Litestar's own exception handling, so the request id and the log line cover
    # every answer, including errors raised by middleware and unknown routes.
    app.asgi_handler = RequestLogMiddleware(app.asgi_handler)
    return app
