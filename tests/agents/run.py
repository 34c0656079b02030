"""Headless sessions of one agent CLI, set up by ``shipper hooks install`` as a user would,
with shipper delivering to a real collector process.

Each session has a home of its own (the client's config, and shipper's config file under
``~/.config/shipper``) and a work folder in it holding the case's notes file; all sessions
of a client share one shipper cache, as one user's sessions do. The client's own logs go
beside the home, not in it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..conftest import Receiver, pending_events, wait_for
from .clients import Client, Replay, Session
from .fakes import Case, FakeApi

SESSION_TIMEOUT_S = 300.0  # hang guards only: a session takes seconds
INSTALL_TIMEOUT_S = 120.0
DELIVERY_TIMEOUT_S = 180.0


@dataclass
class ReplayResult:
    session: Session
    replay: Replay
    returncode: int | None
    stdout: bytes
    stderr: bytes


@dataclass
class Run:
    """Every session of one client, and what reached the collector and the cache."""

    client: Client
    cache: Path
    replay_cache: Path
    sessions: list[Session]
    wall_seconds: float = 0.0
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id, pre-replay
    on_disk: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id, pre-replay
    wire: list[dict[str, Any]] = field(default_factory=list)  # every request, replays' too
    replays: list[ReplayResult] = field(default_factory=list)
    requests_to_api: int = 0

    def fired(self) -> Counter[tuple[str | None, str]]:
        """(session id, shipper event name) of every hook run the clients reported."""
        return Counter((s.session_id, self.client.event_name(r.event))
                       for s in self.sessions for r in s.runs)

    def recorded(self, events: dict[str, dict[str, Any]]) -> Counter[tuple[str | None, str]]:
        ids = {s.session_id for s in self.sessions}
        out: Counter[tuple[str | None, str]] = Counter()
        for event in events.values():
            props = event.get("properties") or {}
            sid = props.get("session_id") or props.get("thread_id")
            if sid in ids:
                out[(sid, event.get("event", ""))] += 1
        return out


def events_in(requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The native events in recorded request bodies, by id."""
    out: dict[str, dict[str, Any]] = {}
    for request in requests:
        try:
            batch = json.loads(request.get("body") or "{}").get("batch", [])
        except ValueError:
            continue
        for event in batch:
            out[event["id"]] = event
    return out


def cached_events(cache: Path) -> dict[str, dict[str, Any]]:
    """Every pending event in a cache folder, by id, read from its files as they are."""
    out: dict[str, dict[str, Any]] = {}
    for path in cache.rglob("*"):
        if not path.is_file() or "pending" not in path.parts:
            continue
        for line in path.read_bytes().splitlines()[1:]:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and "id" in event:
                out[event["id"]] = event
    return out


def _shipper_config(session: Session, endpoint: str, cache: Path) -> Path:
    """shipper's config file where a user keeps it, saying what the environment says too
    (a client that strips the environment of its hooks still leaves them these)."""
    folder = session.home / ".config" / "shipper"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(f"endpoint = {json.dumps(endpoint)}\ncache_dir = {json.dumps(str(cache))}\n",
                    encoding="utf-8")
    return path


def prepare(client: Client, session: Session, api: FakeApi, endpoint: str, cache: Path) -> None:
    """The session's home, the user's own config, then ``shipper hooks install``."""
    session.work.mkdir(parents=True)
    (session.folder / "tmp").mkdir()
    (session.work / session.case.notes_file).write_text(session.case.content_secret + "\n",
                                                        encoding="utf-8")
    config = _shipper_config(session, endpoint, cache)
    client.before_install(session, api)
    install = subprocess.run(
        [sys.executable, "-m", "shipper", "hooks", "install", client.name],
        cwd=session.work, env={"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8",
                               **client.install_env(session)},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
        check=False)
    if install.returncode != 0:
        raise RuntimeError(f"shipper hooks install {client.name} failed "
                           f"({install.returncode}): {install.stdout}{install.stderr}")
    session.env = {
        "PATH": os.environ.get("PATH", os.defpath), "HOME": str(session.home), "LANG": "C.UTF-8",
        "TERM": "dumb", "USER": os.environ.get("USER", "tester"),
        "TMPDIR": str(session.folder / "tmp"), "XDG_CONFIG_HOME": str(session.home / ".config"),
        "SHIPPER_CONFIG": str(config), "SHIPPER_ENDPOINT": endpoint,
        "SHIPPER_CACHE_DIR": str(cache), **client.agent_env(session, api)}


def run_one(client: Client, executable: Path, session: Session) -> None:
    session.command = client.argv(executable, session)
    start = time.monotonic()
    proc = subprocess.Popen(session.command, cwd=session.work, env=session.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=SESSION_TIMEOUT_S)
        session.returncode = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        session.problems.append(f"no exit within {SESSION_TIMEOUT_S:.0f} s: killed")
    session.seconds = time.monotonic() - start
    session.stdout = out.decode("utf-8", "replace")
    session.stderr = err.decode("utf-8", "replace")


def replay(result_cache: Path, session: Session, item: Replay) -> ReplayResult:
    env = {**session.env, "SHIPPER_CACHE_DIR": str(result_cache), **item.env}
    done = subprocess.run(item.argv, cwd=session.work, env=env, input=item.stdin,
                          capture_output=True, timeout=SESSION_TIMEOUT_S, check=False,
                          start_new_session=True)
    return ReplayResult(session, item, done.returncode, done.stdout, done.stderr)


def run_sessions(client: Client, executable: Path, folder: Path, count: int,
                 parallel: int) -> Run:
    """``count`` sessions, ``parallel`` at a time; then wait (bounded) for what they
    recorded to be delivered, and run the replays."""
    receiver = Receiver(folder, "shipper")
    receiver.start()
    try:
        receiver.plan(health_status=200)
        with client.api_class() as api:
            run = Run(client, folder / "cache", folder / "replay-cache", [])
            for i in range(count):
                case = Case()
                api.add(case)
                where = folder / f"s{i:02d}"
                run.sessions.append(Session(client.name, i, case, where / "home",
                                            where / "home" / "work", where))

            def one(session: Session) -> None:
                prepare(client, session, api, receiver.url, run.cache)
                run_one(client, executable, session)

            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(one, run.sessions))
            run.wall_seconds = time.monotonic() - start
            for session in run.sessions:
                client.read_reports(session, api)
            run.requests_to_api = len(api.requests)

            fired = run.fired()

            def settled() -> bool:
                delivered = events_in(receiver.requests())
                return (not +(fired - run.recorded(delivered))
                        and pending_events(run.cache) == 0)

            wait_for(settled, timeout=DELIVERY_TIMEOUT_S, interval=0.2)
            run.delivered = events_in(receiver.requests())
            run.on_disk = cached_events(run.cache)
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                run.replays = list(pool.map(
                    lambda pair: replay(run.replay_cache, *pair),
                    [(s, r) for s in run.sessions for r in client.replays(s)]))
            if run.replays:
                wait_for(lambda: pending_events(run.replay_cache) == 0,
                         timeout=DELIVERY_TIMEOUT_S, interval=0.2)
            run.wire = receiver.requests()
            return run
    finally:
        receiver.stop()


def written_out(run: Run) -> dict[str, str]:
    """Everything shipper wrote down or sent, by where: every file in both cache folders
    (pending, dead-lettered, state), and every request the collector received (headers and
    body, gzip undone)."""
    out: dict[str, str] = {}
    for cache in (run.cache, run.replay_cache):
        if cache.exists():
            for path in sorted(cache.rglob("*")):
                if path.is_file():
                    out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for i, request in enumerate(run.wire):
        out[f"request #{i} to the collector"] = json.dumps(request, ensure_ascii=False)
    return out


def found_in(needle: str, texts: dict[str, str]) -> list[str]:
    """Where ``needle`` is, with some of what surrounds it."""
    hits = []
    for where, text in texts.items():
        at = text.find(needle)
        if at >= 0:
            hits.append(f"{where}: ...{text[max(0, at - 120):at + len(needle) + 40]}...")
    return hits
