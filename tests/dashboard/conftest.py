"""Fixtures of the dashboard tests: a study being written by a real worker process, a real
``hpo dashboard`` server process, and headless Chromium driven by Playwright.

Chromium is Debian's (``scripts/ensure_chromium.sh`` installs it); Playwright only drives
it (``executable_path``), it never downloads a browser. Without Chromium or Playwright the
browser tests skip and say why; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("HPO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HPO_THREADS_PER_WORKER": "1"}


def start_worker(url: str, study: str, trials: int, epoch_seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.dashboard.live_study",
            url,
            study,
            "--trials",
            str(trials),
            "--epoch-seconds",
            str(epoch_seconds),
        ],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Server:
    """``hpo dashboard`` in its own process, as a person starts it."""

    def __init__(self, url: str, *, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hpo",
                "dashboard",
                "--storage",
                url,
                "--port",
                str(self.port),
                "--host",
                host,
            ],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"hpo dashboard exited: {self.proc.stdout.read()}")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(self.base + "/api/info", timeout=2).read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("hpo dashboard did not answer within 30 s") from None
                time.sleep(0.2)

    def close(self) -> str:
        stop(self.proc)  # type: ignore[arg-type]
        return self.proc.stdout.read() if self.proc.stdout else ""


@pytest.fixture
def dashboard_server() -> Iterator[type[Server]]:
    """A factory of dashboard servers, all stopped at the end of the test."""
    started: list[Server] = []

    class _Tracked(Server):
        def __init__(self, url: str, **kw: str) -> None:
            super().__init__(url, **kw)
            started.append(self)

    yield _Tracked
    for server in started:
        server.close()


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires the browser tests to run. {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium under Playwright (session-wide: one browser start)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("Playwright is not installed (pip install 'hpo[dev]').")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _skip_or_fail(f"No Chromium at {CHROMIUM} (bash scripts/ensure_chromium.sh installs it).")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored); the path is printed so a person can look."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
