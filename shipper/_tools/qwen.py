"""Qwen Code: command hooks in ``~/.qwen/settings.json``, in Claude Code's shape.

A hook's ``timeout`` is read in seconds by Qwen Code 0.24 and in milliseconds by the
releases before it; 0.24 still reads 1000 and more as milliseconds, so ``5000`` is 5 s for
every release (where ``5`` would be 5 ms for an older one). Headless (``qwen PROMPT``) it
fires SessionStart, Notification, UserPromptSubmit (a second time, with an empty prompt,
when a tool's result goes back), PreToolUse, PostToolUse and Stop; SessionEnd only in the
interactive UI. A silent PreToolUse hook lets the call through, and Cursor does not read
Qwen Code's settings, so PreToolUse is installed.
"""

from __future__ import annotations

from ._mapping import claude_like, event_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._install import Installer
    from ._mapping import Fields

NAME = "qwen"
TITLE = "Qwen Code"
ORDER = 70
PREFIX = "qwen"
ALIASES = ("qwen-code", "qwencode", "qwen-code-cli")
RECORDS = ("sessions, prompts, tool calls and their outcome, permission requests, "
           "notifications, subagents, compaction")
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
          "PostToolUseFailure", "PermissionRequest", "Notification", "Stop", "StopFailure",
          "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd")
_TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest")


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    """Claude Code's fields, and Qwen Code's own: the tool call's id, the context's use,
    the time of the hook; the prompt as submitted is content."""
    name = event_name(payload, "Unknown")
    claude_like(fields, payload, name)
    fields.metas(payload, ("tool_call_id", "timestamp"))
    for key in ("context_usage", "context_limit", "input_tokens"):
        fields.count(key, payload.get(key))
    for key in ("submitted_prompt", "background_tasks", "crons"):
        fields.content(key, payload.get(key))
    return f"{PREFIX}.{name}"


def installer() -> Installer:
    from ._install import claude_settings

    return claude_settings(NAME, ".qwen", EVENTS, timeout=5000, tool_events=_TOOL_EVENTS,
                           home_env=("QWEN_HOME", ""))
