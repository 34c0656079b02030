"""The delivery engine behind both clients: memory queue, batching worker, spill, recovery.

``put`` is the only method called from user threads: it appends to a deque (atomic in
CPython) and at most wakes the worker. Everything else runs on the engine's event loop, in
one of two named paths: `Engine.tick`, the worker's periodic cycle, and `Engine.flush`, which
works to a deadline and leaves nothing in memory. Disk writes happen in a worker thread, or
in the caller's thread only when the memory queue and the overflow are both full
(back-pressure instead of unbounded memory).
"""

from __future__ import annotations

import asyncio

# Import the thread pool now, not lazily from the worker thread: a fork() that lands in the
# middle of that import leaves the child a half-initialised module it can never use.
import concurrent.futures.thread  # noqa: F401
import contextlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Literal

import httpx

from . import _log
from ._aio import Offload, offload, run_here
from ._cache._drops import add_drops, read_drops
from ._cache._identity import anonymous_id
from ._cache._prune import prune
from ._cache._spool import ResourceShortage, Spool, all_spools
from ._clock import Deadline, SystemClock
from ._config import Settings
from ._courier import Courier, Sleep
from ._deliver import Event
from ._destinations._select import destination_for
from ._event import fast_encoder
from ._guard import never_raises_async
from ._reasons import DISK_UNWRITABLE
from ._transport import make_client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock
    from ._reasons import DropReason

_REBUILD_S = 30.0  # after the HTTP client failed to build, the next try waits this long
MAX_IN_FLIGHT = 2  # batches on their way at once from the memory queue
TICK_BUDGET_S = 60.0  # a periodic send gives a batch this long, retries included, then spills
_DRAIN_SLICE_S = 5.0  # disk draining yields to fresh events this often
_PRUNE_EVERY_S = 60.0  # the cache limits are applied this often by a running client
_BACKLOG_CHECK_S = 5.0
# Beyond a full queue, the caller writes what overflows itself once it holds a quarter of
# `queue_size` more: memory stays under 1.25 x queue_size events while the worker falls
# behind (an outage with a fast caller), and no one write stalls the caller for long
OVERFLOW_PART = 4
_SIGTERM_WAIT_S = 5.0  # a SIGTERM's spill waits this long for another thread's to finish
# How long a delivery thread stands aside between two slices of its work while the caller
# records events: long enough for a thread waiting for the interpreter lock to wake and take
# it (tens of microseconds), short enough to cost delivery little (docs/performance.md).
GIVE_WAY_S = 50e-6
# ...once the thread has run this much CPU time since it last stood aside: slices short
# enough for a caller's tail, long enough that it does not wait for the lock after every
# small step (taking it back may take the caller's next system call, or the 5 ms interval)
SLICE_S = 250e-6

# what sending the memory queue came to
Sent = Literal["sent", "gate_closed", "failed"]
SENT: Final = "sent"                # the service took what it was offered
GATE_CLOSED: Final = "gate_closed"  # nothing was tried: the breaker or the health said wait
FAILED: Final = "failed"            # the service failed or refused along the way


class Undeliverable(Exception):
    """No HTTP client can be built here now: events go to disk for a later sync."""


@dataclass(frozen=True)
class FlushResult:
    """What one flush did: events delivered, spilled to disk, and dropped."""

    delivered: int = 0
    spilled: int = 0
    dropped: int = 0

    @classmethod
    def between(cls, before: dict[str, int], after: dict[str, int]) -> FlushResult:
        """What happened between two `Counters.snapshot` results."""
        return cls(*(after[k] - before[k] for k in ("delivered", "spilled", "dropped")))


class Counters:
    """What an engine did, counted from any thread (user threads, the loop, the pool).

    Drops are also kept as *unsaved* until `take_unsaved` hands them over to be added to
    the cache's persistent totals.
    """

    NAMES = ("tracked", "delivered", "spilled", "synced", "dead_lettered", "retries")

    def __init__(self) -> None:
        # re-entrant: a signal handler that spills (SIGTERM) may run while this thread
        # holds it
        self._lock = threading.RLock()
        self._values = dict.fromkeys(self.NAMES, 0)
        self._dropped: dict[str, int] = {}
        self._unsaved: dict[str, int] = {}
        # `track` counts on its own plain lock, the cheapest there is: it runs on every
        # call, and a handler that spills never takes this one
        self._tracked_lock = threading.Lock()
        self._tracked = 0

    def tracked(self) -> None:
        """One more event tracked (the hot path: no method lookups beyond this one)."""
        with self._tracked_lock:
            self._tracked += 1

    def tracked_so_far(self) -> int:
        """Events tracked, read without the lock: a hint that moves when track() runs."""
        return self._tracked

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._values[name] += n

    def drop(self, reason: DropReason, n: int = 1, *, persist: bool = False) -> None:
        """Count ``n`` events lost for ``reason``; ``persist``: also for drops.json."""
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + n
            if persist:
                self._unsaved[reason] = self._unsaved.get(reason, 0) + n

    def take_unsaved(self) -> dict[str, int]:
        with self._lock:
            unsaved, self._unsaved = self._unsaved, {}
        return unsaved

    def restore_unsaved(self, counts: dict[str, int]) -> None:
        """Give back drops that could not be saved, for a later try."""
        with self._lock:
            for reason, n in counts.items():
                self._unsaved[reason] = self._unsaved.get(reason, 0) + n

    def snapshot(self) -> dict[str, Any]:
        """Every counter now, consistent: the names above, ``dropped`` (total) and
        ``dropped_by`` (by reason)."""
        with self._lock:
            snap: dict[str, Any] = dict(self._values)
            snap["dropped_by"] = dict(self._dropped)
        snap["tracked"] = self._tracked
        snap["dropped"] = sum(snap["dropped_by"].values())
        return snap


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] = random.random,
        stand_aside: Callable[[float], object] = time.sleep,
        thread_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.settings = settings
        # the caller writes the overflow itself once it holds this many (see OVERFLOW_PART)
        self._overflow_limit = max(1, settings.queue_size // OVERFLOW_PART)
        self.stand_aside = stand_aside  # a blocking sleep: see `give_way`
        self.thread_clock = thread_clock  # the delivery thread's CPU time
        self.encode = fast_encoder()  # a long-running client: orjson pays for itself
        self.spool = Spool.for_settings(settings)
        self.transport = transport
        self.clock: Clock = clock or SystemClock()
        self.sleep: Sleep = sleep or asyncio.sleep
        self.rand = rand
        #: a delivery thread of its own (`Shipper`): it gives way to the caller between
        #: slices of its work (see `give_way`); on the caller's event loop it has no need to
        self.gives_way = False
        self._tracked_seen = 0
        self._slice_started = 0.0  # the thread's CPU time when it last stood aside
        self._backlog_checked = -1e18
        self._pruned_at = -1e18
        self._backlog = True  # files from earlier runs may be waiting
        self._fresh_start()

    def _fresh_start(self) -> None:
        """Empty queues, counters, and nothing of the event loop's yet."""
        self.counters = Counters()  # a fresh lock too: after a fork another thread held it
        self.queue: deque[Event] = deque()
        self.overflow: deque[Event] = deque()
        # events out of the queues and not settled yet (a batch being sent, events being
        # written): what a SIGTERM must still spill (`spill_all_quietly`)
        self._held: dict[int, list[Event]] = {}
        # held while events are taken out of memory and written: a SIGTERM's spill waits for
        # another thread's to finish (re-entrant: a handler may interrupt its own thread's)
        self._spilling = threading.RLock()
        self.notify: Callable[[], None] = _nothing
        self.courier: Courier | None = None
        self._client: httpx.AsyncClient | None = None
        self._wakeup: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._starting: asyncio.Lock | None = None
        self._client_failed: tuple[float, str] | None = None  # (monotonic time, why)
        self._stopping = False
        self._overflowed = False  # a burst went to disk while the service was fine

    # -- any thread ---------------------------------------------------------------------

    def put(self, item: Event) -> None:
        """Queue one encoded event; never blocks on delivery."""
        self.counters.tracked()
        queue = self.queue
        if len(queue) < self.settings.queue_size:
            queue.append(item)
            if len(queue) == self.settings.batch_size:
                self.notify()
            return
        self.overflow.append(item)
        if len(self.overflow) == 1:
            self.notify()
        elif len(self.overflow) >= self._overflow_limit:
            self.spill_overflow()  # the worker is not keeping up: write here, in bulk

    @contextlib.contextmanager
    def _holding(self) -> Iterator[list[Event]]:
        """A list to move events into out of memory's queues, held (written by a SIGTERM's
        spill) from before the first event leaves its queue until the block ends."""
        items: list[Event] = []
        self._held[id(items)] = items
        try:
            yield items
        finally:
            self._held.pop(id(items), None)

    def spill_overflow(self) -> int:
        with self._spilling, self._holding() as items:
            _pop_up_to(self.overflow, len(self.overflow), items)
            written = self.spill(items)
        self._overflowed = self._overflowed or written > 0
        return written

    def spill(self, events: list[Event]) -> int:
        """Write events to the disk cache (blocking). Returns how many were written."""
        written = 0
        size = self.settings.batch_size
        for start in range(0, len(events), size):
            part = [raw for _, raw in events[start:start + size]]
            try:
                self.spool.write(part)
                written += len(part)
            except OSError as exc:
                self.counters.drop(DISK_UNWRITABLE, len(part), persist=True)
                _log.warning("%d event(s) lost: cannot write the disk cache %s: %s",
                             len(part), self.spool.root, exc.strerror or exc)
        self.save_drops()
        self.counters.add("spilled", written)
        if written:
            self._backlog = True
        return written

    def save_drops(self) -> None:
        """Persist drop counts for `shipper status`; kept for a later try if the disk is full."""
        unsaved = self.counters.take_unsaved()
        if unsaved and not add_drops(self.spool.root, unsaved):
            self.counters.restore_unsaved(unsaved)

    @property
    def holds_events(self) -> bool:
        """Whether a flush has anything to deliver: events in memory, or a burst spilled on
        overflow (a send in flight is the worker's, and a flush waits for it)."""
        return bool(self.queue or self.overflow or self._overflowed)

    def spill_memory(self) -> int:
        """Spill everything held in memory (used at exit, after fork, and after close)."""
        with self._spilling:
            return self._spill_memory()

    def _spill_memory(self) -> int:
        with self._holding() as items:
            _pop_up_to(self.queue, len(self.queue), items)
            _pop_up_to(self.overflow, len(self.overflow), items)
            if not items:
                self.save_drops()
                return 0
            return self.spill(items)

    def spill_memory_quietly(self) -> None:
        """At interpreter exit: spill what is in memory; never raise."""
        try:
            self.spill_memory()
        except Exception:  # noqa: BLE001 - exit handlers must not raise
            _log.exception("spilling at exit failed")

    def spill_all_quietly(self) -> None:
        """On SIGTERM, when the process ends right after: what is in memory, and what
        another thread holds out of the queues (a batch on its way, events being written),
        goes to disk; never raise. Another thread's spill is waited for (a few seconds at
        most), so its events are written once; a batch on its way may be delivered and kept
        both: its ids make the copy harmless (at least once). After that wait it goes
        ahead without the lock: what the other thread holds is written too."""
        mine = self._spilling.acquire(timeout=_SIGTERM_WAIT_S)
        try:
            self._spill_memory()
            self.spill_held()
        except Exception:  # noqa: BLE001 - a signal handler must not raise
            _log.exception("spilling at SIGTERM failed")
        finally:
            if mine:
                self._spilling.release()

    def spill_held(self) -> int:
        """Write what another thread holds out of the queues (a batch on its way): for a
        delivery thread that did not stop in time, stuck on a lock another process holds,
        say, and on SIGTERM. At least once: it may still send them."""
        held = [event for batch in list(self._held.values()) for event in batch]
        return self.spill(held) if held else 0

    @property
    def offload(self) -> Offload:
        """How this engine runs blocking work: at once on a delivery thread of its own (it
        blocks nobody else there), in the thread pool on the caller's event loop."""
        return run_here if self.gives_way else offload

    def give_way(self) -> None:
        """Between two slices of delivery work on a thread of its own: once the slice has
        run `SLICE_S` of CPU time, and if the caller has recorded events since the last
        look, stand aside for `GIVE_WAY_S`.

        The caller and this thread share the interpreter lock. A thread that waits for it
        gets it when the holder releases it for a system call, or after the switch interval
        (5 ms); one that releases it for a moment usually takes it back before the waiter
        has woken. So each stretch of Python that delivery runs without a real wait (taking
        a batch, building the request, reading the answer) was a stall of that length for
        a track() that wanted the lock meanwhile, and up to 5 ms when a stretch ran on.
        Sleeping between stretches hands the lock (and, on a shared core, the CPU) to the
        caller at once. ``sys.setswitchinterval`` is the program's, never changed here."""
        if not self.gives_way or self.thread_clock() - self._slice_started < SLICE_S:
            return
        tracked = self.counters.tracked_so_far()
        if tracked != self._tracked_seen:
            self._tracked_seen = tracked
            self.stand_aside(GIVE_WAY_S)
        self._slice_started = self.thread_clock()

    # -- event loop ---------------------------------------------------------------------

    def _loop_objects(self) -> tuple[asyncio.Event, asyncio.Lock]:
        """The worker's wake-up event and the lock of its cycles, made on the running loop."""
        if self._wakeup is None or self._lock is None:
            self._wakeup = asyncio.Event()
            self._lock = asyncio.Lock()
        return self._wakeup, self._lock

    async def _ensure_started(self) -> Courier:
        """The courier (and its HTTP client), made once: the worker and a flush may both
        ask for it first, so the making is serialised. The client is built in a worker
        thread (its TLS context takes tens of milliseconds) and may fail to build (a
        missing CA file, a bad proxy URL): then `Undeliverable` is raised, and raised again
        without a new try for `_REBUILD_S`; the events meanwhile wait on disk."""
        if self.courier is not None:
            return self.courier
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self.courier is not None:
                return self.courier
            failed = self._client_failed
            if failed is not None and self.clock.monotonic() - failed[0] < _REBUILD_S:
                raise Undeliverable(failed[1])
            anonymous = await self.offload(anonymous_id, self.spool.root)
            destination = destination_for(self.settings, anonymous)
            try:
                client = await self.offload(partial(make_client, give_way=self.give_way if
                                               self.gives_way else None),
                                       self.settings, destination, self.transport)
            except Exception as exc:  # noqa: BLE001 - any failure: keep the events on disk
                why = self.settings.redact(f"{type(exc).__name__}: {exc}")
                if failed is None:
                    _log.warning("cannot set up delivery (%s); events are kept on disk "
                                 "(`shipper doctor` explains)", why)
                self._client_failed = (self.clock.monotonic(), why)
                raise Undeliverable(why) from None
            self._client_failed = None
            self._client = client
            self.courier = Courier(self.settings, destination, self.spool, client,
                                   clock=self.clock, sleep=self.sleep, rand=self.rand,
                                   offload=self.offload, give_way=self.give_way)
        return self.courier

    async def run(self, started: Callable[[], None] = lambda: None) -> None:
        """The worker: wake on a full batch, overflow, or every ``flush_interval``."""
        wakeup, _ = self._loop_objects()
        loop = asyncio.get_running_loop()

        def notify() -> None:
            loop.call_soon_threadsafe(wakeup.set)

        self.notify = notify
        if len(self.queue) >= self.settings.batch_size or self.overflow:
            wakeup.set()  # events queued before the worker ran
        started()
        try:
            with contextlib.suppress(Exception):
                await self._ensure_started()
            while not self._stopping:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self.settings.flush_interval)
                wakeup.clear()
                if self._stopping:
                    break
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the worker must outlive any bug of ours
                    _log.exception("delivery cycle failed; events stay queued or on disk")
                    await self.sleep(min(1.0, self.settings.flush_interval))
        except asyncio.CancelledError:
            # its loop is ending (asyncio.run() returned without aclose(), say): what is
            # still in memory goes to disk now, blocking, for nothing else will run
            self.spill_memory_quietly()
            raise

    def stop(self) -> None:
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()

    async def tick(self) -> None:
        """The periodic cycle: send the memory queue, then the disk backlog while the
        service takes it. While the service is down a little stays in memory (see
        `_within_patience`) rather than a file per event."""
        _, lock = self._loop_objects()
        async with lock:
            try:
                courier = await self._ensure_started()
            except Undeliverable:
                await self.offload(self.spill_memory)  # kept for a sync that can deliver
                return
            if self.overflow:
                await self.offload(self.spill_overflow)
            sent = SENT
            if self.queue:
                sent = await self._send_queue(courier, Deadline.after(self.clock,
                                                                      TICK_BUDGET_S))
                if sent == FAILED or (sent == GATE_CLOSED and not self._within_patience()):
                    await self.offload(self.spill_memory)
            if sent == SENT:
                await self._maybe_drain(courier)
            await self._prune_now_and_then()

    async def _prune_now_and_then(self) -> None:
        """Apply the cache limits every `_PRUNE_EVERY_S`, after delivery had its turn (and
        during an outage too: the disk must not fill up)."""
        now = self.clock.monotonic()
        if now - self._pruned_at >= _PRUNE_EVERY_S:
            self._pruned_at = now
            with contextlib.suppress(OSError):
                await self.offload(self._prune)

    async def flush(self, timeout: float | None = None) -> FlushResult:
        """Deliver what is queued now; spill what cannot go before ``timeout`` (default
        ``shutdown_timeout``). Nothing stays in memory. Never raises."""
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        before = self.counters.snapshot()
        await self._flush(Deadline.after(self.clock, limit))
        return FlushResult.between(before, self.counters.snapshot())

    @never_raises_async("flush", None,
                        recover=lambda self, deadline: self.spill_memory_quietly())
    async def _flush(self, deadline: Deadline) -> None:
        _, lock = self._loop_objects()
        async with lock:
            try:
                courier = await self._ensure_started()
            except Undeliverable:
                await self.offload(self.spill_memory)
                return
            # what overflowed the queue was to go to disk only because the queue was full:
            # a flush empties it now, so those events go out with it, from memory (what
            # cannot go is spilled below, as the rest of the queue is)
            # one by one: each event is in one queue or the other at every moment (a SIGTERM
            # spill takes both)
            _pop_up_to(self.overflow, len(self.overflow), self.queue)
            sent = await self._send_queue(courier, deadline) if self.queue else SENT
            if self.queue:
                await self.offload(self.spill_memory)
            if sent == SENT and self._overflowed and not deadline.expired:
                # a flush (or close) also delivers what a burst spilled on overflow, while
                # the collector takes it and time is left
                await self._drain(courier, deadline)

    async def _send_queue(self, courier: Courier, deadline: Deadline) -> Sent:
        """Send the memory queue until it is empty, the deadline passes or the service fails
        (`SENT`, `GATE_CLOSED` or `FAILED`). What a failed batch leaves is spilled; the rest
        of the queue stays for the caller to keep or spill.

        Up to `MAX_IN_FLIGHT` batches are on their way at once: the next batch is built
        (translated, compressed) while the receiver reads the last one."""
        gate = await courier.gate()
        if not gate.open:
            return GATE_CLOSED
        in_flight: set[asyncio.Task[bool]] = set()
        failed = False
        try:
            while True:
                while (self.queue and not failed and not deadline.expired
                       and len(in_flight) < MAX_IN_FLIGHT):
                    self.give_way()
                    batch: list[Event] = []
                    self._held[id(batch)] = batch  # before it takes the first event
                    _take_batch(self.queue, courier.next_batch_count(), courier.batch_bytes,
                                batch)
                    in_flight.add(asyncio.create_task(self._send_batch(courier, batch,
                                                                       deadline)))
                if not in_flight:
                    break
                done, in_flight = await asyncio.wait(in_flight,
                                                     return_when=asyncio.FIRST_COMPLETED)
                failed = failed or not all(task.result() for task in done)
        finally:
            for task in in_flight:  # cancelled (close gave up): each batch spills itself
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
        return FAILED if failed else SENT

    async def _send_batch(self, courier: Courier, batch: list[Event],
                          deadline: Deadline) -> bool:
        """Deliver one batch taken from the queue; False if the service failed it."""
        try:
            try:
                outcome = await courier.send(batch, deadline)
            except BaseException:
                # cancelled (close gave up waiting) or broken mid-send: the batch is in no
                # queue any more, so keep it on disk before going
                self.spill(batch)
                raise
            self.counters.add("delivered", len(outcome.delivered))
            self.counters.add("dead_lettered", len(outcome.dead))
            self.counters.add("retries", outcome.retries)
            if outcome.remaining:
                await self.offload(self.spill, outcome.remaining)
            return outcome.stopped_by is None
        finally:
            self._held.pop(id(batch), None)

    def _within_patience(self) -> bool:
        """While the service is down, keep a little in memory rather than a file per event."""
        return len(self.queue) < self.settings.batch_size

    async def _maybe_drain(self, courier: Courier) -> None:
        """Deliver the disk cache once the service is healthy again (by ourselves)."""
        now = self.clock.monotonic()
        if not self._backlog and now - self._backlog_checked < _BACKLOG_CHECK_S:
            return
        self._backlog_checked = now
        try:
            entries = await self.offload(self.spool.entries)
        except ResourceShortage:  # out of descriptors: look again at the next check
            return
        self._backlog = bool(entries)
        if entries and courier.waits_for() < _DRAIN_SLICE_S:  # else: nothing could go now
            await self._drain(courier, Deadline.after(self.clock, _DRAIN_SLICE_S))

    async def _drain(self, courier: Courier, deadline: Deadline) -> None:
        gate = await courier.gate()
        if not gate.open:
            return
        result = await courier.drain(deadline)
        self._backlog = result.stopped_by is not None or deadline.expired
        self._overflowed = self._overflowed and self._backlog
        self.counters.add("synced", result.delivered)
        self.counters.add("dead_lettered", result.dead_lettered)
        self.counters.add("retries", result.retries)
        if result.delivered:
            _log.debug("delivered %d cached event(s)", result.delivered)

    def _prune(self) -> None:
        prune(all_spools(self.spool.root), max_age_days=self.settings.max_age_days,
              max_cache_mb=self.settings.max_cache_mb)

    async def aclose(self) -> FlushResult:
        self.stop()
        before = self.counters.snapshot()
        await self.flush(self.settings.shutdown_timeout)
        await self.offload(self.spill_memory)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            await asyncio.sleep(0)  # let the loop finish closing the sockets it just closed
        return FlushResult.between(before, self.counters.snapshot())

    def after_fork_in_child(self) -> None:
        """The parent still owns what was queued before the fork: forget it here."""
        self._fresh_start()

    def stats(self) -> dict[str, Any]:
        snap = self.counters.snapshot()
        state = self.courier.state.read() if self.courier else None
        breaker = state.breaker.state(self.clock.monotonic()) if state else "closed"
        health = state.health if state else None
        return {
            **{name: snap[name] for name in Counters.NAMES},
            "queued": len(self.queue) + len(self.overflow),
            "dropped": snap["dropped_by"],
            "dropped_total": snap["dropped"],
            "dropped_on_disk": read_drops(self.spool.root),
            "breaker": breaker,
            "health": {"healthy": health.healthy if health else None,
                       "checked_at": health.checked_wall if health else None},
        }


def _nothing() -> None:
    return None


def _pop_up_to(items: deque[Event], n: int, out: list[Event] | deque[Event]) -> None:
    """Move up to ``n`` events from ``items`` to ``out``, one at a time: each is in one or
    the other at every moment a signal handler could run."""
    popleft = items.popleft
    for _ in range(n):
        try:
            out.append(popleft())
        except IndexError:
            break


def _take_batch(queue: deque[Event], max_count: int, max_bytes: int,
                batch: list[Event]) -> None:
    """Move the next batch from ``queue`` into ``batch`` (given empty, already registered
    as held), one event at a time."""
    size = 0
    while queue and len(batch) < max_count:
        item = queue[0]
        if batch and size + len(item[1]) + 1 > max_bytes:
            break
        batch.append(queue.popleft())
        size += len(item[1]) + 1
