"""Cursor: each hook's payload through the installed command, what it may send (never
``user_email``), and what `shipper hooks install cursor` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .common import (
    EMAIL,
    HOME,
    SECRET,
    Where,
    assert_json_round_trip,
    check,
    ours,
    props_of,
    read_json,
    recorded,
    template_commands,
    template_matches,
    write_config,
)

CURSOR_EVENTS = ["sessionStart", "sessionEnd", "postToolUse", "postToolUseFailure",
                 "subagentStop", "afterShellExecution", "afterMCPExecution", "afterFileEdit",
                 "preCompact", "stop", "afterAgentResponse", "afterAgentThought",
                 "afterTabFileEdit"]
CURSOR_BLOCKING = ["preToolUse", "subagentStart", "beforeShellExecution", "beforeMCPExecution",
                   "beforeReadFile", "beforeTabFileRead", "beforeSubmitPrompt"]


def cursor_commands() -> dict[str, str]:
    return template_commands("cursor", "hooks.json")


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


def test_cursor_running_claude_code_hooks_is_recorded_as_cursor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Cursor runs ~/.claude hooks with its own payload: it is mapped as Cursor's, no email."""
    payload = {**CURSOR_COMMON, "hook_event_name": "preToolUse", "cwd": "",
               **CURSOR_PAYLOADS["preToolUse"]}
    name, props = props_of("claude-code", payload, monkeypatch)
    assert name == "cursor.preToolUse"
    check(props, {"conversation_id": "conv-1", "tool_name": "Read"}, ("input_bytes",))


# -- installing ------------------------------------------------------------------------------


def test_install_round_trip(where: Where, tmp_path: Path) -> None:
    """Installed into an empty home, each event's command records it, by absolute path and
    without shipper on PATH; uninstall leaves nothing."""
    payloads = {name: {**CURSOR_COMMON, "hook_event_name": name, **CURSOR_PAYLOADS[name]}
                for name in ("sessionStart", "postToolUse", "stop")}
    assert_json_round_trip(where, "cursor", payloads, tmp_path)


def test_the_ready_made_hooks_match_what_the_installer_writes(where: Where) -> None:
    """hooks/cursor/hooks.json is what install writes, with a bare command."""
    template_matches(where, "cursor", "cursor/hooks.json")


def give_user_config(where: Where) -> None:
    path = where.config("cursor")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "hooks": {
        "beforeShellExecution": [{"command": "./guard.sh"}],
        "afterFileEdit": [{"command": "./format.sh", "timeout": 10}]}}, indent=4))


def test_cursor_wires_only_events_where_an_empty_answer_is_safe(where: Where) -> None:
    """No permission hook and no beforeSubmitPrompt (a silent hook there blocks Cursor); the
    user's version key is kept, and a new file gets version 1."""
    give_user_config(where)
    where("install", "cursor")
    new = read_json(where.config("cursor"))
    assert new["version"] == 1 and next(iter(new)) == "version"
    mine = {event for event in new["hooks"] if ours("cursor", new, event)}
    assert mine == set(CURSOR_EVENTS) and not mine & set(CURSOR_BLOCKING)
    assert new["hooks"]["beforeShellExecution"] == [{"command": "./guard.sh"}]


def test_cursor_keeps_a_version_it_does_not_know(where: Where) -> None:
    """An existing "version" value is left as it is."""
    path = write_config(where, "cursor", '{"version": 2}')
    where("install", "cursor")
    assert read_json(path)["version"] == 2
