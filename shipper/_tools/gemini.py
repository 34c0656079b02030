"""Gemini CLI: command hooks in ``~/.gemini/settings.json``.

Gemini waits for every hook before it goes on, so AfterTool runs only for the tools that
change things (the matcher is a regex, unanchored); the hooks are named ``shipper``
(``hooksConfig.disabled: ["shipper"]`` turns them off) and time out after 5000 ms.
"""

from __future__ import annotations

from ._mapping import event_name, tool_call, tool_success

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ._install import Installer
    from ._mapping import Fields

NAME = "gemini"
TITLE = "Gemini CLI"
ORDER = 40
PREFIX = "gemini"
ALIASES = ("gemini-cli", "google-gemini")
RECORDS = "sessions, prompts, the tools that change things and their outcome, " \
          "notifications, compression"
EVENTS = ("SessionStart", "SessionEnd", "BeforeAgent", "AfterAgent", "PreCompress",
          "Notification", "AfterTool")
TOOL_MATCHER = "run_shell_command|write_file|replace|edit"


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    name = event_name(payload, "Unknown")
    fields.data["hook_event_name"] = name
    fields.meta("session_id", payload.get("session_id"))
    fields.meta("timestamp", payload.get("timestamp"))
    fields.path("cwd", payload.get("cwd"))
    fields.local("transcript_path", payload.get("transcript_path"))
    if name == "SessionStart":  # `source`; some docs (and older builds) said `trigger`
        fields.meta("source", payload.get("source") or payload.get("trigger"))
    elif name == "SessionEnd":
        fields.meta("reason", payload.get("reason") or payload.get("trigger"))
    elif name == "PreCompress":
        fields.meta("trigger", payload.get("trigger"))
    elif name in ("BeforeTool", "AfterTool"):
        tool_call(fields, payload)
        fields.meta("original_request_name", payload.get("original_request_name"))
        if name == "AfterTool":
            response = payload.get("tool_response")
            fields.data["success"] = tool_success(response)
            error = response.get("error") if isinstance(response, dict) else None
            if isinstance(error, dict):
                fields.token("type", error.get("type"), "error_type")
    elif name == "Notification":
        fields.meta("notification_type", payload.get("notification_type"))
        fields.content("details", payload.get("details"))
    elif name == "AfterAgent":
        fields.meta("stop_hook_active", payload.get("stop_hook_active"))
    request = payload.get("llm_request")
    if isinstance(request, dict):  # BeforeModel, BeforeToolSelection, AfterModel
        fields.meta("model", request.get("model"))
    for key in ("prompt", "prompt_response", "message", "llm_request", "llm_response"):
        fields.content(key, payload.get(key))
    return f"{PREFIX}.{name}"


def _entry(event: str, command: str) -> dict[str, Any]:
    group: dict[str, Any] = {"matcher": TOOL_MATCHER} if event == "AfterTool" else {}
    group["hooks"] = [{"type": "command", "command": command, "name": "shipper",
                       "timeout": 5000}]
    return group


def _notes(data: dict[str, Any], path: Path) -> list[str]:
    config = data.get("hooksConfig")
    if not isinstance(config, dict):
        return []
    notes = []
    if config.get("enabled") is False:
        notes.append(f"{NAME}: {path} turns hooks off (hooksConfig.enabled: false); left so: "
                     "shipper's hooks run once you turn them on")
    disabled = config.get("disabled")
    if isinstance(disabled, list) and "shipper" in disabled:
        notes.append(f'{NAME}: "shipper" is in hooksConfig.disabled in {path}; left so: '
                     "its hooks do not run until you take it out")
    return notes


def installer() -> Installer:
    from ._install import JsonHooks

    return JsonHooks(NAME, ".gemini", "settings.json", EVENTS, _entry, notes=_notes,
                     home_env=("GEMINI_CLI_HOME", ".gemini"))
