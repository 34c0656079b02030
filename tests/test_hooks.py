"""What any hook may send, whichever tool runs it: metadata by default, paths with ``~``
(or hashed), no content, no transcript path; and what mapping a payload loads. Each tool's
own payloads are in tests/tools/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipper._cache._identity import anonymous_id, path_key
from shipper._tools import _mapping
from shipper._tools._mapping import HASH_BYTES, hash_path
from shipper._tools._registry import load, module_name, names

from .tools.common import HOME, SECRET, props_of, run_command

BASE = {"session_id": "sess-1", "transcript_path": f"{HOME}/.claude/projects/p/sess-1.jsonl",
        "cwd": f"{HOME}/proj", "permission_mode": "default"}
CURSOR_COMMON = {"conversation_id": "conv-1", "cursor_version": "2.4.21",
                 "workspace_roots": [f"{HOME}/proj"],
                 "transcript_path": f"{HOME}/.cursor/projects/p/agent-transcripts/conv-1.jsonl"}
CODEX_COMMON = {"session_id": "th-1", "cwd": f"{HOME}/proj", "model": "gpt-5.5",
                "transcript_path": f"{HOME}/.codex/sessions/2026/12/01/rollout-th-1.jsonl"}
GEMINI_COMMON = {"session_id": "g-1", "cwd": f"{HOME}/proj",
                 "transcript_path": f"{HOME}/.gemini/tmp/proj/chats/session-g-1.jsonl"}


def to_event(source: str, raw: bytes, **options: Any) -> tuple[str, dict[str, Any]]:
    return _mapping.to_event(load(source), raw, **options)


# -- paths: ~ for the home folder, or keyed hashes ------------------------------------------


@pytest.mark.parametrize(("home", "path", "shown"), [
    ("/home/al", "/home/al/proj", "~/proj"),
    ("/home/al", "/home/al", "~"),
    ("/home/al/", "/home/al/proj/", "~/proj/"),
    ("/home/al", "/home/alice/proj", "/home/alice/proj"),
    ("/home/al", "/srv/home/al/proj", "/srv/home/al/proj"),
    ("/home/al", "proj/a.py", "proj/a.py"),
    ("/", "/etc/hosts", "/etc/hosts"),
])
def test_home_folder_is_written_as_tilde(home: str, path: str, shown: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a whole leading home folder becomes ~ (not /home/alice for /home/al)."""
    payload = {"hook_event_name": "PostToolUse", "cwd": path,
               "tool_input": {"file_path": path}}
    _, props = props_of("claude-code", payload, monkeypatch, home=home)
    assert props["cwd"] == shown and props["file_path"] == shown


@pytest.mark.parametrize(("source", "payload"), [
    ("claude-code", {**BASE, "hook_event_name": "Stop"}),
    ("codex", {**CODEX_COMMON, "hook_event_name": "Stop"}),
    ("gemini", {**GEMINI_COMMON, "hook_event_name": "SessionEnd"}),
    ("cursor", {**CURSOR_COMMON, "hook_event_name": "stop"}),
])
def test_transcript_paths_are_sent_only_with_content(source: str, payload: dict[str, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """transcript_path is left out by default, and sent (as ~/...) with include_content."""
    assert "transcript_path" not in props_of(source, payload, monkeypatch)[1]
    shown = props_of(source, payload, monkeypatch, include_content=True)[1]
    assert shown["transcript_path"].startswith("~/.")


def test_hash_paths_sends_each_path_as_a_keyed_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key, cwd, file paths and workspace roots are short hashes, by key."""
    payload = {**CURSOR_COMMON, "hook_event_name": "afterFileEdit", "cwd": f"{HOME}/proj",
               "file_path": f"{HOME}/proj/a.ts", "edits": []}
    _, props = props_of("cursor", payload, monkeypatch, hash_key=b"k" * 32)
    _, again = props_of("cursor", payload, monkeypatch, hash_key=b"k" * 32)
    _, other = props_of("cursor", payload, monkeypatch, hash_key=b"j" * 32)
    hashed = [props["cwd"], props["file_path"], *props["workspace_roots"]]
    assert all(len(h) == 2 * HASH_BYTES and int(h, 16) >= 0 for h in hashed)
    assert props["cwd"] == props["workspace_roots"][0] != props["file_path"]
    assert props == again and other["cwd"] != props["cwd"]
    assert "proj" not in json.dumps(props)


def test_hash_paths_hashes_the_tilde_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """A project under the home folder hashes the same wherever that folder is."""
    key = b"k" * 32
    linux = props_of("gemini", {"hook_event_name": "SessionStart", "cwd": "/home/al/p"},
                     monkeypatch, hash_key=key, home="/home/al")[1]
    mac = props_of("gemini", {"hook_event_name": "SessionStart", "cwd": "/Users/al/p"},
                   monkeypatch, hash_key=key, home="/Users/al")[1]
    assert linux["cwd"] == mac["cwd"] == hash_path("~/p", key)


def test_hash_paths_setting_hashes_with_the_cache_key(tmp_path: Path) -> None:
    """SHIPPER_HASH_PATHS=1: the hook hashes with the cache's path key, which is not sent."""
    cache = tmp_path / "c"
    payload = {**BASE, "hook_event_name": "PreToolUse", "tool_name": "Write",
               "tool_input": {"file_path": f"{HOME}/proj/a.py", "content": SECRET}}
    event = run_command("shipper hook --source claude-code", payload, cache,
                        SHIPPER_HASH_PATHS="1")
    key = path_key(cache)
    props = event["properties"]
    assert props["cwd"] == hash_path("~/proj", key)
    assert props["file_path"] == hash_path("~/proj/a.py", key)
    assert key.hex() not in json.dumps(event)


def test_path_key_is_made_once_per_cache_and_kept_private(tmp_path: Path) -> None:
    """32 random bytes in a 0600 file, the same on every call, unlike another cache's."""
    key = path_key(tmp_path / "a")
    assert len(key) == 32 and path_key(tmp_path / "a") == key
    assert os.stat(tmp_path / "a" / "path_key").st_mode & 0o777 == 0o600
    assert path_key(tmp_path / "b") != key
    assert anonymous_id(tmp_path / "a").replace("-", "") not in key.hex()


def test_path_key_replaces_a_damaged_key_file(tmp_path: Path) -> None:
    """A key file that is not 64 hex digits is replaced by a fresh key."""
    path_key(tmp_path)
    (tmp_path / "path_key").write_text("not a key\n")
    key = path_key(tmp_path)
    assert len(key) == 32 and (tmp_path / "path_key").read_text().strip() == key.hex()


def test_anonymous_id_is_random_kept_and_replaced_when_damaged(tmp_path: Path) -> None:
    """A version 4 UUID in a 0600 file, the same on every call, unlike another cache's; a
    damaged file is replaced; where the cache cannot be written, a fresh one still comes."""
    made = anonymous_id(tmp_path / "a")
    assert made[14] == "4" and anonymous_id(tmp_path / "a") == made
    assert os.stat(tmp_path / "a" / "anonymous_id").st_mode & 0o777 == 0o600
    assert anonymous_id(tmp_path / "b") != made
    (tmp_path / "a" / "anonymous_id").write_text("not an id\n")
    again = anonymous_id(tmp_path / "a")
    assert again != made and (tmp_path / "a" / "anonymous_id").read_text().strip() == again
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert len(anonymous_id(blocked / "cache")) == 36  # under a file: nothing written


# -- the rest -------------------------------------------------------------------------------


def test_content_fields_are_capped_when_included() -> None:
    """Opted-in content is cut at 8 KiB per field so the event still fits."""
    raw = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "x" * 100_000}).encode()
    name, props = to_event("claude-code", raw, include_content=True)
    assert name == "claude_code.UserPromptSubmit"
    assert props["prompt_bytes"] == 100_000 and len(props["prompt"]) < 9_000


def test_a_byte_order_mark_before_the_payload_is_ignored() -> None:
    """Cursor on Windows sends a UTF-8 BOM first: the payload is still read."""
    raw = b"\xef\xbb\xbf" + json.dumps({"hook_event_name": "stop", "status": "aborted"}).encode()
    assert to_event("cursor", raw, include_content=False) == (
        "cursor.stop", {"hook_event_name": "stop", "status": "aborted"})


def test_an_event_name_that_is_not_a_name_is_not_used() -> None:
    """A hook_event_name with spaces or of any length does not become the event's name."""
    raw = json.dumps({"hook_event_name": f"drop table {SECRET}"}).encode()
    name, props = to_event("claude-code", raw, include_content=False)
    assert name == "claude_code.Unknown" and SECRET not in json.dumps(props)


def test_mapping_a_payload_loads_only_the_tools_own_module() -> None:
    """The shared mapping and the registry import nothing of their own; mapping a payload
    loads only its tool's module (and _json), hashing only _blake2; Claude Code's hooks
    run by Cursor (a Cursor payload) load Cursor's, the one they are mapped with."""
    code = (
        "import json, sys\n"
        "import shipper._json\n"
        "before = set(sys.modules)\n"
        "from shipper._tools._mapping import to_event\n"
        "from shipper._tools._registry import load\n"
        "shared = set(sys.modules) - before\n"
        "raw = b'{\"hook_event_name\": \"PostToolUse\", \"cwd\": \"/x\"}'\n"
        "out = {'shared': sorted(shared)}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    seen = set(sys.modules)\n"
        "    to_event(load(name), raw, include_content=False)\n"
        "    out[name] = sorted(set(sys.modules) - seen)\n"
        "seen = set(sys.modules)\n"
        "to_event(load('cursor'), raw, include_content=True, hash_key=b'k')\n"
        "out['hashed'] = sorted(set(sys.modules) - seen)\n"
        "print(json.dumps(out))\n"
    )
    tools = [name for name in names() if name != "cursor"] + ["cursor"]
    done = subprocess.run([sys.executable, "-c", code, json.dumps(tools)], capture_output=True,
                          text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert set(loaded.pop("shared")) <= {"shipper._tools", "shipper._tools._mapping",
                                         "shipper._tools._registry"}
    assert set(loaded.pop("hashed")) <= {"_blake2"}
    for name, modules in loaded.items():
        assert set(modules) <= {f"shipper._tools.{module_name(name)}", "_json"}, name
    cursor_payload = json.dumps({"hook_event_name": "stop", "cursor_version": "2"}).encode()
    assert to_event("claude-code", cursor_payload, include_content=False)[0] == "cursor.stop"
