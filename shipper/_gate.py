"""Whether a would-be sender sends, probes the health endpoint first, or waits.

A pure function of the shared state (`_cache._state.Snapshot`) and the monotonic time, so
every process that shares a cache makes the same decision from the same file.
"""

from __future__ import annotations

import math

from ._backoff import LONGEST_PAUSE_S

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, Literal

    from ._health import Snapshot

    Action = Literal["send", "probe", "wait"]

SEND: Final = "send"  # the gate is open
PROBE: Final = "probe"  # ask the health endpoint first
WAIT: Final = "wait"  # the breaker, a failed probe or a Retry-After says not now

_ROUNDING_STEPS = 8  # floats tried at and after a moment where decide may change


def paused_until(snap: Snapshot, now: float) -> float | None:
    """When the pause the collector asked for (Retry-After) ends, if one runs at ``now``.
    A pause said to end further ahead than any Retry-After may ask was written by a clock
    that jumped since, and is not believed."""
    pause = snap.pause
    if pause is None or not now < pause.until_mono <= now + LONGEST_PAUSE_S:
        return None
    return pause.until_mono


def decide(snap: Snapshot, now: float, *, ttl: float, force: bool = False,
           probes: bool = True) -> Action:
    """What to do at monotonic time ``now``: `SEND`, `PROBE` or `WAIT`.

    - A pause the collector asked for (Retry-After) waits, whoever asks; ``force`` too (the
      explicit sync waits it out).
    - ``force`` is the explicit sync: it probes afresh whatever the breaker and the cache say.
    - An open breaker waits; once half-open, a trial needs a probe made after the cooldown.
    - Otherwise a health result is trusted, either way, for its lifetime (drawn when it was
      recorded, never longer than ``ttl``).
    - ``probes=False`` is a destination with no health endpoint: the breaker alone gates,
      and after its cooldown the next batch is the trial.
    """
    if paused_until(snap, now) is not None:
        return WAIT
    if not probes:
        return SEND if force or snap.breaker.state(now) != "open" else WAIT
    if force:
        return PROBE
    state = snap.breaker.state(now)
    if state == "open":
        return WAIT
    health = snap.health
    if health is None or not 0.0 <= now - health.checked_mono < health.lifetime(ttl):
        return PROBE
    if state == "half_open":
        opened = snap.breaker.opened_mono or 0.0
        if health.checked_mono < opened + snap.breaker.cooldown:
            return PROBE  # a trial needs a probe made after the cooldown ended
    return SEND if health.healthy else WAIT


def waits_until(snap: Snapshot, now: float, *, ttl: float, probes: bool = True) -> float | None:
    """The monotonic time at which `decide` stops saying WAIT, for a snapshot that says
    WAIT at ``now``; None when it does not wait now. `decide` changes only where a pause
    ends, the breaker's cooldown ends or the health result expires, so those are the times
    tried."""
    if decide(snap, now, ttl=ttl, probes=probes) != WAIT:
        return None
    breaker, health = snap.breaker, snap.health
    times = []
    if snap.pause is not None:
        times.append(snap.pause.until_mono)
    if breaker.opened_mono is not None:
        times.append(breaker.opened_mono + breaker.cooldown)
    if health is not None:
        times.append(health.checked_mono + health.lifetime(ttl))
    for moment in sorted(t for t in times if t > now):
        # and the few floats after it: `start + lifetime - start` may come out a hair below
        # the lifetime, and `decide` would still say wait at the moment itself
        at = moment
        for _ in range(_ROUNDING_STEPS):
            if decide(snap, at, ttl=ttl, probes=probes) != WAIT:
                return at
            at = math.nextafter(at, math.inf)
    return None
