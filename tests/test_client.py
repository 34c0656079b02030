"""AsyncShipper and Shipper against an in-memory collector (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import shipper
from shipper import AsyncShipper, Shipper
from shipper._engine import Counters
from shipper._event import rfc3339_ms

from .conftest import FakeClock, destination_home, events_on_disk, pending_events, wait_until
from .mockcollector import MockCollector

URL = "http://collector.test"



def client(mock: MockCollector, clock: FakeClock, **kw: object) -> AsyncShipper:
    return AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock,
                        sleep=clock.sleep, **kw)


async def test_flush_delivers_what_was_tracked(clock: FakeClock) -> None:
    """Tracked events arrive at the collector on flush, each id once."""
    mock = MockCollector()
    async with client(mock, clock) as s:
        ids = [s.track("e", {"i": i}) for i in range(10)]
        result = await s.flush()
    assert result.delivered == 10 and result.spilled == 0
    assert mock.ids == ids


async def test_requests_carry_protocol_headers(clock: FakeClock) -> None:
    """Batches are gzipped over 1 KiB and carry Bearer key and User-Agent."""
    mock = MockCollector()
    async with client(mock, clock, api_key="k-123") as s:
        for i in range(50):
            s.track("e", {"i": i})
        await s.flush()
    (req,) = mock.batch_requests
    assert req.headers["authorization"] == "Bearer k-123"
    assert req.headers["user-agent"].startswith("shipper/")
    assert req.headers["content-encoding"] == "gzip"
    assert req.headers["content-type"] == "application/json"


async def test_health_is_probed_once_then_trusted(clock: FakeClock) -> None:
    """One probe serves every send within health_ttl."""
    mock = MockCollector()
    async with client(mock, clock) as s:
        for _ in range(3):
            s.track("e")
            await s.flush()
    assert mock.probes == 1 and len(mock.ids) == 3


async def test_outage_spills_to_disk_and_nothing_is_lost(clock: FakeClock,
                                                         cache_dir: Path) -> None:
    """With the collector unreachable, flush spills every event to disk."""
    mock = MockCollector()
    mock.down = True
    async with client(mock, clock) as s:
        for i in range(25):
            s.track("e", {"i": i})
        result = await s.flush()
        assert result.spilled == 25 and result.delivered == 0
    assert pending_events(cache_dir) == 25
    assert mock.batch_requests == []  # the failed probe kept us from sending at all


async def test_transient_errors_retry_then_spill_and_open_breaker(clock: FakeClock,
                                                                  cache_dir: Path) -> None:
    """Repeated 503s are retried with backoff, then spilled; the breaker opens."""
    mock = MockCollector()
    mock.status = 503
    async with client(mock, clock) as s:
        s.track("e")
        result = await s.flush(timeout=600)
        assert result.spilled == 1
        assert s.stats()["breaker"] == "open"
    assert len(mock.batch_requests) == 3  # breaker_threshold reached on the third failure
    assert len(clock.slept) >= 2  # two backoff waits (and the pace's, slowed by the 503s)
    assert pending_events(cache_dir) == 1


async def test_auth_refusal_keeps_events_and_logs_once(clock: FakeClock, cache_dir: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """401 drops nothing: events stay on disk, the breaker opens, one clear message."""
    mock = MockCollector()
    mock.status = 401
    caplog.set_level(logging.WARNING, logger="shipper")
    async with client(mock, clock, api_key="secret-key-xyz") as s:
        for _ in range(3):
            s.track("e")
        await s.flush()
        s.track("e")
        await s.flush()
    assert pending_events(cache_dir) == 4
    assert len(mock.batch_requests) == 1
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1
    assert "secret-key-xyz" not in caplog.text


async def test_refused_events_go_to_dead_letter(clock: FakeClock, cache_dir: Path) -> None:
    """A 400 for one event dead-letters it and delivers the rest."""
    mock = MockCollector()
    mock.on_batch = lambda batch: 400 if any(e["event"] == "bad" for e in batch) else None
    async with client(mock, clock) as s:
        for i in range(8):
            s.track("bad" if i == 5 else "good")
        result = await s.flush()
        assert s.stats()["dead_lettered"] == 1
    assert result.delivered == 7 and len(mock.ids) == 7
    dead = destination_home(cache_dir, URL) / "dead"
    assert [p.name.endswith("-1.json") for p in dead.iterdir()] == [True]


def test_track_never_waits_on_a_blackholed_collector(cache_dir: Path) -> None:
    """While the delivery thread is stuck in a request that never ends, track() from another
    thread still returns at once; close then gives up on the request and spills, and every
    event is delivered or on disk exactly once."""
    mock = MockCollector()
    hang = threading.Event()
    entered = threading.Event()

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/batch":
            entered.set()
            while not hang.is_set():  # a blackhole: it answers only when the test says so
                await asyncio.sleep(0.01)
        return await mock.handle(request)

    s = Shipper(endpoint=URL, transport=httpx.MockTransport(handle), shutdown_timeout=0.5,
                batch_size=10)
    ids = [s.track("e", {"i": i}) for i in range(10)]  # one full batch: sent at once
    assert entered.wait(30), "the batch was never sent"
    late: list[str | None] = []
    caller = threading.Thread(target=lambda: late.extend(s.track("late") for _ in range(100)))
    caller.start()
    caller.join(30)  # a bound, not a timing: a track() that waited would still be here
    assert not caller.is_alive() and len(late) == 100 and all(late)
    s.close()  # gives up on the hanging request and spills it
    hang.set()
    on_disk = [e["id"] for e in events_on_disk(cache_dir)]
    assert sorted(on_disk + mock.ids) == sorted(ids + late)


def test_close_keeps_the_batch_of_a_delivery_thread_that_is_stuck(cache_dir: Path) -> None:
    """A delivery thread blocked outright (a lock another process holds, a transport that
    blocks): close gives up after shutdown_timeout and writes the batch it holds as well
    as the queue, at least once."""
    release, entered = threading.Event(), threading.Event()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/batch":
            entered.set()
            release.wait(30)  # blocks the delivery thread's loop itself
        return httpx.Response(200, json={"ok": True})

    s = Shipper(endpoint=URL, transport=httpx.MockTransport(handle), shutdown_timeout=0.3,
                batch_size=10)
    ids = [s.track("e", {"i": i}) for i in range(10)]  # one full batch: sent at once
    assert entered.wait(30), "the batch was never sent"
    more = [s.track("more") for _ in range(5)]
    s.close()
    on_disk = {e["id"] for e in events_on_disk(cache_dir)}
    release.set()
    assert on_disk == set(ids + more)


async def test_queue_overflow_spills_instead_of_dropping(clock: FakeClock,
                                                         cache_dir: Path) -> None:
    """Beyond queue_size, events go to disk; every event is delivered or on disk."""
    mock = MockCollector()
    s = client(mock, clock, queue_size=10, batch_size=5)
    ids = [s.track("e", {"i": i}) for i in range(100)]  # worker not started yet
    assert all(ids) and s.stats()["dropped_total"] == 0
    await s.start()
    await s.aclose()
    assert sorted(mock.ids + [i for i in ids if i not in mock.ids]) == sorted(ids)
    assert len(mock.ids) + pending_events(cache_dir) == 100


async def test_memory_holds_at_most_a_quarter_more_than_queue_size(clock: FakeClock,
                                                                     cache_dir: Path) -> None:
    """While the worker falls behind, the caller holds at most 1.25 x queue_size events in
    memory and writes each quarter that overflows to disk, losing none."""
    mock = MockCollector()
    s = client(mock, clock, queue_size=100, batch_size=10)
    engine = s._engine  # what memory holds is the point
    held = []
    for i in range(1000):  # the worker has not started: it has fallen behind for good
        assert s.track("e", {"i": i})
        held.append(len(engine.queue) + len(engine.overflow))
    assert max(held) == 124
    assert pending_events(cache_dir) == 900  # 36 quarters of 25
    await s.start()
    await s.aclose()
    assert len(mock.ids) + pending_events(cache_dir) == 1000


async def test_oversized_event_is_dropped_and_counted(clock: FakeClock) -> None:
    """An event over max_event_bytes returns None and is counted by reason."""
    mock = MockCollector()
    async with client(mock, clock, max_event_bytes=400) as s:
        assert s.track("e", {"blob": "x" * 500}) is None
        assert s.track("e", {"ok": 1}) is not None
        assert s.stats()["dropped"] == {"too_large": 1}


async def test_track_after_close_goes_to_disk(clock: FakeClock, cache_dir: Path) -> None:
    """After close, track() still never raises: the event is kept on disk and a detached
    sync is started for its destination, as shipper.track() does."""
    mock = MockCollector()
    started: list[str] = []
    s = AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock, sleep=clock.sleep,
                     start_sync=lambda settings, home, overrides: started.append(home))
    async with s:
        pass
    assert await s.aclose() == await s.aclose()  # idempotent
    assert s.track("late") is not None
    assert pending_events(cache_dir) == 1
    assert started == [str(destination_home(cache_dir, URL))]


async def test_disabled_is_a_no_op(clock: FakeClock, cache_dir: Path) -> None:
    """disabled=True: track returns None, nothing is sent or written."""
    mock = MockCollector()
    async with client(mock, clock, disabled=True) as s:
        assert s.track("e") is None
        await s.flush()
    assert mock.requests == [] and not cache_dir.exists()


async def test_running_client_drains_the_disk_cache_by_itself(cache_dir: Path) -> None:
    """Events spilled during an outage are delivered once the service is back."""
    mock = MockCollector()
    mock.down = True
    async with AsyncShipper(endpoint=URL, transport=mock.transport, flush_interval=0.01,
                            health_ttl=0.05) as s:
        ids = [s.track("e") for _ in range(30)]
        await s.flush()
        assert pending_events(cache_dir) == 30
        mock.down = False
        s.track("wake")
        assert await wait_until(lambda: s.stats()["synced"] == 30)
        assert pending_events(cache_dir) == 0
    assert set(ids) <= set(mock.ids)
    assert len(mock.ids) == len(set(mock.ids)) == 31


def test_threaded_client_delivers_from_many_threads(cache_dir: Path) -> None:
    """Shipper.track from 8 threads at once: every event delivered exactly once."""
    mock = MockCollector()
    with Shipper(endpoint=URL, transport=mock.transport, batch_size=100) as s:
        def work() -> None:
            for i in range(500):
                s.track("e", {"i": i})

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result = s.flush(timeout=10)
        assert result.dropped == 0
        assert s.stats()["tracked"] == 4000
    assert len(mock.ids) == len(set(mock.ids)) == 4000
    assert pending_events(cache_dir) == 0


def test_a_delivery_thread_stands_aside_only_while_the_caller_records(cache_dir: Path) -> None:
    """A Shipper's delivery thread gives way between slices of its work (a short blocking
    sleep that hands the interpreter lock to a track() waiting for it), once a slice has
    run SLICE_S of CPU time and only when track() ran since it last looked; an
    AsyncShipper's worker, on the caller's own loop, never does."""
    from shipper._config import load_settings
    from shipper._engine import GIVE_WAY_S, SLICE_S, Engine

    pauses: list[float] = []
    cpu = [1.0]  # the delivery thread's CPU time, seconds
    engine = Engine(load_settings({"endpoint": URL, "cache_dir": str(cache_dir)}, environ={}),
                    stand_aside=pauses.append, thread_clock=lambda: cpu[0])
    engine.give_way()
    assert pauses == []  # not on a thread of its own
    engine.gives_way = True
    engine.give_way()
    assert pauses == []  # nobody recorded anything
    engine.put(("id-1", b"{}"))
    engine.give_way()
    assert pauses == []  # the slice is short yet
    cpu[0] += SLICE_S
    engine.give_way()
    cpu[0] += SLICE_S
    engine.give_way()
    assert pauses == [GIVE_WAY_S]  # once per burst of track() calls
    engine.put(("id-2", b"{}"))
    cpu[0] += SLICE_S
    engine.give_way()
    assert pauses == [GIVE_WAY_S, GIVE_WAY_S]
    assert Shipper(endpoint=URL)._engine.gives_way
    assert not AsyncShipper(endpoint=URL)._engine.gives_way


def test_a_threaded_client_gives_way_around_each_exchange(cache_dir: Path) -> None:
    """The threaded client gives way before each request is sent and once its answer is
    read (httpx event hooks, the injected transport kept as it is), and while the caller
    records; every event is delivered as before."""
    mock = MockCollector()
    looks: list[int] = []
    with Shipper(endpoint=URL, transport=mock.transport, batch_size=100) as s:
        s._engine.stand_aside = lambda _s: looks.append(1)
        for i in range(1000):
            s.track("e", {"i": i})
        s.flush(timeout=10)  # delivers what the thread had not sent yet (some, or none)
        assert len(mock.ids) == 1000
        client = s._engine._client
        assert client is not None and isinstance(client._transport, httpx.MockTransport)
        assert len(client.event_hooks["request"]) == len(client.event_hooks["response"]) == 1
    assert len(mock.ids) == len(set(mock.ids)) == 1000
    assert looks  # the caller recorded while delivery ran: it stood aside at least once


def test_a_client_that_gives_way_still_takes_its_proxy_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A client made for a delivery thread that gives way routes through HTTP(S)_PROXY as
    httpx's own does (a transport made by hand would take no proxy from the environment)."""
    from shipper._config import load_settings
    from shipper._destinations._select import destination_for
    from shipper._transport import make_client

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    settings = load_settings({"endpoint": URL}, environ={})
    plain = make_client(settings, destination_for(settings))
    giving = make_client(settings, destination_for(settings), give_way=lambda: None)
    assert plain._mounts and giving._mounts.keys() == plain._mounts.keys()
    assert [str(t._pool._proxy_url) for t in giving._mounts.values() if t] == [
        str(t._pool._proxy_url) for t in plain._mounts.values() if t]


def test_threaded_close_spills_when_down(cache_dir: Path) -> None:
    """Shipper.close with the collector down spills everything within shutdown_timeout."""
    mock = MockCollector()
    mock.down = True
    s = Shipper(endpoint=URL, transport=mock.transport, shutdown_timeout=0.5)
    for _ in range(40):
        s.track("e")
    result = s.close()
    assert result.spilled == 40 and pending_events(cache_dir) == 40
    assert s.close().spilled == 0


def test_track_survives_hostile_input(cache_dir: Path) -> None:
    """Whatever is passed, track() returns an id or None and never raises."""
    class Evil:
        def __repr__(self) -> str:
            raise ValueError("boom")

        def __eq__(self, other: object) -> bool:
            raise ValueError("boom")

        __hash__ = object.__hash__

    mock = MockCollector()
    s = Shipper(endpoint=URL, transport=mock.transport)
    assert s.track(Evil(), {Evil(): Evil()}, context=Evil(),  # type: ignore[arg-type]
                   timestamp=Evil()) is not None
    assert s.track("e", properties=[1, 2]) is not None  # type: ignore[arg-type]
    assert s.track("e", timestamp=float("nan")) is not None
    s.close()
    assert len(mock.ids) == 3


LOCK_HOLDER = """
import fcntl, os, select, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
select.select([sys.stdin], [], [], 20)  # until the test says so, or 20 s at the most
"""


async def test_shared_state_io_never_blocks_the_event_loop(cache_dir: Path) -> None:
    """Another process holds the shared-state lock while the collector answers 503: the
    failure is recorded off the loop, so the caller's event loop keeps running meanwhile."""
    mock = MockCollector()
    async with AsyncShipper(endpoint=URL, transport=mock.transport, max_retries=1) as s:
        s.track("first")
        await s.flush()  # a fresh, healthy probe result: the next send needs no probe
        home = destination_home(cache_dir, URL)
        with subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(home / "state.lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
            assert holder.stdout is not None and holder.stdin is not None
            assert holder.stdout.readline() == b"held\n"
            mock.status = 503
            s.track("second")
            flushing = asyncio.create_task(s.flush(timeout=60))
            assert await wait_until(lambda: len(mock.batch_requests) == 2)
            for _ in range(5):
                await asyncio.sleep(0.01)  # the loop runs...
            assert holder.poll() is None  # ...while the other process still holds the lock
            assert not flushing.done()  # and the failure is still waiting for that lock
            holder.stdin.write(b"\n")
            holder.stdin.flush()
            result = await flushing
        assert result.spilled == 1
    state = json.loads((destination_home(cache_dir, URL) / "state.json").read_text())
    assert state["breaker"]["failures"] == 1


def test_a_client_does_not_change_how_shipper_track_encodes(cache_dir: Path) -> None:
    """Creating a client picks its own encoder; shipper.track() in the same process keeps
    the standard library's (no process-wide switch)."""
    import orjson  # noqa: F401 - a test extra: this test is about the client picking it
    s = Shipper(endpoint=URL, transport=MockCollector().transport)
    try:
        assert shipper.track("hook", {"name": "\u00e9"}) is not None
        (raw,) = next((cache_dir / "pending").iterdir()).read_bytes().splitlines()[1:]  # unbound
        assert b"\\u00e9" in raw  # json.dumps escapes; orjson would write the UTF-8 bytes
        assert s._engine.encode({"name": "\u00e9"}) == '{"name":"\u00e9"}'.encode()
    finally:
        s.close()


def test_timestamps_stay_right_when_threads_format_different_seconds() -> None:
    """The memo of the last formatted second is safe when threads race on it."""
    seconds = [1_800_000_000 + i * 3607 for i in range(8)]
    wrong: list[str] = []

    def work(second: int) -> None:
        want = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)) + "250Z"
        for _ in range(20_000):
            got = rfc3339_ms(second + 0.25)
            if got != want:
                wrong.append(got)

    threads = [threading.Thread(target=work, args=(sec,)) for sec in seconds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_counters_are_exact_when_many_threads_count() -> None:
    """Drops and tracked counts from many threads at once are neither lost nor doubled,
    and drops kept for drops.json are handed over exactly once."""
    counters = Counters()
    handed: list[dict[str, int]] = []

    def work() -> None:
        for i in range(5_000):
            counters.tracked()
            counters.drop("disk_unwritable", persist=True)
            if i % 500 == 0:
                handed.append(counters.take_unsaved())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handed.append(counters.take_unsaved())
    snap = counters.snapshot()
    assert snap["tracked"] == 40_000 and snap["dropped_by"] == {"disk_unwritable": 40_000}
    assert sum(h.get("disk_unwritable", 0) for h in handed) == 40_000


UNCLOSED = {
    "a local client inside asyncio.run()": """
async def main():
    s = AsyncShipper(endpoint=ENDPOINT, shutdown_timeout=0.5)
    for i in range(5):
        s.track("e", {"i": i})
    await asyncio.sleep(0.1)
asyncio.run(main())
""",
    "a global client tracked inside asyncio.run()": """
s = AsyncShipper(endpoint=ENDPOINT, shutdown_timeout=0.5)
async def main():
    for i in range(5):
        s.track("e", {"i": i})
asyncio.run(main())
""",
    "a client with no event loop at all": """
s = AsyncShipper(endpoint=ENDPOINT, shutdown_timeout=0.5)
for i in range(5):
    s.track("e", {"i": i})
""",
}


@pytest.mark.parametrize("script", list(UNCLOSED))
def test_an_async_client_never_closed_keeps_its_events_on_disk(script: str,
                                                              cache_dir: Path) -> None:
    """A script or service that never calls aclose(): when asyncio.run() ends (the worker
    task is cancelled), the client is collected, or the interpreter exits, what it held in
    memory is on disk (it used to be 5 tracked, 0 on disk, nothing counted)."""
    code = ("import asyncio\nfrom shipper import AsyncShipper\n"
            "ENDPOINT = 'http://127.0.0.1:9'\n" + UNCLOSED[script])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(e["properties"]["i"] for e in events_on_disk(cache_dir)) == list(range(5))
