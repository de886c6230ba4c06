"""API keys: admins create, list and revoke them. The secret is shown once, at creation."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter
from litestar.types import ControllerRouterHandler

from entrypoints.api.dependencies import Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, View
from entrypoints.api.security import KeyCache
from platform_core.access.model import ApiKey, Role
from platform_core.access.service import (
    CreateApiKey,
    RevokeApiKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)

TOKEN_PREFIX = "pck_"


def new_token() -> str:
    """A fresh secret: 256 random bits, prefixed so leaked keys are easy to grep for."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiKeyIn(Body):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Role
    company_id: str | None = None


class ApiKeyView(View):
    id: str
    name: str
    role: Role
    company_id: str | None
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None


class NewApiKeyView(ApiKeyView):
    token: Annotated[str, msgspec.Meta(description="The secret. Shown only in this response.")]


class ApiKeyPage(View):
    items: list[ApiKeyView]
    limit: int
    offset: int


def api_key_view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=key.id,
        name=key.name,
        role=key.role,
        company_id=key.company_id,
        key_prefix=key.key_prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["API keys"]
    opt = {"family": "access"}

    @post("/", summary="Create an API key", responses=ERRORS_WRITE)
    async def create(
        self, data: JSONBody[ApiKeyIn], deps: Deps, request_id: RequestId
    ) -> NewApiKeyView:
        token = new_token()
        command = CreateApiKey(data.name, data.role, token, data.company_id, request_id)
        key = await create_api_key(deps, command)
        return NewApiKeyView(**msgspec.structs.asdict(api_key_view(key)), token=token)

    @get("/", summary="List API keys", responses=ERRORS_READ)
    async def list(
        self,
        deps: Deps,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> ApiKeyPage:
        keys = await list_api_keys(deps, limit, offset)
        return ApiKeyPage(items=[api_key_view(k) for k in keys], limit=limit, offset=offset)

    @post(
        "/{api_key_id:str}/revoke",
        status_code=200,
        summary="Revoke an API key",
        responses=ERRORS_WRITE,
    )
    async def revoke(
        self, api_key_id: FromPath[str], deps: Deps, request_id: RequestId, state: State
    ) -> ApiKeyView:
        key = await revoke_api_key(deps, RevokeApiKey(api_key_id, request_id))
        cache: KeyCache = state.key_cache
        cache.forget(key.id)  # this process stops trusting it now, not after the cache TTL
        return api_key_view(key)


ROUTES: list[ControllerRouterHandler] = [ApiKeyController]
