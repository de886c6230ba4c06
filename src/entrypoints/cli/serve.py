"""`platform-core serve`: the API under uvicorn, seeded, with the inline worker when embedded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

import uvicorn

from adapters.persistence.sql.engine import database_url
from entrypoints.api import ApiSettings, create_app
from entrypoints.api.routes.access import new_token
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.cli.main import printable_url
from entrypoints.inline_worker import InlineWorker
from entrypoints.seed import seed_catalogue
from platform_core.access.model import Role
from platform_core.access.service import (
    CreateApiKey,
    authenticate,
    create_api_key,
    ensure_bootstrap_key,
)
from platform_core.shared.errors import AuthenticationError

log = logging.getLogger("platform_core.serve")


async def serve(host: str, port: int, seed: bool | None) -> int:
    settings = Settings.from_env()
    api_settings = ApiSettings.from_env()
    platform = bootstrap(settings)
    try:
        embedded = settings.queue_url == "inline://"
        await platform.prepare()
        if seed if seed is not None else embedded:
            await seed_catalogue(platform.deps)
        admin_key = await _admin_key(platform, settings, api_settings)
        app = create_app(platform, api_settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, access_log=False, log_config=None)
        )
        _banner(host, port, settings, admin_key, embedded)
        if embedded:
            await _serve_with_inline_worker(server, platform)
        else:
            await server.serve()
    finally:
        await platform.close()
    return 0


async def _serve_with_inline_worker(server: uvicorn.Server, platform: Platform) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(InlineWorker(platform).run(stop))
    try:
        await server.serve()
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def _admin_key(
    platform: Platform, settings: Settings, api_settings: ApiSettings
) -> str | None:
    """The admin key to print: the configured bootstrap key, else (embedded store only) one
    kept in a file beside the database so every restart prints the same working key."""
    if api_settings.bootstrap_api_key:
        await ensure_bootstrap_key(platform.deps, api_settings.bootstrap_api_key)
        return "(PLATFORM_BOOTSTRAP_API_KEY)"
    if settings.database_url == MEMORY_URL:
        return await _new_admin_key(platform)  # nothing outlives the process, nor does the key
    key_file = _key_file(settings)
    if key_file is None:
        return None
    if key_file.exists():
        token = key_file.read_text().strip()
        with contextlib.suppress(AuthenticationError):
            await authenticate(platform.deps, token)
            return token
    token = await _new_admin_key(platform)
    key_file.write_text(token + "\n")
    os.chmod(key_file, 0o600)
    return token


async def _new_admin_key(platform: Platform) -> str:
    token = new_token()
    await create_api_key(platform.deps, CreateApiKey("local admin (serve)", Role.ADMIN, token))
    return token


def _key_file(settings: Settings) -> Path | None:
    """Only a local SQLite file gets a key file; a shared database gets its keys from
    PLATFORM_BOOTSTRAP_API_KEY or `platform-core api-key create`."""
    url = database_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(f"{url.database}.admin-key")


def _banner(
    host: str, port: int, settings: Settings, admin_key: str | None, embedded: bool
) -> None:
    base = f"http://{host}:{port}"
    lines = [
        "platform-core API",
        f"  url:       {base}/v1",
        f"  docs:      {base}/schema  (Swagger UI: {base}/schema/swagger)",
        f"  health:    {base}/health/ready    metrics: {base}/metrics",
        f"  database:  {printable_url(settings.database_url)}",
        f"  queue:     {settings.queue_url}"
        + ("  (inline worker in this process)" if embedded else ""),
    ]
    if admin_key is None:
        lines.append(
            "  admin key: none printed; create one: platform-core api-key create --role admin"
        )
    else:
        lines.append(f"  admin key: {admin_key}")
        if admin_key.startswith("pck_"):
            lines.append(
                f'  try:      curl -H "Authorization: Bearer {admin_key}" {base}/v1/orders'
            )
    print("\n".join(lines), flush=True)
