"""Every destination over real HTTP: a recording receiver process on 127.0.0.1 that speaks
the destination's format and answers as the test plans (tests/receiver.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipper import Shipper

from .conftest import (
    Collector,
    Receiver,
    child_env,
    destination_home,
    events_on_disk,
    pending_events,
)

KINDS = ["otlp", "segment", "posthog", "webhook"]


@pytest.fixture(params=KINDS)
def receiver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path, request.param)
    r.start()
    yield r
    r.stop()


def client(r: Receiver, **settings: Any) -> Shipper:
    return Shipper(destination=r.kind, endpoint=r.url, api_key="key-1",
                   **{"shutdown_timeout": 5, **settings})


def sync(cache: Path, r: Receiver | Collector, kind: str = "", **env: str) -> dict[str, Any]:
    """`shipper sync --json` as a separate process; its JSON result."""
    out = subprocess.run([sys.executable, "-m", "shipper", "sync", "--json", "--timeout", "60"],
                         env=child_env(cache, SHIPPER_ENDPOINT=r.url,
                                       SHIPPER_DESTINATION=kind or getattr(r, "kind", "shipper"),
                                       SHIPPER_API_KEY="key-1", **env),
                         capture_output=True, timeout=120, check=False)
    assert out.stdout, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def dead_events(cache: Path, r: Receiver) -> list[str]:
    home = destination_home(cache, r.url, r.kind)
    ids = []
    for path in sorted((home / "dead").iterdir()):
        ids += [json.loads(line)["id"] for line in path.read_bytes().splitlines()[1:]]
    return ids


def test_outage_then_recovery_delivers_every_event_once(tmp_path: Path,
                                                        cache_dir: Path) -> None:
    """For each destination: events recorded while its receiver is down wait on disk;
    once it is up, `shipper sync` delivers each of them exactly once."""
    for kind in KINDS:
        r = Receiver(tmp_path, kind)
        with client(r, shutdown_timeout=0.3) as s:
            ids = [s.track("outage", {"i": i}) for i in range(40)]
        assert pending_events(cache_dir) == 40, kind
        r.start()
        try:
            result = sync(cache_dir, r)
            assert result["ok"] and result["delivered"] == 40, (kind, result)
            assert sorted(r.ids()) == sorted(ids), kind
        finally:
            r.stop()


def test_running_client_delivers_directly(receiver: Receiver, cache_dir: Path) -> None:
    """A running client sends to the destination with its auth, nothing left on disk."""
    with client(receiver) as s:
        ids = [s.track("direct", {"i": i}) for i in range(120)]
    assert sorted(receiver.ids()) == sorted(ids)
    assert pending_events(cache_dir) == 0
    headers = receiver.requests()[0]["headers"]
    if receiver.kind == "segment":
        assert headers["authorization"].startswith("Basic ")
    if receiver.kind == "webhook":
        assert "authorization" not in headers  # the key is not a webhook's: headers are


def test_refused_events_are_dead_lettered(receiver: Receiver, cache_dir: Path) -> None:
    """A 400 for a batch holding a bad event: only that event goes to the dead letter, the
    others are delivered."""
    receiver.plan(refuse_marked=True)
    with client(receiver) as s:
        good = [s.track("e", {"i": i}) for i in range(30)]
        bad = s.track("bad", {"refuse": True})
        good += [s.track("e", {"i": i}) for i in range(30, 50)]
    assert sorted(receiver.ids()) == sorted(good)
    assert dead_events(cache_dir, receiver) == [bad]


def test_refused_credentials_keep_everything_and_pause(receiver: Receiver,
                                                       cache_dir: Path) -> None:
    """401: nothing is dropped, the events stay pending, the breaker opens at once and no
    further request is made while it is open."""
    receiver.plan(status=401)
    with client(receiver) as s:
        for i in range(10):
            s.track("e", {"i": i})
        s.flush()
        s.track("later")
    assert pending_events(cache_dir) == 11
    assert receiver.stats()["batch_requests"] == 1
    state = json.loads((destination_home(cache_dir, receiver.url, receiver.kind)
                        / "state.json").read_text())
    assert "401" in state["breaker"]["reason"]


def test_too_large_batches_are_split(receiver: Receiver, cache_dir: Path) -> None:
    """413 above 7 events: halves are sent until each fits; nothing is lost."""
    receiver.plan(max_events=7)
    with client(receiver) as s:
        ids = [s.track("e", {"i": i}) for i in range(60)]
    assert sorted(receiver.ids()) == sorted(ids)
    assert receiver.stats()["refused_requests"] >= 1 and pending_events(cache_dir) == 0


def test_transient_answers_are_retried(receiver: Receiver, cache_dir: Path) -> None:
    """503 with Retry-After: kept and retried; delivered once the receiver recovers."""
    receiver.plan(status=503, retry_after=1)
    with client(receiver, max_retries=1, shutdown_timeout=0.5) as s:
        ids = [s.track("e", {"i": i}) for i in range(20)]
    assert pending_events(cache_dir) == 20 and receiver.stats()["refused_requests"] >= 1
    receiver.plan()
    assert sync(cache_dir, receiver)["ok"]
    assert sorted(receiver.ids()) == sorted(ids)


def test_otlp_partial_success_is_counted_not_resent(tmp_path: Path, cache_dir: Path) -> None:
    """An OTLP partialSuccess: the batch is not sent again, and the rejected records are
    counted in the cache's drops (shown by status)."""
    r = Receiver(tmp_path, "otlp")
    r.start()
    try:
        r.plan(partial_reject=2)
        with client(r) as s:
            for i in range(10):
                s.track("e", {"i": i})
        assert r.stats()["batch_requests"] == 1
        status = json.loads(subprocess.run(
            [sys.executable, "-m", "shipper", "status", "--json"], env=child_env(cache_dir),
            capture_output=True, timeout=60, check=True).stdout)
        assert status["dropped"] == {"rejected_by_receiver": 2}
    finally:
        r.stop()


def test_two_destinations_in_one_cache_never_mix(receiver: Receiver, collector: Collector,
                                                 cache_dir: Path) -> None:
    """One cache, two destinations: events recorded for one never reach the other, and the
    failures of one never pause the other."""
    receiver.plan(status=503)  # this destination fails
    with client(receiver, max_retries=1, shutdown_timeout=0.5) as s:
        mine = [s.track("mine", {"i": i}) for i in range(10)]
    with Shipper(endpoint=collector.url, shutdown_timeout=5) as native:
        theirs = [native.track("theirs", {"i": i}) for i in range(10)]
    assert sorted(collector.ids()) == sorted(theirs)  # not paused by the other's failures
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(mine)
    assert sync(cache_dir, collector, kind="shipper")["ok"]  # the native sync leaves them be
    assert sorted(collector.ids()) == sorted(theirs)
    assert pending_events(cache_dir) == 10
    receiver.plan()
    assert sync(cache_dir, receiver)["ok"]
    assert sorted(receiver.ids()) == sorted(mine)


def test_events_recorded_without_an_endpoint_go_to_the_first_sync(receiver: Receiver,
                                                                  cache_dir: Path) -> None:
    """Events recorded while no endpoint was set (and a 0.1 cache's pending events) are
    delivered by the first destination that syncs."""
    env = child_env(cache_dir)
    for i in range(3):
        subprocess.run([sys.executable, "-m", "shipper", "emit", "early", "-p", f"i={i}"],
                       env=env, timeout=60, check=True)
    assert (cache_dir / "pending").is_dir() and pending_events(cache_dir) == 3
    result = sync(cache_dir, receiver)
    assert result["delivered"] == 3 and len(receiver.ids()) == 3


def shipper_cli(cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper", *args], env=child_env(cache, **env),
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_missing_health_endpoint_does_not_stop_delivery(tmp_path: Path,
                                                          cache_dir: Path) -> None:
    """A receiver without /health (404) that takes batches: delivery goes on, and doctor
    says what to set; health_path = "" (even empty in the environment) turns it off."""
    r = Receiver(tmp_path, "webhook")  # answers 404 to every GET
    r.start()
    try:
        env = {"SHIPPER_ENDPOINT": r.url, "SHIPPER_DESTINATION": "webhook",
               "SHIPPER_HEALTH_PATH": "/health"}
        for i in range(3):
            shipper_cli(cache_dir, "emit", "e", "-p", f"i={i}", **env)
        synced = shipper_cli(cache_dir, "sync", "--json", **env)  # with the hooks' own syncs
        assert json.loads(synced.stdout)["ok"] and len(set(r.ids())) == 3, synced.stdout
        doctor = shipper_cli(cache_dir, "doctor", **env)
        assert doctor.returncode == 1 and "HTTP 404" in doctor.stdout
        assert 'health_path = ""' in doctor.stdout
        off = shipper_cli(cache_dir, "doctor", **{**env, "SHIPPER_HEALTH_PATH": ""})
        assert off.returncode == 0, off.stdout
        assert "no health probe" in off.stdout
    finally:
        r.stop()


def test_status_shows_each_destination_with_pending_events(tmp_path: Path,
                                                           cache_dir: Path) -> None:
    """status names every destination that has events waiting, and the unbound ones."""
    shipper_cli(cache_dir, "emit", "nowhere")
    shipper_cli(cache_dir, "emit", "a", SHIPPER_ENDPOINT="http://127.0.0.1:9",
                SHIPPER_DESTINATION="segment")
    shipper_cli(cache_dir, "emit", "b", SHIPPER_ENDPOINT="http://127.0.0.1:9/")
    shipper_cli(cache_dir, "emit", "c", SHIPPER_ENDPOINT="http://127.0.0.1:9")
    out = shipper_cli(cache_dir, "status", "--json", SHIPPER_ENDPOINT="http://127.0.0.1:9")
    status = json.loads(out.stdout)
    assert status["pending_events"] == 4 and status["unbound_events"] == 1
    found = {(d["kind"], d["pending_events"], d["configured"]) for d in status["destinations"]}
    assert found == {("segment", 1, False), ("shipper", 2, True)}
    text = shipper_cli(cache_dir, "status", SHIPPER_ENDPOINT="http://127.0.0.1:9").stdout
    name = destination_home(cache_dir, "http://127.0.0.1:9", "segment").name
    assert f"segment http://127.0.0.1:9 (folder {name}): 1 pending" in text
    assert f"shipper requeue --from {name}" in text
    assert "recorded with no endpoint: 1 pending" in text


def test_requeue_sends_dead_letters_again(collector: Collector, cache_dir: Path) -> None:
    """requeue --dry-run counts, requeue moves dead-lettered events back to pending, and
    the next sync delivers them (to a receiver that now takes them)."""
    collector.faults(refuse_marked=True)
    with Shipper(endpoint=collector.url) as s:
        good = [s.track("good") for _ in range(6)]
        bad = [s.track("bad", {"refuse": True}) for _ in range(2)]
    assert pending_events(cache_dir) == 0 and sorted(collector.ids()) == sorted(good)
    dry = json.loads(shipper_cli(cache_dir, "requeue", "--dry-run", "--json").stdout)
    assert dry["events"] == 2 and pending_events(cache_dir) == 0
    moved = shipper_cli(cache_dir, "requeue")
    assert moved.returncode == 0 and "moved 2 dead-lettered event(s)" in moved.stdout
    assert pending_events(cache_dir) == 2
    collector.faults(refuse_marked=False)
    assert sync(cache_dir, collector, kind="shipper")["ok"]
    assert sorted(collector.ids()) == sorted(good + bad)
