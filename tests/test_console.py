"""`destination = "console"`: each translated batch printed on stderr, with no receiver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import shipper
from shipper._config import load_settings
from shipper._destinations._select import destination_for
from shipper._errors import ConfigError
from shipper._kinds import SENDING_KINDS

from .conftest import child_env, pending_events


def test_a_running_shipper_prints_each_batch_on_stderr(
        capsys: pytest.CaptureFixture[str], cache_dir: Path) -> None:
    """A Shipper with the console destination needs no endpoint: its batches are printed on
    stderr (a line about the batch, then each event) and nothing is left on disk."""
    with shipper.Shipper(destination="console", flush_interval=0.05) as s:
        first = s.track("page.view", {"path": "/home"})
        second = s.track("signup", {"plan": "pro"})
    err = capsys.readouterr().err
    assert "event(s) as shipper: POST /v1/batch" in err
    printed = [json.loads(line.strip()) for line in err.splitlines() if line.startswith("  {")]
    assert [e["id"] for e in printed] == [first, second]
    assert printed[0]["properties"] == {"path": "/home"}
    assert pending_events(cache_dir) == 0


def test_emit_then_sync_prints_the_events(tmp_path: Path) -> None:
    """`shipper emit` keeps the event on disk (no detached sync printing to nobody);
    `shipper sync` then prints it, as the destination named by console_as would get it."""
    cache = tmp_path / "cache"
    env = child_env(cache, SHIPPER_DESTINATION="console", SHIPPER_CONSOLE_AS="segment")
    emitted = subprocess.run([sys.executable, "-m", "shipper", "emit", "checkout", "-p",
                              "total=12", "--print-id"], env=env, capture_output=True,
                             text=True, timeout=60, check=True)
    assert emitted.stderr == "" and pending_events(cache) == 1
    synced = subprocess.run([sys.executable, "-m", "shipper", "sync"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert synced.returncode == 0, synced.stderr
    line = next(ln for ln in synced.stderr.splitlines() if ln.startswith("  {"))
    message = json.loads(line)
    assert (message["type"], message["event"], message["messageId"]) == (
        "track", "checkout", emitted.stdout.strip())
    assert message["properties"] == {"total": 12}
    assert pending_events(cache) == 0


@pytest.mark.parametrize("kind", SENDING_KINDS)
def test_json_format_prints_one_line_per_event_as_each_destination_writes_it(kind: str,
                                                                             ) -> None:
    """console_format json: one JSON object a line, one line an event, whatever the
    destination shown."""
    settings = load_settings({"destination": "console", "console_as": kind,
                              "console_format": "json", "endpoint": "http://127.0.0.1:9"},
                             environ={})
    console = destination_for(settings, "anon")
    events = [json.dumps({"id": f"id-{i}", "event": "e", "timestamp":
                          "2026-11-23T07:36:49.123Z", "properties": {"i": i}}).encode()
              for i in range(3)]
    text = console.render(console.batch_request(events, 1.8e9))  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3
    assert "id-2" in json.dumps(lines[2])


def test_debug_shows_the_request_with_secrets_hidden(capsys: pytest.CaptureFixture[str],
                                                     cache_dir: Path) -> None:
    """debug = true adds the request's headers and body; the API key and the configured
    headers' values never appear, in the headers or in the body."""
    with shipper.Shipper(destination="console", console_as="posthog", debug=True,
                         api_key="phc_SECRETKEY", headers={"X-Team-Token": "TEAMSECRET"},
                         flush_interval=0.05) as s:
        s.track("e", {"n": 1})
    err = capsys.readouterr().err
    assert "request body:" in err and "request headers:" in err
    assert "SECRETKEY" not in err and "TEAMSECRET" not in err
    assert "X-Team-Token: <hidden>" in err and '"api_key":"<hidden>"' in err


def test_console_keys_are_checked() -> None:
    """console_format and console_as take only their choices."""
    with pytest.raises(ConfigError, match="console_format must be one of text, json"):
        load_settings({"console_format": "yaml"})
    with pytest.raises(ConfigError, match="console_as must be one of"):
        load_settings({"console_as": "console"})


def test_doctor_is_happy_with_the_console(tmp_path: Path) -> None:
    """`shipper doctor` does not ask for an endpoint when the destination is the console."""
    done = subprocess.run([sys.executable, "-m", "shipper", "doctor"],
                          env=child_env(tmp_path / "c", SHIPPER_DESTINATION="console"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout
    assert "destination: console" in done.stdout
