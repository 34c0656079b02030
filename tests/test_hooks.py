"""The ready-made hooks in hooks/: each tool's payload shape through its configured command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipper._cli._sources import to_event

from .conftest import ROOT, child_env, events_on_disk

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HOOKS = ROOT / "hooks"
SECRET = "TOP-SECRET-CONTENT-1234"  # noqa: S105 - a marker to look for, not a credential


def env_for(cache: Path, **extra: str) -> dict[str, str]:
    env = child_env(cache, **extra)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_command(command: str | list[str], payload: dict[str, Any], cache: Path,
                as_argument: bool = False, **env: str) -> dict[str, Any]:
    data = json.dumps(payload)
    if isinstance(command, list):
        argv = [*command, data] if as_argument else command
        out = subprocess.run(argv, input=None if as_argument else data.encode(),
                             env=env_for(cache, **env), capture_output=True, timeout=60,
                             check=False)
    else:
        out = subprocess.run(["sh", "-c", command], input=data.encode(),
                             env=env_for(cache, **env), capture_output=True, timeout=60,
                             check=False)
    assert out.returncode == 0 and out.stdout == b""
    (event,) = events_on_disk(cache)
    return event


def claude_commands() -> dict[str, str]:
    config = json.loads((HOOKS / "claude-code" / "settings.json").read_text())
    return {name: groups[0]["hooks"][0]["command"] for name, groups in config["hooks"].items()}


BASE = {"session_id": "sess-1", "transcript_path": "/home/u/.claude/projects/p/sess-1.jsonl",
        "cwd": "/home/u/proj", "permission_mode": "default"}

CLAUDE_PAYLOADS: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "model": "claude-sonnet-4"},
    "UserPromptSubmit": {"prompt": f"please fix {SECRET}"},
    "PreToolUse": {"tool_name": "Write", "tool_use_id": "toolu_1",
                   "tool_input": {"file_path": "/home/u/proj/a.py", "content": SECRET}},
    "PostToolUse": {"tool_name": "Edit", "tool_use_id": "toolu_2",
                    "tool_input": {"file_path": "/home/u/proj/a.py", "old_string": "x",
                                   "new_string": SECRET},
                    "tool_response": {"filePath": "/home/u/proj/a.py", "success": True}},
    "PostToolUseFailure": {"tool_name": "Bash", "tool_use_id": "toolu_3",
                           "tool_input": {"command": f"cat {SECRET}"},
                           "error": f"No such file {SECRET}", "is_interrupt": False},
    "Notification": {"message": f"Claude needs permission {SECRET}",
                     "notification_type": "permission_prompt"},
    "Stop": {"stop_hook_active": False},
    "SubagentStop": {"stop_hook_active": False},
    "PreCompact": {"trigger": "manual", "custom_instructions": SECRET},
    "SessionEnd": {"reason": "logout"},
}


@pytest.mark.parametrize("name", sorted(CLAUDE_PAYLOADS))
def test_claude_code_settings_record_metadata_only(name: str, tmp_path: Path) -> None:
    """Each Claude Code hook event becomes claude_code.<Event> with metadata, no content."""
    command = claude_commands()[name]
    payload = {**BASE, "hook_event_name": name, **CLAUDE_PAYLOADS[name]}
    event = run_command(command, payload, tmp_path / "c")
    assert event["event"] == f"claude_code.{name}"
    props = event["properties"]
    assert props["session_id"] == "sess-1" and props["cwd"] == "/home/u/proj"
    assert SECRET not in json.dumps(event)
    if name in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
        assert props["tool_name"] and props["input_bytes"] > 0
    if name == "PostToolUse":
        assert props["file_path"] == "/home/u/proj/a.py" and props["success"] is True
        assert props["output_bytes"] > 0
    if name == "PostToolUseFailure":
        assert props["success"] is False
    if name == "UserPromptSubmit":
        assert props["prompt_bytes"] == len(CLAUDE_PAYLOADS[name]["prompt"])
    if name == "SessionEnd":
        assert props["reason"] == "logout"


def test_claude_code_content_with_opt_in(tmp_path: Path) -> None:
    """With include_content set, prompts and tool input are shipped."""
    payload = {**BASE, "hook_event_name": "UserPromptSubmit", "prompt": f"do {SECRET}"}
    event = run_command(claude_commands()["UserPromptSubmit"], payload, tmp_path / "a",
                        SHIPPER_INCLUDE_CONTENT="true")
    assert event["properties"]["prompt"] == f"do {SECRET}"
    flagged = claude_commands()["PostToolUse"] + " --include-content"
    payload = {**BASE, "hook_event_name": "PostToolUse", **CLAUDE_PAYLOADS["PostToolUse"]}
    event = run_command(flagged, payload, tmp_path / "b")
    assert event["properties"]["tool_input"]["new_string"] == SECRET


def test_claude_code_settings_cover_the_documented_events() -> None:
    """The snippet wires every event the hooks guide names."""
    assert set(claude_commands()) == set(CLAUDE_PAYLOADS)


CURSOR_PAYLOADS: dict[str, dict[str, Any]] = {
    "afterFileEdit": {"file_path": "/w/a.ts", "edits": [{"old_string": "a",
                                                         "new_string": SECRET}]},
    "afterShellExecution": {"command": f"echo {SECRET}", "output": SECRET, "duration": 12},
    "afterMCPExecution": {"tool_name": "search", "tool_input": {"q": SECRET},
                          "result_json": {"r": SECRET}},
    "afterAgentResponse": {"text": SECRET},
    "stop": {"status": "completed"},
}


@pytest.mark.parametrize("name", sorted(CURSOR_PAYLOADS))
def test_cursor_hooks_record_metadata_only(name: str, tmp_path: Path) -> None:
    """Each wired Cursor hook becomes cursor.<event> without content."""
    config = json.loads((HOOKS / "cursor" / "hooks.json").read_text())
    command = config["hooks"][name][0]["command"]
    payload = {"conversation_id": "conv-1", "generation_id": "gen-1", "hook_event_name": name,
               "workspace_roots": ["/w"], **CURSOR_PAYLOADS[name]}
    event = run_command(command, payload, tmp_path / "c")
    assert event["event"] == f"cursor.{name}"
    assert event["properties"]["conversation_id"] == "conv-1"
    assert SECRET not in json.dumps(event)
    if name == "afterFileEdit":
        assert event["properties"]["file_path"] == "/w/a.ts"
        assert event["properties"]["edits_bytes"] > 0


def test_codex_notify_records_turns(tmp_path: Path) -> None:
    """Codex's notify argument becomes codex.agent-turn-complete, messages private."""
    config = tomllib.loads((HOOKS / "codex" / "config.toml").read_text())
    payload = {"type": "agent-turn-complete", "thread-id": "th-1", "turn-id": "t-9",
               "cwd": "/w", "input-messages": [SECRET], "last-assistant-message": SECRET}
    event = run_command(config["notify"], payload, tmp_path / "c", as_argument=True)
    assert event["event"] == "codex.agent-turn-complete"
    assert event["properties"]["thread_id"] == "th-1"
    assert event["properties"]["input_message_count"] == 1
    assert SECRET not in json.dumps(event)


def test_gemini_hooks_record_tools(tmp_path: Path) -> None:
    """Gemini's AfterTool payload becomes gemini.AfterTool with tool metadata."""
    config = json.loads((HOOKS / "gemini" / "settings.json").read_text())
    command = config["hooks"]["AfterTool"][0]["hooks"][0]["command"]
    payload = {"session_id": "g-1", "cwd": "/w", "hook_event_name": "AfterTool",
               "timestamp": "2026-11-23T10:00:00Z", "tool_name": "write_file",
               "tool_input": {"file_path": "/w/x.md", "content": SECRET},
               "tool_response": {"llmContent": SECRET}}
    event = run_command(command, payload, tmp_path / "c")
    assert event["event"] == "gemini.AfterTool"
    assert event["properties"]["tool_name"] == "write_file"
    assert event["properties"]["file_path"] == "/w/x.md"
    assert SECRET not in json.dumps(event)


def test_generic_source_keeps_metadata_and_all_of_it_on_opt_in(tmp_path: Path) -> None:
    """--source generic, named by --event: numbers, booleans and ids as they are, other
    strings as their size; with --include-content, the whole object."""
    payload = {"target": "wheel", "ok": True, "build_id": "b-7"}
    event = run_command("shipper hook --source generic --event build.done", payload,
                        tmp_path / "c")
    assert event["event"] == "build.done"
    assert event["properties"] == {"target_bytes": 5, "ok": True, "build_id": "b-7"}
    full = run_command("shipper hook --source generic --event build.done --include-content",
                       payload, tmp_path / "d")
    assert full["properties"] == payload


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_post_commit_records_the_commit(tmp_path: Path) -> None:
    """The post-commit hook records sha, branch and file count, never the message."""
    repo = tmp_path / "repo"
    repo.mkdir()
    cache = tmp_path / "c"
    env = env_for(cache, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e",
                  GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e", HOME=str(tmp_path))

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    shutil.copy(HOOKS / "git" / "post-commit", repo / ".git" / "hooks" / "post-commit")
    (repo / "a.txt").write_text("a")
    (repo / "b.txt").write_text("b")
    git("add", ".")
    git("commit", "-q", "-m", SECRET)
    (event,) = events_on_disk(cache)
    assert event["event"] == "git.commit"
    props = event["properties"]
    assert props["sha"] == git("rev-parse", "HEAD")
    assert props["branch"] == "main" and props["files_changed"] == 2
    assert props["merge"] is False and props["repo"] == "repo"
    assert SECRET not in json.dumps(event)


def test_content_fields_are_capped_when_included() -> None:
    """Opted-in content is cut at 8 KiB per field so the event still fits."""
    raw = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "x" * 100_000}).encode()
    name, props = to_event("claude-code", raw, include_content=True)
    assert name == "claude_code.UserPromptSubmit"
    assert props["prompt_bytes"] == 100_000 and len(props["prompt"]) < 9_000
