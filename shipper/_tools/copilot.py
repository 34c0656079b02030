"""GitHub Copilot CLI: command hooks in ``~/.copilot/settings.json`` (``hooks``), or a
repository's ``.github/hooks/shipper.json``.

Configured under their camelCase names, Copilot CLI's hooks get camelCase payloads
(``sessionId``, ``toolName``, ``toolArgs``...) that do not say which hook they are: each
installed command names its event (``--event copilot.<hook>``). A command hook that exits
non-zero on preToolUse denies the tool call (a left-behind hook must exit 0: every command
is guarded); one that prints nothing lets it through, and permissionRequest's silence goes
on to Copilot's own decision, so both are installed. ``notification`` is not: Copilot does
not wait for it, and its occasions (a turn ended, a permission asked) have hooks of their
own. Repository hooks run only in a trusted folder (``--trust-folder``, or
``COPILOT_ALLOW_ALL``).
"""

from __future__ import annotations

from ._mapping import claude_like, event_name, file_path, is_token

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._install import Installer
    from ._mapping import Fields

NAME = "copilot"
TITLE = "GitHub Copilot CLI"
ORDER = 60
PREFIX = "copilot"
ALIASES = ("github-copilot", "copilot-cli", "github-copilot-cli", "gh-copilot")
RECORDS = ("sessions, prompts, tool calls and their outcome, permission requests, errors, "
           "subagents, compaction")
EVENTS = ("sessionStart", "userPromptSubmitted", "preToolUse", "permissionRequest",
          "postToolUse", "postToolUseFailure", "agentStop", "subagentStart", "subagentStop",
          "preCompact", "errorOccurred", "sessionEnd")

_META = (("sessionId", "session_id"), ("source", "source"), ("reason", "reason"),
         ("stopReason", "stop_reason"), ("stop_hook_active", "stop_hook_active"),
         ("trigger", "trigger"), ("errorContext", "error_context"),
         ("recoverable", "recoverable"), ("agentId", "agent_id"),
         ("agentType", "agent_type"), ("agentName", "agent_name"),
         ("agentDisplayName", "agent_display_name"), ("timestamp", "timestamp"))
_CONTENT = (("initialPrompt", "initial_prompt", None), ("prompt", "prompt", None),
            ("transformedPrompt", "transformed_prompt", None),
            ("toolArgs", "tool_input", "input_bytes"), ("toolInput", "tool_input", "input_bytes"),
            ("toolResult", "tool_response", "output_bytes"),
            ("permissionSuggestions", "permission_suggestions", None),
            ("response", "response", None), ("customInstructions", "custom_instructions", None),
            ("agentDescription", "agent_description", None))


def _hook(payload: dict[str, Any], event: str | None) -> str:
    """Which hook a payload is for: the name in the command's ``--event``, else
    permissionRequest's own ``hookName``."""
    if event is not None:
        name = event.removeprefix(PREFIX + ".")
        return name if is_token(name) else "unknown"
    return event_name(payload, "unknown", "hookName")


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    if "hook_event_name" in payload:  # configured under Claude Code's names: its shape
        name = event_name(payload, "Unknown")
        claude_like(fields, payload, name)
        result = payload.get("tool_result")
        if isinstance(result, dict):
            fields.content("tool_response", result, "output_bytes")
            fields.data["success"] = result.get("result_type") == "success"
        return f"{PREFIX}.{name}"
    name = _hook(payload, event)
    fields.data["hook_event_name"] = name
    for key, out in _META:
        fields.meta(key, payload.get(key), out)
    fields.path("cwd", payload.get("cwd"))
    fields.local("transcript_path", payload.get("transcriptPath"))
    fields.meta("tool_name", payload.get("toolName"))
    fields.path("file_path", file_path(payload.get("toolArgs") or payload.get("toolInput")))
    for key, out, size_key in _CONTENT:
        fields.content(out, payload.get(key), size_key)
    error = payload.get("error")
    if isinstance(error, dict):  # errorOccurred: {message, name, stack}
        fields.token("name", error.get("name"), "error_type")
        fields.content("error", error.get("message"))
    else:  # postToolUseFailure: the error's text
        fields.content("error", error)
    if name == "postToolUse":
        result = payload.get("toolResult")
        kind = result.get("resultType") if isinstance(result, dict) else None
        fields.data["success"] = kind in (None, "success")
        if is_token(kind):
            fields.data["result_type"] = kind
    elif name == "postToolUseFailure":
        fields.data["success"] = False
    return f"{PREFIX}.{name}"


def _entry(event: str, command: str) -> dict[str, Any]:
    return {"type": "command", "bash": command, "timeoutSec": 5}


def installer() -> Installer:
    from ._install import JsonHooks

    return JsonHooks(NAME, ".copilot", "settings.json", EVENTS, _entry, grouped=False,
                     command_keys=("bash", "command"), event_in_command=True, prefix=PREFIX,
                     project=".github/hooks/shipper.json",
                     project_first_keys=(("version", 1),), home_env=("COPILOT_HOME", ""))
