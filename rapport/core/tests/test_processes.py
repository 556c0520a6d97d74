"""End to end: `rapport serve` (gunicorn) and `rapport worker` (huey) as real processes.

They run on their own SQLite data dir (never the test database), with the huey queue on SQLite
and then on Redis, and must agree through /healthz that the worker is alive.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RAPPORT = [sys.executable, "-m", "rapport"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RAPPORT_TESTING"}}
    env.update(RAPPORT_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="rapport.config.settings", **extra)
    return env


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        body: dict[str, Any] = json.loads(resp.read())
        return body


def _wait_for(predicate: Callable[[], Any], timeout: float = 120.0) -> Any:
    # Generous: `serve` first migrates a new database, which on a busy 2-core CI machine has taken
    # close to a minute. A readiness wait, not a speed check.
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError as exc:
            last_error = exc
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting (last error: {last_error})")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_serve_and_worker_report_healthy_together(tmp_path, processes, queue):
    extra = {"REDIS_URL": "redis://127.0.0.1:6379/15"} if queue == "redis" else {}
    env = _env(tmp_path, **extra)
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    processes.append(
        subprocess.Popen(
            [*RAPPORT, "serve", "--port", str(port), "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    )
    url = f"http://127.0.0.1:{port}/healthz"
    first = _wait_for(lambda: _get_json(url))
    assert first["database"] == {"ok": True, "vendor": "sqlite"}
    assert first["worker"]["ok"] is False
    assert first["status"] == "degraded"

    processes.append(
        subprocess.Popen(
            [*RAPPORT, "worker"], env=env, stdout=(tmp_path / "worker.log").open("wb"), stderr=subprocess.STDOUT
        )
    )

    def worker_ok() -> dict[str, Any] | None:
        body: dict[str, Any] = _get_json(url)
        return body if body["worker"]["ok"] else None

    healthy = _wait_for(worker_ok)
    assert healthy["status"] == "ok"
    # The server applied migrations itself and serves static files through whitenoise.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as resp:
        page = resp.read().decode()
    css = page.split('href="/static/')[1].split('"')[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{css}", timeout=5) as resp:
        assert resp.status == 200 and b".topbar" in resp.read()
