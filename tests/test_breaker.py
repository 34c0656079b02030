"""The circuit breaker's state machine, and the bounds of its jittered cooldown."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from hypothesis import example, given
from hypothesis import strategies as st

from shipper._breaker import MAX_COOLDOWN_S, Breaker

BASE = 30.0


def fail(b: Breaker, now: float, threshold: int = 3, cooldown: float = BASE,
         rand: Callable[[], float] = random.random) -> Breaker:
    return b.failed(now, threshold=threshold, cooldown=cooldown, reason="HTTP 503", rand=rand)


def opened(now: float = 0.0, rand: Callable[[], float] = random.random) -> Breaker:
    return fail(fail(fail(Breaker(), now, rand=rand), now, rand=rand), now, rand=rand)


def test_opens_after_threshold_consecutive_failures() -> None:
    """Closed until the threshold-th consecutive failure, then open."""
    b = Breaker()
    b = fail(b, 0)
    b = fail(b, 1)
    assert b.state(1) == "closed"
    b = fail(b, 2)
    assert b.state(2) == "open" and not b.allows(2)


def test_success_resets_the_count() -> None:
    """A success between failures means they are not consecutive."""
    b = fail(fail(Breaker(), 0), 1).succeeded()
    b = fail(fail(b, 2), 3)
    assert b.state(3) == "closed"


def test_half_open_once_the_drawn_cooldown_is_over_then_closes_on_success() -> None:
    """The breaker stays open exactly as long as the cooldown it drew (between the
    configured one and three times it), then allows one trial; success closes it."""
    b = opened(rand=lambda: 0.5)
    assert b.cooldown == BASE * 2  # halfway between 30 and 90
    assert b.state(b.cooldown - 0.1) == "open"
    assert b.state(b.cooldown) == "half_open" and b.allows(b.cooldown)
    assert b.succeeded().state(b.cooldown + 1) == "closed"


def test_the_cooldown_comes_from_the_injected_random_source() -> None:
    """Two breakers given the same random sequence make the same choices (the state is a
    pure function of its inputs); the extremes of the source are the bounds."""
    assert opened(rand=random.Random(7).random) == opened(rand=random.Random(7).random)
    assert opened(rand=lambda: 0.0).cooldown == BASE
    assert opened(rand=lambda: 1.0).cooldown == 3 * BASE


def test_failed_trials_grow_the_cooldown_up_to_the_cap() -> None:
    """With the jitter at its top each failed trial triples the cooldown until 300 s; at
    its bottom it stays at the configured cooldown: the bounds of the old doubling."""
    for top, expected in ((1.0, [270, 300, 300, 300]), (0.0, [30, 30, 30, 30])):
        b = opened(rand=lambda top=top: top)
        now, cooldowns = 0.0, []
        for _ in range(4):
            now += b.cooldown
            assert b.state(now) == "half_open"
            b = fail(b, now, rand=lambda top=top: top)
            assert b.state(now) == "open"
            cooldowns.append(b.cooldown)
        assert cooldowns == expected


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12),
       st.floats(0.01, 600), st.integers(1, 5))
@example([0.25, 1.0], 0.4199457116545434, 1)  # low + (high - low) was a bit over high
def test_every_cooldown_stays_within_its_bounds(draws: list[float], base: float,
                                                threshold: int) -> None:
    """Whatever the random source says: the first cooldown is in [base, 3 base], each
    next in [base, 3 x the last], and none is over 300 s (a base over 300 s is 300 s)."""
    source = iter(draws + [0.5] * 20)

    def rand() -> float:
        return next(source)

    b = Breaker()
    for _ in range(threshold):
        b = fail(b, 0.0, threshold=threshold, cooldown=base, rand=rand)
    low = min(base, MAX_COOLDOWN_S)
    assert low <= b.cooldown <= min(3 * base, MAX_COOLDOWN_S)
    now = 0.0
    for _ in draws:
        last = b.cooldown
        now += last
        b = fail(b, now, threshold=threshold, cooldown=base, rand=rand)
        assert low <= b.cooldown <= min(MAX_COOLDOWN_S, 3 * max(last, low))


def test_breakers_opened_in_the_same_seconds_try_again_at_different_times() -> None:
    """10,000 breakers whose third failure falls within the same 2 s: their first trials
    spread over a minute, not one second (the fleet's thundering herd, issue 22); the
    busiest second holds under 3% of them (it held half of them with a fixed cooldown)."""
    rng = random.Random(22)
    trials = Counter()
    for _ in range(10_000):
        t = rng.uniform(0, 2)
        b = opened(t, rand=rng.random)
        trials[int(t + b.cooldown)] += 1
    assert max(trials) - min(trials) >= 55
    assert max(trials.values()) < 300


def test_failures_while_open_change_nothing() -> None:
    """Late failure reports from in-flight sends do not extend an open breaker."""
    b = opened()
    assert fail(b, 10) == b


def test_clock_going_backwards_allows_a_trial() -> None:
    """A monotonic time before the opening (a reboot) reads as half-open, not open forever."""
    b = fail(fail(fail(Breaker(), 0), 500), 500)
    assert b.state(100) == "half_open"
