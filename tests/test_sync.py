"""What `shipper.sync()` and `shipper sync` report: never success after a failure, the true
count of what is left, and what a sync running beside it did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shipper

from .conftest import Collector, child_env, pending_events, write_backlog


def test_a_sync_that_fails_inside_says_so_with_the_true_pending_count(
        cache_dir: Path, collector: Collector) -> None:
    """A failure inside the sync (here the caller's progress callback raises): the result is
    not ok, names the error, and counts what is still pending (it used to say "0 pending",
    ok, while 11 waited)."""
    write_backlog(cache_dir, 11, 1)

    def progress(done: int, total: int) -> None:
        raise RuntimeError("the caller's progress bar broke")

    result = shipper.sync(30, progress=progress, endpoint=collector.url, batch_size=5)
    assert not result.ok and result.error is not None and "RuntimeError" in result.error
    assert result.pending_events == pending_events(cache_dir) > 0


def test_a_sync_says_what_a_sync_beside_it_delivered(cache_dir: Path,
                                                     collector: Collector) -> None:
    """`shipper emit x; shipper sync`: the emit's background sync holds the lock and is
    delivering; the explicit sync waits only while something is pending, then says the
    other delivered it (it used to wait out the other's linger and say "delivered 0")."""
    collector.faults(latency=1.0)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    cli = [sys.executable, "-m", "shipper"]
    assert subprocess.run([*cli, "emit", "x"], env=env, timeout=60, check=False).returncode == 0
    done = subprocess.run([*cli, "sync", "--json"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    result = json.loads(done.stdout)
    assert (result["delivered"], result["by_other_sync"], result["pending_events"]) == (0, 1, 0)
    assert done.returncode == 0 and len(collector.ids()) == 1


def test_status_never_says_healthy_while_delivery_is_paused(cache_dir: Path,
                                                            collector: Collector) -> None:
    """The probe said healthy, then every batch failed and the breaker opened: status says
    the service is unhealthy, with the reason, beside "delivery is paused"."""
    from shipper import Shipper

    with Shipper(endpoint=collector.url, shutdown_timeout=2, max_retries=1) as s:
        s.track("first")
        s.flush(5)
        collector.faults(status=503)
        for _ in range(3):
            s.track("e")
            s.flush(5)
    status = json.loads(subprocess.run(
        [sys.executable, "-m", "shipper", "status", "--json"], capture_output=True, text=True,
        env=child_env(cache_dir, SHIPPER_ENDPOINT=collector.url), timeout=60,
        check=True).stdout)
    assert status["breaker"]["state"] == "open"
    assert status["health"]["healthy"] is False and "503" in status["health"]["detail"]


def test_a_sync_beside_one_that_dead_letters_does_not_call_it_delivered(
        cache_dir: Path, collector: Collector) -> None:
    """The concurrent sync's receiver refused the event: the explicit sync says it was
    dead-lettered, not delivered, and status says it was refused, not that every recorded
    event was delivered."""
    collector.faults(latency=1.0, refuse_marked=True)
    env = child_env(cache_dir, SHIPPER_ENDPOINT=collector.url)
    cli = [sys.executable, "-m", "shipper"]
    subprocess.run([*cli, "emit", "x", "-p", "refuse=true"], env=env, timeout=60, check=True)
    result = json.loads(subprocess.run([*cli, "sync", "--json"], env=env, capture_output=True,
                                       text=True, timeout=120, check=False).stdout)
    assert (result["by_other_sync"], result["dead_lettered_by_other_sync"]) == (0, 1)
    status = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True,
                            timeout=60, check=True).stdout
    assert "refused (dead letter)" in status and "every recorded event" not in status
