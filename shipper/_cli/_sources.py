"""Agent hook payloads -> events: metadata by default, content only when the user opts in.

Each source maps one JSON object to ``(event name, properties)``. Content (file contents,
edits, commands and their output, prompt text, messages) is shipped only when
``include_content`` is set; otherwise only its size is.
"""

from __future__ import annotations

from .._json import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CONTENT_CAP = 8 * 1024  # characters kept of one content field, when content is included
SOURCES = ("claude-code", "cursor", "codex", "gemini", "generic")


def _size(value: object) -> int:
    """Size in bytes of a value as JSON (strings: their UTF-8 length)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    try:
        return len(dumps(value))
    except (TypeError, ValueError, RecursionError):
        return 0


def _cap(value: object) -> object:
    if isinstance(value, str):
        return value if len(value) <= CONTENT_CAP else value[:CONTENT_CAP] + "...[truncated]"
    if _size(value) > CONTENT_CAP:
        return _cap(dumps(value).decode("utf-8", "replace"))
    return value


def _str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _file_path(tool_input: object) -> str | None:
    if isinstance(tool_input, dict):
        for key in ("file_path", "notebook_path", "path", "absolute_path"):
            value = tool_input.get(key)
            if isinstance(value, str):
                return value
    return None


def _tool_success(tool_response: object) -> bool:
    if isinstance(tool_response, dict):
        if tool_response.get("success") is False or tool_response.get("is_error") is True:
            return False
        if tool_response.get("interrupted") is True:
            return False
    return True


class _Props:
    """Builds a property dict, keeping content out unless allowed."""

    def __init__(self, include_content: bool) -> None:
        self.include = include_content
        self.data: dict[str, Any] = {}

    def meta(self, key: str, value: object) -> None:
        if value is not None:
            self.data[key] = value

    def content(self, key: str, value: object, size_key: str | None = None) -> None:
        if value is None:
            return
        self.data[size_key or f"{key}_bytes"] = _size(value)
        if self.include:
            self.data[key] = _cap(value)


def _tool_fields(p: _Props, payload: dict[str, Any], failed: bool = False) -> None:
    tool_input = payload.get("tool_input")
    p.meta("tool_name", _str(payload, "tool_name"))
    p.meta("tool_use_id", _str(payload, "tool_use_id"))
    p.meta("file_path", _file_path(tool_input))
    p.content("tool_input", tool_input, "input_bytes")
    if "tool_response" in payload:
        response = payload.get("tool_response")
        p.content("tool_response", response, "output_bytes")
        p.meta("success", _tool_success(response) and not failed)
    elif failed:
        p.meta("success", False)
    if failed or "error" in payload:
        p.content("error", payload.get("error"))


def claude_code(payload: dict[str, Any], include_content: bool) -> tuple[str, dict[str, Any]]:
    name = _str(payload, "hook_event_name") or "Unknown"
    p = _Props(include_content)
    p.meta("hook_event_name", name)
    for key in ("session_id", "cwd", "permission_mode", "transcript_path"):
        p.meta(key, _str(payload, key))
    if name in ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"):
        _tool_fields(p, payload, failed=name == "PostToolUseFailure")
        if name == "PostToolUseFailure":
            p.meta("is_interrupt", payload.get("is_interrupt"))
    elif name == "UserPromptSubmit":
        p.content("prompt", payload.get("prompt"))
    elif name == "SessionStart":
        p.meta("source", _str(payload, "source"))
        p.meta("model", _str(payload, "model"))
    elif name == "SessionEnd":
        p.meta("reason", _str(payload, "reason"))
    elif name in ("Stop", "SubagentStop"):
        p.meta("stop_hook_active", payload.get("stop_hook_active"))
        p.meta("agent_id", _str(payload, "agent_id"))
        p.meta("agent_type", _str(payload, "agent_type"))
    elif name == "Notification":
        p.meta("notification_type", _str(payload, "notification_type"))
        p.content("message", payload.get("message"))
    elif name == "PreCompact":
        p.meta("trigger", _str(payload, "trigger"))
        p.content("custom_instructions", payload.get("custom_instructions"))
    return f"claude_code.{name}", p.data


def cursor(payload: dict[str, Any], include_content: bool) -> tuple[str, dict[str, Any]]:
    name = _str(payload, "hook_event_name") or "unknown"
    p = _Props(include_content)
    p.meta("hook_event_name", name)
    for key in ("conversation_id", "generation_id", "model", "cursor_version", "status"):
        p.meta(key, _str(payload, key))
    roots = payload.get("workspace_roots")
    if isinstance(roots, list):
        p.meta("workspace_roots", [r for r in roots if isinstance(r, str)])
    p.meta("cwd", _str(payload, "cwd"))
    p.meta("file_path", _str(payload, "file_path"))
    p.meta("tool_name", _str(payload, "tool_name"))
    p.content("command", payload.get("command"))
    p.content("output", payload.get("output"))
    p.content("edits", payload.get("edits"))
    p.content("content", payload.get("content"))
    p.content("prompt", payload.get("prompt"))
    p.content("text", payload.get("text"))
    p.content("tool_input", payload.get("tool_input"), "input_bytes")
    p.content("result_json", payload.get("result_json"), "output_bytes")
    if isinstance(payload.get("duration"), (int, float)):
        p.meta("duration_ms", payload["duration"])
    return f"cursor.{name}", p.data


def codex(payload: dict[str, Any], include_content: bool) -> tuple[str, dict[str, Any]]:
    if "hook_event_name" in payload:  # Codex's Claude-style lifecycle hooks
        name, props = claude_code(payload, include_content)
        return "codex." + name.split(".", 1)[1], props
    kind = _str(payload, "type") or "notify"  # the `notify` program's argument
    p = _Props(include_content)
    p.meta("type", kind)
    for key in ("thread-id", "turn-id", "cwd"):
        p.meta(key.replace("-", "_"), _str(payload, key))
    p.content("input_messages", payload.get("input-messages"))
    messages = payload.get("input-messages")
    if isinstance(messages, list):
        p.meta("input_message_count", len(messages))
    p.content("last_assistant_message", payload.get("last-assistant-message"))
    return f"codex.{kind}", p.data


def gemini(payload: dict[str, Any], include_content: bool) -> tuple[str, dict[str, Any]]:
    name = _str(payload, "hook_event_name") or "Unknown"
    p = _Props(include_content)
    p.meta("hook_event_name", name)
    for key in ("session_id", "cwd", "transcript_path", "timestamp", "trigger", "reason",
                "notification_type"):
        p.meta(key, _str(payload, key))
    if name in ("BeforeTool", "AfterTool"):
        _tool_fields(p, payload)
    p.content("prompt", payload.get("prompt"))
    p.content("prompt_response", payload.get("prompt_response"))
    p.content("message", payload.get("message"))
    return f"gemini.{name}", p.data


# strings the generic mapper keeps without opt-in: names and ids, not what a user wrote
_GENERIC_META = frozenset({"event", "hook_event_name", "type", "source", "status", "reason",
                           "trigger", "model", "tool_name", "name", "session_id"})
_META_CHARS = 200


def generic(payload: dict[str, Any], include_content: bool) -> tuple[str, dict[str, Any]]:
    """Any JSON object. With content opted in, all of it (capped); without, what cannot be
    content: numbers, booleans, and short strings under names that hold names and ids
    (``event``, ``session_id``, ``tool_name``, any ``*_id``...); every other value is
    sent as its size only. Privacy does not depend on naming the source right."""
    name = payload.get("event") or payload.get("hook_event_name")
    event = name if isinstance(name, str) and name else "hook"
    if include_content:
        return event, {key: _cap(value) for key, value in payload.items()}
    p = _Props(False)
    for key, value in payload.items():
        if not isinstance(key, str):
            continue
        plain = value is None or isinstance(value, (bool, int, float))
        meta_string = (isinstance(value, str) and len(value) <= _META_CHARS
                       and (key in _GENERIC_META or key.endswith("_id")))
        if plain or meta_string:
            p.meta(key, value)
        else:
            p.content(key, value)
    return event, p.data


_ALIASES = {"claude": "claude-code", "claudecode": "claude-code", "claude-code-cli":
            "claude-code", "cursor-agent": "cursor", "openai-codex": "codex",
            "codex-cli": "codex", "gemini-cli": "gemini", "google-gemini": "gemini"}


def source_named(text: str) -> str:
    """The known source a ``--source`` value means: case, ``_``, spaces and common
    spellings aside (``claude_code``, ``Claude-Code``, ``claudecode``); ``generic``
    otherwise, which ships metadata only unless content is opted in."""
    normal = text.strip().lower().replace("_", "-").replace(" ", "-")
    normal = _ALIASES.get(normal, normal)
    return normal if normal in SOURCES else "generic"


MAPPERS: dict[str, Callable[[dict[str, Any], bool], tuple[str, dict[str, Any]]]] = {
    "claude-code": claude_code,
    "cursor": cursor,
    "codex": codex,
    "gemini": gemini,
    "generic": generic,
}


def to_event(
    source: str, raw: bytes, *, include_content: bool, event: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Turn a hook's raw stdin into an event. A payload that is not a JSON object still
    makes an event (named for the source) that says what was wrong, never an error."""
    prefix = source.replace("-", "_")
    try:
        payload = loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        payload = None
        problem = "payload is not UTF-8 JSON"
    else:
        problem = "empty payload" if payload is None else "payload is not a JSON object"
    if not isinstance(payload, dict):
        return event or f"{prefix}.invalid_payload", {"payload_error": problem,
                                                      "payload_bytes": len(raw)}
    name, props = MAPPERS.get(source, generic)(payload, include_content)
    return event or name, props
