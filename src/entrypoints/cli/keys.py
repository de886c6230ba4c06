"""`platform-core api-key create|list|revoke`: key management straight on the database."""

from __future__ import annotations

from entrypoints.api.routes.access import new_token
from entrypoints.bootstrap import Settings, bootstrap
from platform_core.access.model import Role
from platform_core.access.service import (
    CreateApiKey,
    RevokeApiKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)


async def create(name: str, role: str, company_id: str | None) -> int:
    platform = bootstrap(Settings.from_env())
    try:
        token = new_token()
        key = await create_api_key(platform.deps, CreateApiKey(name, Role(role), token, company_id))
    finally:
        await platform.close()
    scope = f" for company {key.company_id}" if key.company_id else ""
    print(f"created {key.role} key {key.id}{scope}; the secret is shown only now:")
    print(token)
    return 0


async def revoke(api_key_id: str) -> int:
    platform = bootstrap(Settings.from_env())
    try:
        key = await revoke_api_key(platform.deps, RevokeApiKey(api_key_id))
    finally:
        await platform.close()
    print(f"revoked {key.id} ({key.name})")
    return 0


async def list_keys() -> int:
    platform = bootstrap(Settings.from_env())
    try:
        keys = await list_api_keys(platform.deps, 500, 0)
    finally:
        await platform.close()
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        scope = key.company_id or "-"
        print(f"{key.id}\t{key.key_prefix}…\t{key.role}\t{scope}\t{state}\t{key.name}")
    return 0
