"""What the processes sharing a cache know about its collector, as plain immutable records:
the last health result, the breaker, a pause the collector asked for, the pace after strain.

Pure and small: the gate (`shipper._gate`) decides from a `Snapshot`, the pause hint
(`shipper._cache._pause`) is derived from one, and `shipper._cache._state` reads and writes
them in ``state.json``; none of them needs another to know what a snapshot is.
"""

from __future__ import annotations

from ._breaker import Breaker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
    """The last health result: from a probe, or from a batch the collector accepted.

    ``ttl``: how long this result is trusted, drawn when it was recorded (None: the
    configured ``health_ttl``); see `lifetime`."""

    __slots__ = ("checked_mono", "checked_wall", "detail", "healthy", "ttl")

    def __init__(self, healthy: bool, checked_mono: float, checked_wall: float,
                 detail: str = "", ttl: float | None = None) -> None:
        self.healthy = healthy
        self.checked_mono = checked_mono
        self.checked_wall = checked_wall
        self.detail = detail
        self.ttl = ttl

    def lifetime(self, ttl: float) -> float:
        """How long this result is trusted: the lifetime drawn for it, never longer than
        the configured ``ttl`` (a setting lowered since is obeyed at once)."""
        return ttl if self.ttl is None else min(self.ttl, ttl)


class Pause(_Record):
    """A pause the collector asked for (Retry-After): no process sends before
    ``until_mono``."""

    __slots__ = ("reason", "until_mono")

    def __init__(self, until_mono: float, reason: str = "") -> None:
        self.until_mono = until_mono
        self.reason = reason


class Slowdown(_Record):
    """The pace (requests/s) a process set at ``since_mono`` after the collector showed
    strain; the others of the machine start from it (see `shipper._pace.Pace.resumed`)."""

    __slots__ = ("rate", "since_mono")

    def __init__(self, rate: float, since_mono: float) -> None:
        self.rate = rate
        self.since_mono = since_mono


class Snapshot(_Record):
    """What the processes sharing a cache know about its collector."""

    __slots__ = ("breaker", "health", "pause", "slowdown")

    def __init__(self, health: Health | None = None, breaker: Breaker | None = None,
                 pause: Pause | None = None, slowdown: Slowdown | None = None) -> None:
        self.health = health
        self.breaker = breaker if breaker is not None else Breaker()
        self.pause = pause
        self.slowdown = slowdown

    def replace(self, **changes: Any) -> Snapshot:
        """This snapshot with some parts changed."""
        parts = {name: getattr(self, name) for name in self.__slots__}
        parts.update(changes)
        return Snapshot(**parts)
