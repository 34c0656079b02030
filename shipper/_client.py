"""The two clients: `AsyncShipper` (asyncio) and `Shipper` (a background thread).

Both wrap one `Engine`. ``track`` is the same plain method on both: build the event once,
check its size, append it to the engine's deque. It never raises and never waits: not on
the network, not on the delivery thread's start, not on a lock delivery holds.

Where no worker can deliver (the client is closed, a thread cannot be started because the
process is out of threads or the interpreter is exiting), ``track`` writes the event to the
disk cache itself and starts a detached sync, as ``shipper.track`` does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Literal

import httpx

from . import _log
from ._config import Settings, load_settings
from ._courier import Sleep
from ._deliver import Event
from ._engine import Engine, FlushResult
from ._event import (
    ALIAS,
    FILTERED,
    GROUP,
    GROUP_ID,
    GROUP_TYPE,
    IDENTIFY,
    PREVIOUS_ID,
    TRAITS,
    capture_sinks,
    captured,
    default_context,
    id_text,
    make_event,
)
from ._exit import (
    close_at_exit,
    release_sigterm,
    restart_after_fork,
    spill_on_sigterm,
    start_without_sigterm,
)
from ._guard import never_raises, never_raises_async
from ._kinds import CONSOLE
from ._reasons import INTERNAL_ERROR, INVALID
from ._transport import preload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock

_RETRY_START_S = 5.0  # after a failed thread start, the next try waits this long

# A client's life, one phase at a time: its worker (a task, or a thread and its loop) exists
# only while it is running.
Phase = Literal["new", "starting", "running", "closed"]
NEW: Final = "new"
STARTING: Final = "starting"
RUNNING: Final = "running"
CLOSED: Final = "closed"
if TYPE_CHECKING:
    from ._config import Settings

    #: what starts a detached sync for events written to disk directly (see `_Base`)
    StartSync = Callable[[Settings, str, dict[str, Any]], object]


def _kind_of(value: object) -> str:
    """How a warning names a value given where an id was expected: its type, or empty."""
    kind = type(value)
    return "an empty string" if kind is str else kind.__name__


def _detached_sync(settings: Settings, home: str, overrides: dict[str, Any]) -> None:
    from ._oneshot import start_background_sync

    start_background_sync(settings, home, overrides)


class _Base:
    """What both clients share: settings, the engine, ``track`` and ``stats``.

    ``before_send`` is given each event (a dict) as it is recorded and returns it, changed
    or not, or None to drop it; if it raises, the event is dropped and counted.
    ``transport``, ``clock``, ``sleep``, ``rand`` and ``start_sync`` are for tests: an httpx
    transport (a ``MockTransport``, say), a clock with ``time()`` and ``monotonic()``, an
    async sleep, the jitter's random source, and what starts a detached ``shipper sync``
    for events written to disk directly (``start_sync(settings, folder, overrides)``).
    Everything else is a setting (see `Settings`).
    """

    _engine: Engine
    settings: Settings

    def __init__(
        self,
        *,
        before_send: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
        start_sync: StartSync | None = None,
        **settings: Any,
    ) -> None:
        self.settings = load_settings(settings)
        self._event_limit = self.settings.event_limit
        self._before_send = before_send
        self._defaults = default_context(app_name=self.settings.app_name,
                                         app_version=self.settings.app_version,
                                         include_host=self.settings.include_host)
        self._debug = self.settings.debug
        if self._debug:
            _log.show_debug_on_stderr()
        self._overrides = {k: v for k, v in settings.items() if v is not None}
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self._engine = Engine(self.settings, transport=transport, clock=clock, sleep=sleep,
                              **extra)
        self._start_sync: StartSync = start_sync or _detached_sync
        self._exit_registered = False
        self._phase: Phase = NEW
        self._init_worker()
        restart_after_fork(self)
        if not self.settings.disabled:
            spill_on_sigterm(self._engine)

    def _init_worker(self) -> None:
        """No worker yet: what runs delivery (a task, or a thread) starts later."""

    @never_raises("track()", None, recover=lambda self, *a, **k: self._lost_to_a_bug(),
                  surface=True)
    def track(
        self,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        user_id: Any = None,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
    ) -> str | None:
        """Queue one event; return its id, or None if it was dropped. Never raises.

        ``user_id`` is who did it: it overrides the ``user_id`` setting (and a ``user_id``
        in ``context``) for this event."""
        user = None
        if user_id is not None:
            user = id_text(user_id)
            if user is None:
                return self._invalid("track()", "user_id", user_id)
        return self._record(event, properties, user, context, timestamp)

    @never_raises("identify()", None, recover=lambda self, *a, **k: self._lost_to_a_bug(),
                  surface=True)
    def identify(
        self,
        user_id: Any,
        traits: dict[str, Any] | None = None,
        *,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
    ) -> str | None:
        """Say who a user is: their ``traits`` (name, email, plan...). Recorded like
        `track`, as the event ``$identify``, and sent as the destination's own identify
        call. Returns its id, or None if it was dropped. Never raises."""
        user = id_text(user_id)
        if user is None:
            return self._invalid("identify()", "user_id", user_id)
        if not self._traits_ok("identify()", traits):
            return None
        return self._record(IDENTIFY, {TRAITS: traits or {}}, user, context, timestamp)

    @never_raises("group()", None, recover=lambda self, *a, **k: self._lost_to_a_bug(),
                  surface=True)
    def group(
        self,
        group_id: Any,
        traits: dict[str, Any] | None = None,
        *,
        user_id: Any = None,
        group_type: str | None = None,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
    ) -> str | None:
        """Put a user (``user_id``, else the ``user_id`` setting, else the anonymous id) in
        the group ``group_id`` (a company, a team) and say what it is (``traits``).
        ``group_type`` is PostHog's (default ``company``). Recorded as the event
        ``$group``. Returns its id, or None if it was dropped. Never raises."""
        group = id_text(group_id)
        if group is None:
            return self._invalid("group()", "group_id", group_id)
        user = None
        if user_id is not None:
            user = id_text(user_id)
            if user is None:
                return self._invalid("group()", "user_id", user_id)
        kind = None
        if group_type is not None:
            kind = id_text(group_type)
            if kind is None:
                return self._invalid("group()", "group_type", group_type)
        if not self._traits_ok("group()", traits):
            return None
        props: dict[str, Any] = {GROUP_ID: group, TRAITS: traits or {}}
        if kind is not None:
            props[GROUP_TYPE] = kind
        return self._record(GROUP, props, user, context, timestamp)

    @never_raises("alias()", None, recover=lambda self, *a, **k: self._lost_to_a_bug(),
                  surface=True)
    def alias(
        self,
        user_id: Any,
        previous_id: Any,
        *,
        context: dict[str, Any] | None = None,
        timestamp: Any = None,
    ) -> str | None:
        """Say that ``previous_id`` (an anonymous id, an old user id) and ``user_id`` are
        the same user. Recorded as the event ``$alias``. Returns its id, or None if it
        was dropped. Never raises."""
        user = id_text(user_id)
        if user is None:
            return self._invalid("alias()", "user_id", user_id)
        previous = id_text(previous_id)
        if previous is None:
            return self._invalid("alias()", "previous_id", previous_id)
        return self._record(ALIAS, {PREVIOUS_ID: previous}, user, context, timestamp)

    def _invalid(self, call: str, name: str, value: object) -> str | None:
        """A call dropped for an id that is no id: counted, the first one said; None."""
        self._engine.counters.drop(INVALID, persist=not capture_sinks)
        _log.warning("%s dropped: %s must be a non-empty string or a number, not %s", call,
                     name, _kind_of(value), first_of=INVALID)
        return None

    def _traits_ok(self, call: str, traits: object) -> bool:
        if traits is None or isinstance(traits, dict):
            return True
        self._engine.counters.drop(INVALID, persist=not capture_sinks)
        _log.warning("%s dropped: traits must be a dict, not %s", call, _kind_of(traits),
                     first_of=INVALID)
        return False

    def _record(self, event: str, properties: Any, user: str | None, context: Any,
                timestamp: Any) -> str | None:
        """What every call records: the event made, then queued (or captured)."""
        if self.settings.disabled:
            return None
        made = make_event(event, properties, context, timestamp,
                          max_bytes=self._event_limit, user_id=self.settings.user_id,
                          user=user, base_properties=self.settings.properties,
                          encode=self._engine.encode, defaults=self._defaults,
                          before_send=self._before_send, first_seen=True)
        if isinstance(made, str):
            if made != FILTERED:  # dropped by before_send is the caller's choice, not a loss
                self._engine.counters.drop(made, persist=not capture_sinks)
            return None
        if self._debug:
            _log.debug("recorded %s", made[1].decode("utf-8", "replace"))
        if capture_sinks:  # a test's shipper.testing.capture(): the event goes there only
            captured(self.settings, made[1])
        elif self._phase == CLOSED or not self._worker_ready():
            self._record_directly(made)
        else:
            self._engine.put(made)
        return made[0]

    def _record_directly(self, made: Event) -> None:
        """No worker will deliver this event: write it to disk now and start a detached
        sync (as ``shipper.track`` does), so it is delivered all the same."""
        if (self._engine.spill([made]) and self.settings.destination_identity
                and self.settings.destination != CONSOLE):  # a detached sync prints to nobody
            self._start_sync(self.settings, str(self._engine.spool.home), self._overrides)

    def _worker_ready(self) -> bool:
        """Whether a worker takes queued events (starting it if need be)."""
        return True

    def _lost_to_a_bug(self) -> None:
        self._engine.counters.drop(INTERNAL_ERROR, persist=True)

    @never_raises("stats()", None, recover=lambda self: {})
    def stats(self) -> dict[str, Any]:
        """Counters and state: tracked, delivered, spilled, synced, dropped, breaker, health."""
        return self._engine.stats()

    def _spill_all(self) -> FlushResult:
        return FlushResult(spilled=self._engine.spill_memory())

    def _forked(self) -> None:
        """In a forked child: the parent's queue, and its thread or task and loop, are the
        parent's; this copy starts afresh (and takes SIGTERM over again when it starts)."""
        self._engine.after_fork_in_child()
        if self._phase != CLOSED:
            self._phase = NEW
        self._init_worker()


class AsyncShipper(_Base):
    """asyncio client: ``async with AsyncShipper(endpoint=...) as s: s.track("x")``.

    ``track`` called inside a running event loop before ``start`` starts the delivery task
    on that loop; called with no loop running, the events wait in memory for ``start``, or
    are spilled to disk when the interpreter exits.
    """

    def _init_worker(self) -> None:
        self._task: asyncio.Task[None] | None = None  # while running

    def _worker_ready(self) -> bool:
        if self._phase == NEW:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no loop here: keep the events for start() or exit
                self._spill_at_exit()
                return True
            self._start_task()
        return True

    def _start_task(self) -> None:
        # inside a test's capture() nothing is delivered: no task, no disk, no network
        if self._phase == NEW and not self.settings.disabled and not capture_sinks:
            self._task = asyncio.get_running_loop().create_task(self._engine.run(),
                                                                name="shipper")
            self._phase = RUNNING
            spill_on_sigterm(self._engine)  # again: a forked child's SIGTERM starts unset
            self._spill_at_exit()

    def _spill_at_exit(self) -> None:
        """What is still in memory when this client is garbage-collected unclosed (a
        coroutine that made it returned), or when the interpreter exits, goes to disk."""
        if not self._exit_registered:
            self._exit_registered = True
            weakref.finalize(self, self._engine.spill_memory_quietly)

    async def start(self) -> None:
        """Start the background delivery task on the running loop (``async with`` does it)."""
        self._start_task()
        await asyncio.sleep(0)  # let the worker take up what was queued before

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
        if self.settings.disabled or self._phase == CLOSED or self._idle():
            return FlushResult()
        return await self._engine.flush(timeout)

    def _idle(self) -> bool:
        """No worker ever ran and nothing waits in memory (a client used only inside a
        test's capture(), say): nothing to deliver, so no delivery to set up (no disk, no
        network)."""
        return self._task is None and not self._engine.holds_events

    async def aclose(self) -> FlushResult:
        """Flush within ``shutdown_timeout``, spill the rest, stop. Idempotent."""
        if self._phase == CLOSED:
            return FlushResult()
        self._phase = CLOSED
        if self.settings.disabled:
            return FlushResult()
        if self._idle():
            release_sigterm(self._engine)
            return FlushResult()
        result = await self._close_engine()
        release_sigterm(self._engine)
        if self._task is not None:  # it ran
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
    """Threaded client: ``with Shipper(endpoint=...) as s: s.track("x")``.

    The delivery thread starts with the first ``track`` (or ``with``), without the caller
    waiting for it. A signal handler may call ``track`` or ``close`` while the main thread
    is inside either: the start is guarded by a re-entrant lock and a flag, not a plain
    lock.
    """

    def _init_worker(self) -> None:
        self._engine.gives_way = True  # a thread of its own: it stands aside for the caller
        if not self.settings.disabled and self.settings.destination_identity is not None:
            preload(self.settings)  # here, not on the delivery thread while track() runs
        self._loop: asyncio.AbstractEventLoop | None = None  # while running
        self._thread: threading.Thread | None = None  # while running
        self._start_lock = threading.RLock()
        self._retry_at = 0.0  # monotonic: a failed start is not tried again before this

    def _worker_ready(self) -> bool:
        if self._phase == NEW:
            self._start()
        return self._phase == RUNNING

    def _start(self) -> None:
        with self._start_lock:
            if self._phase != NEW or time.monotonic() < self._retry_at:
                return
            self._phase = STARTING
        self._phase = RUNNING if self._start_thread() else NEW

    def _start_thread(self) -> bool:
        """Start the delivery thread; False (and no retry before `_RETRY_START_S`) where
        none can start now."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run, args=(loop,), name="shipper", daemon=True)
        if not self._exit_registered:
            if not close_at_exit(self.close, self):  # exiting: no thread may start
                loop.close()
                self._retry_at = time.monotonic() + _RETRY_START_S
                return False
            self._exit_registered = True
        try:
            start_without_sigterm(thread)
        except RuntimeError as exc:  # out of threads, or the interpreter is exiting
            loop.close()
            self._retry_at = time.monotonic() + _RETRY_START_S
            _log.warning("cannot start shipper's delivery thread (%s); events go to disk "
                         "and a detached sync delivers them", exc)
            return False
        self._loop, self._thread = loop, thread
        spill_on_sigterm(self._engine)  # again: a forked child's SIGTERM starts unset
        return True

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        """The thread: an event loop running the engine's worker until close stops it."""
        asyncio.set_event_loop(loop)
        try:
            self._run_loop(loop)
        finally:
            loop.close()

    @never_raises("the delivery thread", None)  # what is in memory spills at close
    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.create_task(self._engine.run(), name="shipper")
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())

    def __enter__(self) -> Shipper:
        # inside a test's capture() nothing is delivered: no thread, no disk, no network
        if not self.settings.disabled and not capture_sinks:
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
        if self.settings.disabled or self._phase == CLOSED:
            return FlushResult()
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        return self._call(lambda: self._engine.flush(limit), limit + 1.0)

    def close(self) -> FlushResult:
        """Flush within ``shutdown_timeout``, spill the rest, stop the thread. Idempotent."""
        with self._start_lock:
            if self._phase == CLOSED:
                return FlushResult()
            self._phase = CLOSED
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
        if thread is not None and thread.is_alive():  # stuck: what it holds is kept too
            spilled += self._engine.spill_held()
        release_sigterm(self._engine)
        return FlushResult(result.delivered, result.spilled + spilled, result.dropped)
