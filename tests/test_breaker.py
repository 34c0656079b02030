"""The circuit breaker's state machine."""

from __future__ import annotations

from shipper._breaker import MAX_COOLDOWN_S, Breaker


def fail(b: Breaker, now: float, threshold: int = 3, cooldown: float = 30.0) -> Breaker:
    return b.failed(now, threshold=threshold, cooldown=cooldown, reason="HTTP 503")


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


def test_half_open_after_cooldown_then_closes_on_success() -> None:
    """After the cooldown one trial is allowed; success closes the breaker."""
    b = fail(fail(fail(Breaker(), 0), 0), 0)
    assert b.state(29.9) == "open"
    assert b.state(30.0) == "half_open" and b.allows(30.0)
    assert b.succeeded().state(31) == "closed"


def test_failed_trial_doubles_cooldown_up_to_cap() -> None:
    """Each failed trial reopens with twice the cooldown, never past 300 s."""
    b = fail(fail(fail(Breaker(), 0), 0), 0)
    now = 0.0
    cooldowns = []
    for _ in range(6):
        now += b.cooldown
        assert b.state(now) == "half_open"
        b = fail(b, now)
        cooldowns.append(b.cooldown)
        assert b.state(now) == "open"
    assert cooldowns == [60, 120, 240, 300, 300, 300]
    assert max(cooldowns) == MAX_COOLDOWN_S


def test_failures_while_open_change_nothing() -> None:
    """Late failure reports from in-flight sends do not extend an open breaker."""
    b = fail(fail(fail(Breaker(), 0), 0), 0)
    assert fail(b, 10) == b


def test_clock_going_backwards_allows_a_trial() -> None:
    """A monotonic time before the opening (a reboot) reads as half-open, not open forever."""
    b = fail(fail(fail(Breaker(), 0), 500), 500)
    assert b.state(100) == "half_open"
