"""Shared health and breaker state across processes."""

from __future__ import annotations

from pathlib import Path

from shipper._breaker import Breaker
from shipper._state import PROBE, SEND, WAIT, Health, SharedState, Snapshot, decide

from .conftest import FakeClock


def snap(health: Health | None = None, breaker: Breaker | None = None) -> Snapshot:
    return Snapshot(health, breaker or Breaker(), None)


def test_decide_probes_when_nothing_is_known() -> None:
    """No health result yet: probe first."""
    assert decide(snap(), 100.0, ttl=30) == PROBE


def test_decide_trusts_a_fresh_result_either_way() -> None:
    """Within health_ttl a good result sends and a bad one waits, without probing."""
    assert decide(snap(Health(True, 90.0, 0.0)), 100.0, ttl=30) == SEND
    assert decide(snap(Health(False, 90.0, 0.0)), 100.0, ttl=30) == WAIT
    assert decide(snap(Health(False, 60.0, 0.0)), 100.0, ttl=30) == PROBE


def test_decide_waits_while_open_and_probes_for_the_trial() -> None:
    """An open breaker waits; once half-open a fresh probe is required before the trial."""
    opened = Breaker(3, 100.0, 30.0)
    healthy_before = Health(True, 99.0, 0.0)
    assert decide(snap(healthy_before, opened), 110.0, ttl=30) == WAIT
    assert decide(snap(healthy_before, opened), 131.0, ttl=30) == PROBE
    assert decide(snap(Health(True, 130.5, 0.0), opened), 131.0, ttl=30) == SEND


def test_explicit_sync_probes_whatever_the_state() -> None:
    """force ignores a cached failure and an open breaker."""
    assert decide(snap(Health(False, 99.0, 0.0), Breaker(3, 99.0, 300.0)), 100.0, ttl=30,
                  force=True) == PROBE


def test_processes_share_state_through_the_file(tmp_path: Path, clock: FakeClock) -> None:
    """What one SharedState records, another (another process) reads."""
    a = SharedState(tmp_path, clock, threshold=2, cooldown=30)
    b = SharedState(tmp_path, clock, threshold=2, cooldown=30)
    a.record_probe(False, "down")
    assert b.read().health == Health(False, clock.mono, clock.wall, "down")
    a.record_failure("HTTP 503")
    b.record_failure("HTTP 503")
    assert a.read().breaker.state(clock.mono) == "open"
    b.record_success()
    assert a.read().breaker.state(clock.mono) == "closed"


def test_failed_trial_probe_reopens_with_doubled_cooldown(tmp_path: Path,
                                                          clock: FakeClock) -> None:
    """A failed probe in half-open reopens the breaker for twice as long."""
    s = SharedState(tmp_path, clock, threshold=1, cooldown=30)
    s.record_failure("HTTP 503")
    clock.advance(31)
    s.record_probe(False, "still down")
    br = s.read().breaker
    assert br.state(clock.mono) == "open" and br.cooldown == 60


def test_auth_failure_trips_at_once(tmp_path: Path, clock: FakeClock) -> None:
    """A 401 opens the breaker on the first failure, with the reason kept for status."""
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    s.record_failure("HTTP 401: the API key was refused", trip=True)
    br = s.read().breaker
    assert br.state(clock.mono) == "open" and "401" in br.reason


def test_damaged_state_file_reads_as_unknown(tmp_path: Path, clock: FakeClock) -> None:
    """A garbled state.json is treated as no knowledge, never an error."""
    (tmp_path / "state.json").write_text("{not json")
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    assert s.read() == snap()
    s.record_probe(True)
    assert s.read().health is not None
