"""Qwen Code: its hook payloads (Claude Code's shape, and fields of its own) through the
installed command, what they may send, what `shipper hooks install qwen` writes, and the
real CLI run offline (`TestQwenCodeOffline`)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ..agents.checks import AgentChecks
from ..agents.clients import Client, HookRun, Replay, Session, hook_commands
from ..agents.fakes import ChatApi, FakeApi
from ..agents.npm import NpmPackage
from .common import (
    HOME,
    SECRET,
    Where,
    assert_json_round_trip,
    check,
    props_of,
    read_json,
)

QWEN_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
               "PostToolUseFailure", "PermissionRequest", "Notification", "Stop", "StopFailure",
               "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]

# as Qwen Code 0.24.4 sends them (seen in headless runs)
COMMON = {"session_id": "q-1", "cwd": f"{HOME}/proj", "permission_mode": "yolo",
          "transcript_path": f"{HOME}/.qwen/projects/-home-u-proj/chats/q-1.jsonl",
          "timestamp": "2026-12-04T15:06:02.075Z"}
PROMPT_ID = "q-1########0"
PAYLOADS: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "model": "qwen3-coder"},
    "Notification": {"message": "Successfully authenticated with openai",
                     "notification_type": "auth_success", "title": "Authentication successful"},
    "UserPromptSubmit": {"prompt_id": PROMPT_ID, "prompt": f"look at {SECRET}",
                         "submitted_prompt": f"look at {SECRET}"},
    "PreToolUse": {"prompt_id": PROMPT_ID, "tool_name": "run_shell_command",
                   "tool_input": {"command": f"cat {SECRET}", "description": SECRET},
                   "tool_use_id": "toolu_1", "tool_call_id": "call_1"},
    "PostToolUse": {"prompt_id": PROMPT_ID, "tool_name": "write_file",
                    "tool_input": {"file_path": f"{HOME}/proj/a.md", "content": SECRET},
                    "tool_response": {"llmContent": SECRET, "returnDisplay": SECRET},
                    "tool_use_id": "toolu_2", "tool_call_id": "call_2", "duration_ms": 26},
    "Stop": {"prompt_id": PROMPT_ID, "stop_hook_active": False,
             "last_assistant_message": SECRET, "background_tasks": [], "crons": [],
             "context_usage": 0.0005, "context_limit": 200000, "input_tokens": 100},
}
EXPECTED: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "model": "qwen3-coder"},
    "Notification": {"notification_type": "auth_success"},
    "UserPromptSubmit": {"prompt_id": PROMPT_ID},
    "PreToolUse": {"tool_name": "run_shell_command", "tool_use_id": "toolu_1",
                   "tool_call_id": "call_1"},
    "PostToolUse": {"tool_name": "write_file", "file_path": "~/proj/a.md", "success": True,
                    "duration_ms": 26},
    "Stop": {"stop_hook_active": False, "context_usage": 0.0005, "context_limit": 200000,
             "input_tokens": 100},
}
SIZED: dict[str, tuple[str, ...]] = {
    "Notification": ("message_bytes", "title_bytes"),
    "UserPromptSubmit": ("prompt_bytes", "submitted_prompt_bytes"),
    "PreToolUse": ("input_bytes",),
    "PostToolUse": ("input_bytes", "output_bytes"),
    "Stop": ("last_assistant_message_bytes",),
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_qwen_events_record_metadata_only(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Qwen Code hook becomes qwen.<Event> with metadata, ``~`` paths and sizes; no
    prompt, command, output or transcript path."""
    payload = {**COMMON, "hook_event_name": name, **PAYLOADS[name]}
    event, props = props_of("qwen", payload, monkeypatch)
    assert event == f"qwen.{name}"
    check(props, {"hook_event_name": name, "session_id": "q-1", "cwd": "~/proj",
                  "permission_mode": "yolo", "timestamp": COMMON["timestamp"],
                  **EXPECTED[name]}, SIZED.get(name, ()))


def test_qwen_content_with_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """With content included, the prompt and the tool's input and output are sent."""
    payload = {**COMMON, "hook_event_name": "PostToolUse", **PAYLOADS["PostToolUse"]}
    _, props = props_of("qwen", payload, monkeypatch, include_content=True)
    assert props["tool_input"]["content"] == SECRET
    assert props["transcript_path"] == "~/.qwen/projects/-home-u-proj/chats/q-1.jsonl"


def test_a_failed_tool_is_not_a_success(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostToolUseFailure, or a tool response with an error, is ``success: false``."""
    failed = {**COMMON, "hook_event_name": "PostToolUseFailure", "tool_name": "read_file",
              "error": f"no such file {SECRET}"}
    assert props_of("qwen", failed, monkeypatch)[1]["success"] is False
    errored = {**COMMON, "hook_event_name": "PostToolUse", "tool_name": "read_file",
               "tool_response": {"error": {"message": SECRET, "type": "file_not_found"}}}
    assert props_of("qwen", errored, monkeypatch)[1]["success"] is False


# -- installing ------------------------------------------------------------------------------


def test_install_round_trip(where: Where, tmp_path: Path) -> None:
    """Installed into an empty home, each event's command records it, by absolute path and
    without shipper on PATH; uninstall leaves nothing."""
    payloads = {name: {**COMMON, "hook_event_name": name, **PAYLOADS[name]}
                for name in ("SessionStart", "PreToolUse", "Stop")}
    assert_json_round_trip(where, "qwen", payloads, tmp_path)


def test_qwen_hooks_time_out_after_5_s_on_every_release(where: Where) -> None:
    """Every hook has ``timeout: 5000``: 5 s whether a release reads it in milliseconds
    (before 0.24) or in seconds with 1000 and more kept as milliseconds (0.24); tool events
    match every tool."""
    assert where("install", "qwen")[0] == 0
    hooks = read_json(where.config("qwen"))["hooks"]
    assert list(hooks) == QWEN_EVENTS
    for event, (group,) in hooks.items():
        assert [h["timeout"] for h in group["hooks"]] == [5000]
        assert group.get("matcher") == ("*" if "Tool" in event or "Permission" in event
                                        else None)


def test_qwen_home_is_honoured(where: Where, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With QWEN_HOME set, the user scope is $QWEN_HOME/settings.json, as Qwen Code reads it."""
    monkeypatch.setenv("QWEN_HOME", str(tmp_path / "elsewhere"))
    assert where("install", "qwen")[0] == 0
    assert (tmp_path / "elsewhere" / "settings.json").exists()
    assert not (where.home / ".qwen").exists()


# -- the real CLI, offline -------------------------------------------------------------------


class QwenApi(ChatApi):
    """Qwen Code 0.24.4, two sessions at a time, sometimes reads a command that exits at
    once as "Output: (empty)": the stand-in's command waits a moment after printing."""

    settle = "; sleep 0.2"


class QwenCode(Client):
    """``qwen --yolo -d -o stream-json PROMPT`` against an OpenAI chat completions stand-in.
    Its debug log (``~/.qwen/debug/<session>.txt``, with ``-d``) has a "Hook ... started
    for event E" and a "Hook ... ended for event E: success" line for every hook it ran;
    "success" is an exit status of 0. A hook's stdout is shown nowhere: each is replayed
    as Qwen Code starts it (``bash -c COMMAND``, the payload on stdin)."""

    name = "qwen"
    prefix = "qwen"
    package = NpmPackage("@qwen-code/qwen-code", "0.24.4", "qwen")
    api_class = QwenApi
    scenario = ("SessionStart", "Notification", "UserPromptSubmit", "PreToolUse",
                "PostToolUse", "UserPromptSubmit", "Stop")
    ok_statuses = ("success",)
    bounds = ("SessionStart", "Stop")  # no SessionEnd outside the interactive UI

    def settings(self, session: Session) -> Path:
        return session.home / ".qwen" / "settings.json"

    def installed(self, session: Session) -> set[str]:
        return set(json.loads(self.settings(session).read_text(encoding="utf-8"))["hooks"])

    def before_install(self, session: Session, api: FakeApi) -> None:
        settings = {"security": {"auth": {"selectedType": "openai"}},
                    "privacy": {"usageStatisticsEnabled": False},
                    "telemetry": {"enabled": False}}
        self.settings(session).parent.mkdir(parents=True, exist_ok=True)
        self.settings(session).write_text(json.dumps(settings, indent=2), encoding="utf-8")

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        return {"OPENAI_API_KEY": "offline-test-key", "OPENAI_BASE_URL": f"{api.url}/v1",
                "OPENAI_MODEL": ChatApi.model, "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1",
                "NO_COLOR": "1"}

    def argv(self, executable: Path, session: Session) -> list[str]:
        return [str(executable), "--yolo", "-d", "-o", "stream-json", session.case.prompt]

    def read_reports(self, session: Session, api: FakeApi) -> None:
        for line in session.stdout.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                session.problems.append(f"stdout line is not JSON: {line[:200]!r}")
                continue
            if message.get("type") == "system" and message.get("subtype") == "init":
                session.session_id = message.get("session_id")
        log = session.home / ".qwen" / "debug" / f"{session.session_id}.txt"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        started = Counter(re.findall(r"\] Hook .* started for event (\w+) \(", text))
        for event, status in re.findall(r"\] Hook .* ended for event (\w+): (\S+)$", text,
                                        re.MULTILINE):
            session.runs.append(HookRun(event, status=status))
        if started != Counter(r.event for r in session.runs):
            session.problems.append(f"hooks started {started} but ended {session.runs}")
        session.problems += re.findall(r"^.*\[(?:WARN|ERROR)\] \[TRUSTED_HOOKS\].*$", text,
                                       re.MULTILINE)

    def transcripts(self, session: Session) -> list[Path]:
        return sorted((session.home / ".qwen" / "projects").glob(
            f"*/chats/{session.session_id}.jsonl"))

    def replays(self, session: Session) -> list[Replay]:
        """Every event the session ran, with Qwen Code's payload for it."""
        transcript = self.transcripts(session)
        common = {"session_id": session.session_id, "cwd": str(session.work),
                  "transcript_path": str(transcript[0]) if transcript else "",
                  "permission_mode": "yolo", "timestamp": "2026-12-04T15:06:02.075Z"}
        tool = {"tool_name": "run_shell_command",
                "tool_input": {"command": session.case.command,
                               "description": session.case.description},
                "tool_use_id": "toolu_replayed", "tool_call_id": "call_replayed"}
        payloads = {
            "SessionStart": {"source": "startup", "model": ChatApi.model},
            "Notification": {"message": "Successfully authenticated with openai",
                             "notification_type": "auth_success"},
            "UserPromptSubmit": {"prompt": session.case.prompt},
            "PreToolUse": tool,
            "PostToolUse": {**tool, "tool_response": {"llmContent": session.case.content_secret}},
            "Stop": {"stop_hook_active": False, "last_assistant_message": session.case.answer},
        }
        bash = shutil.which("bash") or "/bin/sh"
        return [Replay(event, [bash, "-c", command],
                       json.dumps({**common, "hook_event_name": event, **payload}).encode())
                for event, payload in payloads.items()
                for command in hook_commands(self.settings(session), event)]


class TestQwenCodeOffline(AgentChecks):
    client = QwenCode()
