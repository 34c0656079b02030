"""The circuit breaker as a pure state machine over a monotonic clock.

``closed`` lets sends through and counts consecutive failures; at ``threshold`` it opens.
``open`` refuses sends until ``cooldown`` has passed, then reads as ``half_open``: one trial
(a fresh health probe, then a send) may go. Success closes it; failure opens it again with
the cooldown doubled, up to ``MAX_COOLDOWN_S``.
"""

from __future__ import annotations

MAX_COOLDOWN_S = 300.0


class Breaker:
    """An immutable breaker state; every transition returns a new one."""

    __slots__ = ("cooldown", "failures", "opened_mono", "reason")

    def __init__(self, failures: int = 0, opened_mono: float | None = None,
                 cooldown: float = 0.0, reason: str = "") -> None:
        self.failures = failures
        self.opened_mono = opened_mono  # monotonic seconds; None while closed
        self.cooldown = cooldown
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

    def failed(self, now: float, *, threshold: int, cooldown: float, reason: str = "") -> Breaker:
        current = self.state(now)
        if current == "open":
            return self  # a late failure report changes nothing while open
        if current == "half_open":
            doubled = min(max(self.cooldown, cooldown) * 2, MAX_COOLDOWN_S)
            return Breaker(self.failures + 1, now, doubled, reason or self.reason)
        failures = self.failures + 1
        if failures >= threshold:
            return Breaker(failures, now, min(cooldown, MAX_COOLDOWN_S), reason)
        return Breaker(failures, None, 0.0, reason)
