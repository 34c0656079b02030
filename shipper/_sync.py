"""``shipper.sync()``: deliver the disk cache now, blocking. Also the background sync."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from . import _log
from ._aio import offload, run_here
from ._cache._files import try_lock
from ._cache._identity import anonymous_id
from ._cache._layout import SYNC_LOCK
from ._cache._prune import prune
from ._cache._spool import ResourceShortage, Spool, all_spools, elsewhere
from ._clock import Deadline, SystemClock
from ._config import Settings, load_settings
from ._courier import Courier, Sleep
from ._destinations._select import destination_for
from ._guard import never_raises
from ._transport import make_client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock

_LOCK_POLL_S = 0.05
_MAX_LOCK_WAIT_S = 30.0
_LINGER_POLL_S = 0.2


@dataclass
class SyncResult:
    """What a sync did, and what is left."""

    delivered: int = 0
    dead_lettered: int = 0
    pruned: int = 0
    pending_events: int = 0
    healthy: bool | None = None
    stopped_by: str | None = None
    error: str | None = None
    seconds: float = 0.0
    #: events that wait for destinations other than the configured one (which this sync
    #: does not send), and those destinations' folder names (`shipper requeue --from`)
    other_destination_events: int = 0
    other_destinations: list[str] = field(default_factory=list)
    #: pending events a sync running at the same time delivered, and dead-lettered,
    #: while this one waited for it
    by_other_sync: int = 0
    dead_lettered_by_other_sync: int = 0
    #: cache files whose delivery failed on a fault of shipper's own (left for later, and
    #: after a few failures moved to quarantine): a sync with any is not ok
    failed_files: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.pending_events == 0 and not self.failed_files

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def sync(
    timeout: float | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    **settings: Any,
) -> SyncResult:
    """Deliver the disk cache now. Never raises for a service fault; see `SyncResult`."""
    started = time.monotonic()
    try:
        resolved = load_settings(settings)
    except Exception as exc:  # noqa: BLE001 - reported in the result
        return SyncResult(error=str(exc))
    result = _sync(resolved, timeout, progress=progress, transport=transport,
                   clock=clock or SystemClock(), sleep=sleep or asyncio.sleep)
    result.seconds = time.monotonic() - started
    return result


def _failed(settings: Settings, *_args: object, **_kwargs: object) -> SyncResult:
    """What a sync that failed inside (a bug of ours, logged with its traceback) reports:
    the failure, and what is still pending, counted afresh."""
    import sys

    failure = sys.exc_info()[1]  # `never_raises` calls this while handling the failure
    what = f" ({type(failure).__name__})" if failure is not None else ""
    result = SyncResult(error=f"sync failed{what}: an internal error, logged with its "
                              "traceback on the shipper logger")
    try:
        result.pending_events = Spool.for_settings(settings).pending_events()
    except Exception:  # noqa: BLE001, S110 - the count is a courtesy; the error stands
        pass
    return result


@never_raises("sync", SyncResult(), recover=_failed)
def _sync(settings: Settings, timeout: float | None, *,
          progress: Callable[[int, int], None] | None,
          transport: httpx.AsyncBaseTransport | None, clock: Clock, sleep: Sleep) -> SyncResult:
    deadline = Deadline.never(clock) if timeout is None else Deadline.after(clock, timeout)
    return asyncio.run(_run(settings, deadline, progress=progress, transport=transport,
                            clock=clock, sleep=sleep, force=True, lock_fd=None, linger=0.0))


@never_raises("background sync", SyncResult())  # detached: the cache keeps everything
def background_sync(lock_fd: int | None, linger: float = 2.0) -> SyncResult:
    """The detached sync a hook starts: respects the shared health state, then lingers."""
    settings = load_settings()
    spool = Spool.for_settings(settings)
    clock = SystemClock()
    for _ in range(3):
        result = asyncio.run(_run(settings, Deadline.never(clock), progress=None,
                                  transport=None, clock=clock, sleep=asyncio.sleep,
                                  force=False, lock_fd=lock_fd, linger=linger))
        # an event written just as we let the lock go would wait for the next hook: look again
        if result.stopped_by is not None or not spool.entries():
            return result
        lock_fd = try_lock(spool.home / SYNC_LOCK)
        if lock_fd is None:
            return result  # another sync took over
    return result


async def _acquire(spool: Spool, deadline: Deadline, result: SyncResult) -> int | None:
    """The sync lock, waiting up to `_MAX_LOCK_WAIT_S` within ``deadline`` while another
    sync holds it and events are pending: None if it stayed busy, or once nothing is pending
    (a background sync lingers a while after its work: no need to wait for it). We go on
    regardless: per-file locks keep two syncs from sending one file. What the other sync
    delivered and dead-lettered meanwhile goes into ``result``."""
    patience = deadline.within(_MAX_LOCK_WAIT_S)
    fd = try_lock(spool.home / SYNC_LOCK)
    if fd is not None:
        return fd
    waiting = first = await offload(spool.pending_events)
    dead_before = spool.folder_count(spool.dead)[1]
    while waiting and not patience.expired:
        await asyncio.sleep(_LOCK_POLL_S)
        fd = try_lock(spool.home / SYNC_LOCK)
        if fd is not None:
            break
        waiting = await offload(spool.pending_events)
    settled = max(0, first - await offload(spool.pending_events))
    dead = min(settled, max(0, spool.folder_count(spool.dead)[1] - dead_before))
    result.by_other_sync, result.dead_lettered_by_other_sync = settled - dead, dead
    return fd


async def _run(
    settings: Settings,
    deadline: Deadline,
    *,
    progress: Callable[[int, int], None] | None,
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
    sleep: Sleep,
    force: bool,
    lock_fd: int | None,
    linger: float,
) -> SyncResult:
    spool = Spool.for_settings(settings)
    result = SyncResult()
    if settings.disabled:
        result.error = "shipper is disabled (disabled=true or DO_NOT_TRACK=1)"
        return result
    try:
        spool.ensure()
    except OSError as exc:
        result.error = f"cache folder {spool.root} is unusable: {exc.strerror or exc}"
        return result
    if lock_fd is None:
        lock_fd = await _acquire(spool, deadline, result)
    # files whose writers died before renaming them into place: back where they were going
    await offload(spool.clean_tmp)
    try:
        if settings.destination_identity is None:  # the console needs no endpoint
            result.error = "no endpoint is set (SHIPPER_ENDPOINT or endpoint in config.toml)"
            return result
        destination = destination_for(settings, await offload(anonymous_id, spool.root))
        async with make_client(settings, destination, transport) as client:
            # the sync's loop is its own: no hops to a pool
            courier = Courier(settings, destination, spool, client, clock=clock, sleep=sleep,
                              offload=run_here)
            await _deliver_all(courier, result, deadline, progress, force=force)
            idle_until = clock.monotonic() + linger
            while result.stopped_by is None and clock.monotonic() < idle_until:
                await asyncio.sleep(_LINGER_POLL_S)
                if spool.entries():
                    await _deliver_all(courier, result, deadline, progress, force=False)
                    idle_until = clock.monotonic() + linger
    finally:
        # deliver first, then apply the limits to what is still here
        try:
            pruned = await offload(prune, all_spools(spool.root),
                                   max_age_days=settings.max_age_days,
                                   max_cache_mb=settings.max_cache_mb)
            result.pruned = pruned.events
        except OSError as exc:
            _log.warning("cannot apply the cache limits now: %s", exc.strerror)
        if lock_fd is not None:
            os.close(lock_fd)
        try:
            result.pending_events = spool.pending_events()
        except ResourceShortage as exc:
            result.error = f"cannot read the disk cache now: {exc.strerror}"
        for other, pending, dead in elsewhere(spool.root, spool.key):
            result.other_destination_events += pending + dead
            result.other_destinations.append(str(other.key))
    return result


async def _deliver_all(
    courier: Courier,
    result: SyncResult,
    deadline: Deadline,
    progress: Callable[[int, int], None] | None,
    *,
    force: bool,
) -> None:
    try:
        total = await offload(courier.spool.pending_events)
    except ResourceShortage as exc:
        result.stopped_by = f"cannot read the disk cache now: {exc.strerror}"
        return
    if total == 0:
        return
    gate = await courier.gate(force=force)
    while (force and not gate.open and gate.until is not None
           and gate.until <= deadline.at):  # asked, a sync waits out the collector's pause
        await courier.sleep(max(0.0, gate.until - courier.clock.monotonic()))
        gate = await courier.gate(force=force)
    result.healthy = gate.open if gate.probed else result.healthy
    if not gate.open:
        result.stopped_by = gate.why or "service unavailable"
        return
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    drained = await courier.drain(deadline, progress=step)
    result.delivered += drained.delivered
    result.dead_lettered += drained.dead_lettered
    result.failed_files += drained.failed_files
    result.stopped_by = drained.stopped_by
    if drained.stopped_by is None and deadline.expired:
        result.stopped_by = "timeout"
