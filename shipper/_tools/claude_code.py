"""Claude Code: command hooks in ``~/.claude/settings.json`` (Claude Code's own shape).

Installed: every observing event but PreToolUse. Cursor also runs the hooks in
``~/.claude/settings.json`` (its "third-party" setting, on by default), maps PreToolUse to
its own preToolUse permission hook, and reads a silent answer there as "deny": it would
block every tool call of people who use both. PostToolUse, PostToolUseFailure and
PermissionRequest carry the same tool calls. The hooks are synchronous (no ``async``):
Claude Code kills async hooks still running when a headless session ends, and then skips
the SessionEnd hooks altogether.
"""

from __future__ import annotations

from ._mapping import claude_like, event_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._install import Installer
    from ._mapping import Fields

NAME = "claude-code"
TITLE = "Claude Code"
ORDER = 10
PREFIX = "claude_code"
ALIASES = ("claude", "claudecode", "claude-code-cli")
RECORDS = ("sessions, prompts, tool calls and their outcome, permission requests, "
           "notifications, subagents, compaction")
EVENTS = ("SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
          "PermissionRequest", "Notification", "Stop", "StopFailure", "SubagentStart",
          "SubagentStop", "PreCompact", "PostCompact", "SessionEnd")
TOOL_EVENTS = ("PostToolUse", "PostToolUseFailure", "PermissionRequest")  # "matcher": "*"


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    if "cursor_version" in payload:  # Cursor runs Claude Code's hooks with its own payload
        from ._registry import load

        mapped: str = load("cursor").map_payload(payload, fields, event)
        return mapped
    name = event_name(payload, "Unknown")
    claude_like(fields, payload, name)
    return f"{PREFIX}.{name}"


def installer() -> Installer:
    from ._install import claude_settings

    return claude_settings(NAME, ".claude", EVENTS, timeout=5, tool_events=TOOL_EVENTS,
                           home_env=("CLAUDE_CONFIG_DIR", ""))
