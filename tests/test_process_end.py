"""What becomes of events when a process ends or forks: SIGTERM from a pool, a forked
child, a program's own handler, a cache deleted meanwhile, a first track at exit, an async
client never started."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shipper import AsyncShipper, Shipper

from .conftest import (
    Collector,
    child_env,
    events_on_disk,
    pending_events,
    run_py,
    wait_for,
)
from .mockcollector import MockCollector

pytestmark = pytest.mark.chaos



SIGTERM_POOL = """
import json, multiprocessing, sys
import shipper

client = None

def work(i):
    global client
    if client is None:  # one client per worker, kept for the worker's life
        client = shipper.Shipper(endpoint="http://127.0.0.1:9", flush_interval=3600,
                                 shutdown_timeout=0.2)
    return [client.track("pooled", {"task": i, "n": n}) for n in range(20)]

if __name__ == "__main__":
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
        ids = [i for chunk in pool.map(work, range(10)) for i in chunk]
    print(json.dumps(ids))   # the with block ended the workers with SIGTERM
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_sigterm_from_a_pool_spills_what_is_queued(method: str, cache_dir: Path,
                                                   tmp_path: Path) -> None:
    """`with multiprocessing.Pool()` ends its workers with SIGTERM: what their clients had
    queued is on disk, not lost."""
    script = tmp_path / "pooled.py"
    script.write_text(SIGTERM_POOL)
    out = subprocess.run([sys.executable, str(script), method], env=child_env(cache_dir),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout)
    assert len(ids) == 200 and all(ids)
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(ids)


def test_a_forked_child_starts_with_sigterms_default(cache_dir: Path) -> None:
    """A fork worker of a program with an open client has SIGTERM at its default (nothing
    of its own to spill: Pool.terminate must end it at once); a client the child uses
    takes SIGTERM over again, and what it queued is spilled when the pool ends it."""
    out = run_py("""
        import multiprocessing, signal
        from shipper import Shipper

        def idle(_):
            return signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        def uses_the_parents_client(_):
            parent.track("in.child")
            return signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL

        parent = Shipper(endpoint="http://127.0.0.1:9", flush_interval=60)
        parent.track("in.parent")
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print(pool.map(idle, [0, 1]), pool.apply(uses_the_parents_client, (0,)))
        parent.close()
    """, child_env(cache_dir))
    assert out.stdout.strip() == "[True, True] True", out.stderr
    assert sorted(e["event"] for e in events_on_disk(cache_dir)) == ["in.child", "in.parent"]


def test_sigterm_leaves_a_programs_own_handler_alone(cache_dir: Path) -> None:
    """A program that set its own SIGTERM handler keeps it: shipper does not take over."""
    out = run_py("""
        import signal, shipper
        def mine(signum, frame):
            pass
        signal.signal(signal.SIGTERM, mine)
        shipper.Shipper(shutdown_timeout=0.1)
        print(signal.getsignal(signal.SIGTERM) is mine)
    """, child_env(cache_dir))
    assert out.stdout.strip() == "True"


def test_a_deleted_cache_folder_is_made_again(cache_dir: Path) -> None:
    """The cache is deleted under a running client: its next spill makes it again."""
    mock = MockCollector()
    mock.down = True
    s = Shipper(endpoint="http://collector.test", transport=mock.transport,
                shutdown_timeout=0.2)
    s.track("first")
    s.flush()
    shutil.rmtree(cache_dir)
    for i in range(5):
        s.track("after", {"i": i})
    s.close()
    assert pending_events(cache_dir) == 5
    assert s.stats()["dropped"] == {}


def test_a_first_track_at_exit_is_delivered(collector: Collector, cache_dir: Path) -> None:
    """track() first called from an atexit handler (no thread can start then) writes the
    event to disk and starts a detached sync, which delivers it."""
    out = run_py(f"""
        import atexit, shipper
        client = shipper.Shipper(endpoint={collector.url!r})
        atexit.register(lambda: print(client.track("at.exit")))
    """, child_env(cache_dir))
    event_id = out.stdout.strip()
    assert len(event_id) == 36, out.stderr
    assert wait_for(lambda: event_id in collector.ids(), timeout=60)


def test_an_async_client_never_started_keeps_its_events(cache_dir: Path) -> None:
    """AsyncShipper used without `async with` or start(): outside a loop the events are
    spilled at exit; inside a running loop the delivery task starts by itself."""
    out = run_py("""
        import json, shipper
        s = shipper.AsyncShipper(endpoint="http://127.0.0.1:9")
        print(json.dumps([s.track("e", {"i": i}) for i in range(5)]))
    """, child_env(cache_dir))
    ids = json.loads(out.stdout)
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(ids)


async def test_an_async_client_starts_itself_inside_a_loop() -> None:
    """Inside a running loop, the first track() starts the delivery task."""
    mock = MockCollector()
    s = AsyncShipper(endpoint="http://collector.test", transport=mock.transport)
    ids = [s.track("e") for _ in range(3)]
    result = await s.flush()
    await s.aclose()
    assert result.delivered == 3 and sorted(mock.ids) == sorted(ids)


def test_signal_module_is_untouched_by_a_disabled_client() -> None:
    """A disabled client installs no SIGTERM handler."""
    before = signal.getsignal(signal.SIGTERM)
    Shipper(disabled=True)
    assert signal.getsignal(signal.SIGTERM) is before


MISSED_SIGTERM = """
import multiprocessing, os, signal, sys, time
import shipper
from shipper import _exit


def worker():
    client = shipper.Shipper(endpoint="http://127.0.0.1:9", flush_interval=3600)
    client.track("queued")
    assert _exit._wakeup, "no watcher: the wakeup descriptor was not free"
    # what the C handler writes when a SIGTERM lands just before the main thread blocks:
    # the Python handler itself never runs, as in an idle Pool worker that lost the race
    os.write(_exit._wakeup[1], bytes([signal.SIGTERM]))
    time.sleep(60)  # without the watcher's nudge, nothing would end this
    print("never reached", flush=True)


if __name__ == "__main__":
    process = multiprocessing.get_context(sys.argv[1]).Process(target=worker)
    process.start()
    process.join(120)
    print(process.exitcode, flush=True)
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_sigterm_a_worker_missed_still_spills_and_ends_it(
        method: str, cache_dir: Path, tmp_path: Path) -> None:
    """A SIGTERM whose Python handler a multiprocessing worker's main thread never ran (it
    landed just before a blocking call): the watcher interrupts the main thread, the
    handler spills what is queued, and the worker ends by SIGTERM (an idle Pool worker
    used to hang its parent's terminate() for ever)."""
    script = tmp_path / "missed.py"
    script.write_text(MISSED_SIGTERM)
    done = subprocess.run([sys.executable, str(script), method], env=child_env(cache_dir),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.stdout.split() == [str(-signal.SIGTERM)], done.stderr
    assert [e["event"] for e in events_on_disk(cache_dir)] == ["queued"]


def test_a_program_not_started_by_multiprocessing_keeps_its_wakeup_descriptor(
        cache_dir: Path) -> None:
    """Outside multiprocessing's workers, a client leaves signal.set_wakeup_fd to the
    program (trio and asyncio take it for their own)."""
    done = run_py("""
        import signal
        import shipper
        client = shipper.Shipper(endpoint="http://127.0.0.1:9")
        client.track("x")
        print(signal.set_wakeup_fd(-1))
        client.close()
        """, child_env(cache_dir))
    assert done.stdout.strip() == "-1", done.stderr


def test_a_sigterm_spill_waits_for_another_threads_spill(cache_dir: Path) -> None:
    """SIGTERM's spill (the process ends right after) while another thread is writing
    events it took out of the queue: it waits for that write, then spills the rest and
    any batch still on its way; every event is written, and written once."""
    import threading

    from shipper._config import load_settings
    from shipper._engine import Engine

    engine = Engine(load_settings({"endpoint": "http://127.0.0.1:9",
                                   "cache_dir": str(cache_dir)}, environ={}))
    written: list[bytes] = []
    entered, release = threading.Event(), threading.Event()

    def slow_write(events: list[bytes], **_: object) -> Path:
        entered.set()
        release.wait(10)
        written.extend(events)
        return cache_dir

    engine.spool.write = slow_write  # type: ignore[method-assign]  # a disk that takes its time
    for i in range(3):
        engine.put((f"id-{i}", b"%d" % i))
    spiller = threading.Thread(target=engine.spill_memory)
    spiller.start()
    assert entered.wait(10)
    engine.put(("id-3", b"3"))  # recorded meanwhile
    on_its_way = [("id-4", b"4")]
    engine._held[id(on_its_way)] = on_its_way  # a batch being sent
    handler = threading.Thread(target=engine.spill_all_quietly)
    handler.start()
    handler.join(0.3)
    assert handler.is_alive()  # waiting for the other spill
    release.set()
    spiller.join(10)
    handler.join(10)
    assert sorted(written) == [b"0", b"1", b"2", b"3", b"4"]  # each once


class _Ended(Exception):
    """The process ended in the SIGTERM handler: nothing after it runs."""


@pytest.mark.parametrize("where", ["overflow", "queue"])
def test_a_sigterm_between_two_events_taken_out_of_memory_loses_neither(
        cache_dir: Path, where: str) -> None:
    """SIGTERM's spill running (on the same thread, as a handler does) while a spill is
    moving events out of memory one by one: the events already moved are written with the
    rest, none lost (they were in neither queue nor the held batches)."""
    from collections import deque

    from shipper._config import load_settings
    from shipper._engine import Engine

    engine = Engine(load_settings({"endpoint": "http://127.0.0.1:9", "queue_size": 40,
                                   "cache_dir": str(cache_dir)}, environ={}))
    seen: list[list[str]] = []

    class Interrupted(deque):  # type: ignore[type-arg]  # the handler runs after 2 moves
        moved = 0
        fired = False

        def popleft(self) -> object:
            if Interrupted.moved == 2 and not Interrupted.fired:
                Interrupted.fired = True  # the handler's own spill takes from here too
                engine.spill_all_quietly()  # what the SIGTERM handler does, then the end
                seen.append(sorted(e["id"] for e in events_on_disk(cache_dir)))
                raise _Ended
            Interrupted.moved += 1
            return super().popleft()

    setattr(engine, where, Interrupted())
    for i in range(49):
        engine.put((f"{i:03}", json.dumps({"id": f"{i:03}"}).encode()))
    last = ("049", b'{"id": "049"}')
    if where == "overflow":
        with pytest.raises(_Ended):  # the 10th overflowing event spills the overflow
            engine.put(last)
    else:
        engine.put(last)  # the overflow, full again, is written as it is
        with pytest.raises(_Ended):
            engine.spill_memory()  # close()'s spill
    assert seen == [[f"{i:03}" for i in range(50)]]


def test_a_sigterm_spill_waits_for_another_threads_spill_only_so_long(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread that never finishes its spill (stuck on a disk) holds SIGTERM's
    spill for its bound only: then what memory holds is written all the same."""
    import threading

    from shipper import _engine
    from shipper._config import load_settings

    monkeypatch.setattr(_engine, "_SIGTERM_WAIT_S", 0.2)
    engine = _engine.Engine(load_settings({"endpoint": "http://127.0.0.1:9",
                                           "cache_dir": str(cache_dir)}, environ={}))
    for i in range(3):
        engine.put((f"{i:03}", json.dumps({"id": f"{i:03}"}).encode()))
    taken, release = threading.Event(), threading.Event()

    def stuck() -> None:
        with engine._spilling:
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=stuck)
    holder.start()
    assert taken.wait(10)
    handler = threading.Thread(target=engine.spill_all_quietly)
    handler.start()
    handler.join(10)  # a bound, not a timing: a handler still waiting is still alive
    ended = not handler.is_alive()
    release.set()
    holder.join(10)
    handler.join(10)
    assert ended
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == ["000", "001", "002"]
