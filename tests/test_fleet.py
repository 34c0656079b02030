"""A fleet on one collector: a drain that listens (a trial first, a pace that adapts, a
Retry-After that pauses the whole machine), the fleet simulator, and a real check: 50
processes with backlogs through an outage of a real, rate-limited `shipper serve`."""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

import shipper
from shipper._backoff import RETRY_AFTER_SPREAD
from shipper._cache._state import SharedState
from shipper._pace import START_RATE, TRIAL_EVENTS

from .conftest import (
    ROOT,
    Collector,
    FakeClock,
    child_env,
    destination_home,
    wait_for,
    write_backlog,
)

URL = "http://collector.test"


class Scripted:
    """A collector for httpx.MockTransport whose answers to batches follow a script (a
    function of the batch's number), and which notes each batch: its size and the fake
    clock's time."""

    def __init__(self, clock: FakeClock,
                 answer: Callable[[int], httpx.Response | None] = lambda n: None) -> None:
        self.clock = clock
        self.answer = answer
        self.batches: list[tuple[float, int, int]] = []  # (time, events, status)
        self.calls = 0  # batch requests, a timed-out one included
        self.ids: list[str] = []
        self.probes: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            self.probes.append(self.clock.mono)
            return httpx.Response(200)
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        batch = json.loads(body)["batch"]
        self.calls += 1
        reply = self.answer(self.calls - 1) or httpx.Response(200)
        self.batches.append((self.clock.mono, len(batch), reply.status_code))
        if reply.status_code == 200:
            self.ids.extend(e["id"] for e in batch)
        return reply

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def sync(collector: Scripted, clock: FakeClock, timeout: float = 600,
         **settings: Any) -> shipper.SyncResult:
    return shipper.sync(timeout, transport=collector.transport, clock=clock, sleep=clock.sleep,
                        endpoint=URL, **settings)


def state(clock: FakeClock) -> SharedState:
    """The shared state of the collector's destination, as another process sees it."""
    from shipper._cache._spool import Spool
    from shipper._config import load_settings

    spool = Spool.for_settings(load_settings({"endpoint": URL}))
    return SharedState(spool.home, clock, threshold=1, cooldown=30, ensure=spool.ensure)


def test_a_healthy_drain_is_not_paced(cache_dir: Path, clock: FakeClock) -> None:
    """Normally nothing waits: full batches back to back, no sleep (a single machine's
    drain is as fast as before)."""
    ids = write_backlog(cache_dir, 10, 100)
    collector = Scripted(clock)
    result = sync(collector, clock, batch_size=200)
    assert result.ok and sorted(collector.ids) == sorted(ids)
    assert [n for _, n, _ in collector.batches] == [200] * 5
    assert clock.slept == []


def test_a_recovery_begins_with_one_small_trial_then_ramps_up(cache_dir: Path,
                                                              clock: FakeClock) -> None:
    """After an outage (the breaker opened), the first batch is a trial of a few events,
    the next ones are full, sent at a pace that starts slow (a request every second or
    two) and quickens while the collector keeps up."""
    ids = write_backlog(cache_dir, 20, 100)
    state(clock).record_failure("connection refused")
    clock.advance(300)
    collector = Scripted(clock)
    result = sync(collector, clock, batch_size=100)
    assert result.ok and sorted(collector.ids) == sorted(ids)
    sizes = [n for _, n, _ in collector.batches]
    assert sizes[:2] == [TRIAL_EVENTS, 100 - TRIAL_EVENTS]  # the trial, the rest of its file
    assert set(sizes[2:]) == {100}
    gaps = [b[0] - a[0] for a, b in pairwise(collector.batches)]
    assert 1.0 <= gaps[0] <= 1 / START_RATE  # the trial, then a pause: the pace starts slow
    assert gaps[-1] < gaps[1]  # quicker as the collector keeps up


def test_a_retry_after_pauses_every_process_of_the_machine(cache_dir: Path,
                                                           clock: FakeClock) -> None:
    """A 429 with Retry-After, received by one sync, pauses the machine: the shared state
    says wait (hooks start no sync, a running client sends nothing), the breaker is not
    touched, and an explicit sync waits the pause out before it sends again."""
    from shipper._cache._files import boot_id
    from shipper._cache._pause import paused

    ids = write_backlog(cache_dir, 4, 50)
    busy = Scripted(clock, lambda n: httpx.Response(429, headers={"Retry-After": "30"}))
    first = sync(busy, clock, timeout=5, batch_size=50)
    assert not first.ok and len(busy.batches) == 1
    home = destination_home(cache_dir, URL)
    snap = state(clock).read()
    assert snap.breaker.failures == 0
    longest = 30 * (1 + RETRY_AFTER_SPREAD)
    assert snap.pause is not None and 30 <= snap.pause.until_mono - busy.batches[0][0] <= longest
    assert paused(str(home), boot_id(), clock.mono)  # hooks start no sync meanwhile
    collector = Scripted(clock)
    second = sync(collector, clock, timeout=100, batch_size=50)
    assert second.ok and sorted(collector.ids) == sorted(ids)
    assert collector.batches[0][0] >= snap.pause.until_mono
    assert collector.probes == [] or collector.probes[0] >= snap.pause.until_mono


def test_the_drain_slows_down_when_the_collector_strains(cache_dir: Path,
                                                         clock: FakeClock) -> None:
    """429s (no Retry-After), timeouts and answers far slower than before each halve the
    pace: the gaps between batches grow after them, and everything is delivered."""
    ids = write_backlog(cache_dir, 40, 25)

    def answer(n: int) -> httpx.Response | None:
        if n in (5, 6):
            return httpx.Response(429)
        if 8 <= n <= 10:
            clock.advance(3.0)  # an answer three seconds slow
        if n == 12:
            raise httpx.ReadTimeout("slow", request=httpx.Request("POST", URL))
        return None

    collector = Scripted(clock, answer)
    result = sync(collector, clock, batch_size=25, breaker_threshold=10)
    assert result.ok and sorted(set(collector.ids)) == sorted(ids)
    times = [t for t, _, _ in collector.batches]
    assert times[4] - times[0] < 0.1  # unpaced before any strain
    assert min(b - a for a, b in pairwise(times[14:])) > 0.1  # paced after it


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("fleet_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_the_fleet_simulator_keeps_the_collector_up_and_loses_nothing() -> None:
    """bench/fleet.py on 10,000 machines and a collector of 200 requests/s through a
    10-minute outage (the headline scenario, scaled down by ten; seeded, so the same run
    each time): trials spread over the outage, the load after it within 1.2x capacity, no
    relapse, every machine's backlog delivered within the longest cooldown and its own
    drain, nothing lost."""
    fleet = _load(ROOT / "bench" / "fleet.py")
    scenario = fleet.Scenario(machines=10_000, capacity=200.0, duration=1500.0, seed=5)
    figures = fleet.Fleet(scenario).run()
    assert figures["outage"]["trials_busiest_over_mean"] <= 2.2  # Poisson noise at 1/10
    assert figures["recovery"]["offered_busiest_over_capacity"] <= 1.2
    assert figures["recovery"]["relapses"] == 0
    assert figures["machines_not_drained"] == 0 and figures["events_lost"] == 0
    assert figures["drained_in_s"] <= 330


# One machine of the fleet: a running client with its own cache. It records an event every
# half second until the file "recovered" appears, then writes the ids it recorded and keeps
# delivering until the file "finish" appears (or its time is up), and closes.
MACHINE = textwrap.dedent("""
    import json, os, sys, time
    from shipper import Shipper

    folder, name, child = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ids, written = [], False
    ends = time.monotonic() + 240
    with Shipper() as s:
        while time.monotonic() < ends and not os.path.exists(folder + "/finish"):
            if not os.path.exists(folder + "/recovered"):
                ids.append(s.track("fleet.live", {"child": child, "n": len(ids)}))
            elif not written:
                with open(name + ".tmp", "w") as f:
                    json.dump(ids, f)
                os.rename(name + ".tmp", name)
                written = True
            time.sleep(0.5)
""")


def _backlog(cache: Path, child: int, files: int, per_file: int) -> list[str]:
    """Pending files of unique events in one machine's cache (recorded with no endpoint:
    the first destination that syncs takes them)."""
    from shipper._cache._spool import Spool

    spool = Spool(cache)
    ids = []
    for f in range(files):
        batch = []
        for i in range(per_file):
            event_id = f"00000000-0000-7000-8000-{child:04d}{f:04d}{i:04d}"
            ids.append(event_id)
            batch.append(json.dumps({"id": event_id, "event": "backlog",
                                     "properties": {"child": child}}).encode())
        spool.write(batch)
    return ids


def _opened(cache: Path, url: str) -> bool:
    from shipper._clock import SystemClock

    home = destination_home(cache, url)
    snap = SharedState(home, SystemClock(), threshold=3, cooldown=1).read()
    return snap.breaker.opened_mono is not None


MACHINES = 50
LIMIT = 10  # batches a second the collector takes after the outage


@pytest.mark.chaos
def test_fifty_machines_recover_from_an_outage_within_the_collectors_limit(
        tmp_path: Path, collector: Collector) -> None:
    """50 real client processes, each a machine with its own cache, on one real `shipper
    serve`: they deliver, the collector fails (503 everywhere) and their breakers open
    together; a backlog builds; the collector comes back taking 10 batches a second (429
    with Retry-After beyond). Nothing is lost, and the machines listen: after the recovery
    the batches offered stay near the limit (without jitter and pacing, 50 machines
    draining at once offered it many times over in the first seconds)."""
    from shipper._cache._spool import all_spools

    folder = tmp_path / "fleet"
    folder.mkdir()
    caches = [tmp_path / f"machine-{k}" for k in range(MACHINES)]
    children = []
    for k, cache in enumerate(caches):
        env = child_env(cache, SHIPPER_ENDPOINT=collector.url, SHIPPER_BREAKER_COOLDOWN="0.5",
                        SHIPPER_HEALTH_TTL="1", SHIPPER_FLUSH_INTERVAL="0.2",
                        SHIPPER_BATCH_SIZE="20", SHIPPER_SHUTDOWN_TIMEOUT="5")
        children.append(subprocess.Popen(
            [sys.executable, "-c", MACHINE, str(folder), str(folder / f"ids-{k}.json"),
             str(k)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        def children_seen() -> set[int]:
            return {e["properties"]["child"] for e in collector.events()
                    if e.get("event") == "fleet.live"}

        assert wait_for(lambda: len(children_seen()) == MACHINES, timeout=120), \
            "not every machine delivered while the collector was up"
        collector.faults(status=503, health_status=503)  # the outage
        assert wait_for(lambda: all(_opened(c, collector.url) for c in caches), timeout=60)
        backlog = [i for k, cache in enumerate(caches) for i in _backlog(cache, k, 2, 20)]
        time.sleep(8)  # the outage goes on: the breakers' cooldowns grow apart
        (folder / "recovered").touch()
        collector.faults(status=None, health_status=200, rate_limit=LIMIT, retry_after="1")
        recovered = time.time()
        assert wait_for(lambda: all((folder / f"ids-{k}.json").exists()
                                    for k in range(MACHINES)), timeout=60)
        live = [i for k in range(MACHINES)
                for i in json.loads((folder / f"ids-{k}.json").read_text()) if i]
        expected = set(backlog) | set(live)
        assert wait_for(lambda: expected <= set(collector.ids()), timeout=180), \
            f"{len(expected - set(collector.ids()))} events never arrived"
    finally:
        (folder / "finish").touch()
        for child in children:
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)
    assert all(child.returncode == 0 for child in children), \
        [c.stderr.read() for c in children if c.returncode and c.stderr][:1]
    for child in children:
        if child.stderr:
            child.stderr.close()
    assert all(sum(e.count for s in all_spools(c) for e in s.own_entries()) == 0
               for c in caches)
    stats = collector.stats()
    offered = Counter(int(t - recovered) for t in stats["batch_times"] if t >= recovered)
    refused = len([t for t in stats["limited_times"] if t >= recovered])
    taken = sum(offered.values()) - refused
    print(f"\nRELIABILITY fleet_recovery: machines={MACHINES} limit={LIMIT} "
          f"offered_busiest_second={max(offered.values())} taken={taken} refused={refused} "
          f"seconds={max(offered) + 1}")
    assert refused <= taken  # most of what they offered, the collector could take
    assert max(offered.values()) <= 3 * LIMIT
