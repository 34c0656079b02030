"""The one "never raises" boundary of the public entry points."""

from __future__ import annotations

import logging

import pytest

from shipper._clock import Deadline
from shipper._guard import never_raises, never_raises_async

from .conftest import FakeClock


def test_a_failure_is_logged_once_and_the_fallback_returned(
        caplog: pytest.LogCaptureFixture) -> None:
    """An exception inside becomes one log record (with traceback) and the fallback."""
    @never_raises("thing()", "fallback")
    def thing(x: int) -> str:
        raise ValueError(x)

    with caplog.at_level(logging.DEBUG, logger="shipper"):
        assert thing(3) == "fallback"
    (record,) = caplog.records
    assert record.getMessage() == "thing() failed" and record.exc_info is not None
    assert thing.__name__ == "thing"


def test_recover_gets_the_same_arguments_and_its_result_is_returned() -> None:
    """recover runs with the call's own arguments (to spill what the call held, say)."""
    seen: list[tuple[object, ...]] = []

    def recover(*args: object) -> str:
        seen.append(args)
        return "recovered"

    @never_raises("thing()", "fallback", recover=recover)
    def thing(a: int, b: int) -> str:
        raise RuntimeError

    assert thing(1, 2) == "recovered" and seen == [(1, 2)]


def test_a_failing_recovery_still_returns_the_fallback() -> None:
    """If recovering raises too, the fallback is returned: the boundary holds."""
    def recover() -> str:
        raise OSError("disk gone")

    @never_raises("thing()", "fallback", recover=recover)
    def thing() -> str:
        raise RuntimeError

    assert thing() == "fallback"


def test_base_exceptions_pass_unless_asked_for() -> None:
    """KeyboardInterrupt and SystemExit go through, except where catch=BaseException (the
    hook, which must never fail its agent)."""
    @never_raises("library()", None)
    def library() -> None:
        raise KeyboardInterrupt

    @never_raises("hook()", 0, catch=BaseException)
    def hook() -> int:
        raise SystemExit(2)

    with pytest.raises(KeyboardInterrupt):
        library()
    assert hook() == 0


async def test_coroutines_are_guarded_too() -> None:
    """The async form awaits the coroutine and guards it the same way."""
    @never_raises_async("athing()", 7)
    async def athing() -> int:
        raise ValueError

    assert await athing() == 7


def test_deadline_counts_down_on_the_injected_clock(clock: FakeClock) -> None:
    """A deadline's time left follows the monotonic clock; never() has no end."""
    deadline = Deadline.after(clock, 5.0)
    assert deadline.left() == 5.0 and not deadline.expired
    clock.advance(5.0)
    assert deadline.expired
    forever = Deadline.never(clock)
    assert forever.left() == float("inf") and not forever.expired
    assert forever.within(2.0).left() == 2.0 and deadline.within(10.0).at == deadline.at
