"""Shared fixtures: a private environment, a fake clock, and a real collector process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_REQUIRED = ROOT / ".ci-skipped"  # .ci/run fails when a required part was skipped


def required_or_skip(part: str, why: str) -> None:
    """Skip a test that needs a real part (ClickHouse, an agent CLI) this machine cannot
    have, with the reason; and note it, so that CI, where it must run, fails."""
    with open(SKIPPED_REQUIRED, "a", encoding="utf-8") as f:
        f.write(f"{part}: {why}\n")
    pytest.skip(f"{part}: {why}")


def require_tool(name: str) -> None:
    """A command the test runs (git, strace, openssl): where it is missing, a required
    skip, so CI fails instead of passing without the test."""
    if shutil.which(name) is None:
        required_or_skip(name, f"the {name} command is not installed")


@pytest.fixture
def needs_git() -> None:
    require_tool("git")


@pytest.fixture(autouse=True)
def private_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets its own cache folder and no user configuration: the user's own
    ~/.config/shipper/config.toml, state and data are never read, even by code that looks
    for them where no SHIPPER_CONFIG points (the XDG folders point into the test's own)."""
    for key in list(os.environ):
        if key.startswith(("SHIPPER_", "OTEL_")) or key == "DO_NOT_TRACK":
            monkeypatch.delenv(key)
    for key, name in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                      ("XDG_DATA_HOME", "data")):
        monkeypatch.setenv(key, str(tmp_path / "xdg" / name))
    monkeypatch.setenv("SHIPPER_CONFIG", str(tmp_path / "no-config.toml"))
    cache = tmp_path / "cache"
    monkeypatch.setenv("SHIPPER_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def cache_dir(private_env: Path) -> Path:
    return private_env


class FakeClock:
    """Monotonic and wall time that move only when a test says so."""

    def __init__(self, start: float = 1000.0, wall: float = 1_800_000_000.0) -> None:
        self.mono = start
        self.wall = wall
        self.slept: list[float] = []

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(cache: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHIPPER_") and k != "DO_NOT_TRACK"}
    env["SHIPPER_CONFIG"] = os.environ.get("SHIPPER_CONFIG", "/nonexistent/config.toml")
    if cache is not None:
        env["SHIPPER_CACHE_DIR"] = str(cache)
    env.update(extra)
    return env


def run_py(code: str, env: dict[str, str], timeout: float = 120,
           **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` (dedented) as a process of its own; its output as text."""
    import textwrap

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def shipper_cmd(env: dict[str, str], *args: str,
                **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``shipper ARGS`` as a process of its own, in ``env``; its output as text."""
    return subprocess.run([sys.executable, "-m", "shipper", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False, **kwargs)


class ServerProcess:
    """A real server process on 127.0.0.1 that tests can start, stop and start again (on
    the same port); `command` says which."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = workdir / f"{name}.jsonl"
        self.db = workdir / f"{name}.db"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {}

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command(), env=child_env(**self.environment()),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/_control/stats", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"{type(self).__name__} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(self.url + "/_control/stats", timeout=5).json()
        return data


class Collector(ServerProcess):
    """``shipper serve --control``: the native receiver, with fault injection."""

    def __init__(self, workdir: Path, api_key: str | None = None) -> None:
        super().__init__(workdir, "received")
        self.api_key = api_key

    def command(self) -> list[str]:
        return [sys.executable, "-m", "shipper", "serve", "--port", str(self.port),
                "--out", str(self.out), "--db", str(self.db), "--control"]

    def environment(self) -> dict[str, str]:
        return {"SHIPPER_SERVE_API_KEY": self.api_key} if self.api_key else {}

    def faults(self, **values: Any) -> None:
        httpx.post(self.url + "/_control/faults", json=values, timeout=5).raise_for_status()

    def events(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def ids(self) -> list[str]:
        return [e["id"] for e in self.events()]


class Receiver(ServerProcess):
    """``tests/receiver.py``: a recording receiver for one kind of destination (its format,
    its answers), steered by `plan`."""

    def __init__(self, workdir: Path, kind: str) -> None:
        super().__init__(workdir, f"receiver-{kind}")
        self.kind = kind

    def command(self) -> list[str]:
        return [sys.executable, str(ROOT / "tests" / "receiver.py"), "--kind", self.kind,
                "--port", str(self.port), "--out", str(self.out)]

    def plan(self, **values: Any) -> None:
        httpx.post(self.url + "/_control/plan", json=values, timeout=5).raise_for_status()

    def ids(self) -> list[str]:
        return list(self.stats()["ids"])

    def requests(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]


@contextlib.contextmanager
def serving(server: Any) -> Iterator[str]:
    """Run an in-process ``shipper serve`` server (from `make_server`) on a thread for the
    block; yields its base URL. For tests that need to shape the server itself (a body
    limit, a TLS socket); the others use the `collector` process fixture."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if hasattr(server.socket, "context") else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    c = Collector(tmp_path)
    c.start()
    yield c
    c.stop()


@pytest.fixture
def down_collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector address with nothing listening yet (call ``start()`` to recover)."""
    c = Collector(tmp_path)
    yield c
    c.stop()


def pending_events(cache: Path) -> int:
    """How many events wait in a cache folder's pending files, every destination's."""
    from shipper._cache._spool import all_spools

    return sum(sum(e.count for e in spool.own_entries()) for spool in all_spools(cache))


def events_on_disk(cache: Path) -> list[dict[str, Any]]:
    """Every pending event in a cache folder, every destination's, parsed (claims are
    released again)."""
    from shipper._cache._spool import all_spools

    out = []
    for spool in all_spools(cache):
        for entry in spool.own_entries():
            claim = spool.claim(entry)
            assert claim is not None
            out += [json.loads(raw) for _, raw in claim.events]
            claim.release()
    return out


def sync_running(cache: Path, endpoint: str, kind: str = "shipper") -> bool:
    """Whether a sync of this destination holds its lock now."""
    from shipper._cache._spool import Spool

    lock = destination_home(cache, endpoint, kind) / "sync.lock"
    return lock.exists() and Spool(cache).is_locked(lock)


def destination_home(cache: Path, endpoint: str, kind: str = "shipper",
                     **settings: str) -> Path:
    """The folder of one destination in a cache (its pending/, state.json, sync.lock)."""
    from shipper._cache._spool import Spool
    from shipper._config import load_settings

    resolved = load_settings({"destination": kind, "endpoint": endpoint,
                              "cache_dir": str(cache), **settings}, environ={})
    return Spool.for_settings(resolved).home


def write_backlog(cache: Path, files: int, per_file: int) -> list[str]:
    """Fill a cache with files x per_file events of known ids; returns the ids."""
    from shipper._cache._spool import Spool

    spool = Spool(cache)
    ids = []
    for f in range(files):
        batch = []
        for i in range(per_file):
            event_id = f"00000000-0000-7000-8000-{f:06d}{i:06d}"
            ids.append(event_id)
            batch.append(json.dumps({"id": event_id, "event": "backlog"}).encode())
        spool.write(batch)
    return ids


async def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.01) -> bool:
    """`wait_for` inside a test's event loop: polls without blocking the loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Poll until ``predicate()`` is true or ``timeout`` passes (a bound, not an assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
