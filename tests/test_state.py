"""Shared health and breaker state across processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper._breaker import MAX_COOLDOWN_S, Breaker
from shipper._cache._state import (
    Health,
    Pause,
    SharedState,
    Snapshot,
    read_state,
    state_document,
)
from shipper._gate import PROBE, SEND, WAIT, decide
from shipper._pace import FREE_RATE, MIN_RATE

from .conftest import FakeClock


def snap(health: Health | None = None, breaker: Breaker | None = None) -> Snapshot:
    return Snapshot(health, breaker or Breaker())


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


def test_a_read_sees_every_change_and_parses_only_changes(tmp_path: Path,
                                                          clock: FakeClock) -> None:
    """Every read reads the file (another process's change is seen at once), but parses it
    only when its bytes changed: the same bytes give the same snapshot."""
    a = SharedState(tmp_path, clock, threshold=1, cooldown=30)
    b = SharedState(tmp_path, clock, threshold=1, cooldown=30)
    first = a.read()
    assert a.read() is first
    b.record_failure("HTTP 503")
    opened = a.read()
    assert opened is not first and opened.breaker.state(clock.monotonic()) == "open"
    assert a.read() is opened
    (tmp_path / "state.json").write_text("{damaged")
    assert a.read().breaker.state(clock.monotonic()) == "closed"  # unknown reads as closed


def test_failed_trial_probe_reopens_with_a_longer_drawn_cooldown(tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    """A failed probe in half-open reopens the breaker for a cooldown drawn between the
    configured one and three times the last, by the injected random source."""
    s = SharedState(tmp_path, clock, threshold=1, cooldown=30, rand=lambda: 1.0)
    s.record_failure("HTTP 503")
    first = s.read().breaker.cooldown
    assert first == 90.0
    clock.advance(first)
    s.record_probe(False, "still down")
    br = s.read().breaker
    assert br.state(clock.mono) == "open" and br.cooldown == 270.0


def test_failed_probes_count_towards_the_breaker(tmp_path: Path, clock: FakeClock) -> None:
    """A machine that only probes (hooks, a sync) backs off like one that sends: failed
    probes are failures, and the threshold-th opens the breaker."""
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    for _ in range(2):
        s.record_probe(False, "connection refused")
        assert s.read().breaker.state(clock.mono) == "closed"
        clock.advance(30)
    s.record_probe(False, "connection refused")
    assert s.read().breaker.state(clock.mono) == "open"


def test_the_drawn_cooldown_is_what_every_process_sees(tmp_path: Path,
                                                       clock: FakeClock) -> None:
    """The cooldown is drawn once, by the process whose failure opened the breaker, and
    kept in state.json: another process (another SharedState, another random source)
    reads the same, and the pause hint for hooks ends when it does."""
    from shipper._cache._files import boot_id
    from shipper._cache._pause import paused

    a = SharedState(tmp_path, clock, threshold=1, cooldown=30, ttl=30.0, rand=lambda: 0.25)
    b = SharedState(tmp_path, clock, threshold=1, cooldown=30, ttl=30.0, rand=lambda: 0.9)
    a.record_failure("HTTP 503")
    br = b.read().breaker
    assert br.cooldown == 30 + 60 * 0.25
    clock.advance(br.cooldown - 0.5)
    assert paused(str(tmp_path), boot_id(), clock.mono)
    clock.advance(0.5)
    assert not paused(str(tmp_path), boot_id(), clock.mono)


def test_a_health_result_lives_a_drawn_time_within_health_ttl(tmp_path: Path,
                                                             clock: FakeClock) -> None:
    """Each probe result is trusted for a lifetime drawn in [ttl/2, ttl], kept in the file
    so every process expires it at the same moment; a ttl lowered since is obeyed."""
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30, ttl=30.0, rand=lambda: 0.0)
    s.record_probe(False, "down")
    health = s.read().health
    assert health is not None and health.ttl == 15.0
    assert json.loads((tmp_path / "state.json").read_text())["health"]["ttl"] == 15.0
    clock.advance(14.9)
    assert decide(s.read(), clock.mono, ttl=30) == WAIT
    clock.advance(0.1)
    assert decide(s.read(), clock.mono, ttl=30) == PROBE
    assert decide(snap(Health(True, 0.0, 0.0, "", ttl=25.0)), 12.0, ttl=10) == PROBE


def test_retry_after_pauses_every_process_of_the_machine(tmp_path: Path,
                                                        clock: FakeClock) -> None:
    """A Retry-After one process received makes every process wait, the explicit sync
    too, and keeps hooks from starting a sync; it is never shortened by a later, shorter
    one, and it is not a breaker failure."""
    from shipper._cache._files import boot_id
    from shipper._cache._pause import paused

    a = SharedState(tmp_path, clock, threshold=1, cooldown=30, ttl=30.0, rand=lambda: 0.0)
    b = SharedState(tmp_path, clock, threshold=1, cooldown=30, ttl=30.0)
    a.record_probe(True, "HTTP 200")
    a.record_strain(2.0, 20.0, "HTTP 429")
    a.record_strain(2.0, 5.0, "HTTP 429")
    seen = b.read()
    assert seen.pause is not None and seen.pause.until_mono == clock.mono + 20.0
    assert seen.breaker.state(clock.mono) == "closed"
    for force in (False, True):
        assert decide(seen, clock.mono + 19.9, ttl=30, force=force) == WAIT
    assert paused(str(tmp_path), boot_id(), clock.mono + 19.9)
    assert decide(seen, clock.mono + 20.0, ttl=30) != WAIT
    b.record_success()  # a success meanwhile does not lift the collector's pause
    assert b.read().pause == seen.pause


def test_a_429_is_as_good_as_a_probe(tmp_path: Path, clock: FakeClock) -> None:
    """A collector answering 429 is up: the health result says so, and once its pause is
    over the next send goes without a probe first (a probe per send would double the load
    of a fleet waiting on a busy collector); a timeout says nothing of the kind."""
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30, ttl=30.0)
    s.record_probe(False, "down")
    s.record_strain(1.0, None, "timeout (ReadTimeout)")
    assert decide(s.read(), clock.mono, ttl=30) == WAIT
    s.record_strain(1.0, 2.0, "HTTP 429", alive=True)
    health = s.read().health
    assert health is not None and health.healthy and health.checked_mono == clock.mono
    clock.advance(5.0)
    assert decide(s.read(), clock.mono, ttl=30) == SEND


def test_a_pause_too_far_ahead_is_not_believed(tmp_path: Path, clock: FakeClock) -> None:
    """A pause beyond the longest Retry-After honoured (a hostile file, a clock that
    jumped) is ignored, so it can never wedge delivery."""
    far = clock.mono + 10_000
    (tmp_path / "state.json").write_text(json.dumps(
        {"pause": {"until_mono": far, "reason": "x"}}))
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    assert s.read().pause is not None
    assert decide(s.read(), clock.mono, ttl=30) == PROBE


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


@pytest.mark.parametrize("cooldown", ["Infinity", "NaN", "-Infinity", "1e400", "-5", "301",
                                      '"30"', "true", "null"])
def test_bad_cooldown_in_the_file_leaves_the_breaker_closed(tmp_path: Path, clock: FakeClock,
                                                            cooldown: str) -> None:
    """A cooldown that is not a finite number in range reads as a closed breaker, so a
    damaged or hostile state.json can never wedge delivery."""
    breaker = f'{{"failures": 3, "opened_mono": {clock.mono!r}, "cooldown": {cooldown}}}'
    (tmp_path / "state.json").write_text(f'{{"breaker": {breaker}}}')
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    assert s.read().breaker == Breaker()
    assert decide(s.read(), clock.mono, ttl=30) == PROBE


@pytest.mark.parametrize("health", [
    '{"healthy": true, "checked_mono": NaN, "checked_wall": 1}',
    '{"healthy": true, "checked_mono": 1, "checked_wall": Infinity}',
    '{"healthy": "yes", "checked_mono": 1, "checked_wall": 1}',
    '{"healthy": true, "checked_mono": "1", "checked_wall": 1}',
    '[true]',
])
def test_bad_health_in_the_file_reads_as_unknown(tmp_path: Path, clock: FakeClock,
                                                 health: str) -> None:
    """A health result with a non-finite or mistyped field is ignored (probe again)."""
    (tmp_path / "state.json").write_text(f'{{"health": {health}}}')
    s = SharedState(tmp_path, clock, threshold=3, cooldown=30)
    assert s.read().health is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)
state_keys = st.sampled_from(["health", "breaker", "boot", "version", "failures",
                              "opened_mono", "cooldown", "reason", "healthy", "checked_mono",
                              "checked_wall", "detail", "ttl", "pause", "until_mono",
                              "slowdown", "rate", "since_mono"])
state_docs = st.dictionaries(state_keys, json_values | st.dictionaries(state_keys, json_values),
                             max_size=4)


@settings(max_examples=300, deadline=None)
@given(doc=state_docs)
def test_any_state_document_reads_as_a_valid_snapshot(doc: dict[str, object]) -> None:
    """Whatever the file holds, the reader returns finite numbers in range, never raises."""
    snap = read_state(doc, "boot")
    br = snap.breaker
    assert br.failures >= 0 and 0.0 <= br.cooldown <= MAX_COOLDOWN_S
    assert br.opened_mono is None or 0.0 <= br.opened_mono < 1e12
    if snap.health is not None:
        assert 0.0 <= snap.health.checked_mono < 1e12
        assert 0.0 <= snap.health.checked_wall <= 253_402_300_799.0  # showable as a date
        assert snap.health.ttl is None or 0.0 <= snap.health.ttl < 1e12
    if snap.pause is not None:
        assert 0.0 <= snap.pause.until_mono < 1e12
    if snap.slowdown is not None:
        assert MIN_RATE <= snap.slowdown.rate < FREE_RATE
    assert read_state(state_document(snap, "boot"), "boot") == snap  # the writer round-trips


def test_state_written_before_a_reboot_is_ignored(tmp_path: Path, clock: FakeClock) -> None:
    """Monotonic times from another boot mean nothing: such a file reads as unknown."""
    s = SharedState(tmp_path, clock, threshold=1, cooldown=30)
    s.record_failure("HTTP 503")
    doc = json.loads((tmp_path / "state.json").read_text())
    doc["boot"] = "another-boot"
    (tmp_path / "state.json").write_text(json.dumps(doc))
    assert s.read() == snap()


def test_state_file_names_its_clocks(tmp_path: Path, clock: FakeClock) -> None:
    """The file says which clock each time is on, and holds nothing that is never read."""
    s = SharedState(tmp_path, clock, threshold=1, cooldown=30)
    s.record_probe(False, "down")
    s.record_failure("HTTP 503")
    doc = json.loads((tmp_path / "state.json").read_text())
    assert set(doc) == {"version", "boot", "health", "breaker"}
    assert set(doc["health"]) == {"healthy", "checked_mono", "checked_wall", "detail"}
    assert set(doc["breaker"]) == {"failures", "opened_mono", "cooldown", "reason"}
    assert doc["breaker"]["opened_mono"] == clock.mono
    assert doc["health"]["checked_wall"] == clock.wall


healths = st.none() | st.builds(Health, st.booleans(), st.floats(0, 2000), st.just(0.0),
                                st.just(""), st.none() | st.floats(0, 600))
breakers = st.builds(Breaker, st.integers(0, 10), st.none() | st.floats(0, 2000),
                     st.floats(0, MAX_COOLDOWN_S))
pauses = st.none() | st.builds(Pause, st.floats(0, 3000))


@settings(max_examples=400)
@given(st.builds(Snapshot, healths, breakers, pauses), st.floats(0, 3000),
       st.tuples(st.floats(0.01, 600), st.booleans()), st.floats(0, 1))
def test_the_pause_hint_ends_exactly_where_decide_stops_waiting(
        state: Snapshot, now: float, policy: tuple[float, bool], fraction: float) -> None:
    """waits_until is None unless decide waits now; otherwise decide waits at every moment
    before it and does not at it (a Retry-After pause, a jittered lifetime included)."""
    from shipper._gate import waits_until

    ttl, probes = policy
    until = waits_until(state, now, ttl=ttl, probes=probes)
    waiting = decide(state, now, ttl=ttl, probes=probes) == WAIT
    if not waiting:
        assert until is None
        return
    if until is None:  # waits with nothing ahead that could end it: no hint, hooks start syncs
        return
    assert until > now
    assert decide(state, until, ttl=ttl, probes=probes) != WAIT
    assert decide(state, now + (until - now) * fraction * 0.999, ttl=ttl,
                  probes=probes) == WAIT


def test_state_writers_keep_the_pause_hint_for_hooks(tmp_path: Path, clock: FakeClock) -> None:
    """A breaker that opens writes paused-until; the success that closes it removes it; a
    hint from another boot or absurdly far ahead is not believed."""
    from shipper._cache._files import boot_id
    from shipper._cache._pause import MAX_PAUSE_S, paused, write_pause

    state = SharedState(tmp_path, clock, threshold=1, cooldown=30.0, ttl=30.0,
                        rand=lambda: 0.0)
    boot = boot_id()
    state.record_failure("connection refused")
    assert paused(str(tmp_path), boot, clock.monotonic())
    assert not paused(str(tmp_path), boot + "-another-boot", clock.monotonic())
    clock.advance(31)
    assert not paused(str(tmp_path), boot, clock.monotonic())  # the cooldown is over
    clock.advance(-31)
    state.record_success()
    assert not (tmp_path / "paused-until").exists()
    far = snap(Health(False, clock.monotonic(), 0.0))
    write_pause(str(tmp_path), far, clock.monotonic(), boot, ttl=MAX_PAUSE_S * 2, probes=True)
    assert not paused(str(tmp_path), boot, clock.monotonic())


def test_the_pause_bound_covers_the_longest_cooldown() -> None:
    """MAX_PAUSE_S (which keeps _breaker off the hook path) is at least a full cooldown."""
    from shipper._cache._pause import MAX_PAUSE_S

    assert MAX_PAUSE_S >= MAX_COOLDOWN_S


def test_the_pause_hint_is_written_whatever_the_rounding_of_a_lifetime() -> None:
    """A failed probe whose drawn lifetime does not add up exactly in floating point (the
    moment it ends still reads as within it): waits_until still finds when the wait ends,
    so hooks keep reading the pause hint instead of starting syncs."""
    from shipper._cache._state import Health, Snapshot
    from shipper._gate import WAIT, decide, waits_until

    checked, lifetime = 8076.305836677, 18.91831124559419
    snap = Snapshot(Health(False, checked, 0.0, "down", lifetime))
    assert decide(snap, checked + lifetime, ttl=30.0) == WAIT  # the rounding in question
    until = waits_until(snap, checked + 1.0, ttl=30.0)
    assert until is not None and until - (checked + lifetime) < 1e-3
