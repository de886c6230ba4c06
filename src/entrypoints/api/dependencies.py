"""What route handlers receive by name: the platform's dependencies, the caller, the request id.

Handlers declare `deps: Deps`, `principal: Caller` or `request_id: RequestId` and get them;
`request_id` doubles as the correlation id of the use case a handler calls. The aliases mark
the parameters as named dependencies explicitly, which Litestar 3 requires.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from entrypoints.api.observability import request_id_of
from entrypoints.api.security import Principal
from entrypoints.bootstrap import Dependencies, Platform
from platform_core.shared.errors import AuthenticationError


def provide_deps(state: State) -> Dependencies:
    platform: Platform = state.platform
    return platform.deps


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise AuthenticationError("an API key is required: Authorization: Bearer <key>")
    return user


def provide_request_id(request: Request[Any, Any, Any]) -> str:
    return request_id_of(request.scope)


DEPENDENCIES = {
    "deps": Provide(provide_deps, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "request_id": Provide(provide_request_id, sync_to_thread=False),
}


Deps: TypeAlias = NamedDependency[Dependencies]
Caller: TypeAlias = NamedDependency[Principal]
RequestId: TypeAlias = NamedDependency[str]
