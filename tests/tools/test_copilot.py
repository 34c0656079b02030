"""GitHub Copilot CLI: its camelCase hook payloads (which do not say which hook they are)
through the installed commands, what they may send, what `shipper hooks install copilot`
writes, and the real CLI run offline (`TestCopilotCliOffline`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from shipper._tools._install import hook_command

from ..agents.checks import AgentChecks
from ..agents.clients import Client, HookRun, Replay, Session
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

COPILOT_EVENTS = ["sessionStart", "userPromptSubmitted", "preToolUse", "permissionRequest",
                  "postToolUse", "postToolUseFailure", "agentStop", "subagentStart",
                  "subagentStop", "preCompact", "errorOccurred", "sessionEnd"]

# as Copilot CLI 1.0.102 sends them (seen in headless runs, and its hooks reference)
COMMON = {"sessionId": "cp-1", "timestamp": 1796396828220, "cwd": f"{HOME}/proj"}
ARGS = {"command": f"cat {SECRET}", "description": SECRET}
TRANSCRIPT = f"{HOME}/.copilot/session-state/cp-1/events.jsonl"
PAYLOADS: dict[str, dict[str, Any]] = {
    "sessionStart": {"source": "new", "initialPrompt": SECRET},
    "userPromptSubmitted": {"prompt": SECRET},
    "preToolUse": {"toolName": "bash", "toolArgs": ARGS},
    "permissionRequest": {"hookName": "permissionRequest", "toolName": "bash",
                          "toolInput": {"command": f"cat {SECRET}"}, "permissionSuggestions": []},
    "postToolUse": {"toolName": "view", "toolArgs": {"path": f"{HOME}/proj/a.py"},
                    "toolResult": {"resultType": "success", "textResultForLlm": SECRET}},
    "postToolUseFailure": {"toolName": "bash", "toolArgs": ARGS, "error": f"failed: {SECRET}"},
    "agentStop": {"transcriptPath": TRANSCRIPT, "stopReason": "end_turn",
                  "stop_hook_active": False},
    "subagentStart": {"transcriptPath": TRANSCRIPT, "agentName": "explore",
                      "agentDisplayName": "Explore", "agentDescription": SECRET},
    "subagentStop": {"transcriptPath": TRANSCRIPT, "agentId": "ag-1", "agentType": "explore",
                     "agentName": "explore", "response": SECRET, "stopReason": "end_turn"},
    "preCompact": {"transcriptPath": TRANSCRIPT, "trigger": "auto",
                   "customInstructions": SECRET},
    "errorOccurred": {"error": {"message": SECRET, "name": "RateLimitError", "stack": SECRET},
                      "errorContext": "model_call", "recoverable": True},
    "sessionEnd": {"reason": "complete"},
}
EXPECTED: dict[str, dict[str, Any]] = {
    "sessionStart": {"source": "new"},
    "preToolUse": {"tool_name": "bash"},
    "permissionRequest": {"tool_name": "bash"},
    "postToolUse": {"tool_name": "view", "file_path": "~/proj/a.py", "success": True,
                    "result_type": "success"},
    "postToolUseFailure": {"tool_name": "bash", "success": False},
    "agentStop": {"stop_reason": "end_turn", "stop_hook_active": False},
    "subagentStart": {"agent_name": "explore", "agent_display_name": "Explore"},
    "subagentStop": {"agent_id": "ag-1", "agent_type": "explore"},
    "preCompact": {"trigger": "auto"},
    "errorOccurred": {"error_type": "RateLimitError", "error_context": "model_call",
                      "recoverable": True},
    "sessionEnd": {"reason": "complete"},
}
SIZED: dict[str, tuple[str, ...]] = {
    "sessionStart": ("initial_prompt_bytes",),
    "userPromptSubmitted": ("prompt_bytes",),
    "preToolUse": ("input_bytes",),
    "permissionRequest": ("input_bytes",),
    "postToolUse": ("input_bytes", "output_bytes"),
    "postToolUseFailure": ("input_bytes", "error_bytes"),
    "subagentStart": ("agent_description_bytes",),
    "subagentStop": ("response_bytes",),
    "preCompact": ("custom_instructions_bytes",),
    "errorOccurred": ("error_bytes",),
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_copilot_events_record_metadata_only(name: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hook, named by its command (``--event copilot.<hook>``), becomes that event
    with metadata, ``~`` paths and sizes; no prompt, command, output or transcript path."""
    payload = {**COMMON, **PAYLOADS[name]}
    event, props = props_of("copilot", payload, monkeypatch, event=f"copilot.{name}")
    assert event == f"copilot.{name}"
    check(props, {"hook_event_name": name, "session_id": "cp-1", "cwd": "~/proj",
                  "timestamp": COMMON["timestamp"], **EXPECTED.get(name, {})},
          SIZED.get(name, ()))


def test_a_payload_without_its_event_is_still_an_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run by hand without ``--event``: permissionRequest names itself, anything else is
    copilot.unknown, its metadata kept."""
    _, props = props_of("copilot", {**COMMON, **PAYLOADS["permissionRequest"]}, monkeypatch)
    assert props["hook_event_name"] == "permissionRequest"
    event, props = props_of("copilot", {**COMMON, **PAYLOADS["sessionEnd"]}, monkeypatch)
    assert event == "copilot.unknown" and props["session_id"] == "cp-1"


def test_hooks_configured_under_claude_codes_names_are_read_in_that_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Configured as ``PostToolUse``, Copilot CLI sends snake_case with hook_event_name:
    mapped as Claude Code's, its tool_result read for the outcome."""
    payload = {"hook_event_name": "PostToolUse", "session_id": "cp-1", "cwd": f"{HOME}/proj",
               "tool_name": "Bash", "tool_input": ARGS,
               "tool_result": {"result_type": "failure", "text_result_for_llm": SECRET}}
    event, props = props_of("copilot", payload, monkeypatch)
    assert event == "copilot.PostToolUse"
    check(props, {"session_id": "cp-1", "tool_name": "Bash", "success": False},
          ("input_bytes", "output_bytes"))


def test_copilot_content_with_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """With content included, the prompt and the transcript path are sent."""
    payload = {**COMMON, **PAYLOADS["sessionStart"], "transcriptPath": TRANSCRIPT}
    _, props = props_of("copilot", payload, monkeypatch, include_content=True,
                        event="copilot.sessionStart")
    assert props["initial_prompt"] == SECRET
    assert props["transcript_path"] == "~/.copilot/session-state/cp-1/events.jsonl"


# -- installing ------------------------------------------------------------------------------


def test_install_round_trip(where: Where, tmp_path: Path) -> None:
    """Installed into an empty home, each event's command (naming its event) records it, by
    absolute path and without shipper on PATH; uninstall leaves nothing."""
    payloads = {name: {**COMMON, **PAYLOADS[name]}
                for name in ("sessionStart", "preToolUse", "sessionEnd")}
    assert_json_round_trip(where, "copilot", payloads, tmp_path)


def test_copilot_entries_are_bash_commands_that_name_their_event(where: Where) -> None:
    """Every hook is ``{"type": "command", "bash": ..., "timeoutSec": 5}`` in a flat list,
    its command naming its event; the user's settings stay."""
    path = where.home / ".copilot" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"model": "gpt-5", "hooks": {"sessionEnd": [
        {"type": "command", "bash": "./cleanup.sh"}]}}))
    assert where("install", "copilot")[0] == 0
    data = read_json(path)
    assert data["model"] == "gpt-5" and list(data["hooks"]) == [
        "sessionEnd", *[e for e in COPILOT_EVENTS if e != "sessionEnd"]]
    for event in COPILOT_EVENTS:
        ours = {"type": "command", "bash": hook_command("copilot", f"copilot.{event}"),
                "timeoutSec": 5}
        assert data["hooks"][event][-1] == ours
    assert data["hooks"]["sessionEnd"][0] == {"type": "command", "bash": "./cleanup.sh"}


def test_project_scope_is_a_hooks_file_of_the_repository(where: Where) -> None:
    """--scope project writes .github/hooks/shipper.json, version 1, and removes it again."""
    assert where("install", "copilot", scope="project")[0] == 0
    path = where.cwd / ".github" / "hooks" / "shipper.json"
    data = read_json(path)
    assert data["version"] == 1 and list(data["hooks"]) == COPILOT_EVENTS
    assert "copilot (project): installed, 12 events, up to date" in where("status")[1]
    assert where("uninstall", "copilot", scope="project")[0] == 0
    assert not path.exists()


def test_copilot_home_is_honoured(where: Where, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With COPILOT_HOME set, the user scope is $COPILOT_HOME/settings.json."""
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path / "elsewhere"))
    assert where("install", "copilot")[0] == 0
    assert (tmp_path / "elsewhere" / "settings.json").exists()
    assert not (where.home / ".copilot").exists()


# -- the real CLI, offline -------------------------------------------------------------------


class CopilotCli(Client):
    """``copilot -p PROMPT --allow-all-tools`` with a bring-your-own OpenAI-compatible
    provider at the stand-in (``COPILOT_OFFLINE``: no GitHub sign-in). Its session's
    ``events.jsonl`` (``~/.copilot/session-state/<id>/``) has a ``hook.start`` and a
    ``hook.end`` (success) for every hook it ran. A hook's exit status and stdout are shown
    nowhere: each is replayed as Copilot CLI starts a ``bash`` hook (``bash -c COMMAND``,
    the payload on stdin)."""

    name = "copilot"
    prefix = "copilot"
    package = NpmPackage("@github/copilot", "1.0.102", "copilot")
    api_class = ChatApi
    scenario = ("sessionStart", "userPromptSubmitted", "preToolUse", "permissionRequest",
                "postToolUse", "agentStop", "sessionEnd")
    ok_statuses = ("success",)
    bounds = ("sessionStart", "sessionEnd")

    def settings(self, session: Session) -> Path:
        return session.home / ".copilot" / "settings.json"

    def installed(self, session: Session) -> set[str]:
        return set(json.loads(self.settings(session).read_text(encoding="utf-8"))["hooks"])

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        return {"COPILOT_PROVIDER_BASE_URL": f"{api.url}/v1", "COPILOT_PROVIDER_TYPE": "openai",
                "COPILOT_PROVIDER_API_KEY": "offline-test-key", "COPILOT_MODEL": ChatApi.model,
                "COPILOT_OFFLINE": "true", "COPILOT_AUTO_UPDATE": "false", "NO_COLOR": "1"}

    def argv(self, executable: Path, session: Session) -> list[str]:
        return [str(executable), "-p", session.case.prompt, "--allow-all-tools"]

    def read_reports(self, session: Session, api: FakeApi) -> None:
        for path in self.transcripts(session):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                data = record.get("data") or {}
                if record.get("type") == "session.start":
                    session.session_id = data.get("sessionId")
                elif record.get("type") == "hook.start":
                    session.runs.append(HookRun(str(data.get("hookType"))))
                elif record.get("type") == "hook.end":
                    run = next((r for r in reversed(session.runs)
                                if r.event == data.get("hookType") and r.status is None), None)
                    if run is None:
                        session.problems.append(f"a hook.end without its start: {data}")
                        continue
                    run.status = "success" if data.get("success") is True else f"failed: {data}"
                elif record.get("type") in ("session.error", "session.warning"):
                    session.problems.append(json.dumps(data)[:500])

    def transcripts(self, session: Session) -> list[Path]:
        return sorted((session.home / ".copilot" / "session-state").glob("*/events.jsonl"))

    def replays(self, session: Session) -> list[Replay]:
        """Every installed event the session ran, with Copilot CLI's payload for it."""
        transcript = self.transcripts(session)
        common = {"sessionId": session.session_id, "timestamp": 1796396828220,
                  "cwd": str(session.work)}
        args = {"command": session.case.command, "description": session.case.description}
        payloads = {
            "sessionStart": {"source": "new", "initialPrompt": session.case.prompt},
            "userPromptSubmitted": {"prompt": session.case.prompt},
            "preToolUse": {"toolName": "bash", "toolArgs": args},
            "permissionRequest": {"hookName": "permissionRequest", "toolName": "bash",
                                  "toolInput": {"command": session.case.command}},
            "postToolUse": {"toolName": "bash", "toolArgs": args, "toolResult": {
                "resultType": "success", "textResultForLlm": session.case.content_secret}},
            "agentStop": {"transcriptPath": str(transcript[0]) if transcript else "",
                          "stopReason": "end_turn", "stop_hook_active": False},
            "sessionEnd": {"reason": "complete"},
        }
        hooks = json.loads(self.settings(session).read_text(encoding="utf-8"))["hooks"]
        bash = shutil.which("bash") or "/bin/sh"
        return [Replay(event, [bash, "-c", entry["bash"]],
                       json.dumps({**common, **payload}).encode())
                for event, payload in payloads.items() for entry in hooks.get(event, [])]


class TestCopilotCliOffline(AgentChecks):
    client = CopilotCli()
