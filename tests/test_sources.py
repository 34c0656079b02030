"""How a hook's --source is read: common spellings understood, an unknown one ships
metadata only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import (
    child_env,
    events_on_disk,
)

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("spelling", ["claude_code", "Claude-Code", "claudecode", "CLAUDE"])
def test_common_spellings_of_a_source_are_understood(spelling: str, cache_dir: Path) -> None:
    """A misspelt known source maps to it: its privacy rules apply."""
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "SECRET PROMPT",
                          "session_id": "s1"})
    subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", spelling],
                   input=payload.encode(), env=child_env(cache_dir), timeout=60, check=True)
    (event,) = events_on_disk(cache_dir)
    assert event["event"] == "claude_code.UserPromptSubmit"
    assert "SECRET" not in json.dumps(event)


def test_an_unknown_source_ships_metadata_only(cache_dir: Path) -> None:
    """The generic mapping keeps what cannot be content (names, ids, numbers) and the sizes
    of the rest, unless content is opted in."""
    payload = json.dumps({"event": "tool.ran", "session_id": "s1", "duration_ms": 12,
                          "prompt": "SECRET PROMPT", "command": "rm -rf SECRET",
                          "nested": {"secret": "SECRET"}})
    env = child_env(cache_dir)
    subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", "my-tool"],
                   input=payload.encode(), env=env, timeout=60, check=True)
    (event,) = events_on_disk(cache_dir)
    assert "SECRET" not in json.dumps(event)
    assert event["event"] == "tool.ran"
    assert event["properties"]["session_id"] == "s1"
    assert event["properties"]["duration_ms"] == 12
    assert event["properties"]["prompt_bytes"] == len("SECRET PROMPT")
