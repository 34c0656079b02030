"""Health and breaker state shared by every process that uses one cache folder.

It lives in ``state.json`` beside the cache, replaced atomically under ``state.lock``, so that
dozens of short-lived hooks, a sync and a long-running service agree on whether the collector
is up: during an outage the collector sees about one probe per ``health_ttl`` in all.

Times are named for their clock, here and in the file: ``*_mono`` is the monotonic clock,
which every process on one machine shares and which all durations use; ``*_wall`` is seconds
since the epoch, shown to people and never used to measure anything. The boot id tells a
file written before a reboot, whose monotonic times mean nothing now.

`read_state` and `state_document` are the one reader and the one writer of the format::

    {"version": 1, "boot": "<boot id>",
     "health": {"healthy": true, "checked_mono": 1234.5, "checked_wall": 1790000000.0,
                "detail": "HTTP 200", "ttl": 21.7},
     "breaker": {"failures": 3, "opened_mono": 1234.5, "cooldown": 47.3, "reason": "..."},
     "pause": {"until_mono": 1240.2, "reason": "HTTP 429"},
     "slowdown": {"rate": 2.5, "since_mono": 1238.0}}

Every random choice is made once, by the process that records the change, and kept here, so
that every process of the machine acts on the same one: the breaker's cooldown (drawn by
decorrelated jitter, see `shipper._breaker`), the health result's lifetime (``ttl``, within
``health_ttl``), the end of a pause a collector asked for with Retry-After (``pause``: no
process of the machine sends before it), and the pace set after the collector showed strain
(``slowdown``, see `shipper._pace`). The transitions (`after_probe`, `after_failure`,
`after_success`, `after_strain`) are pure functions of a `Snapshot`; `SharedState` applies
them to the file, and bench/fleet.py to a hundred thousand simulated machines.

Whatever is read back is validated: a part that is missing, of the wrong type, or holds a
number that is not finite or out of range reads as unknown (no health, a closed breaker, no
pause), so a damaged or hostile file can neither wedge the breaker open nor crash a reader.

The records themselves (`Snapshot` and its parts) are in `shipper._health`, which the gate
and the pause hint read without this module.
"""

from __future__ import annotations

import os
import random

from .. import _log
from .._backoff import LONGEST_PAUSE_S, after_retry_after, jittered_lifetime
from .._breaker import MAX_COOLDOWN_S, Breaker
from .._health import Health, Pause, Slowdown, Snapshot
from .._json import loads
from .._pace import FREE_RATE, MIN_RATE, Pace
from ._files import Locked, boot_id, make_private_dir, write_json
from ._layout import PROBE_LOCK, STATE_FILE, STATE_LOCK, join
from ._pause import write_pause

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._clock import Clock

STATE_VERSION = 1
_MAX_DETAIL = 200
_MAX_REASON = 500
_MAX_FAILURES = 1_000_000
_SUCCESS_REFRESH_S = 5.0  # a success rewrites a healthy result older than this, no sooner


# -- the format ---------------------------------------------------------------------------


_MAX_WALL = 253_402_300_799.0  # the last second of year 9999: what people can be shown
_MAX_MONO = 1e12  # seconds since boot: thirty thousand years


def _finite(value: object, top: float = _MAX_MONO) -> float | None:
    """A number in [0, top), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer past the float range
        return None
    return number if 0.0 <= number < top else None


def _health_of(raw: object) -> Health | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("healthy"), bool):
        return None
    mono = _finite(raw.get("checked_mono"))
    wall = _finite(raw.get("checked_wall", raw.get("checked_at")), _MAX_WALL)  # checked_at: 0.1
    if mono is None or wall is None:
        return None
    detail = raw.get("detail")
    ttl = raw.get("ttl")
    lifetime = None if ttl is None else _finite(ttl)
    if ttl is not None and lifetime is None:
        return None
    return Health(raw["healthy"], mono, wall,
                  detail[:_MAX_DETAIL] if isinstance(detail, str) else "", lifetime)


def _breaker_of(raw: object) -> Breaker:
    if not isinstance(raw, dict):
        return Breaker()
    failures = raw.get("failures", 0)
    if isinstance(failures, bool) or not isinstance(failures, int):
        return Breaker()
    opened = raw.get("opened_mono")
    opened_mono = None if opened is None else _finite(opened)
    cooldown = _finite(raw.get("cooldown", 0.0))
    if (opened is not None and opened_mono is None) or cooldown is None:
        return Breaker()
    if not (0 <= failures <= _MAX_FAILURES and 0.0 <= cooldown <= MAX_COOLDOWN_S):
        return Breaker()
    reason = raw.get("reason")
    return Breaker(failures, opened_mono, cooldown,
                   reason[:_MAX_REASON] if isinstance(reason, str) else "")


def _pause_of(raw: object) -> Pause | None:
    if not isinstance(raw, dict):
        return None
    until = _finite(raw.get("until_mono"))
    if until is None:
        return None
    reason = raw.get("reason")
    return Pause(until, reason[:_MAX_DETAIL] if isinstance(reason, str) else "")


def _slowdown_of(raw: object) -> Slowdown | None:
    if not isinstance(raw, dict):
        return None
    rate = _finite(raw.get("rate"), FREE_RATE)
    since = _finite(raw.get("since_mono"))
    if rate is None or since is None or rate < MIN_RATE:
        return None
    return Slowdown(rate, since)


def _parsed(data: bytes) -> dict[str, Any]:
    """state.json's bytes as a JSON object; empty if missing or damaged (as `read_json`)."""
    try:
        doc = loads(data) if data else {}
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def read_state(data: dict[str, Any], boot: str) -> Snapshot:
    """The one reader: a validated `Snapshot` from a parsed state.json (see the module doc)."""
    if data.get("boot", boot) != boot:
        return Snapshot()  # written before a reboot: its monotonic times mean nothing now
    return Snapshot(_health_of(data.get("health")), _breaker_of(data.get("breaker")),
                    _pause_of(data.get("pause")), _slowdown_of(data.get("slowdown")))


def state_document(snap: Snapshot, boot: str) -> dict[str, Any]:
    """The one writer: the JSON document for a `Snapshot` (see the module doc)."""
    doc: dict[str, Any] = {"version": STATE_VERSION, "boot": boot}
    health = snap.health
    if health is not None:
        doc["health"] = {"healthy": health.healthy, "checked_mono": health.checked_mono,
                         "checked_wall": health.checked_wall,
                         "detail": health.detail[:_MAX_DETAIL]}
        if health.ttl is not None:
            doc["health"]["ttl"] = health.ttl
    breaker = snap.breaker
    if breaker != Breaker():
        doc["breaker"] = {"failures": breaker.failures, "opened_mono": breaker.opened_mono,
                          "cooldown": breaker.cooldown, "reason": breaker.reason[:_MAX_REASON]}
    if snap.pause is not None:
        doc["pause"] = {"until_mono": snap.pause.until_mono,
                        "reason": snap.pause.reason[:_MAX_DETAIL]}
    if snap.slowdown is not None:
        doc["slowdown"] = {"rate": snap.slowdown.rate, "since_mono": snap.slowdown.since_mono}
    return doc


# -- the transitions (pure) ---------------------------------------------------------------


def _lifetime(ttl: float | None, rand: Callable[[], float]) -> float | None:
    return None if ttl is None else jittered_lifetime(ttl, rand=rand)


def after_probe(snap: Snapshot, healthy: bool, detail: str, now: float, wall: float, *,
                threshold: int, cooldown: float, ttl: float | None,
                rand: Callable[[], float] = random.random) -> Snapshot:
    """A health probe answered at monotonic ``now``. A failed probe is a failure like a
    failed send: it counts towards ``threshold`` and, in half-open, reopens the breaker
    (so a machine that only probes backs off too)."""
    breaker = snap.breaker
    if not healthy and breaker.state(now) != "open":
        breaker = breaker.failed(now, threshold=threshold, cooldown=cooldown,
                                 reason=detail or "health probe failed", rand=rand)
    health = Health(healthy, now, wall, detail[:_MAX_DETAIL], _lifetime(ttl, rand))
    return snap.replace(health=health, breaker=breaker)


def after_failure(snap: Snapshot, reason: str, now: float, wall: float, *, threshold: int,
                  cooldown: float, trip: bool = False, ttl: float | None = None,
                  rand: Callable[[], float] = random.random) -> Snapshot:
    """A send failed (transiently, or ``trip``: the collector refused our credentials).
    When that opens the breaker, the health result says unhealthy too, however good the
    last probe was: nobody is told "healthy" while delivery is paused."""
    before = snap.breaker
    breaker = before.failed(now, threshold=1 if trip else threshold, cooldown=cooldown,
                            reason=reason, rand=rand)
    health = snap.health
    if breaker.state(now) == "open" and before.state(now) != "open":
        health = Health(False, now, wall, reason[:_MAX_DETAIL], _lifetime(ttl, rand))
    return snap.replace(breaker=breaker, health=health)


def success_changes(snap: Snapshot, now: float) -> bool:
    """Whether `after_success` is worth a write: not when the breaker is closed, no pause
    is kept and a healthy result is younger than `_SUCCESS_REFRESH_S`."""
    health = snap.health
    return not (snap.breaker == Breaker() and snap.pause is None and health is not None
                and health.healthy and 0 <= now - health.checked_mono < _SUCCESS_REFRESH_S)


def after_success(snap: Snapshot, now: float, wall: float, *, ttl: float | None,
                  rand: Callable[[], float] = random.random) -> Snapshot:
    """A send was accepted: close the breaker, refresh the health result, forget a pause
    that is over (one still running was asked for by the collector: it stays) and a
    slowdown the machine has grown out of."""
    pause = snap.pause if snap.pause is not None and snap.pause.until_mono > now else None
    slowdown = snap.slowdown
    if slowdown is not None and Pace().resumed(slowdown.rate, slowdown.since_mono,
                                               now).rate is None:
        slowdown = None
    return snap.replace(health=Health(True, now, wall, "delivery accepted",
                                      _lifetime(ttl, rand)),
                        breaker=Breaker(), pause=pause, slowdown=slowdown)


def after_strain(snap: Snapshot, rate: float | None, retry_after: float | None, reason: str,
                 *, now: float, wall: float = 0.0, alive: bool = False,
                 ttl: float | None = None,
                 rand: Callable[[], float] = random.random) -> Snapshot:
    """The collector showed strain (429, 503, a timeout, a slow answer): keep the pace the
    process fell back to (None: not limited) for the others, and when it asked for a pause
    (Retry-After) pause the whole machine, for at least that long (see
    `shipper._backoff.after_retry_after`), never shortening a longer pause already kept.

    ``alive``: the answer shows the collector up (a 429: it is managing its load), which
    is as good as a health probe: no process need probe before its next send."""
    slowdown = None if rate is None else Slowdown(min(max(rate, MIN_RATE), FREE_RATE), now)
    pause = snap.pause
    if retry_after is not None:
        until = now + after_retry_after(retry_after, rand=rand)
        if pause is None or pause.until_mono < until or pause.until_mono > now + LONGEST_PAUSE_S:
            pause = Pause(until, reason[:_MAX_DETAIL])
    health = snap.health
    if alive:
        health = Health(True, now, wall, reason[:_MAX_DETAIL], _lifetime(ttl, rand))
    return snap.replace(slowdown=slowdown, pause=pause, health=health)


# -- shared use ---------------------------------------------------------------------------


class SharedState:
    """Reads and updates ``state.json``. Every method swallows I/O errors: it is advisory.

    Each method does blocking file I/O (and takes ``state.lock``): callers on an event loop
    run them in a thread.
    """

    def __init__(self, root: str | os.PathLike[str], clock: Clock, *, threshold: int,
                 cooldown: float, ensure: Callable[[], object] | None = None,
                 ttl: float | None = None, probes: bool = True,
                 rand: Callable[[], float] = random.random) -> None:
        """``ttl`` and ``probes`` (the writer's health settings) make each write also keep
        ``paused-until`` beside state.json (see `shipper._cache._pause`); ``ttl`` is also
        the bound of each health result's lifetime. ``rand`` draws the jitter."""
        self.root = os.fspath(root)
        # makes the folder before a write, or refuses one someone else controls (a spool's
        # ensure: it checks the whole cache, not just this folder)
        self.ensure = ensure or (lambda: make_private_dir(self.root))
        self.path = join(self.root, STATE_FILE)
        self.clock = clock
        self.threshold = threshold
        self.cooldown = cooldown
        self.ttl = ttl
        self.probes = probes
        self.rand = rand
        self._boot = boot_id()
        self._last: tuple[bytes, Snapshot] | None = None  # the file's bytes, as last read

    def read(self) -> Snapshot:
        """The shared state now. The file is read every time; only when its bytes are the
        ones read last is the reading (parse and validation, most of the cost, paid by
        every request) not done again: a `Snapshot` is immutable."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        last = self._last
        if last is not None and last[0] == data:
            return last[1]
        snap = read_state(_parsed(data), self._boot)
        self._last = (data, snap)
        return snap

    def _modify(self, what: str, change: Callable[[Snapshot], Snapshot]) -> Snapshot | None:
        """Read, change and replace state.json under its lock; None if that failed."""
        try:
            self.ensure()
            with Locked(join(self.root, STATE_LOCK)):
                snap = change(self.read())
                write_json(self.path, state_document(snap, self._boot))
                if self.ttl is not None:
                    write_pause(self.root, snap, self.clock.monotonic(), self._boot,
                                ttl=self.ttl, probes=self.probes)
                return snap
        except OSError as exc:
            _log.debug("cannot update shared state (%s): %s", what, exc.strerror)
            return None

    def record_probe(self, healthy: bool, detail: str = "") -> None:
        """A health probe answered (see `after_probe`)."""
        now = self.clock.monotonic()

        def change(snap: Snapshot) -> Snapshot:
            after = after_probe(snap, healthy, detail, now, self.clock.time(),
                                threshold=self.threshold, cooldown=self.cooldown,
                                ttl=self.ttl, rand=self.rand)
            _log_opening(snap.breaker, after.breaker, now)
            return after

        self._modify("probe", change)

    def record_failure(self, reason: str, *, trip: bool = False) -> Breaker | None:
        """A send failed (transiently, or ``trip``: the collector refused our credentials)."""
        now = self.clock.monotonic()

        def change(snap: Snapshot) -> Snapshot:
            after = after_failure(snap, reason, now, self.clock.time(), threshold=self.threshold,
                                  cooldown=self.cooldown, trip=trip, ttl=self.ttl,
                                  rand=self.rand)
            if not trip:
                _log_opening(snap.breaker, after.breaker, now)
            return after

        snap = self._modify("failure", change)
        return snap.breaker if snap else None

    def record_success(self) -> None:
        """A send was accepted: close the breaker and refresh the health result."""
        now = self.clock.monotonic()
        if not success_changes(self.read(), now):
            return  # nothing worth a write

        def change(snap: Snapshot) -> Snapshot:
            return after_success(snap, now, self.clock.time(), ttl=self.ttl, rand=self.rand)

        self._modify("success", change)

    def record_strain(self, rate: float | None, retry_after: float | None, reason: str, *,
                      alive: bool = False) -> Snapshot | None:
        """The collector showed strain: share the pace fallen back to, and pause the machine
        when it asked for a pause (see `after_strain`)."""
        now = self.clock.monotonic()

        def change(snap: Snapshot) -> Snapshot:
            return after_strain(snap, rate, retry_after, reason, now=now,
                                wall=self.clock.time(), alive=alive, ttl=self.ttl,
                                rand=self.rand)

        return self._modify("strain", change)

    def probe_turn(self, *, blocking: bool) -> ProbeTurn:
        """Exclusive right to probe: ``with state.probe_turn(blocking=False) as mine``;
        ``mine`` is False when another process is probing now."""
        return ProbeTurn(self.root, blocking, self.ensure)


def _log_opening(before: Breaker, after: Breaker, now: float) -> None:
    if after.state(now) == "open" and before.state(now) != "open":
        _log.warning("delivery paused for %.0f s: %s", after.cooldown, after.reason)


class ProbeTurn:
    def __init__(self, root: str, blocking: bool, ensure: Callable[[], object]) -> None:
        self.lock = Locked(join(root, PROBE_LOCK), blocking=blocking)
        self.ensure = ensure
        self.held = False

    def __enter__(self) -> bool:
        try:
            self.ensure()
            mine = self.lock.__enter__()
        except OSError:  # no usable folder to coordinate in: probe alone
            return True
        self.held = mine
        return mine

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.lock.__exit__(None, None, None)
            self.held = False
