"""Retry timing as pure functions: exponential backoff with full jitter, and Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

BASE_S = 0.5
CAP_S = 30.0
MAX_RETRY_AFTER_S = 300.0


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
    if text.isdigit():
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
    """The wait before retry ``attempt``: the server's Retry-After when given, else backoff."""
    if retry_after is not None:
        return retry_after
    return compute_backoff(attempt, rand=rand)
