"""The two clients: `AsyncShipper` (asyncio) and `Shipper` (a background thread).

Both wrap one `Engine`. ``track`` is the same plain method on both: build the event once,
check its size, append it to the engine's deque. It never raises and never waits.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from ._config import Settings, load_settings
from ._courier import Sleep
from ._engine import Engine, FlushResult
from ._event import make_event
from ._guard import never_raises, never_raises_async

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock


class _Base:
    """What both clients share: settings, the engine, ``track`` and ``stats``.

    ``transport``, ``clock``, ``sleep`` and ``rand`` are for tests: an httpx transport (a
    ``MockTransport``, say), a clock with ``time()`` and ``monotonic()``, an async sleep and
    the jitter's random source. Everything else is a setting (see `Settings`).
    """

    _engine: Engine
    settings: Settings

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
        **settings: Any,
    ) -> None:
        self.settings = load_settings(settings)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self._engine = Engine(self.settings, transport=transport, clock=clock, sleep=sleep,
                              **extra)
        self._closed = False
        self._at_exit: Callable[[], object] | None = None
        self._init_worker()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    def _init_worker(self) -> None:
        """Set up what runs delivery (a task or a thread) before it is started."""

    @never_raises("track()", None, recover=lambda self, *a, **k: self._lost_to_a_bug())
    def track(
        self,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
    ) -> str | None:
        """Queue one event; return its id, or None if it was dropped. Never raises."""
        if self.settings.disabled:
            return None
        made = make_event(event, properties, context, timestamp,
                          max_bytes=self.settings.event_limit, user_id=self.settings.user_id,
                          encode=self._engine.encode)
        if made is None:
            self._engine.counters.drop("too_large")
            return None
        if self._closed:
            self._engine.spill([made])
            return made[0]
        self._started()
        self._engine.put(made)
        return made[0]

    def _lost_to_a_bug(self) -> None:
        self._engine.counters.drop("internal_error")

    def _started(self) -> None:
        """Hook for the threaded client to start its thread lazily."""

    @never_raises("stats()", None, recover=lambda self: {})
    def stats(self) -> dict[str, Any]:
        """Counters and state: tracked, delivered, spilled, synced, dropped, breaker, health."""
        return self._engine.stats()

    def _spill_all(self) -> FlushResult:
        return FlushResult(spilled=self._engine.spill_memory())

    def _forked(self) -> None:
        self._engine.after_fork_in_child()


def _after_fork(ref: weakref.ref[_Base]) -> None:
    client = ref()
    if client is not None:
        client._forked()


def _at_shutdown(client: Shipper) -> None:
    """Close ``client`` when the interpreter exits, before it stops accepting new threads.

    ``threading._register_atexit`` runs before non-daemon threads are joined and before the
    thread pools shut down (concurrent.futures uses it for the same reason); where it is
    missing, plain atexit still spills to disk.
    """
    ref = weakref.ref(client)

    def close() -> None:
        target = ref()
        if target is not None:
            target.close()

    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(close)
            return
        except RuntimeError:  # already shutting down
            pass
    atexit.register(close)


class AsyncShipper(_Base):
    """asyncio client: ``async with AsyncShipper(endpoint=...) as s: s.track("x")``."""

    def _init_worker(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the background delivery task on the running loop (``async with`` does it)."""
        if self._task is None and not self._closed and not self.settings.disabled:
            ready = asyncio.Event()
            self._task = asyncio.create_task(self._engine.run(ready.set), name="shipper")
            await ready.wait()
            self._at_exit = self._engine.spill_memory_quietly
            atexit.register(self._engine.spill_memory_quietly)

    async def __aenter__(self) -> AsyncShipper:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def flush(self, timeout: float | None = None) -> FlushResult:
        """Deliver what is queued, or spill it to disk; never raises."""
        if self.settings.disabled or self._closed:
            return FlushResult()
        return await self._engine.flush(timeout)

    async def aclose(self) -> FlushResult:
        """Flush within ``shutdown_timeout``, spill the rest, stop. Idempotent."""
        if self._closed:
            return FlushResult()
        self._closed = True
        if self._at_exit is not None:
            atexit.unregister(self._at_exit)
        if self.settings.disabled:
            return FlushResult()
        result = await self._close_engine()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001, S110 - reported already
                pass
        return result

    @never_raises_async("aclose()", FlushResult(), recover=lambda self: self._spill_all())
    async def _close_engine(self) -> FlushResult:
        return await self._engine.aclose()


class Shipper(_Base):
    """Threaded client: ``with Shipper(endpoint=...) as s: s.track("x")``."""

    def _init_worker(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _started(self) -> None:
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(target=self._run, args=(loop, ready), name="shipper",
                                      daemon=True)
            self._loop = loop
            self._thread = thread
            thread.start()
            ready.wait()
            _at_shutdown(self)

    def _run(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        """The thread: an event loop running the engine's worker until close stops it."""
        asyncio.set_event_loop(loop)
        try:
            self._run_loop(loop, ready)
        finally:
            ready.set()
            loop.close()

    @never_raises("the delivery thread", None)  # what is in memory spills at close
    def _run_loop(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        loop.create_task(self._engine.run(ready.set), name="shipper")
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())

    def __enter__(self) -> Shipper:
        if not self.settings.disabled:
            self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, make: Callable[[], Any], timeout: float) -> FlushResult:
        loop = self._loop
        if loop is None or loop.is_closed() or self._thread is None:
            return FlushResult(spilled=self._engine.spill_memory())
        try:
            future = asyncio.run_coroutine_threadsafe(make(), loop)
        except RuntimeError:  # the loop has stopped
            return FlushResult(spilled=self._engine.spill_memory())
        try:
            result: FlushResult = future.result(timeout)
            return result
        except concurrent.futures.TimeoutError:
            future.cancel()
            return FlushResult(spilled=self._engine.spill_memory())

    @never_raises("flush()", FlushResult())
    def flush(self, timeout: float | None = None) -> FlushResult:
        """Deliver what is queued, or spill it to disk; never raises."""
        if self.settings.disabled or self._closed:
            return FlushResult()
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        return self._call(lambda: self._engine.flush(limit), limit + 1.0)

    def close(self) -> FlushResult:
        """Flush within ``shutdown_timeout``, spill the rest, stop the thread. Idempotent."""
        with self._start_lock:
            if self._closed:
                return FlushResult()
            self._closed = True
        if self.settings.disabled:
            return FlushResult()
        return self._close_engine()

    @never_raises("close()", FlushResult(), recover=lambda self: self._spill_all())
    def _close_engine(self) -> FlushResult:
        result = self._call(self._engine.aclose, self.settings.shutdown_timeout + 1.0)
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # already closed
                pass
            thread.join(1.0)
        # whatever a late track() added while we closed
        spilled = self._engine.spill_memory()
        return FlushResult(result.delivered, result.spilled + spilled, result.dropped)

    def _forked(self) -> None:
        super()._forked()
        self._init_worker()  # the parent's thread and loop do not exist here
