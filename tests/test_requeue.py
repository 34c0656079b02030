"""Events of an earlier destination: every command says they wait, and `shipper requeue
--from` moves them to the configured destination, ids unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Collector, child_env, destination_home

OLD = "http://bob:pw-old-endpoint@127.0.0.1:9/ingest?token=old-token"


def shipper_cli(cache: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper", *args],
                          env=child_env(cache, SHIPPER_ENDPOINT=endpoint), capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def stranded(cache_dir: Path) -> list[str]:
    """Five events recorded for the old endpoint (which never answered); their ids."""
    from shipper._config import load_settings
    from shipper._oneshot import record

    settings = load_settings({"endpoint": OLD})
    return [str(record(settings, "e", {"i": i}, start_sync=False)[0]) for i in range(5)]


def test_every_command_says_events_wait_for_an_earlier_destination(
        stranded: list[str], cache_dir: Path, collector: Collector) -> None:
    """Endpoint changed from A to B: sync, status and doctor each say how many events wait
    for A and how to move them (they used to say "0 pending", "all good", and that the next
    hook would send them, which it never would)."""
    name = destination_home(cache_dir, OLD).name
    done = shipper_cli(cache_dir, collector.url, "sync")
    assert done.returncode == 0 and "5 more wait" in done.stderr and name in done.stderr
    result = json.loads(shipper_cli(cache_dir, collector.url, "sync", "--json").stdout)
    assert (result["other_destination_events"], result["other_destinations"]) == (5, [name])
    status = shipper_cli(cache_dir, collector.url, "status")
    assert f"requeue --from {name}" in status.stdout and "waiting for the next" not in status.stdout
    assert json.loads(shipper_cli(cache_dir, collector.url, "status", "--json").stdout)[
        "other_destination_events"] == 5
    doctor = shipper_cli(cache_dir, collector.url, "doctor")
    assert doctor.returncode == 1 and f"requeue --from {name}" in doctor.stdout
    for text in (done.stderr, status.stdout, doctor.stdout):
        assert "pw-old-endpoint" not in text and "old-token" not in text


@pytest.mark.parametrize("how", ["url", "folder"])
def test_requeue_from_moves_an_earlier_destinations_events_here(
        how: str, stranded: list[str], cache_dir: Path, collector: Collector) -> None:
    """`requeue --from` (the old URL, or its folder name) moves its events to the
    configured destination; the next sync delivers them with their ids."""
    source = OLD if how == "url" else destination_home(cache_dir, OLD).name
    dry = shipper_cli(cache_dir, collector.url, "requeue", "--from", source, "--dry-run")
    assert dry.returncode == 0 and "would move 5 event(s)" in dry.stdout
    moved = shipper_cli(cache_dir, collector.url, "requeue", "--from", source)
    assert moved.returncode == 0 and "moved 5 event(s)" in moved.stdout
    assert shipper_cli(cache_dir, collector.url, "sync").returncode == 0
    assert sorted(collector.ids()) == sorted(stranded)


def test_requeue_from_a_destination_that_holds_nothing_exits_1(
        stranded: list[str], cache_dir: Path, collector: Collector) -> None:
    """A `--from` that names no earlier destination: exit 1, and the folders that do hold
    events are named."""
    done = shipper_cli(cache_dir, collector.url, "requeue", "--from", "http://elsewhere:1")
    assert done.returncode == 1
    assert destination_home(cache_dir, OLD).name in done.stderr


@pytest.mark.parametrize("source", ["http://", "http:///", "http://127.0.0.1:9",
                                    "http://127.0.0.1:9/ingest/more", "http://127.0.0.1"])
def test_requeue_from_matches_a_destination_exactly_never_a_part(
        source: str, stranded: list[str], cache_dir: Path, collector: Collector) -> None:
    """A URL without a host, a bare host, or a prefix or longer path of the old endpoint
    names nothing (a move cannot be undone); the error names no credentials."""
    done = shipper_cli(cache_dir, collector.url, "requeue", "--from", source)
    assert done.returncode == 1 and "moved" not in done.stdout


def test_requeue_from_says_no_credentials_of_what_it_was_given(
        stranded: list[str], cache_dir: Path, collector: Collector) -> None:
    """The no-match error quotes the URL given without its password or query."""
    done = shipper_cli(cache_dir, collector.url, "requeue", "--from",
                       "http://eve:pw-typed-secret@elsewhere:1/?token=typed-token")
    assert done.returncode == 1
    assert "pw-typed-secret" not in done.stderr and "typed-token" not in done.stderr
