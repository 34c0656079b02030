"""Clock jumps: durations follow the monotonic clock; wall-clock jumps keep things sane."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shipper import AsyncShipper
from shipper._cache._prune import prune
from shipper._cache._spool import Spool
from shipper._cache._state import SharedState

from .conftest import FakeClock
from .mockcollector import MockCollector


@pytest.mark.parametrize("jump", [-86_400 * 30, -3600, 3600, 86_400 * 30])
def test_breaker_ignores_wall_clock_jumps(tmp_path: Path, clock: FakeClock, jump: int) -> None:
    """Setting the wall clock back or forward neither closes nor prolongs an open breaker:
    it is half-open exactly when the cooldown it drew is over."""
    state = SharedState(tmp_path, clock, threshold=1, cooldown=30)
    state.record_failure("HTTP 503")
    cooldown = state.read().breaker.cooldown
    assert 30 <= cooldown <= 90
    clock.wall += jump
    clock.mono += cooldown - 0.01
    assert state.read().breaker.state(clock.monotonic()) == "open"
    clock.mono += 0.02  # past it: the drawn cooldown is a float, the sum may round down
    assert state.read().breaker.state(clock.monotonic()) == "half_open"


@pytest.mark.parametrize("jump", [-86_400 * 30, 86_400 * 30])
def test_health_ttl_ignores_wall_clock_jumps(tmp_path: Path, clock: FakeClock,
                                             jump: int) -> None:
    """A cached probe result expires after health_ttl of monotonic time, whatever the wall."""
    from shipper._gate import PROBE, WAIT, decide

    state = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    state.record_probe(False, "down")
    clock.wall += jump
    assert decide(state.read(), clock.monotonic(), ttl=30) == WAIT
    clock.mono += 31
    assert decide(state.read(), clock.monotonic(), ttl=30) == PROBE


async def test_backoff_waits_do_not_depend_on_the_wall_clock(tmp_path: Path) -> None:
    """Retry waits come from the attempt number and the injected sleep, not wall time."""
    clock = FakeClock()
    mock = MockCollector()
    mock.status = 503

    async def sleep(seconds: float) -> None:
        clock.slept.append(seconds)
        clock.mono += seconds
        clock.wall -= 86_400  # the wall clock runs backwards while we wait

    async with AsyncShipper(endpoint="http://c.test", transport=mock.transport, clock=clock,
                            sleep=sleep, rand=lambda: 1.0, breaker_threshold=10) as s:
        s.track("e")
        await s.flush(timeout=600)
    assert clock.slept == [0.5, 1.0]


def test_files_from_the_future_are_kept_and_ordered(tmp_path: Path) -> None:
    """Files written while the clock ran ahead are not pruned by age (and not lost); files
    written after it was set back sort first, which only changes delivery order."""
    spool = Spool(tmp_path)
    now = time.time()
    spool.write([json.dumps({"id": "future"}).encode()], written_ms=int((now + 86_400 * 40)
                                                                          * 1000))
    spool.write([json.dumps({"id": "now"}).encode()], written_ms=int(now * 1000))
    spool.write([json.dumps({"id": "old"}).encode()], written_ms=int((now - 86_400 * 30)
                                                                       * 1000))
    result = prune(spool, max_age_days=7, max_cache_mb=50, now=now)
    assert result.by_reason == {"max_age": 1}
    left = [e.written_ms for e in spool.entries()]
    assert left == sorted(left) and len(left) == 2
