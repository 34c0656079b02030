"""Claude Code: each hook event's payload through the installed command, what it may
send (metadata by default), and what `shipper hooks install claude-code` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipper._tools._install import hook_command

from .common import (
    HOME,
    SECRET,
    Where,
    assert_json_round_trip,
    check,
    ours,
    read_json,
    run_command,
    template_commands,
    template_matches,
    write_config,
)

CLAUDE_EVENTS = ["SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
                 "PermissionRequest", "Notification", "Stop", "StopFailure", "SubagentStart",
                 "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]


def claude_commands() -> dict[str, str]:
    return template_commands("claude-code", "settings.json")

# -- Claude Code ----------------------------------------------------------------------------



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


# -- installing ------------------------------------------------------------------------------


def test_install_round_trip(where: Where, tmp_path: Path) -> None:
    """Installed into an empty home, each event's command records it, by absolute path and
    without shipper on PATH; uninstall leaves nothing."""
    payloads = {name: {**BASE, "hook_event_name": name, **CLAUDE_PAYLOADS[name]}
                for name in ("SessionStart", "PostToolUse", "SessionEnd")}
    assert_json_round_trip(where, "claude-code", payloads, tmp_path)


def test_the_ready_made_settings_match_what_the_installer_writes(where: Where) -> None:
    """hooks/claude-code/settings.json is what install writes, with a bare command."""
    template_matches(where, "claude-code", "claude-code/settings.json")


def test_claude_config_dir_is_honoured(where: Where, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With CLAUDE_CONFIG_DIR set, the user scope is its settings.json, as Claude Code
    reads it."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "custom"))
    assert where("install", "claude-code")[0] == 0
    assert len(ours("claude-code", read_json(tmp_path / "custom" / "settings.json"),
                    "SessionStart")) == 1
    assert not (where.home / ".claude").exists()


def test_claude_code_gets_no_pre_tool_use_hook_and_loses_an_old_one(where: Where) -> None:
    """Cursor runs ~/.claude/settings.json too and reads a silent PreToolUse as "deny": our
    PreToolUse entry from an older install is taken out; the user's own stays."""
    user = {"type": "command", "command": "guard.sh"}
    path = write_config(where, "claude-code", json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [user]},
        {"matcher": "*", "hooks": [{"type": "command", "command": hook_command("claude-code")}]},
    ]}}))
    assert where("install", "claude-code")[0] == 0
    assert read_json(path)["hooks"]["PreToolUse"] == [{"matcher": "Bash", "hooks": [user]}]


def test_claude_hooks_are_synchronous_with_a_timeout_and_a_matcher_on_tool_events(
        where: Where) -> None:
    """No "async" (Claude Code kills async hooks at exit and then skips SessionEnd), a 5 s
    timeout on every hook, and "*" matchers only where Claude matches tool names."""
    where("install", "claude-code")
    hooks = read_json(where.config("claude-code"))["hooks"]
    assert list(hooks) == CLAUDE_EVENTS
    for event, (group,) in hooks.items():
        assert group["hooks"] == [
            {"type": "command", "command": hook_command("claude-code"), "timeout": 5}]
        tool_event = event in ("PreToolUse", "PostToolUse", "PostToolUseFailure",
                               "PermissionRequest")
        assert group.get("matcher") == ("*" if tool_event else None)


def test_hooks_turned_off_are_reported_and_left_off(where: Where) -> None:
    """disableAllHooks: true is not changed; install and status say every hook is off."""
    path = write_config(where, "claude-code", '{"disableAllHooks": true}')
    code, out, _ = where("install", "claude-code")
    assert code == 0 and "disableAllHooks: true" in out
    assert read_json(path)["disableAllHooks"] is True
    assert "disableAllHooks: true" in where("status")[1]
