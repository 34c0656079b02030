"""Cursor: command hooks in ``~/.cursor/hooks.json``, a flat list per event.

Only observing events are installed. Cursor's permission hooks (``preToolUse``,
``beforeShellExecution``, ``beforeMCPExecution``, ``beforeReadFile``,
``beforeTabFileRead``, ``subagentStart``) must answer with a verdict on stdout and block
the action when a hook prints nothing; ``beforeSubmitPrompt`` reads ``{"continue": true}``.
Each has an ``after…``/``post…`` twin that is installed. ``user_email`` is never sent.
"""

from __future__ import annotations

from ._mapping import event_name, file_path, string

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._install import Installer
    from ._mapping import Fields

NAME = "cursor"
TITLE = "Cursor"
ORDER = 20
PREFIX = "cursor"
ALIASES = ("cursor-agent",)
RECORDS = ("sessions, tool, shell and MCP calls and their outcome, file edits, subagents, "
           "compaction, agent responses (sizes)")
EVENTS = ("sessionStart", "sessionEnd", "postToolUse", "postToolUseFailure", "subagentStop",
          "afterShellExecution", "afterMCPExecution", "afterFileEdit", "preCompact", "stop",
          "afterAgentResponse", "afterAgentThought", "afterTabFileEdit")

_META = ("conversation_id", "generation_id", "session_id", "model", "model_id",
         "cursor_version", "is_background_agent", "composer_mode", "tool_name",
         "tool_use_id", "status", "loop_count", "sandbox", "failure_type",
         "is_interrupt", "duration_ms", "subagent_id", "subagent_type",
         "parent_conversation_id", "tool_call_id", "subagent_model",
         "is_parallel_worker", "git_branch", "message_count", "tool_call_count",
         "mcp_server_name", "trigger", "context_usage_percent", "context_tokens",
         "context_window_size", "messages_to_compact", "is_first_compaction")
_CONTENT = (("command", None), ("output", None), ("edits", None), ("content", None),
            ("prompt", None), ("text", None), ("tool_input", "input_bytes"),
            ("tool_output", "output_bytes"), ("result_json", "output_bytes"),
            ("error_message", None), ("agent_message", None), ("task", None),
            ("description", None), ("summary", None), ("result", None), ("url", None))


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    """Every Cursor hook (agent, Tab, workspace)."""
    name = event_name(payload, "unknown")
    fields.data["hook_event_name"] = name
    fields.metas(payload, _META)
    fields.token("reason", payload.get("reason"))
    fields.token("final_status", payload.get("final_status"))
    fields.count("duration_ms", payload.get("duration"))  # ms, on the after* and postTool*
    fields.paths("workspace_roots", payload.get("workspace_roots"))
    fields.path("cwd", payload.get("cwd"))
    fields.path("file_path", string(payload, "file_path")
                or file_path(payload.get("tool_input")))
    fields.local("transcript_path", payload.get("transcript_path"))
    fields.local("agent_transcript_path", payload.get("agent_transcript_path"))
    fields.listed("attachments", payload.get("attachments"), "attachment_count")
    fields.listed("modified_files", payload.get("modified_files"), "modified_file_count")
    for key, size_key in _CONTENT:
        fields.content(key, payload.get(key), size_key)
    if name == "postToolUse":
        fields.data["success"] = True
    elif name == "postToolUseFailure":
        fields.data["success"] = False
    return f"{PREFIX}.{name}"


def _entry(event: str, command: str) -> dict[str, Any]:
    return {"command": command}


def installer() -> Installer:
    from ._install import JsonHooks

    return JsonHooks(NAME, ".cursor", "hooks.json", EVENTS, _entry, grouped=False,
                     first_keys=(("version", 1),))
