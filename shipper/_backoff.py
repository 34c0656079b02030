"""Retry timing as pure functions: exponential backoff with full jitter, Retry-After, and the
jitter that keeps many machines out of step (the breaker's cooldown, a health result's
lifetime, a pause the collector asked for).

Every draw takes its random source as ``rand`` (a function returning a float in [0, 1)) and
stays within bounds that depend only on its other arguments, whatever ``rand`` returns.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

BASE_S = 0.5
CAP_S = 30.0
MAX_RETRY_AFTER_S = 300.0
DECORRELATION = 3.0  # the next cooldown is drawn up to this many times the last one
RETRY_AFTER_SPREAD = 1.0  # a Retry-After pause is drawn up to this much longer than asked
LONGEST_PAUSE_S = MAX_RETRY_AFTER_S * (1.0 + RETRY_AFTER_SPREAD)


def compute_backoff(
    attempt: int,
    *,
    base: float = BASE_S,
    cap: float = CAP_S,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    Full jitter: uniform in [0, min(cap, base * 2 ** (attempt - 1))].
    """
    exponent = min(max(attempt - 1, 0), 62)
    ceiling = min(cap, base * (2.0**exponent))
    return ceiling * rand()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None.

    Bounded to [0, 300] so a hostile or broken header cannot park delivery for days.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # not "²", which isdigit() takes and float() not
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return min(max(when.timestamp() - current, 0.0), MAX_RETRY_AFTER_S)


def retry_delay(
    attempt: int,
    retry_after: float | None,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """The wait before retry ``attempt``: the server's Retry-After when given (see
    `after_retry_after`), else backoff."""
    if retry_after is not None:
        return after_retry_after(retry_after, rand=rand)
    return compute_backoff(attempt, rand=rand)


def after_retry_after(retry_after: float, *, rand: Callable[[], float] = random.random) -> float:
    """How long to pause for a Retry-After of ``retry_after`` seconds: at least that long,
    and up to `RETRY_AFTER_SPREAD` longer, so that the machines a collector turned away in
    the same second do not all come back in the same second. Never over
    `MAX_RETRY_AFTER_S` (unless the header itself asked for more)."""
    asked = max(retry_after, 0.0)
    longest = max(asked, min(asked * (1.0 + RETRY_AFTER_SPREAD), MAX_RETRY_AFTER_S))
    return min(longest, asked + (longest - asked) * _unit(rand))  # min: a float's last bit


def decorrelated(previous: float, *, base: float, cap: float,
                 rand: Callable[[], float] = random.random) -> float:
    """The next wait by decorrelated jitter (AWS Architecture Blog, "Exponential Backoff
    and Jitter"): uniform in [base, `DECORRELATION` * previous], never over ``cap``.

    It is in [min(base, cap), cap] whatever ``previous``: a wait grows with the one before
    it, but each machine's sequence wanders on its own, so machines that started together
    drift apart instead of staying in step.
    """
    low = min(max(base, 0.0), cap)
    high = max(min(cap, max(previous, low) * DECORRELATION), low)
    return min(high, low + (high - low) * _unit(rand))  # min: low + (high - low) may pass high


def jittered_lifetime(ttl: float, *, rand: Callable[[], float] = random.random) -> float:
    """How long one health result is trusted: uniform in [ttl / 2, ttl] ("equal jitter"),
    so the results of machines that probed together expire at different moments."""
    ttl = max(ttl, 0.0)
    return ttl * (0.5 + 0.5 * _unit(rand))


def _unit(rand: Callable[[], float]) -> float:
    """``rand()`` held to [0, 1], whatever a random source injected by a test returns."""
    value = rand()
    return value if 0.0 <= value <= 1.0 else (0.0 if not value >= 0.0 else 1.0)
