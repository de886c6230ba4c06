"""Probes and metrics: answered without a key and never rate limited."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler

from entrypoints.api.metrics import render_metrics
from entrypoints.api.schemas import View
from entrypoints.bootstrap import Platform
from platform_core.shared.errors import ServiceUnavailable


class HealthView(View):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = {"exclude_from_rate_limit": True}

    @get("/", summary="The process is up")
    async def up(self) -> HealthView:
        return HealthView(status="ok", checks={})

    @get("/live", summary="Liveness: the process answers requests")
    async def live(self) -> HealthView:
        return HealthView(status="ok", checks={})

    @get(
        "/ready",
        summary="Readiness: the database and the queue are reachable",
        description="503 with the error payload when one of them is not.",
    )
    async def ready(self, state: State) -> HealthView:
        platform: Platform = state.platform
        checks = await platform.readiness()
        failing = sorted(name for name, ok in checks.items() if not ok)
        if failing:
            raise ServiceUnavailable(
                f"not ready: {', '.join(failing)} unreachable", {"failing": failing}
            )
        return HealthView(status="ok", checks=dict.fromkeys(checks, "ok"))


@get(
    "/metrics",
    media_type=MediaType.TEXT,
    tags=["Health"],
    summary="Prometheus metrics (text exposition format)",
    opt={"exclude_from_rate_limit": True},
)
async def metrics(state: State) -> Response[bytes]:
    platform: Platform = state.platform
    body, content_type = await render_metrics(platform)
    return Response(body, media_type=content_type)


ROUTES: list[ControllerRouterHandler] = [HealthController, metrics]
