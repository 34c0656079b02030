"""Fault injection against a real collector process: nothing lost, the caller never broken.

Every scenario here is bounded in time (``wait_for`` and subprocess timeouts) and count, and
talks only to 127.0.0.1. docs/reliability.md records the figures these scenarios produce.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipper import Shipper
from shipper._cache._spool import Spool, decode_file

from .conftest import (
    Collector,
    child_env,
    destination_home,
    pending_events,
    required_or_skip,
    sync_running,
    wait_for,
    write_backlog,
)

pytestmark = pytest.mark.chaos



def sync_until_clean(env: dict[str, str], attempts: int = 5) -> None:
    """Run `shipper sync` until it reports nothing pending (bounded)."""
    for _ in range(attempts):
        out = subprocess.run([sys.executable, "-m", "shipper", "sync", "-q", "--timeout", "60"],
                             env=env, timeout=120, check=False)
        if out.returncode == 0:
            return
    raise AssertionError("sync never reached an empty cache")


def report(name: str, **figures: object) -> None:
    """Print a scenario's figures (visible with -s; copied into docs/reliability.md)."""
    print(f"\nRELIABILITY {name}: " + json.dumps(figures, sort_keys=True))


WRITER = """
import shipper, sys
ids = []
for n in range({n}):
    event_id = shipper.track("chaos.write", {{"n": n}})
    if event_id:
        ids.append(event_id)
print("\\n".join(ids))
"""


def test_flapping_collector_with_many_writers_and_syncs(collector: Collector,
                                                        cache_dir: Path) -> None:
    """16 writers x 50 events and 3 syncs against 40% errors, resets and latency: after
    recovery every recorded id arrives, with at most 1% duplicates."""
    collector.faults(error_rate=0.4, reset_rate=0.05, latency=0.02, seed=7)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url, SHIPPER_HEALTH_TTL="0.5",
                    SHIPPER_BREAKER_COOLDOWN="0.5", SHIPPER_TIMEOUT="2",
                    SHIPPER_BATCH_SIZE="20")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER.format(n=50)], env=env,
                                stdout=subprocess.PIPE, text=True) for _ in range(16)]
    syncs = [subprocess.Popen([sys.executable, "-m", "shipper", "sync", "-q", "--timeout",
                               "20"], env=env) for _ in range(3)]
    recorded: list[str] = []
    for w in writers:
        out, _ = w.communicate(timeout=180)
        recorded += out.split()
    for s in syncs:
        s.wait(timeout=180)
    collector.faults(error_rate=0.0, reset_rate=0.0, latency=0.0)
    sync_until_clean(env)
    stats = collector.stats()
    received = collector.ids()
    assert len(recorded) == 800
    assert sorted(received) == sorted(recorded)
    assert stats["duplicates"] <= 0.01 * len(recorded)
    report("flapping", recorded=len(recorded), received_unique=len(received),
           duplicates=stats["duplicates"], batch_requests=stats["batch_requests"],
           refused_requests=stats["refused_requests"])


def test_resets_after_accept_only_cause_removable_duplicates(collector: Collector,
                                                             cache_dir: Path) -> None:
    """When answers are lost after the collector accepted, events are resent, never lost,
    and ids make the duplicates removable."""
    collector.faults(reset_after_rate=0.3, seed=3)
    with Shipper(endpoint=collector.url, batch_size=20, max_retries=5) as s:
        ids = [s.track("e", {"i": i}) for i in range(400)]
    collector.faults(reset_after_rate=0.0)
    sync_until_clean(child_env(cache_dir, SHIPPER_ENDPOINT=collector.url))
    assert sorted(collector.ids()) == sorted(ids)
    report("reset_after_accept", recorded=400, duplicates=collector.stats()["duplicates"])


def test_sigkill_syncs_at_random_points_of_a_large_backlog(collector: Collector,
                                                           cache_dir: Path) -> None:
    """A 20,000-event backlog; syncs SIGKILLed at random moments, four times; then a clean
    sync delivers everything and no file stays claimed."""
    spool = Spool(cache_dir)
    recorded = write_backlog(cache_dir, files=200, per_file=100)
    collector.faults(latency=0.01)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url, SHIPPER_BATCH_SIZE="300")
    rng = random.Random(11)
    kills = 0
    for _ in range(4):
        # kill at a random point of the delivery, measured in events received, not seconds
        before = collector.stats()["events_received"]
        point = before + rng.randint(1, 3000)
        proc = subprocess.Popen([sys.executable, "-m", "shipper", "sync", "-q"], env=env)
        assert wait_for(lambda p=point: collector.stats()["events_received"] >= p,
                        timeout=120, interval=0.01)
        assert proc.poll() is None, "the sync finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
        kills += 1
    left = pending_events(cache_dir)
    assert kills == 4 and left > 0
    collector.faults(latency=0.0)
    sync_until_clean(env)
    received = collector.ids()
    assert sorted(set(received)) == sorted(recorded)
    assert pending_events(cache_dir) == 0
    assert os.listdir(spool.quarantine) == []
    report("sigkill_sync", backlog=20_000, kills=kills, pending_after_kills=left,
           received_unique=len(set(received)),
           duplicates=len(received) - len(set(received)) + collector.stats()["duplicates"])


def test_sigkill_writers_mid_spill_keeps_the_cache_readable(collector: Collector,
                                                            cache_dir: Path) -> None:
    """Writers killed while writing: every file left is whole, and every event a writer was
    told is recorded (shipper.track returned its id) is delivered."""
    code = textwrap.dedent("""
        import shipper, sys
        from shipper import Shipper
        s = Shipper(shutdown_timeout=0.1, queue_size=50, batch_size=50)
        n = 0
        while True:
            s.track("mem", {"n": n})
            event_id = shipper.track("durable", {"n": n})
            if event_id:
                sys.stdout.write(event_id + "\\n")
                sys.stdout.flush()
            n += 1
    """)
    env = child_env(cache_dir)  # no endpoint: everything stays on disk until we sync
    acknowledged: list[str] = []
    for seed in range(4):
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                text=True)
        time.sleep(0.4 + seed * 0.2)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        acknowledged += [line for line in out.splitlines() if len(line) == 36]
    spool = Spool(cache_dir)
    for entry in spool.entries():
        decode_file(entry.path.read_bytes())  # raises if any file is torn
    assert os.listdir(spool.quarantine) == []
    sync_until_clean(child_env(cache_dir, SHIPPER_ENDPOINT=collector.url))
    received = set(collector.ids())
    assert acknowledged and set(acknowledged) <= received
    report("sigkill_writers", acknowledged=len(acknowledged), received=len(received))


def test_bad_files_are_quarantined_and_never_block(collector: Collector,
                                                   cache_dir: Path) -> None:
    """Corrupt, truncated, empty, foreign and zero-permission files: the good ones are
    delivered, the bad ones moved aside with a log line, the sync exits 0."""
    spool = Spool(cache_dir)
    good = [json.dumps({"id": f"good-{i}", "event": "e"}).encode() for i in range(5)]
    for g in good:
        spool.write([g])
    now = int(time.time() * 1000)
    whole = (b'{"shipper":1,"n":2}\n{"id":"t1","event":"e"}\n{"id":"t2","event":"e"}\n')
    bad = {
        f"{now:013d}-1-00000001-2.json": whole[: len(whole) // 2],  # truncated
        f"{now:013d}-1-00000002-1.json": b"",  # empty
        f"{now:013d}-1-00000003-1.json": os.urandom(300),  # corrupt
        f"{now:013d}-1-00000004-1.json": b'{"shipper":1,"n":1}\n[1,2]\n',  # no id
        "foreign.bin": b"not ours",
    }
    for name, data in bad.items():
        (spool.pending / name).write_bytes(data)
    locked = spool.write([json.dumps({"id": "zero-perm", "event": "e"}).encode()])
    os.chmod(locked, 0)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    out = subprocess.run([sys.executable, "-m", "shipper", "sync"], env=env,
                         capture_output=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    received = set(collector.ids())
    assert {f"good-{i}" for i in range(5)} <= received
    # root reads a 0000 file anyway; any other user gets it quarantined: both are fine
    assert "zero-perm" in received or len(os.listdir(spool.quarantine)) == len(bad) + 1
    assert len(os.listdir(spool.quarantine)) >= len(bad)
    status = json.loads(subprocess.run([sys.executable, "-m", "shipper", "status", "--json"],
                                       env=env, capture_output=True, timeout=60,
                                       check=True).stdout)
    assert status["quarantined_files"] >= len(bad) and status["pending_events"] == 0


def _fill_to_enospc(path: Path) -> None:
    fd = os.open(path / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.fixture
def tiny_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 256 KiB tmpfs: a real disk that fills up (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                      capture_output=True, check=False).returncode != 0:
        required_or_skip("tmpfs", "cannot mount a tmpfs here (needs root and mount)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_is_counted_never_raised(tiny_fs: Path, tmp_path: Path) -> None:
    """ENOSPC: track and close do not raise; lost events are counted by reason, and status
    shows the count once space is back."""
    cache = tiny_fs / "cache"
    Spool(cache).ensure()
    _fill_to_enospc(tiny_fs)
    s = Shipper(endpoint="http://127.0.0.1:9", cache_dir=str(cache), shutdown_timeout=0.2)
    ids = [s.track("e", {"i": i}) for i in range(100)]
    assert all(ids)
    flushed = s.flush(timeout=0.5)  # the collector is down too: spilling hits ENOSPC
    stats = s.stats()
    assert flushed.spilled + stats["dropped"].get("disk_unwritable", 0) == 100
    assert stats["dropped"].get("disk_unwritable", 0) > 0
    (tiny_fs / "ballast").unlink()  # space is back: the counts are saved at close
    s.close()
    import shipper

    assert shipper.track("after", cache_dir=str(cache)) is not None
    status = json.loads(subprocess.run([sys.executable, "-m", "shipper", "status", "--json"],
                                       env=child_env(cache), capture_output=True, timeout=60,
                                       check=True).stdout)
    assert status["dropped"] == stats["dropped"]
    assert status["pending_events"] == 1 + flushed.spilled
    report("disk_full", tracked=100, dropped=stats["dropped"], spilled=flushed.spilled)


def test_file_size_limit_write_errors_are_counted(tmp_path: Path) -> None:
    """Write errors of another kind (EFBIG from RLIMIT_FSIZE) are counted the same way."""
    code = textwrap.dedent(f"""
        import json, resource
        import shipper
        from shipper import Shipper
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        s = Shipper(endpoint="http://127.0.0.1:9", cache_dir={str(tmp_path / "c")!r},
                    shutdown_timeout=0.2)
        ids = [s.track("e", {{"pad": "x" * 300}}) for _ in range(10)]
        s.close()
        print(json.dumps({{"ids": all(ids), "stats": s.stats(),
                          "oneshot": shipper.track("e", {{"pad": "x" * 300}},
                                                   cache_dir={str(tmp_path / "c")!r})}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                         text=True, timeout=60, check=True)
    doc = json.loads(out.stdout)
    assert doc["ids"] and doc["oneshot"] is None
    assert doc["stats"]["dropped"] == {"disk_unwritable": 10}


def test_unwritable_cache_path_is_counted(tmp_path: Path) -> None:
    """A cache path through a regular file: nothing raises, the loss is counted."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    s = Shipper(endpoint="http://127.0.0.1:9", cache_dir=str(blocker / "cache"),
                shutdown_timeout=0.2)
    for _ in range(5):
        s.track("e")
    s.close()
    assert s.stats()["dropped"] == {"disk_unwritable": 5}


def test_fifty_hooks_during_an_outage_cost_about_one_probe(collector: Collector,
                                                           cache_dir: Path) -> None:
    """50 hook processes (8 at a time) while the collector is unhealthy: about one probe per
    health_ttl for all of them and no batch sends; all delivered after recovery."""
    collector.faults(health_status=503)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url, SHIPPER_HEALTH_TTL="5")
    payload = b'{"hook_event_name":"PostToolUse","session_id":"s","tool_name":"Read"}'
    started = time.monotonic()
    running: list[subprocess.Popen[bytes]] = []
    for _ in range(50):
        if len(running) >= 8:
            running.pop(0).wait(60)
        p = subprocess.Popen([sys.executable, "-m", "shipper", "hook", "--source",
                              "claude-code"], stdin=subprocess.PIPE, env=env)
        assert p.stdin is not None
        p.stdin.write(payload)
        p.stdin.close()
        running.append(p)
    for p in running:
        assert p.wait(60) == 0
    wait_for(lambda: not sync_running(cache_dir, env["SHIPPER_ENDPOINT"]), timeout=30)
    elapsed = time.monotonic() - started
    stats = collector.stats()
    assert stats["batch_requests"] == 0
    assert 1 <= stats["health_probes"] <= 2 + int(elapsed / 5)
    assert pending_events(cache_dir) == 50
    collector.faults(health_status=200)
    sync_until_clean(env)
    assert len(set(collector.ids())) == 50
    report("fifty_hooks_outage", hooks=50, seconds=round(elapsed, 2),
           health_probes=stats["health_probes"], batch_requests=stats["batch_requests"])


def test_open_breaker_stops_batch_sends_across_processes(collector: Collector,
                                                         cache_dir: Path) -> None:
    """Batches failing with 500 open the shared breaker: later processes send nothing
    while it is open."""
    collector.faults(status=500)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url, SHIPPER_BREAKER_COOLDOWN="300",
                    SHIPPER_MAX_RETRIES="1")
    code = "import shipper\nfrom shipper import Shipper\n" \
           "with Shipper(shutdown_timeout=1) as s:\n    s.track('e')\n"
    for _ in range(3):
        subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=True)
    opened_at = collector.stats()["batch_requests"]
    assert opened_at == 3
    for _ in range(5):
        subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=True)
    assert collector.stats()["batch_requests"] == opened_at
    assert pending_events(cache_dir) == 8


def _mp_worker(args: tuple[str, str, int]) -> list[str]:
    url, cache, n = args
    with Shipper(endpoint=url, cache_dir=cache) as s:
        return [s.track("mp", {"i": i}) or "" for i in range(n)]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_loses_and_doubles_nothing(method: str, collector: Collector,
                                                   cache_dir: Path) -> None:
    """Pools started by fork and by spawn, each worker with its own client: every event
    once."""
    parent = Shipper(endpoint=collector.url, flush_interval=60)
    parent_ids = [parent.track("parent", {"i": i}) for i in range(30)]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(4) as pool:
        results = pool.map(_mp_worker, [(collector.url, str(cache_dir), 25)] * 8)
    parent.close()
    sync_until_clean(child_env(cache_dir, SHIPPER_ENDPOINT=collector.url))
    expected = parent_ids + [i for r in results for i in r]
    assert len(expected) == 230
    assert sorted(collector.ids()) == sorted(expected)
    assert collector.stats()["duplicates"] == 0


def test_rate_limited_collector_is_honoured_then_delivered(collector: Collector,
                                                           cache_dir: Path) -> None:
    """429 with Retry-After: the client waits as told, then everything is delivered."""
    collector.faults(status=429, retry_after="1")
    s = Shipper(endpoint=collector.url, max_retries=5, breaker_threshold=10,
                shutdown_timeout=10)
    ids = [s.track("e", {"i": i}) for i in range(50)]
    assert wait_for(lambda: collector.stats()["refused_requests"] >= 2)  # told to wait, twice
    collector.faults(status=None, retry_after=None)
    s.close()
    assert sorted(set(collector.ids())) == sorted(ids)
    assert collector.stats()["refused_requests"] >= 1
    assert pending_events(cache_dir) == 0


def test_blackholed_collector_never_traps_the_program(collector: Collector,
                                                      cache_dir: Path) -> None:
    """A collector that accepts and never answers: close returns, nothing is lost, and the
    events arrive once it answers again."""
    collector.faults(blackhole=True)
    s = Shipper(endpoint=collector.url, shutdown_timeout=0.5, timeout=1.0)
    ids = [s.track("e", {"i": i}) for i in range(200)]
    result = s.close()
    assert result.delivered == 0
    assert pending_events(cache_dir) == 200  # the batch in flight was spilled too, not dropped
    collector.faults(blackhole=False)
    sync_until_clean(child_env(cache_dir, SHIPPER_ENDPOINT=collector.url))
    assert sorted(set(collector.ids())) == sorted(ids)


def test_collector_body_limit_splits_batches_for_real(collector: Collector,
                                                      cache_dir: Path) -> None:
    """A collector answering 413 above 7 events gets halves until each fits; none lost."""
    collector.faults(max_events=7)
    with Shipper(endpoint=collector.url, batch_size=100) as s:
        ids = [s.track("e", {"i": i}) for i in range(100)]
    assert sorted(collector.ids()) == sorted(ids)
    assert collector.stats()["refused_requests"] >= 1
    assert pending_events(cache_dir) == 0


def test_refused_events_are_dead_lettered_over_http(collector: Collector,
                                                    cache_dir: Path) -> None:
    """400 for marked events: they land in dead/, every other event is delivered."""
    collector.faults(refuse_marked=True)
    with Shipper(endpoint=collector.url) as s:
        good = [s.track("e", {"i": i}) for i in range(60)]
        s.track("bad", {"refuse": True})
        good += [s.track("e", {"i": i}) for i in range(60, 90)]
    assert sorted(collector.ids()) == sorted(good)
    spool = Spool(destination_home(cache_dir, collector.url).parent.parent,
                  destination_home(cache_dir, collector.url).name)
    assert spool.folder_count(spool.dead) == (1, 1)
