"""Agent hook payloads -> events: metadata by default, content only when the user opts in.

Each source maps one JSON object to ``(event name, properties)``, picking the fields it
knows (anything else in the payload is left out). Three kinds of field:

- metadata, always sent: event and tool names, ids, enums, counts, flags, durations;
- paths (``cwd``, a tool's file, workspace roots), always sent, with the home folder written
  as ``~``, or, with ``hash_paths``, as a short keyed hash of that;
- content (prompts, file contents, edits, commands and their output, messages), sent only
  with ``include_content`` (capped at ``CONTENT_CAP`` characters); otherwise only its size.

Pointers to local files that hold a whole conversation (``transcript_path``...) are
content too. ``user_email`` (Cursor) is never sent.

This module is on the hook's hot path: it imports nothing beyond ``os`` and shipper's JSON,
and hashes (with the C ``_blake2``) only when ``hash_paths`` is on.
"""

from __future__ import annotations

import os

from ._json import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeGuard

CONTENT_CAP = 8 * 1024  # characters kept of one content field, when content is included
SOURCES = ("claude-code", "cursor", "codex", "gemini", "git", "generic")
HASH_BYTES = 8  # a hashed path is this many bytes, written as hex (16 characters)
_META_CHARS = 200  # a longer "metadata" string is not metadata: only its size is sent
_TOKEN_CHARS = 64
_SEPS = os.sep + (os.altsep or "")


def _size(value: object) -> int:
    """Size in bytes of a value as JSON (strings: their UTF-8 length)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
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


def _is_token(value: object) -> TypeGuard[str]:
    """A short string with no spaces: an enum value or a name, not something a person wrote."""
    return (isinstance(value, str) and 0 < len(value) <= _TOKEN_CHARS and value.isprintable()
            and " " not in value)


def _event_name(payload: dict[str, Any], default: str) -> str:
    name = payload.get("hook_event_name")
    return name if _is_token(name) else default


def _home() -> str:
    """The home folder as paths are compared with it: no trailing separator, case-folded
    where the file system is (Windows); "" when there is none or it is the root."""
    home = os.path.expanduser("~")
    if home == "~":
        return ""
    return os.path.normcase(home.rstrip(_SEPS))


def tilde(path: str, home: str) -> str:
    """``path`` with a leading ``home`` written as ``~`` (``home`` as ``_home`` gives it):
    only a whole folder name matches, so home ``/home/al`` leaves ``/home/alice`` alone."""
    n = len(home)
    if n and os.path.normcase(path[:n]) == home and (len(path) == n or path[n] in _SEPS):
        return "~" + path[n:]
    return path


def hash_path(path: str, key: bytes) -> str:
    """A short keyed hash of a path (blake2b, ``HASH_BYTES`` bytes, as hex)."""
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import blake2b
    data = path.encode("utf-8", "surrogatepass")
    return blake2b(data, key=key[:64], digest_size=HASH_BYTES).hexdigest()


class _Props:
    """Builds a property dict: metadata as it is, paths shown as configured, content only
    when allowed."""

    __slots__ = ("data", "home", "include", "key")

    def __init__(self, include_content: bool, home: str = "", key: bytes | None = None) -> None:
        self.include = include_content
        self.home = home
        self.key = key
        self.data: dict[str, Any] = {}

    def meta(self, key: str, value: object, out: str | None = None) -> None:
        """A name, id, enum, number or flag. A value that is none of those (a long string,
        a list, an object) is sent as its size only, as content would be."""
        if value is None:
            return
        if isinstance(value, (bool, int, float)) or (
                isinstance(value, str) and len(value) <= _META_CHARS):
            self.data[out or key] = value
        else:
            self.content(out or key, value)

    def token(self, key: str, value: object, out: str | None = None) -> None:
        """An enum value where a tool might also put free text: kept only when it is a
        token (``server_error``, ``window_close``), else sent as content."""
        if _is_token(value):
            self.data[out or key] = value
        else:
            self.content(out or key, value)

    def content(self, key: str, value: object, size_key: str | None = None) -> None:
        if value is None:
            return
        self.data[size_key or f"{key}_bytes"] = _size(value)
        if self.include:
            self.data[key] = _cap(value)

    def shown(self, path: str) -> str:
        path = tilde(path, self.home)
        return hash_path(path, self.key) if self.key is not None else path

    def path(self, key: str, value: object) -> None:
        if isinstance(value, str) and value:
            self.data[key] = self.shown(value)

    def paths(self, key: str, value: object) -> None:
        if isinstance(value, list):
            self.data[key] = [self.shown(v) for v in value if isinstance(v, str) and v]

    def local(self, key: str, value: object) -> None:
        """A local file holding a conversation (a transcript): nothing anyone else can
        read, and it names the user; sent (as a path) only with content."""
        if self.include:
            self.path(key, value)

    def listed(self, key: str, value: object, count_key: str) -> None:
        """A list of files (attached, modified): its length; with content, the list."""
        if not isinstance(value, list):
            return
        self.data[count_key] = len(value)
        if self.include:
            self.data[key] = [self.shown(v) if isinstance(v, str) else _cap(v) for v in value]


def _file_path(tool_input: object) -> str | None:
    if isinstance(tool_input, dict):
        for key in ("file_path", "notebook_path", "path", "absolute_path", "target_file",
                    "dir_path"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _tool_success(tool_response: object) -> bool:
    """False where the response says the tool failed: ``success: false``, ``is_error``,
    ``interrupted`` (Claude Code), an ``error`` (Gemini CLI)."""
    if isinstance(tool_response, dict):
        if tool_response.get("success") is False or tool_response.get("is_error") is True:
            return False
        if tool_response.get("interrupted") is True or tool_response.get("error"):
            return False
    return True


def _tool(p: _Props, payload: dict[str, Any]) -> None:
    """tool_name, tool_use_id, the tool's file (a path), and the sizes of its input and
    output (the input and output themselves with content)."""
    tool_input = payload.get("tool_input")
    p.meta("tool_name", payload.get("tool_name"))
    p.meta("tool_use_id", payload.get("tool_use_id"))
    p.path("file_path", _file_path(tool_input))
    p.content("tool_input", tool_input, "input_bytes")
    p.content("tool_response", payload.get("tool_response"), "output_bytes")


# -- Claude Code, and Codex's lifecycle hooks (the same shape) ------------------------------

_CLAUDE_META = ("session_id", "turn_id", "prompt_id", "permission_mode", "agent_id",
                "agent_type", "model", "source", "trigger", "notification_type",
                "stop_hook_active", "is_interrupt", "duration_ms", "memory_type",
                "load_reason", "expansion_type", "command_name", "command_source")
_CLAUDE_PATHS = ("cwd", "old_cwd", "new_cwd", "worktree_path")
_CLAUDE_LOCAL = ("transcript_path", "agent_transcript_path")
_CLAUDE_CONTENT = ("prompt", "message", "title", "last_assistant_message",
                   "custom_instructions", "compact_summary", "error_details",
                   "permission_suggestions", "command_args")
_TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure",
                          "PermissionRequest", "PermissionDenied"})


def _claude_like(p: _Props, payload: dict[str, Any], name: str) -> None:
    p.data["hook_event_name"] = name
    for key in _CLAUDE_META:
        p.meta(key, payload.get(key))
    for key in _CLAUDE_PATHS:
        p.path(key, payload.get(key))
    for key in _CLAUDE_LOCAL:
        p.local(key, payload.get(key))
    for key in _CLAUDE_CONTENT:
        p.content(key, payload.get(key))
    effort = payload.get("effort")
    if isinstance(effort, dict):
        p.meta("effort", effort.get("level"))
    if name in _TOOL_EVENTS:
        _tool(p, payload)
        if name == "PostToolUse":
            p.data["success"] = _tool_success(payload.get("tool_response"))
        elif name == "PostToolUseFailure":
            p.data["success"] = False
    elif "file_path" in payload:  # InstructionsLoaded, ConfigChange, FileChanged
        p.path("file_path", payload.get("file_path"))
    if name == "StopFailure":  # error is the kind of failure: rate_limit, server_error...
        p.token("error", payload.get("error"), "error_type")
    else:
        p.content("error", payload.get("error"))
    if name == "SessionEnd":
        p.meta("reason", payload.get("reason"))
    else:  # PermissionDenied's reason is the classifier's own words
        p.token("reason", payload.get("reason"))


def claude_code(payload: dict[str, Any], p: _Props) -> str:
    if "cursor_version" in payload:  # Cursor runs Claude Code's hooks too (third-party hooks)
        return cursor(payload, p)
    name = _event_name(payload, "Unknown")
    _claude_like(p, payload, name)
    return f"claude_code.{name}"


# -- Cursor ---------------------------------------------------------------------------------

_CURSOR_META = ("conversation_id", "generation_id", "session_id", "model", "model_id",
                "cursor_version", "is_background_agent", "composer_mode", "tool_name",
                "tool_use_id", "status", "loop_count", "sandbox", "failure_type",
                "is_interrupt", "duration_ms", "subagent_id", "subagent_type",
                "parent_conversation_id", "tool_call_id", "subagent_model",
                "is_parallel_worker", "git_branch", "message_count", "tool_call_count",
                "mcp_server_name", "trigger", "context_usage_percent", "context_tokens",
                "context_window_size", "messages_to_compact", "is_first_compaction")
_CURSOR_CONTENT = (("command", None), ("output", None), ("edits", None), ("content", None),
                   ("prompt", None), ("text", None), ("tool_input", "input_bytes"),
                   ("tool_output", "output_bytes"), ("result_json", "output_bytes"),
                   ("error_message", None), ("agent_message", None), ("task", None),
                   ("description", None), ("summary", None), ("result", None),
                   ("url", None))


def cursor(payload: dict[str, Any], p: _Props) -> str:
    """Every Cursor hook (agent, Tab, workspace). ``user_email`` is never sent."""
    name = _event_name(payload, "unknown")
    p.data["hook_event_name"] = name
    for key in _CURSOR_META:
        p.meta(key, payload.get(key))
    p.token("reason", payload.get("reason"))
    p.token("final_status", payload.get("final_status"))
    duration = payload.get("duration")  # ms, on the after* and postTool* events
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        p.data["duration_ms"] = duration
    p.paths("workspace_roots", payload.get("workspace_roots"))
    p.path("cwd", payload.get("cwd"))
    p.path("file_path", _str(payload, "file_path") or _file_path(payload.get("tool_input")))
    p.local("transcript_path", payload.get("transcript_path"))
    p.local("agent_transcript_path", payload.get("agent_transcript_path"))
    p.listed("attachments", payload.get("attachments"), "attachment_count")
    p.listed("modified_files", payload.get("modified_files"), "modified_file_count")
    for key, size_key in _CURSOR_CONTENT:
        p.content(key, payload.get(key), size_key)
    if name == "postToolUse":
        p.data["success"] = True
    elif name == "postToolUseFailure":
        p.data["success"] = False
    return f"cursor.{name}"


# -- Codex: lifecycle hooks (Claude Code's shape) and the legacy notify program -------------


def codex(payload: dict[str, Any], p: _Props) -> str:
    if "hook_event_name" in payload:
        name = _event_name(payload, "Unknown")
        _claude_like(p, payload, name)
        return f"codex.{name}"
    kind = payload.get("type")  # notify's argument: {"type": "agent-turn-complete", ...}
    kind = kind if _is_token(kind) else "notify"
    p.data["type"] = kind
    for key in ("thread-id", "turn-id", "client"):
        p.meta(key.replace("-", "_"), payload.get(key))
    p.path("cwd", payload.get("cwd"))
    messages = payload.get("input-messages")
    if isinstance(messages, list):
        p.data["input_message_count"] = len(messages)
    p.content("input_messages", messages)
    p.content("last_assistant_message", payload.get("last-assistant-message"))
    return f"codex.{kind}"


# -- Gemini CLI -----------------------------------------------------------------------------


def gemini(payload: dict[str, Any], p: _Props) -> str:
    name = _event_name(payload, "Unknown")
    p.data["hook_event_name"] = name
    p.meta("session_id", payload.get("session_id"))
    p.meta("timestamp", payload.get("timestamp"))
    p.path("cwd", payload.get("cwd"))
    p.local("transcript_path", payload.get("transcript_path"))
    if name == "SessionStart":  # `source`; some docs (and older builds) said `trigger`
        p.meta("source", payload.get("source") or payload.get("trigger"))
    elif name == "SessionEnd":
        p.meta("reason", payload.get("reason") or payload.get("trigger"))
    elif name == "PreCompress":
        p.meta("trigger", payload.get("trigger"))
    elif name in ("BeforeTool", "AfterTool"):
        _tool(p, payload)
        p.meta("original_request_name", payload.get("original_request_name"))
        if name == "AfterTool":
            response = payload.get("tool_response")
            p.data["success"] = _tool_success(response)
            error = response.get("error") if isinstance(response, dict) else None
            if isinstance(error, dict):
                p.token("type", error.get("type"), "error_type")
    elif name == "Notification":
        p.meta("notification_type", payload.get("notification_type"))
        p.content("details", payload.get("details"))
    elif name == "AfterAgent":
        p.meta("stop_hook_active", payload.get("stop_hook_active"))
    request = payload.get("llm_request")
    if isinstance(request, dict):  # BeforeModel, BeforeToolSelection, AfterModel
        p.meta("model", request.get("model"))
    for key in ("prompt", "prompt_response", "message", "llm_request", "llm_response"):
        p.content(key, payload.get(key))
    return f"gemini.{name}"


# -- git --------------------------------------------------------------------------------------


def git(payload: dict[str, Any], p: _Props) -> str:
    """What the post-commit block of ``shipper hooks install git`` sends: the commit's sha,
    branch, repository folder name, files changed and whether it merged; never the message
    or the diff."""
    for key in ("sha", "branch", "repo", "files_changed", "merge"):
        p.meta(key, payload.get(key))
    name = payload.get("event")
    return name if _is_token(name) and name.startswith("git.") else "git.commit"


# -- anything else --------------------------------------------------------------------------

# strings the generic mapper keeps without opt-in: names and ids, not what a user wrote
_GENERIC_META = frozenset({"event", "hook_event_name", "type", "source", "status", "reason",
                           "trigger", "model", "tool_name", "name", "session_id"})


def generic(payload: dict[str, Any], p: _Props) -> str:
    """Any JSON object. With content opted in, all of it (capped); without, what cannot be
    content: numbers, booleans, and short strings under names that hold names and ids
    (``event``, ``session_id``, ``tool_name``, any ``*_id``...); every other value is
    sent as its size only. Privacy does not depend on naming the source right."""
    name = payload.get("event") or payload.get("hook_event_name")
    event = name if isinstance(name, str) and name else "hook"
    if p.include:
        p.data.update((key, _cap(value)) for key, value in payload.items())
        return event
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
    return event


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


MAPPERS: dict[str, Callable[[dict[str, Any], _Props], str]] = {
    "claude-code": claude_code,
    "cursor": cursor,
    "codex": codex,
    "gemini": gemini,
    "git": git,
    "generic": generic,
}


def to_event(
    source: str, raw: bytes, *, include_content: bool, event: str | None = None,
    hash_key: bytes | None = None,
) -> tuple[str, dict[str, Any]]:
    """Turn a hook's raw stdin into an event name and its properties.

    ``include_content`` adds prompts, commands, file contents and output (capped);
    ``hash_key`` (the cache's ``path_key``, given when ``hash_paths`` is on) turns every
    path into a keyed hash of its ``~`` form; ``event`` overrides the name. A payload that
    is not a JSON object still makes an event (named for the source) that says what was
    wrong, never an error. A UTF-8 byte order mark (Cursor on Windows) is ignored."""
    prefix = source.replace("-", "_")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
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
    props = _Props(include_content, _home(), hash_key)
    name = MAPPERS.get(source, generic)(payload, props)
    return event or name, props.data
