"""The delivery engine behind both clients: memory queue, batching worker, spill, recovery.

``put`` is the only method called from user threads: it appends to a deque (atomic in
CPython, no lock) and at most wakes the worker. Everything else runs on the engine's event
loop. Disk writes happen in a worker thread, or in the caller's thread only when the memory
queue and the overflow are both full (back-pressure instead of unbounded memory).
"""

from __future__ import annotations

import asyncio

# Import the thread pool now, not lazily from the worker thread: a fork() that lands in the
# middle of that import leaves the child a half-initialised module it can never use.
import concurrent.futures.thread  # noqa: F401
import contextlib
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import _log
from ._aio import offload
from ._clock import SystemClock
from ._config import Settings
from ._courier import Courier, Sleep
from ._deliver import Event
from ._drops import add_drops, read_drops
from ._event import use_fast_json
from ._prune import prune
from ._spool import Spool
from ._transport import make_client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock

_DRAIN_SLICE_S = 5.0  # disk draining yields to fresh events this often
_BACKLOG_CHECK_S = 5.0


@dataclass(frozen=True)
class FlushResult:
    """What one flush did: events delivered, spilled to disk, and dropped."""

    delivered: int = 0
    spilled: int = 0
    dropped: int = 0


@dataclass
class Counters:
    tracked: int = 0
    delivered: int = 0
    spilled: int = 0
    synced: int = 0
    dead_lettered: int = 0
    retries: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        use_fast_json()  # a long-running client: orjson (if installed) pays for itself
        self.spool = Spool(settings.cache_path)
        self.transport = transport
        self.clock: Clock = clock or SystemClock()
        self.sleep: Sleep = sleep or asyncio.sleep
        self.rand = rand
        self.counters = Counters()
        self.queue: deque[Event] = deque()
        self.overflow: deque[Event] = deque()
        self.notify: Callable[[], None] = _nothing
        self.courier: Courier | None = None
        self._client: httpx.AsyncClient | None = None
        self._wakeup: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._stopping = False
        self._backlog_checked = -1e18
        self._backlog = True  # files from earlier runs may be waiting
        self._unsaved_drops: dict[str, int] = {}  # counted here, not yet in drops.json
        self._overflowed = False  # a burst went to disk while the service was fine

    # -- any thread ---------------------------------------------------------------------

    def put(self, item: Event) -> None:
        """Queue one encoded event; never blocks on delivery."""
        self.counters.tracked += 1
        queue = self.queue
        if len(queue) < self.settings.queue_size:
            queue.append(item)
            if len(queue) == self.settings.batch_size:
                self.notify()
            return
        self.overflow.append(item)
        if len(self.overflow) == 1:
            self.notify()
        elif len(self.overflow) >= self.settings.queue_size:
            self.spill_overflow()  # the worker is not keeping up: write here, in bulk

    def spill_overflow(self) -> int:
        items = _pop_up_to(self.overflow, len(self.overflow))
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
                self.counters.drop("disk_unwritable", len(part))
                unsaved = self._unsaved_drops
                unsaved["disk_unwritable"] = unsaved.get("disk_unwritable", 0) + len(part)
                _log.warning("%d event(s) lost: cannot write the disk cache %s: %s",
                             len(part), self.spool.root, exc.strerror or exc)
        self.save_drops()
        self.counters.spilled += written
        if written:
            self._backlog = True
        return written

    def save_drops(self) -> None:
        """Persist drop counts for `shipper status`; kept for a later try if the disk is full."""
        if self._unsaved_drops and add_drops(self.spool.root, self._unsaved_drops):
            self._unsaved_drops = {}

    def spill_memory(self) -> int:
        """Spill everything held in memory (used at exit, after fork, and after close)."""
        items = _pop_up_to(self.queue, len(self.queue)) + _pop_up_to(self.overflow,
                                                                     len(self.overflow))
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

    # -- event loop ---------------------------------------------------------------------

    def _ensure_started(self) -> Courier:
        if self.courier is None:
            self._client = make_client(self.settings, self.transport)
            self.courier = Courier(self.settings, self.spool, self._client, clock=self.clock,
                                   sleep=self.sleep, rand=self.rand)
            self._wakeup = asyncio.Event()
            self._lock = asyncio.Lock()
        return self.courier

    async def run(self, started: Callable[[], None] = lambda: None) -> None:
        """The worker: wake on a full batch, overflow, or every ``flush_interval``."""
        self._ensure_started()
        assert self._wakeup is not None  # noqa: S101 - set by _ensure_started
        loop = asyncio.get_running_loop()
        wakeup = self._wakeup

        def notify() -> None:
            loop.call_soon_threadsafe(wakeup.set)

        self.notify = notify
        started()
        with contextlib.suppress(Exception):
            await offload(self._prune)
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.settings.flush_interval)
            wakeup.clear()
            if self._stopping:
                break
            try:
                await self._cycle(None)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the worker must outlive any bug of ours
                _log.exception("delivery cycle failed; events stay queued or on disk")
                await self.sleep(min(1.0, self.settings.flush_interval))

    def stop(self) -> None:
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()

    async def _cycle(self, deadline: float | None) -> FlushResult:
        courier = self._ensure_started()
        assert self._lock is not None  # noqa: S101 - set by _ensure_started
        async with self._lock:
            before = (self.counters.delivered, self.counters.spilled, sum(
                self.counters.dropped.values()))

            def time_left() -> float:
                if deadline is None:
                    return 60.0
                return deadline - self.clock.monotonic()

            if self.overflow:
                await offload(self.spill_overflow)
            went = True
            if self.queue:
                went = await self._send_queue(courier, time_left, final=deadline is not None)
            elif deadline is None:
                await self._maybe_drain(courier)
            if deadline is not None and went and self._overflowed and time_left() > 0:
                # a flush (or close) also delivers what a burst spilled on overflow, while
                # the collector takes it and time is left
                await self._drain(courier, time_left)
            after = (self.counters.delivered, self.counters.spilled, sum(
                self.counters.dropped.values()))
            return FlushResult(*(a - b for a, b in zip(after, before, strict=True)))

    async def _send_queue(self, courier: Courier, time_left: Callable[[], float],
                          final: bool) -> bool:
        """Send the memory queue; False if the service refused or failed along the way."""
        gate = await courier.gate()
        if not gate.open:
            if final or not self._within_patience():
                await offload(self.spill_memory)
            return False
        while self.queue and time_left() > 0:
            batch = _take_batch(self.queue, self.settings.batch_size, self.settings.batch_bytes)
            try:
                outcome = await courier.send(batch, time_left)
            except BaseException:
                # cancelled (close gave up waiting) or broken mid-send: the batch is in no
                # queue any more, so keep it on disk before going
                self.spill(batch)
                raise
            self.counters.delivered += len(outcome.delivered)
            self.counters.dead_lettered += len(outcome.dead)
            self.counters.retries += outcome.retries
            if outcome.remaining:
                await offload(self.spill, outcome.remaining)
            if outcome.stopped_by is not None:
                await offload(self.spill_memory)
                return False
        if self.queue and final:
            await offload(self.spill_memory)
        if not final:
            await self._maybe_drain(courier)
        return True

    def _within_patience(self) -> bool:
        """While the service is down, keep a little in memory rather than a file per event."""
        return len(self.queue) < self.settings.batch_size

    async def _maybe_drain(self, courier: Courier) -> None:
        """Deliver the disk cache once the service is healthy again (by ourselves)."""
        now = self.clock.monotonic()
        if not self._backlog and now - self._backlog_checked < _BACKLOG_CHECK_S:
            return
        self._backlog_checked = now
        entries = await offload(self.spool.entries)
        self._backlog = bool(entries)
        if not entries:
            return
        stop_at = self.clock.monotonic() + _DRAIN_SLICE_S
        await self._drain(courier, lambda: stop_at - self.clock.monotonic())

    async def _drain(self, courier: Courier, time_left: Callable[[], float]) -> None:
        gate = await courier.gate()
        if not gate.open:
            return
        result = await courier.drain(time_left)
        self._backlog = result.stopped_by is not None or time_left() <= 0
        self._overflowed = self._overflowed and self._backlog
        self.counters.synced += result.delivered
        self.counters.dead_lettered += result.dead_lettered
        self.counters.retries += result.retries
        if result.delivered:
            _log.debug("delivered %d cached event(s)", result.delivered)

    def _prune(self) -> None:
        prune(self.spool, max_age_days=self.settings.max_age_days,
              max_cache_mb=self.settings.max_cache_mb)

    async def flush(self, timeout: float | None = None) -> FlushResult:
        """Deliver what is queued now; spill what cannot go before ``timeout``. Never raises."""
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        deadline = self.clock.monotonic() + max(limit, 0.0)
        try:
            return await self._cycle(deadline)
        except Exception:  # noqa: BLE001 - flush never raises
            _log.exception("flush failed; spilling what is in memory")
            spilled = await offload(self.spill_memory)
            return FlushResult(spilled=spilled)

    async def aclose(self) -> FlushResult:
        self.stop()
        result = await self.flush(self.settings.shutdown_timeout)
        spilled = await offload(self.spill_memory)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
        return FlushResult(result.delivered, result.spilled + spilled, result.dropped)

    def after_fork_in_child(self) -> None:
        """The parent still owns what was queued before the fork: forget it here."""
        self.queue = deque()
        self.overflow = deque()
        self.notify = _nothing
        self.courier = None
        self._client = None
        self._wakeup = None
        self._lock = None
        self._stopping = False
        self._overflowed = False
        self.counters = Counters()

    def stats(self) -> dict[str, Any]:
        c = self.counters
        snap = self.courier.state.read() if self.courier else None
        breaker = snap.breaker.state(self.clock.monotonic()) if snap else "closed"
        health = snap.health if snap else None
        dropped = dict(c.dropped)
        return {
            "tracked": c.tracked,
            "delivered": c.delivered,
            "spilled": c.spilled,
            "synced": c.synced,
            "dead_lettered": c.dead_lettered,
            "retries": c.retries,
            "queued": len(self.queue) + len(self.overflow),
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "dropped_on_disk": read_drops(self.spool.root),
            "breaker": breaker,
            "health": {"healthy": health.healthy if health else None,
                       "checked_at": health.checked_at if health else None},
        }


def _nothing() -> None:
    return None


def _pop_up_to(items: deque[Event], n: int) -> list[Event]:
    out = []
    popleft = items.popleft
    for _ in range(n):
        try:
            out.append(popleft())
        except IndexError:
            break
    return out


def _take_batch(queue: deque[Event], max_count: int, max_bytes: int) -> list[Event]:
    batch: list[Event] = []
    size = 0
    while queue and len(batch) < max_count:
        item = queue[0]
        if batch and size + len(item[1]) + 1 > max_bytes:
            break
        batch.append(queue.popleft())
        size += len(item[1]) + 1
    return batch

