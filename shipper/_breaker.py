"""The circuit breaker as a pure state machine over a monotonic clock.

``closed`` lets sends through and counts consecutive failures; at ``threshold`` it opens.
``open`` refuses sends until its cooldown has passed, then reads as ``half_open``: one trial
(a fresh health probe, then a send) may go. Success closes it; failure opens it again.

How long it stays open is drawn at random, by decorrelated jitter
(`shipper._backoff.decorrelated`), and kept in the state: the first time between the
configured ``cooldown`` and three times it, after each failed trial between ``cooldown``
and three times the last one, never more than `MAX_COOLDOWN_S`. A whole fleet whose
breakers opened in the same second thus spreads its trials over the window instead of
sending them all in one second. The random source is passed in (``rand``); the state
itself is immutable.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ._backoff import decorrelated

MAX_COOLDOWN_S = 300.0
# the first cooldown is drawn as if the one before it had been this many times the
# configured one: 1.0 draws it between the configured cooldown and three times it
FIRST_SPREAD = 1.0


class Breaker:
    """An immutable breaker state; every transition returns a new one."""

    __slots__ = ("cooldown", "failures", "opened_mono", "reason")

    def __init__(self, failures: int = 0, opened_mono: float | None = None,
                 cooldown: float = 0.0, reason: str = "") -> None:
        self.failures = failures
        self.opened_mono = opened_mono  # monotonic seconds; None while closed
        self.cooldown = cooldown  # the open time drawn when it opened
        self.reason = reason

    def _key(self) -> tuple[int, float | None, float, str]:
        return (self.failures, self.opened_mono, self.cooldown, self.reason)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Breaker) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Breaker(failures={!r}, opened_mono={!r}, cooldown={!r}, reason={!r})".format(
            *self._key())

    def state(self, now: float) -> str:
        if self.opened_mono is None:
            return "closed"
        if now < self.opened_mono or now >= self.opened_mono + self.cooldown:
            # the clock ran backwards (new boot) or the cooldown is over: time for a trial
            return "half_open"
        return "open"

    def allows(self, now: float) -> bool:
        return self.state(now) != "open"

    def succeeded(self) -> Breaker:
        return Breaker()

    def failed(self, now: float, *, threshold: int, cooldown: float, reason: str = "",
               rand: Callable[[], float] = random.random) -> Breaker:
        """The state after a failure at ``now``; ``cooldown`` is the configured one."""
        current = self.state(now)
        if current == "open":
            return self  # a late failure report changes nothing while open
        if current == "half_open":
            longer = decorrelated(max(self.cooldown, cooldown), base=cooldown,
                                  cap=MAX_COOLDOWN_S, rand=rand)
            return Breaker(self.failures + 1, now, longer, reason or self.reason)
        failures = self.failures + 1
        if failures >= threshold:
            first = decorrelated(cooldown * FIRST_SPREAD, base=cooldown, cap=MAX_COOLDOWN_S,
                                 rand=rand)
            return Breaker(failures, now, first, reason)
        return Breaker(failures, None, 0.0, reason)
