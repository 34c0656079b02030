"""What every recorded event gets, and what the caller may do to it: before_send, the
default context, and debug output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import shipper
from shipper import AsyncShipper, Shipper
from shipper._cache._drops import read_drops
from shipper._event import FILTERED, default_context, make_event
from shipper._reasons import BEFORE_SEND_FAILED

from .conftest import FakeClock, child_env, events_on_disk
from .mockcollector import MockCollector

URL = "http://collector.test"


def redact(event: dict[str, Any]) -> dict[str, Any]:
    event["properties"].pop("email", None)
    event["properties"]["redacted"] = True
    return event


def received(mock: MockCollector) -> list[dict[str, Any]]:
    import gzip

    out = []
    for request in mock.batch_requests:
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        out += json.loads(body)["batch"]
    return out


async def test_before_send_changes_what_is_sent_not_the_callers_dict(clock: FakeClock) -> None:
    """before_send's changes reach the collector; the caller's properties stay as they were."""
    mock = MockCollector()
    props = {"email": "a@example.com", "plan": "pro"}
    async with AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock,
                            sleep=clock.sleep, before_send=redact) as s:
        event_id = s.track("signup", props)
        await s.flush()
    (sent,) = received(mock)
    assert sent["id"] == event_id
    assert sent["properties"] == {"plan": "pro", "redacted": True}
    assert props == {"email": "a@example.com", "plan": "pro"}


async def test_before_send_returning_none_drops_without_counting_a_loss(
        clock: FakeClock) -> None:
    """None from before_send drops the event: track returns None, nothing is sent, and the
    drop is the caller's choice, not counted as lost."""
    mock = MockCollector()
    async with AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock,
                            sleep=clock.sleep,
                            before_send=lambda e: None if e["event"] == "noise" else e) as s:
        assert s.track("noise") is None
        kept = s.track("signal")
        await s.flush()
        assert s.stats()["dropped_total"] == 0
    assert [e["id"] for e in received(mock)] == [kept]


def test_before_send_that_raises_drops_and_counts_never_sends(
        cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A before_send that raises drops the event (never sent unredacted), counts it, and
    says so on the shipper logger; the caller sees no exception."""
    mock = MockCollector()

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug in my redaction")

    with Shipper(endpoint=URL, transport=mock.transport, before_send=broken) as s:
        assert s.track("signup", {"email": "a@example.com"}) is None
        assert s.stats()["dropped"] == {BEFORE_SEND_FAILED: 1}
    assert received(mock) == []
    assert "before_send raised RuntimeError" in caplog.text
    assert "a@example.com" not in caplog.text
    assert read_drops(cache_dir) == {BEFORE_SEND_FAILED: 1}


@pytest.mark.parametrize("returned", [42, {"event": "no id"}, ["a", "list"]])
def test_before_send_returning_something_else_drops_the_event(returned: object) -> None:
    """What is not an event with a string id is not sent."""
    made = make_event("e", {"secret": 1}, None, None, max_bytes=65536,
                      before_send=lambda event: returned)  # type: ignore[arg-type, return-value]
    assert made == BEFORE_SEND_FAILED


def test_shipper_track_takes_before_send_too(cache_dir: Path) -> None:
    """shipper.track(before_send=...) writes the changed event to disk, or none."""
    assert shipper.track("signup", {"email": "a@example.com"}, before_send=redact)
    assert shipper.track("noise", before_send=lambda e: None) is None
    (event,) = events_on_disk(cache_dir)
    assert event["properties"] == {"redacted": True}


def test_filtered_is_not_a_drop_reason_anyone_sees() -> None:
    """The reason for a before_send drop is distinct from every counted loss."""
    assert FILTERED not in (BEFORE_SEND_FAILED, "too_large")


def test_every_event_says_which_os_and_python_recorded_it(cache_dir: Path) -> None:
    """context.os and context.runtime are always there; no host or user name by default."""
    shipper.track("e")
    (event,) = events_on_disk(cache_dir)
    ctx = event["context"]
    assert ctx["os"] == {"name": platform.system(), "version": platform.release()}
    assert ctx["runtime"] == {"name": sys.implementation.name,
                              "version": platform.python_version()}
    assert "host" not in ctx and "app" not in ctx
    assert os.uname().nodename not in json.dumps(event)


def test_app_name_version_and_host_only_where_set(cache_dir: Path) -> None:
    """app_name/app_version add context.app; include_host adds the host and user names."""
    shipper.track("e", app_name="deployer", app_version="2.1.0", include_host=True)
    (event,) = events_on_disk(cache_dir)
    assert event["context"]["app"] == {"name": "deployer", "version": "2.1.0"}
    assert event["context"]["host"]["name"] == os.uname().nodename


def test_the_callers_context_wins_over_the_defaults() -> None:
    """A context key the caller gives replaces the default one of that name."""
    made = make_event("e", None, {"os": "mine"}, None, max_bytes=65536,
                      defaults=default_context(app_name="x"))
    assert not isinstance(made, str)
    ctx = json.loads(made[1])["context"]
    assert ctx["os"] == "mine" and ctx["app"] == {"name": "x"}
    assert ctx["library"]["name"] == "shipper"


def test_debug_shows_events_and_requests_with_the_key_hidden(tmp_path: Path) -> None:
    """debug=True prints each recorded event and each request and answer on stderr, with
    the API key hidden, even from an HTTP Basic header."""
    from .conftest import Receiver

    collector = Receiver(tmp_path, "segment")
    collector.start()
    try:
        code = ("from shipper import Shipper\n"
                f"with Shipper(endpoint={collector.url!r}, api_key='sk-very-secret',"
                " destination='segment', debug=True) as s:\n"
                "    s.track('deploy.done', {'env': 'prod'})\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=child_env(tmp_path / "cache"), timeout=60, check=True)
    finally:
        collector.stop()
    assert "shipper debug: recorded" in out.stderr and '"deploy.done"' in out.stderr
    assert "shipper debug: request POST" in out.stderr
    assert "shipper debug: answer " in out.stderr
    assert "sk-very-secret" not in out.stderr
    assert "authorization: <hidden>" in out.stderr.lower()
    assert out.stdout == ""


def test_without_debug_nothing_is_printed(tmp_path: Path) -> None:
    """The library prints nothing by default, whatever happens."""
    code = ("from shipper import Shipper\n"
            "with Shipper(endpoint='http://127.0.0.1:9', shutdown_timeout=0.2) as s:\n"
            "    s.track('e')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env(tmp_path / "cache"), timeout=60, check=True)
    assert out.stdout == "" and out.stderr == ""
