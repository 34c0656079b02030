"""Gemini CLI: each hook's payload through the installed command, what it may send, and
what `shipper hooks install gemini` writes."""

from __future__ import annotations

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
    props_of,
    read_json,
    recorded,
    template_commands,
    template_matches,
    write_config,
)

GEMINI_EVENTS = ["SessionStart", "SessionEnd", "BeforeAgent", "AfterAgent", "PreCompress",
                 "Notification", "AfterTool"]


def gemini_commands() -> dict[str, str]:
    return template_commands("gemini", "settings.json")


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


# -- installing ------------------------------------------------------------------------------


def test_install_round_trip(where: Where, tmp_path: Path) -> None:
    """Installed into an empty home, each event's command records it, by absolute path and
    without shipper on PATH; uninstall leaves nothing."""
    payloads = {name: {**GEMINI_COMMON, "hook_event_name": name, **GEMINI_PAYLOADS[name]}
                for name in ("SessionStart", "AfterTool", "SessionEnd")}
    assert_json_round_trip(where, "gemini", payloads, tmp_path)


def test_the_ready_made_settings_match_what_the_installer_writes(where: Where) -> None:
    """hooks/gemini/settings.json is what install writes, with a bare command."""
    template_matches(where, "gemini", "gemini/settings.json")


def test_gemini_cli_home_is_honoured(where: Where, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With GEMINI_CLI_HOME set, the user scope is $GEMINI_CLI_HOME/.gemini/settings.json,
    as Gemini CLI reads it."""
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "custom"))
    assert where("install", "gemini")[0] == 0
    assert len(ours("gemini", read_json(tmp_path / "custom" / ".gemini" / "settings.json"),
                    "SessionStart")) == 1
    assert not (where.home / ".gemini").exists()


def test_gemini_entries_are_narrow_named_and_timed_in_milliseconds(where: Where) -> None:
    """Gemini waits for every hook: AfterTool only on tools that change things, no matcher
    where Gemini compares it as an exact string, a name, and 5000 ms."""
    where("install", "gemini")
    hooks = read_json(where.config("gemini"))["hooks"]
    assert list(hooks) == GEMINI_EVENTS
    for event, (group,) in hooks.items():
        assert group["hooks"] == [{"type": "command", "command": hook_command("gemini"),
                                   "name": "shipper", "timeout": 5000}]
        assert group.get("matcher") == (
            "run_shell_command|write_file|replace|edit" if event == "AfterTool" else None)


def test_gemini_hooks_turned_off_are_reported_and_left_off(where: Where) -> None:
    """hooksConfig.enabled = false is not changed; install and status say hooks are off."""
    path = write_config(where, "gemini", '{"hooksConfig": {"enabled": false}}')
    code, out, _ = where("install", "gemini")
    assert code == 0 and "hooksConfig.enabled: false" in out
    assert read_json(path)["hooksConfig"] == {"enabled": False}
    assert "hooksConfig.enabled: false" in where("status")[1]
