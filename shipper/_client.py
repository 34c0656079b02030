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

from . import _log
from ._config import Settings, load_settings
from ._courier import Sleep
from ._engine import Engine, FlushResult
from ._event import build_event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock


class _Base:
    _engine: Engine
    settings: Settings

    def _setup(
        self,
        settings: dict[str, Any],
        transport: httpx.AsyncBaseTransport | None,
        clock: Clock | None,
        sleep: Sleep | None,
        rand: Callable[[], float] | None,
    ) -> None:
        self.settings = load_settings(settings)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self._engine = Engine(self.settings, transport=transport, clock=clock, sleep=sleep,
                              **extra)
        self._closed = False
        self._at_exit: Callable[[], object] | None = None
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    def track(
        self,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
    ) -> str | None:
        """Queue one event; return its id, or None if it was dropped. Never raises."""
        try:
            if self.settings.disabled:
                return None
            event_id, raw = build_event(event, properties, context, timestamp)
            if len(raw) > self.settings.max_event_bytes:
                self._engine.counters.drop("too_large")
                _log.warning("event %r dropped: %d bytes is over max_event_bytes (%d)",
                             event if isinstance(event, str) else type(event).__name__,
                             len(raw), self.settings.max_event_bytes)
                return None
            if self._closed:
                self._engine.spill([(event_id, raw)])
                return event_id
            self._started()
            self._engine.put((event_id, raw))
            return event_id
        except Exception:  # noqa: BLE001 - recording must never break the caller
            try:
                self._engine.counters.drop("internal_error")
                _log.exception("track() failed; event dropped")
            except Exception:  # noqa: BLE001, S110 - not even logging may raise here
                pass
            return None

    def _started(self) -> None:
        """Hook for the threaded client to start its thread lazily."""

    def stats(self) -> dict[str, Any]:
        """Counters and state: tracked, delivered, spilled, synced, dropped, breaker, health."""
        try:
            return self._engine.stats()
        except Exception:  # noqa: BLE001 - stats never raise either
            _log.exception("stats() failed")
            return {}

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

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
        **settings: Any,
    ) -> None:
        self._setup(settings, transport, clock, sleep, rand)
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
        try:
            result = await self._engine.aclose()
        except Exception:  # noqa: BLE001 - closing never raises
            _log.exception("aclose() failed")
            result = FlushResult(spilled=self._engine.spill_memory())
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001, S110 - reported already
                pass
        return result


class Shipper(_Base):
    """Threaded client: ``with Shipper(endpoint=...) as s: s.track("x")``."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
        **settings: Any,
    ) -> None:
        self._setup(settings, transport, clock, sleep, rand)
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
            loop.create_task(self._engine.run(ready.set), name="shipper")
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:  # noqa: BLE001 - reported; memory spills at close
            _log.exception("delivery thread stopped")
        finally:
            ready.set()
            loop.close()

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

    def flush(self, timeout: float | None = None) -> FlushResult:
        """Deliver what is queued, or spill it to disk; never raises."""
        if self.settings.disabled or self._closed:
            return FlushResult()
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        try:
            return self._call(lambda: self._engine.flush(limit), limit + 1.0)
        except Exception:  # noqa: BLE001 - flush never raises
            _log.exception("flush() failed")
            return FlushResult()

    def close(self) -> FlushResult:
        """Flush within ``shutdown_timeout``, spill the rest, stop the thread. Idempotent."""
        with self._start_lock:
            if self._closed:
                return FlushResult()
            self._closed = True
        if self.settings.disabled:
            return FlushResult()
        try:
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
        except Exception:  # noqa: BLE001 - closing never raises
            _log.exception("close() failed")
            return FlushResult(spilled=self._engine.spill_memory())

    def _forked(self) -> None:
        super()._forked()
        self._loop = None
        self._thread = None
        self._start_lock = threading.Lock()
