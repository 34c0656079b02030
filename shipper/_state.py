"""Health and breaker state shared by every process that uses one cache folder.

It lives in ``state.json`` beside the cache, replaced atomically under ``state.lock``, so that
dozens of short-lived hooks, a sync and a long-running service agree on whether the collector
is up: during an outage the collector sees about one probe per ``health_ttl`` in all.
Durations use the monotonic clock, which on one machine is shared by all its processes; the
boot id tells a state file written before a reboot, whose monotonic times mean nothing now.
"""

from __future__ import annotations

import os

from . import _log
from ._breaker import Breaker
from ._files import Locked, make_private_dir, read_json, write_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._clock import Clock


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


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
    __slots__ = ("checked_at", "checked_mono", "detail", "healthy")

    def __init__(self, healthy: bool, checked_mono: float, checked_at: float,
                 detail: str = "") -> None:
        self.healthy = healthy
        self.checked_mono = checked_mono
        self.checked_at = checked_at  # wall clock, for people
        self.detail = detail


class Snapshot(_Record):
    __slots__ = ("breaker", "breaker_opened_wall", "health")

    def __init__(self, health: Health | None, breaker: Breaker,
                 breaker_opened_wall: float | None) -> None:
        self.health = health
        self.breaker = breaker
        self.breaker_opened_wall = breaker_opened_wall


SEND, PROBE, WAIT = "send", "probe", "wait"


def decide(snap: Snapshot, now: float, *, ttl: float, force: bool = False) -> str:
    """What a would-be sender should do now: send, probe the health endpoint first, or wait.

    ``force`` is the explicit sync: it probes afresh whatever the breaker and the cache say.
    """
    if force:
        return PROBE
    state = snap.breaker.state(now)
    if state == "open":
        return WAIT
    health = snap.health
    fresh = health is not None and 0.0 <= now - health.checked_mono < ttl
    if state == "half_open" and health is not None:
        opened = snap.breaker.opened_at or 0.0
        # a trial needs a probe made after the cooldown ended
        fresh = fresh and health.checked_mono >= opened + snap.breaker.cooldown
    if not fresh or health is None:
        return PROBE
    return SEND if health.healthy else WAIT


class SharedState:
    """Reads and updates ``state.json``. Every method swallows I/O errors: it is advisory."""

    def __init__(self, root: str | os.PathLike[str], clock: Clock, *, threshold: int,
                 cooldown: float) -> None:
        self.root = os.fspath(root)
        self.path = os.path.join(self.root, "state.json")
        self.clock = clock
        self.threshold = threshold
        self.cooldown = cooldown
        self._boot = _boot_id()

    def _load(self) -> dict[str, Any]:
        data = read_json(self.path)
        if data.get("boot", self._boot) != self._boot:
            return {}
        return data

    def read(self) -> Snapshot:
        return _snapshot(self._load())

    def _modify(self, what: str, change: Callable[[dict[str, Any]], None]) -> Snapshot | None:
        """Read, change and replace state.json under its lock; None if that failed."""
        try:
            make_private_dir(self.root)  # creates it, or refuses one someone else controls
            with Locked(os.path.join(self.root, "state.lock")):
                data = self._load()
                change(data)
                data["boot"] = self._boot
                write_json(self.path, data)
                return _snapshot(data)
        except OSError as exc:
            _log.debug("cannot update shared state (%s): %s", what, exc.strerror)
            return None

    def record_probe(self, healthy: bool, detail: str = "") -> None:
        now = self.clock.monotonic()

        def change(data: dict[str, Any]) -> None:
            data["health"] = {"healthy": healthy, "checked_mono": now,
                              "checked_at": self.clock.time(), "detail": detail[:200]}
            if not healthy:
                breaker = _breaker_of(data)
                if breaker.state(now) == "half_open":
                    _put_breaker(data, breaker.failed(
                        now, threshold=self.threshold, cooldown=self.cooldown,
                        reason=detail or "health probe failed"), self.clock.time())

        self._modify("probe", change)

    def record_failure(self, reason: str, *, trip: bool = False) -> Breaker | None:
        """A send failed (transiently, or ``trip``: the collector refused our credentials)."""
        now = self.clock.monotonic()

        def change(data: dict[str, Any]) -> None:
            before = _breaker_of(data)
            after = before.failed(now, threshold=1 if trip else self.threshold,
                                  cooldown=self.cooldown, reason=reason)
            if not trip and after.state(now) == "open" and before.state(now) != "open":
                _log.warning("delivery paused for %.0f s: %s", after.cooldown, reason)
            _put_breaker(data, after, self.clock.time())

        snap = self._modify("failure", change)
        return snap.breaker if snap else None

    def record_success(self) -> None:
        """A send was accepted: close the breaker and refresh the health result."""
        now = self.clock.monotonic()
        snap = self.read()
        health = snap.health
        if (snap.breaker.opened_at is None and snap.breaker.failures == 0 and health is not None
                and health.healthy and 0 <= now - health.checked_mono < 5.0):
            return  # nothing worth a write

        def change(data: dict[str, Any]) -> None:
            data.pop("breaker", None)
            data["health"] = {"healthy": True, "checked_mono": now,
                              "checked_at": self.clock.time(), "detail": "delivery accepted"}

        self._modify("success", change)

    def probe_turn(self, *, blocking: bool) -> ProbeTurn:
        """Exclusive right to probe: ``with state.probe_turn(blocking=False) as mine``;
        ``mine`` is False when another process is probing now."""
        return ProbeTurn(self.root, blocking)


class ProbeTurn:
    def __init__(self, root: str, blocking: bool) -> None:
        self.lock = Locked(os.path.join(root, "probe.lock"), blocking=blocking)
        self.root = root
        self.held = False

    def __enter__(self) -> bool:
        try:
            make_private_dir(self.root)
            mine = self.lock.__enter__()
        except OSError:  # no usable folder to coordinate in: probe alone
            return True
        self.held = mine
        return mine

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.lock.__exit__(None, None, None)
            self.held = False


def _breaker_of(data: dict[str, Any]) -> Breaker:
    raw = data.get("breaker")
    if not isinstance(raw, dict):
        return Breaker()
    try:
        opened = raw.get("opened_mono")
        return Breaker(int(raw.get("failures", 0)),
                       float(opened) if opened is not None else None,
                       float(raw.get("cooldown", 0.0)), str(raw.get("reason", "")))
    except (TypeError, ValueError):
        return Breaker()


def _put_breaker(data: dict[str, Any], breaker: Breaker, wall: float) -> None:
    old = data.get("breaker") if isinstance(data.get("breaker"), dict) else {}
    opened_wall = old.get("opened_at") if isinstance(old, dict) else None
    if breaker.opened_at is not None and breaker.opened_at != (old or {}).get("opened_mono"):
        opened_wall = wall
    data["breaker"] = {"failures": breaker.failures, "opened_mono": breaker.opened_at,
                       "cooldown": breaker.cooldown, "reason": breaker.reason,
                       "opened_at": opened_wall if breaker.opened_at is not None else None}


def _snapshot(data: dict[str, Any]) -> Snapshot:
    raw = data.get("health")
    health = None
    if isinstance(raw, dict):
        try:
            health = Health(bool(raw["healthy"]), float(raw["checked_mono"]),
                            float(raw["checked_at"]), str(raw.get("detail", "")))
        except (KeyError, TypeError, ValueError):
            health = None
    br = data.get("breaker")
    wall = br.get("opened_at") if isinstance(br, dict) else None
    opened_wall = float(wall) if isinstance(wall, (int, float)) else None
    return Snapshot(health, _breaker_of(data), opened_wall)
