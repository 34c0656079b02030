"""A hook process's life: a client may signal its hooks at any moment (Claude Code SIGTERMs
the hooks still running when a headless session ends), so the hook records its event
whatever signal arrives while it works, a hook killed outright never leaves a file that
passes for a whole one, a hook that is done ends at once without losing its output, and
one started with a standard stream closed still hands its sync the lock."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipper._cache._layout import parse_name

from .conftest import Collector, child_env, events_on_disk, required_or_skip

HOOK = [sys.executable, "-c", "from shipper._hook import run; run()", "--source", "claude-code"]
PAYLOAD = json.dumps({"hook_event_name": "Stop", "session_id": "s1", "cwd": "/tmp"}).encode()


@pytest.fixture
def needs_proc() -> None:
    """These tests watch processes through Linux's /proc: without it, a required skip (CI
    fails rather than passing without them)."""
    if not Path("/proc/self/status").exists():
        required_or_skip("/proc", "these tests read processes' state from /proc")


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler installed for ``signum`` (/proc's SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signum - 1) & 1)


@pytest.mark.usefixtures("needs_proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_while_the_hook_works_does_not_lose_its_event(
        tmp_path: Path, signum: int) -> None:
    """SIGTERM, SIGHUP or SIGINT sent while the hook reads its payload: the event is still
    recorded, and the hook exits 0 with nothing on stdout."""
    cache = tmp_path / "cache"
    proc = subprocess.Popen(HOOK, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_env(cache))
    assert proc.stdin is not None
    deadline = time.monotonic() + 30
    # SIGTERM's handler is installed last (Python has its own for SIGINT from the start)
    while not catches(proc.pid, signal.SIGTERM):  # the hook is up, waiting for its stdin
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signum)
    proc.send_signal(signum)  # twice: a client that insists changes nothing
    proc.stdin.write(PAYLOAD)
    proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    proc.wait(30)
    proc.stdout.close()
    proc.stderr.close()
    assert (proc.returncode, out) == (0, b"")
    assert [e["event"] for e in events_on_disk(cache)] == ["claude_code.Stop"]


@pytest.mark.usefixtures("needs_proc")
def test_the_signals_are_deferred_before_anything_is_imported(tmp_path: Path) -> None:
    """The handlers are in place before the hook loads its settings or its mapper: the
    window in which a signal could still cut it short is the interpreter's start alone."""
    code = ("import sys\n"
            "from shipper._hook import main\n"
            "import shipper._hook as h\n"
            "mods = set(sys.modules)\n"
            "h._within_budget = lambda argv: print(sorted(m for m in mods if\n"
            "    m.startswith('shipper')))\n"
            "main([])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env(tmp_path / "c"), timeout=60, check=True)
    assert out.stdout.strip() == "['shipper', 'shipper._hook', 'shipper._version']"


def test_hooks_killed_at_random_moments_leave_only_whole_files(tmp_path: Path) -> None:
    """SIGKILL at any point of a hook's work: every file in pending/ is whole (its header's
    count is its number of events, each one parses), and shipper status reads the cache."""
    cache = tmp_path / "cache"
    rng = random.Random(1234)
    started = 0
    for _ in range(40):
        proc = subprocess.Popen(HOOK, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=child_env(cache))
        assert proc.stdin is not None
        proc.stdin.write(PAYLOAD)
        proc.stdin.close()
        time.sleep(rng.uniform(0, 0.06))
        proc.kill()
        proc.wait(30)
        started += 1
    pending = list((cache / "pending").glob("*.json")) if (cache / "pending").exists() else []
    for path in pending:
        lines = path.read_bytes().splitlines()
        header = json.loads(lines[0])
        assert header["n"] == len(lines) - 1 == parse_name(path.name)[1]  # type: ignore[index]
        for line in lines[1:]:
            assert json.loads(line)["event"] == "claude_code.Stop"
    assert len(events_on_disk(cache)) == len(pending) <= started
    status = subprocess.run([sys.executable, "-m", "shipper", "status", "--json"],
                            capture_output=True, text=True, env=child_env(cache), timeout=60,
                            check=True)
    assert json.loads(status.stdout)["pending_events"] == len(pending)
    assert os.listdir(cache / "quarantine") == [] if (cache / "quarantine").exists() else True


def test_a_finished_hook_skips_pythons_teardown_but_keeps_its_output(tmp_path: Path) -> None:
    """The hook process ends as soon as its event is durable (no exit handlers, no teardown),
    exits 0, and what was written to stderr, even without a newline, still gets out."""
    cache = tmp_path / "cache"
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('teardown ran'))\n"
            "sys.stderr.write('written, not flushed')\n"
            "from shipper._hook import run\n"
            "run(['--source', 'claude-code'])\n"
            "sys.stderr.write('run returned')\n")
    env = child_env(cache)
    env.pop("PYTHONUNBUFFERED", None)  # stderr buffered by lines, as on a user's machine
    out = subprocess.run([sys.executable, "-c", code], input=PAYLOAD, capture_output=True,
                         env=env, timeout=60, check=False)
    assert out.returncode == 0
    assert out.stdout == b""
    assert out.stderr == b"written, not flushed"
    assert len(events_on_disk(cache)) == 1


def background_syncs(cache: Path) -> list[int]:
    """Pids of the background syncs running for ``cache`` (seen in /proc)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"--background" in cmdline and f"SHIPPER_CACHE_DIR={cache}".encode() in environ:
            found.append(int(pid))
    return found


@pytest.mark.usefixtures("needs_proc")
@pytest.mark.parametrize("closed", ["<&-", ">&-", "2>&-"])
@pytest.mark.parametrize("how", ["hook", "track"])
def test_a_closed_standard_stream_does_not_cost_the_sync_its_lock(
        collector: Collector, tmp_path: Path, closed: str, how: str) -> None:
    """A hook (or a track() script) started with stdin, stdout or stderr closed: the lock it
    hands the sync it starts is not renumbered into that stream and lost in the spawn, so
    three events in a row start one sync, not three."""
    collector.faults(blackhole=True)  # the sync waits on its first batch: there to be counted
    cache = tmp_path / "cache"
    env = child_env(cache, SHIPPER_ENDPOINT=collector.url, SHIPPER_HEALTH_PATH="",
                    SHIPPER_TIMEOUT="120")  # no probe to give up on, and a long wait
    python = f"exec {sys.executable}"
    command = (f"{python} -m shipper hook --source claude-code '{PAYLOAD.decode()}' {closed}"
               if how == "hook" else
               f"{python} -c 'import shipper; shipper.track(\"e\")' {closed}")
    try:
        for _ in range(3):
            subprocess.run(["sh", "-c", command], env=env, timeout=60, check=True)
        assert len(background_syncs(cache)) == 1  # (it holds the events: on disk, claimed)
    finally:
        for pid in background_syncs(cache):
            os.kill(pid, signal.SIGKILL)
