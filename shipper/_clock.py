"""Time sources, injectable so that tests control time and never really sleep, and the
deadline that bounds a piece of delivery work."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Clock(Protocol):
        """Wall time for display and file names, monotonic time for every duration."""

        def time(self) -> float: ...

        def monotonic(self) -> float: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class Deadline:
    """A point on a clock's monotonic time after which work stops, like trio's
    ``move_on_at``: a flush, a close or a timed sync has one; a sync with no timeout has
    `never`, whose time left is infinite."""

    __slots__ = ("at", "clock")

    def __init__(self, clock: Clock, at: float) -> None:
        self.clock = clock
        self.at = at

    @classmethod
    def after(cls, clock: Clock, seconds: float) -> Deadline:
        return cls(clock, clock.monotonic() + max(seconds, 0.0))

    @classmethod
    def never(cls, clock: Clock) -> Deadline:
        return cls(clock, float("inf"))

    def left(self) -> float:
        """Seconds until the deadline (negative once it passed, infinite for `never`)."""
        return self.at - self.clock.monotonic()

    @property
    def expired(self) -> bool:
        return self.left() <= 0

    def within(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now if that comes first."""
        return Deadline(self.clock, min(self.at, self.clock.monotonic() + seconds))

    def __repr__(self) -> str:
        return f"Deadline(left={self.left():.3f})"
