"""The README's main command: `platform-core serve` on the embedded default, in a process.

It starts on a fresh directory, migrates and seeds its SQLite file, prints the URLs and a
working admin key, answers real HTTP, and prints the same key after a restart.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.network import free_port

STARTUP_SECONDS = 60


class Served:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "STRIPE_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(self.port)],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.banner = self._read_banner()

    def _read_banner(self) -> str:
        assert self.process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Uvicorn running" in line:
                return "".join(lines)
        self.stop()
        raise AssertionError("serve did not start:\n" + "".join(lines))

    @property
    def admin_key(self) -> str:
        match = re.search(r"admin key: (pck_\S+)", self.banner)
        assert match, self.banner
        return match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_serve_prints_urls_and_a_working_admin_key(served: Served, tmp_path: Path) -> None:
    """The banner names the API, the docs and a key that works against the seeded data."""
    assert f"{served.base}/v1" in served.banner
    assert f"{served.base}/schema" in served.banner
    headers = {"Authorization": f"Bearer {served.admin_key}"}
    with httpx.Client(base_url=served.base, timeout=10) as http:
        assert http.get("/health/ready").json()["checks"] == {"database": "ok", "queue": "ok"}
        companies = http.get("/v1/companies", headers=headers).json()["items"]
        assert [c["name"] for c in companies] == ["Northwind Sensors Ltd"]
        products = http.get("/v1/products", headers=headers).json()["items"]
        assert {"GW-100", "AQ-300"} <= {p["sku"] for p in products}
        assert http.get("/schema/openapi.json").status_code == 200
        assert http.get("/v1/companies").status_code == 401
    assert (tmp_path / "platform-core.db").exists()


def test_a_restart_keeps_the_data_and_the_key(tmp_path: Path) -> None:
    first = Served(tmp_path)
    try:
        key = first.admin_key
    finally:
        first.stop()
    second = Served(tmp_path)
    try:
        assert second.admin_key == key
        with httpx.Client(base_url=second.base, timeout=10) as http:
            answer = http.get("/v1/companies", headers={"Authorization": f"Bearer {key}"})
            assert len(answer.json()["items"]) == 1  # seeding again created nothing
    finally:
        second.stop()
