"""One server for bench/api.py, in its own process: the Litestar hello-world app or the platform
API, under uvicorn with the same settings either way, on a port the system picks.

    serve.py hello
    serve.py platform [--seed]   # configured by PLATFORM_* variables, as `platform-core serve` is

Once its socket listens it prints one JSON line on stdout: the port, uvicorn's HTTP protocol
and, with --seed, the ids of the seed catalogue. It stops when its stdin closes (so it cannot
outlive the bench that started it) or on SIGINT/SIGTERM. Logging is at WARNING: a log line per
request would otherwise take its share of the figures.

Kept out of bench/ itself because `make bench` runs every bench/*.py as a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
import sys
import threading
from typing import Any

import attrs
import uvicorn
from litestar import Litestar


def listening_socket() -> socket.socket:
    """Bound here rather than by uvicorn, so the port is known before serving and no other
    process can take it between choosing and binding."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections whose socket
    # says it is TCP, and without it Nagle and delayed ACKs add ~40 ms to every keep-alive
    # response (uvicorn's own binding gets the protocol from getaddrinfo).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def uvicorn_server(app: Litestar) -> uvicorn.Server:
    """The settings of `platform-core serve` (no access log, logging configured by us), for
    both servers: one process, uvicorn's default HTTP protocol and backlog."""
    config = uvicorn.Config(app, access_log=False, log_config=None, log_level="warning")
    config.load()
    return uvicorn.Server(config)


def stop_when_stdin_closes(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()

    def wait_for_eof() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(setattr, server, "should_exit", True)

    # A daemon thread: a blocked read must not keep the process alive after a signal.
    threading.Thread(target=wait_for_eof, name="stdin-eof", daemon=True).start()


async def serve(app: Litestar, **announced: Any) -> None:
    # Litestar sets the root logger to INFO when an app is built; back to WARNING, so the
    # platform's request log (INFO, one line per request) is not written during the load.
    logging.getLogger().setLevel(logging.WARNING)
    sock = listening_socket()
    server = uvicorn_server(app)
    protocol = server.config.http_protocol_class
    line = {"port": sock.getsockname()[1], "http": getattr(protocol, "__name__", str(protocol))}
    print(json.dumps(line | announced), flush=True)
    stop_when_stdin_closes(server)
    await server.serve(sockets=[sock])


async def serve_platform(seed: bool) -> None:
    """Built as `platform-core serve` builds it, with its inline worker on the inline queue."""
    from entrypoints.api import ApiSettings, create_app
    from entrypoints.bootstrap import INLINE_QUEUE_URL, Settings, bootstrap
    from entrypoints.inline_worker import InlineWorker
    from entrypoints.seed import seed_catalogue

    settings = Settings.from_env()
    platform = bootstrap(settings)
    try:
        seeded = await seed_catalogue(platform.deps) if seed else None
        app = create_app(platform, ApiSettings.from_env())
        stop = asyncio.Event()
        worker = None
        if settings.queue_url == INLINE_QUEUE_URL:
            worker = asyncio.create_task(InlineWorker(platform).run(stop))
        try:
            await serve(app, seeded=None if seeded is None else attrs.asdict(seeded))
        finally:
            stop.set()
            if worker is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
    finally:
        await platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=["hello", "platform"])
    parser.add_argument("--seed", action="store_true", help="seed the catalogue (idempotent)")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    # Each process imports only the app it serves: the baseline loads no platform code.
    if args.app == "hello":
        from hello_app import app as hello_app

        asyncio.run(serve(hello_app))
    else:
        asyncio.run(serve_platform(args.seed))


if __name__ == "__main__":
    main()
