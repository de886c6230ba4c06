"""Local sockets for servers the tests start on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import uvicorn

START_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(
    app: Callable[..., Awaitable[None]], wait_seconds: float = START_SECONDS
) -> AsyncIterator[str]:
    """The ASGI `app` under uvicorn on 127.0.0.1, in this event loop (so a test can reach the
    app's state directly); yields its base URL once it listens, stops it on the way out.
    `wait_seconds` bounds both the start and the stop."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + wait_seconds
    while not server.started:
        assert not task.done(), "uvicorn stopped before listening"
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, wait_seconds)
