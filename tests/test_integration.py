"""End to end against a real collector process on 127.0.0.1, real files, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipper import Shipper
from shipper._cache._spool import Spool

from .conftest import (
    Collector,
    child_env,
    pending_events,
    sync_running,
    wait_for,
    write_backlog,
)


def run_py(code: str, env: dict[str, str], timeout: float = 120,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def shipper_cmd(*args: str, env: dict[str, str], timeout: float = 120,
                input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "shipper", *args], env=env, input=input,
                          capture_output=True, timeout=timeout, check=False)


def test_client_delivers_to_a_real_collector(collector: Collector, cache_dir: Path) -> None:
    """Shipper delivers over real HTTP; the collector holds each id once."""
    with Shipper(endpoint=collector.url) as s:
        ids = [s.track("e", {"i": i}) for i in range(1200)]
    assert sorted(collector.ids()) == sorted(ids)
    assert collector.stats()["duplicates"] == 0
    assert pending_events(cache_dir) == 0


def test_outage_spill_recovery_drain(down_collector: Collector, cache_dir: Path) -> None:
    """Events recorded while the collector is down are all delivered once it is back."""
    recorded = []
    with Shipper(endpoint=down_collector.url, shutdown_timeout=0.5) as s:
        recorded += [s.track("client", {"i": i}) for i in range(300)]
    env = child_env(cache_dir, SHIPPER_ENDPOINT=down_collector.url)
    for i in range(5):
        out = shipper_cmd("emit", "hook.event", "-p", f"i={i}", "--print-id", env=env)
        assert out.returncode == 0
        recorded.append(out.stdout.decode().strip())
    assert pending_events(cache_dir) == 305
    failed = shipper_cmd("sync", "--timeout", "5", env=env)
    assert failed.returncode == 1  # the service is down: events remain
    down_collector.start()
    done = shipper_cmd("sync", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["delivered"] == 305
    received = down_collector.ids()
    assert sorted(received) == sorted(recorded) and len(set(received)) == 305
    assert pending_events(cache_dir) == 0


def test_running_client_drains_backlog_after_recovery(down_collector: Collector,
                                                      cache_dir: Path) -> None:
    """A long-running client delivers what it spilled during the outage by itself (its
    failed probes open the breaker: a short cooldown keeps the test short)."""
    with Shipper(endpoint=down_collector.url, flush_interval=0.05, health_ttl=0.2,
                 breaker_cooldown=0.5, shutdown_timeout=0.5) as s:
        ids = [s.track("e") for _ in range(200)]
        s.flush(timeout=1)
        assert pending_events(cache_dir) == 200
        down_collector.start()
        assert wait_for(lambda: len(down_collector.ids()) >= 200, timeout=60)
    assert sorted(down_collector.ids()) == sorted(ids)


def test_hook_starts_a_background_sync(collector: Collector, cache_dir: Path) -> None:
    """shipper emit returns at once and a detached sync delivers the event soon after."""
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    out = shipper_cmd("emit", "hooked", "--print-id", env=env)
    event_id = out.stdout.decode().strip()
    assert out.returncode == 0 and event_id
    assert wait_for(lambda: event_id in collector.ids(), timeout=60)
    assert wait_for(lambda: pending_events(cache_dir) == 0, timeout=10)


def test_many_processes_write_and_sync_one_cache(collector: Collector, cache_dir: Path) -> None:
    """8 writers and 3 syncs at once on one cache: every event once, none lost."""
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    writer = """
        import shipper, sys
        ids = [shipper.track("w", {"n": n}) for n in range(40)]
        print("\\n".join(ids))
    """
    writers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(writer)], env=env,
                                stdout=subprocess.PIPE, text=True) for _ in range(8)]
    syncs = [subprocess.Popen([sys.executable, "-m", "shipper", "sync", "-q"], env=env)
             for _ in range(3)]
    recorded = []
    for w in writers:
        out, _ = w.communicate(timeout=120)
        recorded += out.split()
    for s in syncs:
        s.wait(timeout=120)
    final = shipper_cmd("sync", "-q", env=env)
    assert final.returncode == 0
    assert len(recorded) == 320
    received = collector.ids()
    assert sorted(set(received)) == sorted(recorded)
    assert collector.stats()["duplicates"] == 0  # no file was ever sent by two syncs


def test_sigkill_of_a_sync_leaves_nothing_stuck(collector: Collector, cache_dir: Path) -> None:
    """A sync killed mid-way releases its claims; the next sync delivers everything."""
    recorded = write_backlog(cache_dir, files=40, per_file=250)
    collector.faults(latency=0.05)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url, SHIPPER_BATCH_SIZE="250")
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "shipper", "sync", "-q"], env=env)
        before = len(collector.ids())
        wait_for(lambda b=before: len(collector.ids()) > b + 500, timeout=60, interval=0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert pending_events(cache_dir) > 0
    collector.faults(latency=0.0)
    final = shipper_cmd("sync", "--json", env=env)
    assert final.returncode == 0, final.stderr
    assert sorted(set(collector.ids())) == sorted(recorded)
    assert pending_events(cache_dir) == 0


def test_corrupt_file_is_quarantined_and_the_rest_delivered(collector: Collector,
                                                            cache_dir: Path) -> None:
    """One garbage file does not block the sync; status counts it in quarantine."""
    spool = Spool(cache_dir)
    spool.write([json.dumps({"id": "good-1", "event": "e"}).encode()])
    name = f"{int(time.time() * 1000):013d}-1-deadbeef-3.json"
    (spool.pending / name).write_bytes(b'{"shipper":1,"n":3}\n{tr')
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    out = shipper_cmd("sync", env=env)
    assert out.returncode == 0
    assert collector.ids() == ["good-1"]
    status = json.loads(shipper_cmd("status", "--json", env=env).stdout)
    assert status["quarantined_files"] == 1 and status["pending_events"] == 0


def test_events_in_memory_survive_interpreter_exit(down_collector: Collector,
                                                   cache_dir: Path) -> None:
    """A program that exits without close loses nothing: memory is spilled at exit."""
    env = child_env(cache_dir)
    code = f"""
        from shipper import Shipper
        s = Shipper(endpoint={down_collector.url!r}, shutdown_timeout=0.3)
        for i in range(50):
            s.track("e", {{"i": i}})
    """
    assert run_py(code, env).returncode == 0
    assert pending_events(cache_dir) == 50


def test_events_in_memory_are_delivered_at_exit(collector: Collector, cache_dir: Path) -> None:
    """With the collector up, a program's exit delivers what it had queued."""
    code = f"""
        from shipper import Shipper
        s = Shipper(endpoint={collector.url!r}, flush_interval=60)
        for i in range(50):
            s.track("e", {{"i": i}})
    """
    assert run_py(code, child_env(cache_dir)).returncode == 0
    assert len(collector.ids()) == 50 and pending_events(cache_dir) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_neither_loses_nor_duplicates(collector: Collector, cache_dir: Path) -> None:
    """After fork, parent and child each deliver their own events exactly once."""
    code = f"""
        import os, sys
        from shipper import Shipper
        s = Shipper(endpoint={collector.url!r}, flush_interval=60)
        for i in range(20):
            s.track("parent.before", {{"i": i}})
        pid = os.fork()
        if pid == 0:
            for i in range(10):
                s.track("child", {{"i": i}})
            s.close()
            os._exit(0)
        for i in range(5):
            s.track("parent.after", {{"i": i}})
        os.waitpid(pid, 0)
        s.close()
    """
    out = run_py(code, child_env(cache_dir))
    assert out.returncode == 0, out.stderr
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    assert shipper_cmd("sync", env=env).returncode == 0  # whatever was spilled, if anything
    names = [e["event"] for e in collector.events()]
    assert names.count("parent.before") == 20
    assert names.count("child") == 10
    assert names.count("parent.after") == 5
    assert collector.stats()["duplicates"] == 0


def test_wrong_api_key_keeps_events_and_status_says_why(tmp_path: Path, cache_dir: Path) -> None:
    """401: nothing dropped, breaker open, status names the cause, key never shown."""
    collector = Collector(tmp_path, api_key="right-key")
    collector.start()
    try:
        env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url, SHIPPER_API_KEY="wrong-key")
        with Shipper(endpoint=collector.url, api_key="wrong-key") as s:
            for _ in range(10):
                s.track("e")
        assert pending_events(cache_dir) == 10
        status = shipper_cmd("status", env=env).stdout.decode()
        assert "401" in status and "wrong-key" not in status
        st = json.loads(shipper_cmd("status", "--json", env=env).stdout)
        assert st["breaker"]["state"] == "open" and st["pending_events"] == 10
        env["SHIPPER_API_KEY"] = "right-key"
        assert shipper_cmd("sync", env=env).returncode == 0
        assert len(collector.ids()) == 10
        for path in cache_dir.rglob("*"):
            if path.is_file():
                assert b"wrong-key" not in path.read_bytes()
                assert b"right-key" not in path.read_bytes()
    finally:
        collector.stop()


def test_outage_seen_by_many_hooks_costs_about_one_probe(down_collector: Collector,
                                                         cache_dir: Path) -> None:
    """Hooks during an outage share one probe result: no storm of probes or batch sends."""
    down_collector.start()
    down_collector.faults(health_status=503)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=down_collector.url, SHIPPER_HEALTH_TTL="60")
    started = time.monotonic()
    for i in range(20):
        assert shipper_cmd("emit", "e", "-p", f"i={i}", env=env).returncode == 0
    # let any background sync finish
    wait_for(lambda: not sync_running(cache_dir, env["SHIPPER_ENDPOINT"]), timeout=30)
    stats = down_collector.stats()
    assert stats["batch_requests"] == 0
    assert stats["health_probes"] <= 1 + int((time.monotonic() - started) / 60)
    assert pending_events(cache_dir) == 20
