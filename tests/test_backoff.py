"""Backoff bounds and Retry-After parsing."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipper._backoff import (
    CAP_S,
    LONGEST_PAUSE_S,
    MAX_RETRY_AFTER_S,
    RETRY_AFTER_SPREAD,
    after_retry_after,
    compute_backoff,
    decorrelated,
    jittered_lifetime,
    parse_retry_after,
    retry_delay,
)

unit = st.floats(min_value=0, max_value=1)


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
    """The server's Retry-After wins over computed backoff (waited at least as long)."""
    assert 12.0 <= retry_delay(3, 12.0) <= 12.0 * (1 + RETRY_AFTER_SPREAD)
    assert retry_delay(3, 12.0, rand=lambda: 0.0) == 12.0
    assert retry_delay(1, None, rand=lambda: 1.0) == 0.5


@given(st.floats(0, MAX_RETRY_AFTER_S), unit)
def test_a_retry_after_pause_is_at_least_what_was_asked(asked: float, r: float) -> None:
    """Honoured, never shortened: between the Retry-After and RETRY_AFTER_SPREAD longer,
    so that machines told the same second come back spread over a window; never past
    LONGEST_PAUSE_S."""
    wait = after_retry_after(asked, rand=lambda: r)
    assert asked <= wait <= asked * (1 + RETRY_AFTER_SPREAD) + 1e-9
    assert wait <= LONGEST_PAUSE_S


@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(1, 1000), unit)
def test_decorrelated_jitter_stays_within_base_and_cap(previous: float, base: float,
                                                      cap: float, r: float) -> None:
    """Each draw is in [min(base, cap), cap] and at most three times the previous one
    (or the base), whatever the random source returns."""
    wait = decorrelated(previous, base=base, cap=cap, rand=lambda: r)
    low = min(base, cap)
    assert low <= wait <= cap
    assert wait <= max(3 * max(previous, low), low)


def test_decorrelated_jitter_tolerates_a_broken_random_source() -> None:
    """A source returning values outside [0, 1] (or NaN) cannot push a draw out of
    bounds."""
    for bad in (-1.0, 2.0, float("nan"), float("inf")):
        assert 30.0 <= decorrelated(30.0, base=30.0, cap=300.0, rand=lambda b=bad: b) <= 90.0


@given(st.floats(0, 3600), unit)
def test_a_health_result_is_trusted_between_half_and_all_of_its_ttl(ttl: float,
                                                                   r: float) -> None:
    """The lifetime drawn for one health result never exceeds health_ttl, nor falls under
    half of it."""
    life = jittered_lifetime(ttl, rand=lambda: r)
    assert ttl / 2 <= life <= ttl


@pytest.mark.parametrize("value", ["²", "1²", "٣", "①", "5 ", " 7"])
def test_a_retry_after_of_other_digits_is_ignored_or_read_never_raised(value: str) -> None:
    """Retry-After: "²" (which str.isdigit() takes and float() refuses), or digits of other
    scripts: ignored, or read as the plain number, never an exception (it used to escape the
    reading of a 429, and the files being sent were counted as failing, then quarantined)."""
    parsed = parse_retry_after(value)
    assert parsed is None or parsed == float(value.strip())
