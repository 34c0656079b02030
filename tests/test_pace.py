"""The pace of sending: additive increase, multiplicative decrease, a trial to begin."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from shipper._pace import (
    DECREASE,
    FREE_RATE,
    INCREASE,
    MIN_RATE,
    START_RATE,
    TRIAL_EVENTS,
    Pace,
    asks_to_wait,
    shows_strain,
)


def test_normally_nothing_is_limited() -> None:
    """A fresh pace sends full batches back to back, and answers keep it so."""
    pace = Pace()
    assert pace.interval == 0.0 and pace.batch_limit(500) == 500
    for _ in range(100):
        pace = pace.accepted(0.02)
    assert pace.rate is None and pace.interval == 0.0


def test_a_recovery_begins_with_one_small_trial_then_a_low_rate() -> None:
    """After an outage the first batch is small and the next waits a second; once the
    trial is accepted, batches are full again."""
    pace = Pace().recovering()
    assert pace.batch_limit(500) == TRIAL_EVENTS and pace.interval == 1.0 / START_RATE
    pace = pace.accepted(0.05)
    assert pace.batch_limit(500) == 500 and not pace.trial


def test_the_rate_grows_by_a_constant_step_each_second_of_success() -> None:
    """Additive increase: sending at the pace for about a second adds INCREASE requests/s,
    whatever the rate (TCP's congestion avoidance: +1/rate per answer)."""
    pace = Pace(10.0)
    for _ in range(10):  # one second at 10 requests/s
        pace = pace.accepted(0.05)
    assert pace.rate is not None and abs(pace.rate - (10.0 + INCREASE)) < 0.1


def test_strain_halves_the_rate_down_to_a_floor() -> None:
    """Multiplicative decrease on each sign of strain, never below MIN_RATE; an
    unlimited pace falls to half the rate where limiting begins."""
    assert Pace().congested().rate == FREE_RATE * DECREASE
    assert Pace(8.0).congested().rate == 8.0 * DECREASE
    pace = Pace(1.0)
    for _ in range(30):
        pace = pace.congested()
    assert pace.rate == MIN_RATE


def test_below_the_start_rate_the_pace_doubles_back() -> None:
    """Slow start: a pace slowed to a crawl doubles on each success up to START_RATE, then
    grows additively (by INCREASE a second of sending at its pace), and stops limiting at
    FREE_RATE."""
    pace = Pace(MIN_RATE)
    steps = 0
    while pace.rate is not None and pace.rate < START_RATE:
        pace = pace.accepted(0.05)
        steps += 1
    assert steps <= math.ceil(math.log2(START_RATE / MIN_RATE))
    seconds = 0.0
    while pace.rate is not None:
        seconds += pace.interval
        pace = pace.accepted(0.05)
    assert abs(seconds - (FREE_RATE - START_RATE) / INCREASE) < 0.05 * FREE_RATE / INCREASE


def test_rising_latency_is_strain_but_a_busy_host_is_not() -> None:
    """An answer several times slower than the fastest seen, and half a second slower, is
    strain: the rate halves. A slow moment of a few tens of milliseconds is not."""
    pace = Pace(10.0)
    for _ in range(5):
        pace = pace.accepted(0.05)
    rate = pace.rate
    assert rate is not None
    assert pace.accepted(0.12).rate is not None and pace.accepted(0.12).rate > rate
    slowed = pace.accepted(2.0)
    assert slowed.rate == rate * DECREASE
    assert pace.floor is not None and slowed.floor is not None
    assert slowed.floor <= pace.floor * 1.02  # a slow answer does not become the reference


def test_a_rate_shared_by_another_process_is_adopted_and_heals_with_time() -> None:
    """A process starts no faster than the rate another process of the machine fell back
    to, grown additively since; it never slows down a process already slower."""
    assert Pace().resumed(2.0, since=100.0, now=100.0).rate == 2.0
    assert Pace().resumed(2.0, since=100.0, now=103.0).rate == 2.0 + 3 * INCREASE
    assert Pace().resumed(2.0, since=100.0, now=100.0 + FREE_RATE / INCREASE).rate is None
    assert Pace(1.0).resumed(2.0, since=100.0, now=100.0).rate == 1.0


events = st.one_of(st.tuples(st.just("ok"), st.floats(0.0, 30.0)),
                   st.tuples(st.just("strain"), st.just(0.0)),
                   st.tuples(st.just("recover"), st.just(0.0)),
                   st.tuples(st.just("share"), st.floats(0.0, 100.0)))


@given(st.lists(events, max_size=60))
def test_the_rate_always_stays_within_its_bounds(steps: list[tuple[str, float]]) -> None:
    """Whatever happens, the pace is unlimited or between MIN_RATE and FREE_RATE, and a
    trial batch is never larger than TRIAL_EVENTS."""
    pace = Pace()
    for kind, value in steps:
        if kind == "ok":
            pace = pace.accepted(value)
        elif kind == "strain":
            pace = pace.congested()
        elif kind == "recover":
            pace = pace.recovering()
        else:
            pace = pace.resumed(MIN_RATE, since=0.0, now=value)
        assert pace.rate is None or MIN_RATE <= pace.rate < FREE_RATE
        assert pace.batch_limit(500) <= (TRIAL_EVENTS if pace.trial else 500)


def test_what_counts_as_strain() -> None:
    """429, 503, 408, 504 and timeouts are strain; a refused connection or a 500 is a
    failure, not load. Only 429 and 503 with Retry-After pause the machine."""
    assert all(shows_strain(status, "") for status in (408, 429, 503, 504))
    assert shows_strain(None, "timeout (ReadTimeout)")
    assert not shows_strain(None, "network error (ConnectError)")
    assert not shows_strain(500, "HTTP 500")
    assert asks_to_wait(429, 2.0) and asks_to_wait(503, 0.0)
    assert not asks_to_wait(429, None) and not asks_to_wait(500, 2.0)
