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
                "detail": "HTTP 200"},
     "breaker": {"failures": 3, "opened_mono": 1234.5, "cooldown": 30.0, "reason": "..."}}

Whatever is read back is validated: a part that is missing, of the wrong type, or holds a
number that is not finite or out of range reads as unknown (no health, a closed breaker), so
a damaged or hostile file can neither wedge the breaker open nor crash a reader.
"""

from __future__ import annotations

import os

from .. import _log
from .._breaker import MAX_COOLDOWN_S, Breaker
from ._files import Locked, boot_id, make_private_dir, read_json, write_json
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


class _Record:
    """A small immutable record compared by value (NamedTuple without importing typing)."""

    __slots__: tuple[str, ...] = ()

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Health(_Record):
    """The last health result: from a probe, or from a batch the collector accepted."""

    __slots__ = ("checked_mono", "checked_wall", "detail", "healthy")

    def __init__(self, healthy: bool, checked_mono: float, checked_wall: float,
                 detail: str = "") -> None:
        self.healthy = healthy
        self.checked_mono = checked_mono
        self.checked_wall = checked_wall
        self.detail = detail


class Snapshot(_Record):
    """What the processes sharing a cache know about its collector."""

    __slots__ = ("breaker", "health")

    def __init__(self, health: Health | None = None, breaker: Breaker | None = None) -> None:
        self.health = health
        self.breaker = breaker if breaker is not None else Breaker()


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
    return Health(raw["healthy"], mono, wall,
                  detail[:_MAX_DETAIL] if isinstance(detail, str) else "")


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


def read_state(data: dict[str, Any], boot: str) -> Snapshot:
    """The one reader: a validated `Snapshot` from a parsed state.json (see the module doc)."""
    if data.get("boot", boot) != boot:
        return Snapshot()  # written before a reboot: its monotonic times mean nothing now
    return Snapshot(_health_of(data.get("health")), _breaker_of(data.get("breaker")))


def state_document(snap: Snapshot, boot: str) -> dict[str, Any]:
    """The one writer: the JSON document for a `Snapshot` (see the module doc)."""
    doc: dict[str, Any] = {"version": STATE_VERSION, "boot": boot}
    health = snap.health
    if health is not None:
        doc["health"] = {"healthy": health.healthy, "checked_mono": health.checked_mono,
                         "checked_wall": health.checked_wall,
                         "detail": health.detail[:_MAX_DETAIL]}
    breaker = snap.breaker
    if breaker != Breaker():
        doc["breaker"] = {"failures": breaker.failures, "opened_mono": breaker.opened_mono,
                          "cooldown": breaker.cooldown, "reason": breaker.reason[:_MAX_REASON]}
    return doc


# -- shared use ---------------------------------------------------------------------------


class SharedState:
    """Reads and updates ``state.json``. Every method swallows I/O errors: it is advisory.

    Each method does blocking file I/O (and takes ``state.lock``): callers on an event loop
    run them in a thread.
    """

    def __init__(self, root: str | os.PathLike[str], clock: Clock, *, threshold: int,
                 cooldown: float, ensure: Callable[[], object] | None = None,
                 ttl: float | None = None, probes: bool = True) -> None:
        """``ttl`` and ``probes`` (the writer's health settings) make each write also keep
        ``paused-until`` beside state.json (see `shipper._cache._pause`)."""
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
        self._boot = boot_id()

    def read(self) -> Snapshot:
        return read_state(read_json(self.path), self._boot)

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

    def _health(self, healthy: bool, now: float, detail: str) -> Health:
        return Health(healthy, now, self.clock.time(), detail[:_MAX_DETAIL])

    def record_probe(self, healthy: bool, detail: str = "") -> None:
        """A health probe answered; a failed probe in half-open reopens the breaker."""
        now = self.clock.monotonic()

        def change(snap: Snapshot) -> Snapshot:
            breaker = snap.breaker
            if not healthy and breaker.state(now) == "half_open":
                breaker = breaker.failed(now, threshold=self.threshold, cooldown=self.cooldown,
                                         reason=detail or "health probe failed")
            return Snapshot(self._health(healthy, now, detail), breaker)

        self._modify("probe", change)

    def record_failure(self, reason: str, *, trip: bool = False) -> Breaker | None:
        """A send failed (transiently, or ``trip``: the collector refused our credentials)."""
        now = self.clock.monotonic()

        def change(snap: Snapshot) -> Snapshot:
            before = snap.breaker
            after = before.failed(now, threshold=1 if trip else self.threshold,
                                  cooldown=self.cooldown, reason=reason)
            health = snap.health
            if after.state(now) == "open" and before.state(now) != "open":
                if not trip:
                    _log.warning("delivery paused for %.0f s: %s", after.cooldown, reason)
                # deliveries failing is news of the service's health, however good the
                # last probe was: nobody is told "healthy" while delivery is paused
                health = self._health(False, now, reason)
            return Snapshot(health, after)

        snap = self._modify("failure", change)
        return snap.breaker if snap else None

    def record_success(self) -> None:
        """A send was accepted: close the breaker and refresh the health result."""
        now = self.clock.monotonic()
        snap = self.read()
        health = snap.health
        if (snap.breaker == Breaker() and health is not None and health.healthy
                and 0 <= now - health.checked_mono < _SUCCESS_REFRESH_S):
            return  # nothing worth a write

        def change(snap: Snapshot) -> Snapshot:
            return Snapshot(self._health(True, now, "delivery accepted"), Breaker())

        self._modify("success", change)

    def probe_turn(self, *, blocking: bool) -> ProbeTurn:
        """Exclusive right to probe: ``with state.probe_turn(blocking=False) as mine``;
        ``mine`` is False when another process is probing now."""
        return ProbeTurn(self.root, blocking, self.ensure)


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
