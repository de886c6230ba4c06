"""What the bench scripts share: a scratch PostgreSQL database, the platform API under uvicorn
in its own process (bench/servers/serve.py), worker processes, CPU counters and the pieces of
an HTTP load (one keep-alive client per task, error tallies, percentiles).

Not a benchmark: the scripts run as `python bench/x.py`, so bench/ is sys.path[0] and
`import benchlib` finds this module; `make bench` leaves it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import select
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import psycopg
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from adapters.persistence.sql.migrate import upgrade
from entrypoints.bootstrap import Settings

ADMIN_URL = os.environ.get(
    "PLATFORM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PLATFORM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LAUNCHER = Path(__file__).resolve().parent / "servers" / "serve.py"
ADMIN_KEY = "pck_bench_" + secrets.token_urlsafe(24)
# High enough that the rate limit never answers 429 during the load; it is still counted.
RATE_LIMIT_PER_MINUTE = 10_000_000
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0


def finish(began: float, failed: int = 0) -> None:
    """The run's last line: its wall time since `began` (perf_counter); exit 1 if any of the
    requests failed."""
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    if failed:
        print(f"{failed} request(s) failed", file=sys.stderr)
        sys.exit(1)


# -- PostgreSQL and Redis --------------------------------------------------------------------


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def scratch_database(prefix: str = "bench_") -> Iterator[str]:
    """A new database next to ADMIN_URL's, migrated to head, dropped afterwards (also on error)."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            upgrade(url)
            yield url
        finally:
            # FORCE: a server that did not stop in time must not keep the database alive.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def forget_namespace(namespace: str) -> None:
    """Delete this run's queue, job and breaker keys (and nothing else)."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"*{namespace}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# -- waiting on child processes ----------------------------------------------------------------


def log_tails(logs: Path) -> dict[str, str]:
    """The end of each child process's output, for a failure report."""
    return {path.name: path.read_text(errors="replace")[-2000:] for path in logs.glob("*.log")}


async def until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    logs: Path,
    poll_s: float = 0.1,
    timeout_s: float = RUN_TIMEOUT_S,
) -> float:
    """Poll `check` until it holds, or give up after `timeout_s` with the logs; the monotonic
    time it first held (as precise as `poll_s`)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}; logs: {log_tails(logs)}")
        await asyncio.sleep(poll_s)
    return time.monotonic()


def shell_free_env() -> dict[str, str]:
    """This environment minus any PLATFORM_*/STRIPE_* setting of the shell: the figures must
    not depend on it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "STRIPE_"))}


# -- the platform API under uvicorn ------------------------------------------------------------


@attrs.frozen
class Server:
    """A started server process and the JSON line it announced once listening."""

    label: str
    process: subprocess.Popen[bytes]
    base_url: str
    announced: dict[str, Any]
    pg_database: str | None = None  # the PostgreSQL database it works in, if any

    @property
    def http(self) -> str:
        """uvicorn's HTTP protocol."""
        return str(self.announced["http"])

    @property
    def seeded(self) -> dict[str, Any] | None:
        """The ids of the seed catalogue (`serve.py platform --seed`), else None."""
        seeded = self.announced.get("seeded")
        return None if seeded is None else dict(seeded)


def server_env(
    database_url: str, queue_url: str = "inline://", namespace: str = ""
) -> dict[str, str]:
    """The environment of a platform server: the shell's without PLATFORM_*/STRIPE_*, the
    database and queue given, the bench's admin key and a rate limit the load never reaches."""
    return shell_free_env() | {
        "PLATFORM_DATABASE_URL": database_url,
        "PLATFORM_QUEUE_URL": queue_url,
        "PLATFORM_QUEUE_NAMESPACE": namespace,
        "PLATFORM_BOOTSTRAP_API_KEY": ADMIN_KEY,
        "PLATFORM_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_PER_MINUTE),
    }


@contextlib.contextmanager
def launched(
    label: str,
    args: list[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    pg_database: str | None = None,
) -> Iterator[Server]:
    """bench/servers/serve.py with `args` in its own process, yielded once it listens; stopped
    on the way out (stdin closed, then SIGTERM, then SIGKILL), also on error. Its stderr goes
    to `log` if given, else to this terminal."""
    with contextlib.ExitStack() as stack:
        stderr = stack.enter_context(log.open("wb")) if log is not None else None
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
        stack.callback(stop, process)
        announced = _announcement(process, label, log)
        base_url = f"http://127.0.0.1:{announced['port']}"
        yield Server(label, process, base_url, announced, pg_database)


def _announcement(process: subprocess.Popen[bytes], label: str, log: Path | None) -> dict[str, Any]:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    line = process.stdout.readline() if ready else b""
    if not line:
        tail = log.read_text(errors="replace")[-2000:] if log is not None else ""
        raise RuntimeError(f"{label}: the server did not start (exit code {process.poll()}) {tail}")
    return dict(json.loads(line))


def stop(process: subprocess.Popen[bytes]) -> None:
    """Close the launcher's stdin (it stops when stdin closes), then SIGTERM, then SIGKILL."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


# -- worker processes --------------------------------------------------------------------------

# One worker process on one queue; SIGTERM stops it gracefully.
WORKER_SCRIPT = """
import asyncio, logging
from entrypoints.bootstrap import Settings
from entrypoints.worker.process import WorkerOptions, run_worker
logging.basicConfig(level=logging.WARNING)
logging.getLogger("platform_core.worker").setLevel(logging.INFO)  # its start line
options = WorkerOptions(queues=({queue!r},), cron=False, relay=False)
asyncio.run(run_worker(Settings.from_env(), options))
"""


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a worker on `settings`' database and queue (no migration)."""
    return shell_free_env() | {
        "PLATFORM_DATABASE_URL": settings.database_url,
        "PLATFORM_MIGRATE_ON_START": "false",
        "PLATFORM_QUEUE_URL": settings.queue_url,
        "PLATFORM_QUEUE_NAMESPACE": settings.queue_namespace,
    }


@contextlib.contextmanager
def child(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process of ours, stopped with SIGTERM (then killed) at the end; output in `log`."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.asynccontextmanager
async def worker(
    queue: str, env: dict[str, str], logs: Path, name: str = "worker"
) -> AsyncIterator[None]:
    """A worker process on `queue` only (no cron, no outbox relay, so a figure is the jobs' own
    work), yielded once it has logged its start line; its output in `logs`/`name`.log."""
    log = logs / f"{name}.log"
    with child([sys.executable, "-c", WORKER_SCRIPT.format(queue=queue)], env, log):

        async def started() -> bool:
            return "worker: " in log.read_text(errors="replace")

        await until(started, f"the {name} process to start", logs, 0.2)
        yield


# -- CPU accounting (Linux /proc; None elsewhere) ------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process, all its threads (fields 14 and 15 of stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / TICKS, sum(ticks) / TICKS


# -- HTTP load ---------------------------------------------------------------------------------

Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@attrs.frozen
class Route:
    """One measured route of one server; `send` makes the n-th request of a phase."""

    name: str
    server: Server
    send: Send
    expected: int


@attrs.define
class Tally:
    """What the clients of one phase saw: latencies of the successes, a few failures."""

    max_samples: int
    latencies_ms: list[float] = attrs.Factory(list)
    errors: int = 0
    samples: list[str] = attrs.Factory(list)

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < self.max_samples:
            self.samples.append(what)


def http_client(server: Server, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """One connection per client, kept alive between its requests."""
    return httpx.AsyncClient(
        base_url=server.base_url,
        headers=headers,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=REQUEST_TIMEOUT_S,
    )


async def client_loop(
    client: httpx.AsyncClient, route: Route, numbers: Iterable[int], deadline: float, tally: Tally
) -> None:
    """Send the requests `numbers` names back to back, until they run out or `deadline`."""
    for n in numbers:
        if time.perf_counter() >= deadline:
            return
        began = time.perf_counter()
        try:
            response = await route.send(client, n)
        except httpx.HTTPError as error:
            tally.fail(f"{type(error).__name__}: {error}")
            continue
        if response.status_code != route.expected:
            tally.fail(f"{response.status_code} {response.text[:200]}")
            continue
        tally.latencies_ms.append((time.perf_counter() - began) * 1000)


def percentiles(latencies_ms: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99."""
    if len(latencies_ms) < 2:
        only = latencies_ms[0] if latencies_ms else float("nan")
        return only, only, only
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]
