"""Backoff bounds and Retry-After parsing."""

from __future__ import annotations

from email.utils import formatdate

from hypothesis import given
from hypothesis import strategies as st

from shipper._backoff import (
    CAP_S,
    MAX_RETRY_AFTER_S,
    compute_backoff,
    parse_retry_after,
    retry_delay,
)


@given(st.integers(min_value=-5, max_value=10_000), st.floats(min_value=0, max_value=1,
                                                               exclude_max=True))
def test_backoff_stays_within_full_jitter_bounds(attempt: int, r: float) -> None:
    """Each wait is in [0, min(cap, base * 2**(attempt-1))], for any attempt number."""
    wait = compute_backoff(attempt, rand=lambda: r)
    ceiling = min(CAP_S, 0.5 * 2.0 ** min(max(attempt - 1, 0), 62))
    assert 0.0 <= wait <= ceiling


def test_backoff_ceiling_doubles_then_caps() -> None:
    """With the jitter at its top, waits double per attempt until the cap."""
    top = [compute_backoff(a, rand=lambda: 1.0) for a in range(1, 10)]
    assert top[:4] == [0.5, 1.0, 2.0, 4.0]
    assert top[-1] == CAP_S


def test_retry_after_seconds() -> None:
    """Retry-After in delta-seconds is honoured, and capped."""
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("999999") == MAX_RETRY_AFTER_S


def test_retry_after_http_date() -> None:
    """Retry-After as an HTTP date becomes the seconds until then."""
    now = 1_800_000_000.0
    assert parse_retry_after(formatdate(now + 42, usegmt=True), now=now) == 42.0
    assert parse_retry_after(formatdate(now - 42, usegmt=True), now=now) == 0.0


def test_retry_after_garbage_is_ignored() -> None:
    """Unparseable Retry-After values fall back to backoff."""
    for bad in (None, "", "soon", "-3", "1.5", "Mon, 99 Foo 2026"):
        assert parse_retry_after(bad) is None


def test_retry_delay_prefers_server_hint() -> None:
    """The server's Retry-After wins over computed backoff."""
    assert retry_delay(3, 12.0) == 12.0
    assert retry_delay(1, None, rand=lambda: 1.0) == 0.5
