"""The ready-made hooks in hooks/: each tool's payload shape through its configured command,
and what a hook may send: metadata by default, paths with ``~`` (or hashed), no content."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipper._cache._identity import anonymous_id, path_key
from shipper._sources import HASH_BYTES, hash_path, to_event

from .conftest import ROOT, child_env, events_on_disk

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HOOKS = ROOT / "hooks"
SECRET = "TOP-SECRET-CONTENT-1234"  # noqa: S105 - a marker to look for, not a credential
HOME = "/home/u"  # the hook processes' home folder: paths below it must come out as ~/...
EMAIL = "alice@example.com"


def env_for(cache: Path, **extra: str) -> dict[str, str]:
    env = child_env(cache, **extra)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_command(command: str | list[str], payload: dict[str, Any], cache: Path,
                as_argument: bool = False, **env: str) -> dict[str, Any]:
    data = json.dumps(payload)
    env.setdefault("HOME", HOME)
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


def props_of(source: str, payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *,
             include_content: bool = False, hash_key: bytes | None = None,
             home: str = HOME) -> tuple[str, dict[str, Any]]:
    monkeypatch.setenv("HOME", home)
    return to_event(source, json.dumps(payload).encode(), include_content=include_content,
                    hash_key=hash_key)


def recorded(source: str, payload: dict[str, Any], commands: dict[str, Any], tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    """The event name and properties recorded for ``payload``: through the command a tool's
    installed config runs for that event where one is wired, else through the mapper."""
    name = payload["hook_event_name"]
    if name in commands:
        event = run_command(commands[name], payload, tmp_path / "c")
        return event["event"], event["properties"]
    return props_of(source, payload, monkeypatch)


def check(props: dict[str, Any], expected: dict[str, Any], sized: tuple[str, ...]) -> None:
    """The expected metadata, each content size, and nothing private."""
    assert {k: props.get(k) for k in expected} == expected
    for key in sized:
        assert props[key] > 0, key
    text = json.dumps(props)
    assert SECRET not in text and EMAIL not in text
    assert HOME not in text  # every path under the home folder is written ~/...
    assert "transcript_path" not in text


# -- Claude Code ----------------------------------------------------------------------------


def claude_commands() -> dict[str, str]:
    config = json.loads((HOOKS / "claude-code" / "settings.json").read_text())
    return {name: groups[0]["hooks"][0]["command"] for name, groups in config["hooks"].items()}


BASE = {"session_id": "sess-1", "transcript_path": f"{HOME}/.claude/projects/p/sess-1.jsonl",
        "cwd": f"{HOME}/proj", "permission_mode": "default"}

# shaped like code.claude.com/docs/en/hooks and payloads seen from Claude Code 2.1
CLAUDE_PAYLOADS: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "model": "claude-sonnet-4"},
    "UserPromptSubmit": {"prompt": f"please fix {SECRET}"},
    "PreToolUse": {"tool_name": "Write", "tool_use_id": "toolu_1",
                   "tool_input": {"file_path": f"{HOME}/proj/a.py", "content": SECRET}},
    "PostToolUse": {"tool_name": "Edit", "tool_use_id": "toolu_2",
                    "tool_input": {"file_path": f"{HOME}/proj/a.py", "old_string": "x",
                                   "new_string": SECRET},
                    "tool_response": {"filePath": f"{HOME}/proj/a.py", "success": True},
                    "duration_ms": 12},
    "PostToolUseFailure": {"tool_name": "Bash", "tool_use_id": "toolu_3",
                           "tool_input": {"command": f"cat {SECRET}"},
                           "error": f"No such file {SECRET}", "is_interrupt": False},
    "PermissionRequest": {"tool_name": "Bash",
                          "tool_input": {"command": f"touch {SECRET}", "description": "Run"},
                          "permission_suggestions": [
                              {"type": "addRules", "behavior": "allow",
                               "rules": [{"toolName": "Bash", "ruleContent": f"touch {SECRET}"}],
                               "destination": "localSettings"}]},
    "Notification": {"message": f"Claude needs permission {SECRET}", "title": "Permission",
                     "notification_type": "permission_prompt"},
    "Stop": {"stop_hook_active": False, "last_assistant_message": SECRET},
    "StopFailure": {"error": "server_error", "error_details": SECRET,
                    "last_assistant_message": f"API Error: 500 {SECRET}"},
    "SubagentStart": {"agent_id": "ae90ecf5929404e37", "agent_type": "general-purpose"},
    "SubagentStop": {"stop_hook_active": False, "agent_id": "ae90ecf5929404e37",
                     "agent_type": "general-purpose", "last_assistant_message": SECRET,
                     "agent_transcript_path": f"{HOME}/.claude/projects/p/agent-ae9.jsonl"},
    "PreCompact": {"trigger": "manual", "custom_instructions": SECRET},
    "PostCompact": {"trigger": "manual", "compact_summary": f"<summary>{SECRET}</summary>"},
    "SessionEnd": {"reason": "logout"},
}
CLAUDE_EXPECTED: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "model": "claude-sonnet-4"},
    "PreToolUse": {"tool_name": "Write", "tool_use_id": "toolu_1", "file_path": "~/proj/a.py"},
    "PostToolUse": {"tool_name": "Edit", "file_path": "~/proj/a.py", "success": True,
                    "duration_ms": 12},
    "PostToolUseFailure": {"tool_name": "Bash", "success": False, "is_interrupt": False},
    "PermissionRequest": {"tool_name": "Bash", "success": None},
    "Notification": {"notification_type": "permission_prompt"},
    "Stop": {"stop_hook_active": False},
    "StopFailure": {"error_type": "server_error"},
    "SubagentStart": {"agent_id": "ae90ecf5929404e37", "agent_type": "general-purpose"},
    "SubagentStop": {"agent_id": "ae90ecf5929404e37", "stop_hook_active": False},
    "PreCompact": {"trigger": "manual"},
    "PostCompact": {"trigger": "manual"},
    "SessionEnd": {"reason": "logout"},
}
CLAUDE_SIZED: dict[str, tuple[str, ...]] = {
    "UserPromptSubmit": ("prompt_bytes",),
    "PreToolUse": ("input_bytes",),
    "PostToolUse": ("input_bytes", "output_bytes"),
    "PostToolUseFailure": ("input_bytes", "error_bytes"),
    "PermissionRequest": ("input_bytes", "permission_suggestions_bytes"),
    "Notification": ("message_bytes", "title_bytes"),
    "Stop": ("last_assistant_message_bytes",),
    "StopFailure": ("last_assistant_message_bytes", "error_details_bytes"),
    "SubagentStop": ("last_assistant_message_bytes",),
    "PreCompact": ("custom_instructions_bytes",),
    "PostCompact": ("compact_summary_bytes",),
}


@pytest.mark.parametrize("name", sorted(CLAUDE_PAYLOADS))
def test_claude_code_settings_record_metadata_only(name: str, tmp_path: Path) -> None:
    """Each Claude Code hook event becomes claude_code.<Event> with metadata, no content."""
    payload = {**BASE, "hook_event_name": name, **CLAUDE_PAYLOADS[name]}
    # PreToolUse is not installed (Cursor would read its silence as "deny"), but a user
    # may wire it by hand, and Codex's PreToolUse goes through this mapper
    command = claude_commands().get(name, "shipper hook --source claude-code")
    event = run_command(command, payload, tmp_path / "c")
    assert event["event"] == f"claude_code.{name}"
    expected = {"hook_event_name": name, "session_id": "sess-1", "cwd": "~/proj",
                "permission_mode": "default", **CLAUDE_EXPECTED.get(name, {})}
    check(event["properties"], expected, CLAUDE_SIZED.get(name, ()))


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
    """The snippet wires every event the hooks guide names but PreToolUse, each with a
    payload here."""
    assert set(claude_commands()) == set(CLAUDE_PAYLOADS) - {"PreToolUse"}


def test_cursor_running_claude_code_hooks_is_recorded_as_cursor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Cursor runs ~/.claude hooks with its own payload: it is mapped as Cursor's, no email."""
    payload = {**CURSOR_COMMON, "hook_event_name": "preToolUse", "cwd": "",
               **CURSOR_PAYLOADS["preToolUse"]}
    name, props = props_of("claude-code", payload, monkeypatch)
    assert name == "cursor.preToolUse"
    check(props, {"conversation_id": "conv-1", "tool_name": "Read"}, ("input_bytes",))


# -- Cursor ---------------------------------------------------------------------------------


def cursor_commands() -> dict[str, str]:
    config = json.loads((HOOKS / "cursor" / "hooks.json").read_text())
    return {name: entries[0]["command"] for name, entries in config["hooks"].items()}


# the common fields of cursor.com/docs/hooks; user_email is in every payload of a signed-in user
CURSOR_COMMON = {"conversation_id": "conv-1", "generation_id": "gen-1",
                 "model": "claude-sonnet-4", "model_id": "claude-sonnet-4",
                 "cursor_version": "2.4.21", "workspace_roots": [f"{HOME}/proj"],
                 "user_email": EMAIL,
                 "transcript_path": f"{HOME}/.cursor/projects/p/agent-transcripts/conv-1.jsonl"}
EDITS = [{"old_string": "a", "new_string": SECRET,
          "range": {"start_line_number": 1, "start_column": 1, "end_line_number": 1,
                    "end_column": 2}, "old_line": "a", "new_line": SECRET}]
CURSOR_PAYLOADS: dict[str, dict[str, Any]] = {
    "sessionStart": {"session_id": "conv-1", "is_background_agent": False,
                     "composer_mode": "agent"},
    "sessionEnd": {"session_id": "conv-1", "reason": "window_close", "duration_ms": 45000,
                   "is_background_agent": False, "final_status": "completed"},
    "preToolUse": {"tool_name": "Read", "tool_input": {"file_path": f"{HOME}/proj/.env"},
                   "tool_use_id": "tu-1", "cwd": f"{HOME}/proj", "agent_message": SECRET},
    "postToolUse": {"tool_name": "Shell", "tool_use_id": "tu-2", "cwd": f"{HOME}/proj",
                    "tool_input": {"command": f"cat {SECRET}",
                                   "working_directory": f"{HOME}/proj"},
                    "tool_output": json.dumps({"exitCode": 0, "stdout": SECRET}),
                    "duration": 120},
    "postToolUseFailure": {"tool_name": "Shell", "tool_use_id": "tu-3", "cwd": f"{HOME}/proj",
                           "tool_input": {"command": f"sleep {SECRET}"},
                           "error_message": f"{SECRET} timed out", "failure_type": "timeout",
                           "duration": 30000, "is_interrupt": False},
    "subagentStart": {"subagent_id": "sa-1", "subagent_type": "generalPurpose",
                      "task": SECRET, "parent_conversation_id": "conv-0",
                      "tool_call_id": "tc-1", "subagent_model": "gpt-5",
                      "is_parallel_worker": False, "git_branch": "main"},
    "subagentStop": {"subagent_type": "explore", "status": "completed", "task": SECRET,
                     "description": SECRET, "summary": SECRET, "duration_ms": 5000,
                     "message_count": 4, "tool_call_count": 3, "loop_count": 0,
                     "modified_files": [f"{HOME}/proj/a.ts"],
                     "agent_transcript_path": f"{HOME}/.cursor/subagents/sa-1.jsonl"},
    "beforeShellExecution": {"command": f"rm {SECRET}", "cwd": f"{HOME}/proj",
                             "sandbox": True},
    "afterShellExecution": {"command": f"echo {SECRET}", "output": SECRET, "duration": 12,
                            "sandbox": False, "cwd": f"{HOME}/proj"},
    "beforeMCPExecution": {"tool_name": "query", "tool_input": json.dumps({"sql": SECRET}),
                           "mcp_server_name": "db",
                           "url": f"https://mcp.example/?token={SECRET}"},
    "afterMCPExecution": {"tool_name": "search", "tool_input": json.dumps({"q": SECRET}),
                          "result_json": json.dumps({"r": SECRET}), "duration": 250},
    "beforeReadFile": {"file_path": f"{HOME}/proj/.env", "content": SECRET,
                       "attachments": [{"type": "rule",
                                        "file_path": f"{HOME}/proj/.cursor/rules/a.mdc"}]},
    "afterFileEdit": {"file_path": f"{HOME}/proj/a.ts", "edits": EDITS[:1]},
    "beforeSubmitPrompt": {"prompt": SECRET, "attachments": []},
    "preCompact": {"trigger": "auto", "context_usage_percent": 85, "context_tokens": 120000,
                   "context_window_size": 128000, "message_count": 45,
                   "messages_to_compact": 30, "is_first_compaction": True},
    "stop": {"status": "completed", "loop_count": 0},
    "afterAgentResponse": {"text": SECRET},
    "afterAgentThought": {"text": SECRET, "duration_ms": 900},
    "beforeTabFileRead": {"file_path": f"{HOME}/proj/a.ts", "content": SECRET},
    "afterTabFileEdit": {"file_path": f"{HOME}/proj/a.ts", "edits": EDITS},
    "workspaceOpen": {},
}
CURSOR_EXPECTED: dict[str, dict[str, Any]] = {
    "sessionStart": {"session_id": "conv-1", "is_background_agent": False,
                     "composer_mode": "agent"},
    "sessionEnd": {"reason": "window_close", "duration_ms": 45000,
                   "final_status": "completed"},
    "preToolUse": {"tool_name": "Read", "tool_use_id": "tu-1", "file_path": "~/proj/.env",
                   "cwd": "~/proj"},
    "postToolUse": {"tool_name": "Shell", "success": True, "duration_ms": 120,
                    "cwd": "~/proj"},
    "postToolUseFailure": {"success": False, "failure_type": "timeout",
                           "duration_ms": 30000, "is_interrupt": False},
    "subagentStart": {"subagent_id": "sa-1", "subagent_type": "generalPurpose",
                      "parent_conversation_id": "conv-0", "subagent_model": "gpt-5",
                      "git_branch": "main"},
    "subagentStop": {"subagent_type": "explore", "status": "completed",
                     "duration_ms": 5000, "message_count": 4, "tool_call_count": 3,
                     "modified_file_count": 1, "modified_files": None},
    "beforeShellExecution": {"sandbox": True, "cwd": "~/proj"},
    "afterShellExecution": {"duration_ms": 12, "sandbox": False},
    "beforeMCPExecution": {"tool_name": "query", "mcp_server_name": "db"},
    "afterMCPExecution": {"tool_name": "search", "duration_ms": 250},
    "beforeReadFile": {"file_path": "~/proj/.env", "attachment_count": 1},
    "afterFileEdit": {"file_path": "~/proj/a.ts"},
    "beforeSubmitPrompt": {"attachment_count": 0},
    "preCompact": {"trigger": "auto", "context_usage_percent": 85, "context_tokens": 120000,
                   "context_window_size": 128000, "message_count": 45,
                   "messages_to_compact": 30, "is_first_compaction": True},
    "stop": {"status": "completed", "loop_count": 0},
    "afterAgentThought": {"duration_ms": 900},
    "beforeTabFileRead": {"file_path": "~/proj/a.ts"},
    "afterTabFileEdit": {"file_path": "~/proj/a.ts"},
}
CURSOR_SIZED: dict[str, tuple[str, ...]] = {
    "preToolUse": ("input_bytes", "agent_message_bytes"),
    "postToolUse": ("input_bytes", "output_bytes"),
    "postToolUseFailure": ("input_bytes", "error_message_bytes"),
    "subagentStart": ("task_bytes",),
    "subagentStop": ("task_bytes", "description_bytes", "summary_bytes"),
    "beforeShellExecution": ("command_bytes",),
    "afterShellExecution": ("command_bytes", "output_bytes"),
    "beforeMCPExecution": ("input_bytes", "url_bytes"),
    "afterMCPExecution": ("input_bytes", "output_bytes"),
    "beforeReadFile": ("content_bytes",),
    "afterFileEdit": ("edits_bytes",),
    "beforeSubmitPrompt": ("prompt_bytes",),
    "afterAgentResponse": ("text_bytes",),
    "afterAgentThought": ("text_bytes",),
    "beforeTabFileRead": ("content_bytes",),
    "afterTabFileEdit": ("edits_bytes",),
}


@pytest.mark.parametrize("name", sorted(CURSOR_PAYLOADS))
def test_cursor_events_record_metadata_only(name: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Cursor hook becomes cursor.<event> without content or email (wired: by command)."""
    common = {k: v for k, v in CURSOR_COMMON.items()
              if name != "workspaceOpen" or k in ("cursor_version", "workspace_roots",
                                                  "user_email")}
    payload = {**common, "hook_event_name": name, **CURSOR_PAYLOADS[name]}
    event_name, props = recorded("cursor", payload, cursor_commands(), tmp_path, monkeypatch)
    assert event_name == f"cursor.{name}"
    expected = {"hook_event_name": name, "cursor_version": "2.4.21",
                "workspace_roots": ["~/proj"], **CURSOR_EXPECTED.get(name, {})}
    if name != "workspaceOpen":
        expected.update(conversation_id="conv-1", generation_id="gen-1",
                        model_id="claude-sonnet-4")
    check(props, expected, CURSOR_SIZED.get(name, ()))


def test_cursor_payloads_cover_every_documented_and_wired_event() -> None:
    """Payloads here for Cursor's 21 documented events, a superset of those installed."""
    assert len(CURSOR_PAYLOADS) == 21
    assert set(cursor_commands()) <= set(CURSOR_PAYLOADS)


def test_cursor_user_email_is_never_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """user_email stays out even with content included; the transcript path comes with it."""
    payload = {**CURSOR_COMMON, "hook_event_name": "afterShellExecution",
               **CURSOR_PAYLOADS["afterShellExecution"]}
    _, props = props_of("cursor", payload, monkeypatch, include_content=True)
    assert EMAIL not in json.dumps(props)
    assert props["output"] == SECRET
    assert props["transcript_path"] == "~/.cursor/projects/p/agent-transcripts/conv-1.jsonl"


# -- Codex ----------------------------------------------------------------------------------


def codex_commands() -> dict[str, str]:
    config = json.loads((HOOKS / "codex" / "hooks.json").read_text())
    return {name: groups[0]["hooks"][0]["command"] for name, groups in config["hooks"].items()}


# the input schemas embedded in Codex 0.171 (codex-rs/hooks/schema/generated)
CODEX_COMMON = {"session_id": "th-1", "cwd": f"{HOME}/proj", "model": "gpt-5.5",
                "transcript_path": f"{HOME}/.codex/sessions/2026/12/01/rollout-th-1.jsonl"}
TURN = {"turn_id": "t-9", "permission_mode": "bypassPermissions"}
CODEX_PAYLOADS: dict[str, dict[str, Any]] = {
    "SessionStart": {"permission_mode": "default", "source": "startup"},
    "UserPromptSubmit": {**TURN, "prompt": SECRET},
    "PreToolUse": {**TURN, "tool_name": "Bash", "tool_input": {"command": f"echo {SECRET}"},
                   "tool_use_id": "call_1"},
    "PermissionRequest": {**TURN, "tool_name": "Bash",
                          "tool_input": {"command": f"echo {SECRET}"}},
    "PostToolUse": {**TURN, "tool_name": "Bash", "tool_input": {"command": f"echo {SECRET}"},
                    "tool_response": f"{SECRET}\n", "tool_use_id": "call_1"},
    "PreCompact": {"turn_id": "t-9", "trigger": "auto"},
    "PostCompact": {"turn_id": "t-9", "trigger": "auto"},
    "SubagentStart": {**TURN, "agent_id": "ag-1", "agent_type": "explorer"},
    "SubagentStop": {**TURN, "agent_id": "ag-1", "agent_type": "explorer",
                     "agent_transcript_path": f"{HOME}/.codex/sessions/ag-1.jsonl",
                     "last_assistant_message": SECRET, "stop_hook_active": False},
    "Stop": {**TURN, "stop_hook_active": False, "last_assistant_message": SECRET},
    "SessionEnd": {"reason": "other"},
}
CODEX_EXPECTED: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "permission_mode": "default"},
    "UserPromptSubmit": {"turn_id": "t-9", "permission_mode": "bypassPermissions"},
    "PreToolUse": {"tool_name": "Bash", "tool_use_id": "call_1"},
    "PermissionRequest": {"tool_name": "Bash"},
    "PostToolUse": {"tool_name": "Bash", "success": True},
    "PreCompact": {"trigger": "auto", "turn_id": "t-9"},
    "PostCompact": {"trigger": "auto"},
    "SubagentStart": {"agent_id": "ag-1", "agent_type": "explorer"},
    "SubagentStop": {"agent_id": "ag-1", "stop_hook_active": False},
    "Stop": {"stop_hook_active": False},
    "SessionEnd": {"reason": "other"},
}
CODEX_SIZED: dict[str, tuple[str, ...]] = {
    "UserPromptSubmit": ("prompt_bytes",),
    "PreToolUse": ("input_bytes",),
    "PermissionRequest": ("input_bytes",),
    "PostToolUse": ("input_bytes", "output_bytes"),
    "SubagentStop": ("last_assistant_message_bytes",),
    "Stop": ("last_assistant_message_bytes",),
}


@pytest.mark.parametrize("name", sorted(CODEX_PAYLOADS))
def test_codex_lifecycle_hooks_record_metadata_only(name: str, tmp_path: Path) -> None:
    """Each Codex lifecycle hook becomes codex.<Event> with metadata, no content."""
    payload = {**CODEX_COMMON, "hook_event_name": name, **CODEX_PAYLOADS[name]}
    if name == "SessionEnd":
        del payload["model"]
    event = run_command(codex_commands()[name], payload, tmp_path / "c")
    assert event["event"] == f"codex.{name}"
    expected = {"hook_event_name": name, "session_id": "th-1", "cwd": "~/proj",
                **CODEX_EXPECTED[name]}
    check(event["properties"], expected, CODEX_SIZED.get(name, ()))


def test_codex_hooks_json_events_all_have_payloads() -> None:
    """hooks/codex/hooks.json wires exactly the events with a payload here."""
    assert set(codex_commands()) == set(CODEX_PAYLOADS)


def test_codex_notify_records_turns(tmp_path: Path) -> None:
    """Codex's notify argument becomes codex.agent-turn-complete, messages private."""
    config = tomllib.loads((HOOKS / "codex" / "config.toml").read_text())
    payload = {"type": "agent-turn-complete", "thread-id": "th-1", "turn-id": "t-9",
               "cwd": f"{HOME}/proj", "client": "codex-tui", "input-messages": [SECRET],
               "last-assistant-message": SECRET}
    event = run_command(config["notify"], payload, tmp_path / "c", as_argument=True)
    assert event["event"] == "codex.agent-turn-complete"
    check(event["properties"], {"type": "agent-turn-complete", "thread_id": "th-1",
                                "turn_id": "t-9", "cwd": "~/proj", "client": "codex-tui",
                                "input_message_count": 1},
          ("input_messages_bytes", "last_assistant_message_bytes"))


# -- Gemini CLI -----------------------------------------------------------------------------


def gemini_commands() -> dict[str, str]:
    config = json.loads((HOOKS / "gemini" / "settings.json").read_text())
    return {name: groups[0]["hooks"][0]["command"] for name, groups in config["hooks"].items()}


# as Gemini CLI 0.61 sends them (geminicli.com/docs/hooks/reference)
GEMINI_COMMON = {"session_id": "g-1", "cwd": f"{HOME}/proj",
                 "transcript_path": f"{HOME}/.gemini/tmp/proj/chats/session-g-1.jsonl",
                 "timestamp": "2026-12-01T04:59:00.550Z"}
REQUEST = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": SECRET}]}
GEMINI_PAYLOADS: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup"},
    "SessionEnd": {"reason": "exit"},
    "BeforeAgent": {"prompt": SECRET},
    "AfterAgent": {"prompt": SECRET, "prompt_response": SECRET, "stop_hook_active": False},
    "BeforeModel": {"llm_request": REQUEST},
    "BeforeToolSelection": {"llm_request": REQUEST},
    "AfterModel": {"llm_request": REQUEST, "llm_response": {"text": SECRET}},
    "BeforeTool": {"tool_name": "run_shell_command",
                   "tool_input": {"command": f"echo {SECRET}", "dir_path": f"{HOME}/proj"}},
    "AfterTool": {"tool_name": "write_file",
                  "tool_input": {"file_path": f"{HOME}/proj/x.md", "content": SECRET},
                  "tool_response": {"llmContent": SECRET, "returnDisplay": SECRET}},
    "PreCompress": {"trigger": "auto"},
    "Notification": {"notification_type": "ToolPermission",
                     "message": f"Tool Confirm {SECRET}",
                     "details": {"type": "exec", "command": f"touch {SECRET}"}},
}
GEMINI_EXPECTED: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup"},
    "SessionEnd": {"reason": "exit"},
    "AfterAgent": {"stop_hook_active": False},
    "BeforeModel": {"model": "gemini-2.5-flash"},
    "BeforeToolSelection": {"model": "gemini-2.5-flash"},
    "AfterModel": {"model": "gemini-2.5-flash"},
    "BeforeTool": {"tool_name": "run_shell_command", "file_path": "~/proj"},
    "AfterTool": {"tool_name": "write_file", "file_path": "~/proj/x.md", "success": True},
    "PreCompress": {"trigger": "auto"},
    "Notification": {"notification_type": "ToolPermission"},
}
GEMINI_SIZED: dict[str, tuple[str, ...]] = {
    "BeforeAgent": ("prompt_bytes",),
    "AfterAgent": ("prompt_bytes", "prompt_response_bytes"),
    "BeforeModel": ("llm_request_bytes",),
    "BeforeToolSelection": ("llm_request_bytes",),
    "AfterModel": ("llm_request_bytes", "llm_response_bytes"),
    "BeforeTool": ("input_bytes",),
    "AfterTool": ("input_bytes", "output_bytes"),
    "Notification": ("message_bytes", "details_bytes"),
}


@pytest.mark.parametrize("name", sorted(GEMINI_PAYLOADS))
def test_gemini_events_record_metadata_only(name: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Gemini CLI hook becomes gemini.<Event> without content (wired: by command)."""
    payload = {**GEMINI_COMMON, "hook_event_name": name, **GEMINI_PAYLOADS[name]}
    event_name, props = recorded("gemini", payload, gemini_commands(), tmp_path, monkeypatch)
    assert event_name == f"gemini.{name}"
    expected = {"hook_event_name": name, "session_id": "g-1", "cwd": "~/proj",
                "timestamp": "2026-12-01T04:59:00.550Z", **GEMINI_EXPECTED.get(name, {})}
    check(props, expected, GEMINI_SIZED.get(name, ()))


def test_gemini_settings_events_all_have_payloads() -> None:
    """hooks/gemini/settings.json wires only events with a payload here."""
    assert set(gemini_commands()) <= set(GEMINI_PAYLOADS)


def test_gemini_after_tool_with_an_error_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """An AfterTool whose tool_response has an error is success false, with its type."""
    payload = {**GEMINI_COMMON, "hook_event_name": "AfterTool", "tool_name": "read_file",
               "tool_input": {"file_path": "missing.txt"},
               "tool_response": {"llmContent": "Could not read file.",
                                 "returnDisplay": "File not found.",
                                 "error": {"message": f"File not found: {HOME}/proj/missing.txt",
                                           "type": "file_not_found"}}}
    _, props = props_of("gemini", payload, monkeypatch)
    check(props, {"success": False, "error_type": "file_not_found",
                  "file_path": "missing.txt"}, ("output_bytes",))


def test_gemini_session_start_reads_the_older_trigger_field(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A SessionStart that says trigger (as some docs had it) is recorded as its source."""
    payload = {**GEMINI_COMMON, "hook_event_name": "SessionStart", "trigger": "resume"}
    assert props_of("gemini", payload, monkeypatch)[1]["source"] == "resume"


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
    payload = {**BASE, "hook_event_name": "PreToolUse", **CLAUDE_PAYLOADS["PreToolUse"]}
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


def test_generic_source_keeps_metadata_and_all_of_it_on_opt_in(tmp_path: Path) -> None:
    """--source generic: numbers, booleans and ids as they are, other strings as sizes."""
    payload = {"target": "wheel", "ok": True, "build_id": "b-7"}
    event = run_command("shipper hook --source generic --event build.done", payload,
                        tmp_path / "c")
    assert event["event"] == "build.done"
    assert event["properties"] == {"target_bytes": 5, "ok": True, "build_id": "b-7"}
    full = run_command("shipper hook --source generic --event build.done --include-content",
                       payload, tmp_path / "d")
    assert full["properties"] == payload


@pytest.mark.usefixtures("needs_git")
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


def test_mapping_imports_nothing_beyond_os_and_shipper_json() -> None:
    """_sources loads no module of its own; mapping loads only _json, hashing only _blake2."""
    code = (
        "import sys\n"
        "import shipper._json\n"
        "before = set(sys.modules)\n"
        "from shipper import _sources as s\n"
        "loaded = set(sys.modules) - before\n"
        "raw = b'{\"hook_event_name\": \"PostToolUse\", \"cwd\": \"/x\"}'\n"
        "for source in s.SOURCES:\n"
        "    s.to_event(source, raw, include_content=False)\n"
        "mapped = set(sys.modules) - before - loaded\n"
        "s.to_event('cursor', raw, include_content=True, hash_key=b'k')\n"
        "hashed = set(sys.modules) - before - loaded - mapped\n"
        "import json\n"
        "print(json.dumps([sorted(loaded), sorted(mapped), sorted(hashed)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    loaded, mapped, hashed = (set(names) for names in json.loads(out.stdout))
    assert loaded <= {"shipper._sources"}
    assert mapped <= {"_json"} and hashed <= {"_blake2"}
