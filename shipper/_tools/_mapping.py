"""Hook payloads -> events, the part every tool shares: metadata by default, content only
when the user opts in.

A tool's module (``shipper/_tools/<tool>.py``) maps one JSON object to an event name and
its properties with `Fields`, picking the fields it knows (anything else in the payload is
left out). Three kinds of field:

- metadata, always sent: event and tool names, ids, enums, counts, flags, durations;
- paths (``cwd``, a tool's file, workspace roots), always sent, with the home folder written
  as ``~``, or, with ``hash_paths``, as a short keyed hash of that;
- content (prompts, file contents, edits, commands and their output, messages), sent only
  with ``include_content`` (capped at ``CONTENT_CAP`` characters); otherwise only its size.

Pointers to local files that hold a whole conversation (``transcript_path``...) are
content too.

`to_event` is the one place a hook's raw bytes are parsed. This module is on the hook's hot
path: it imports nothing beyond ``os`` and shipper's JSON, and hashes (with the C
``_blake2``) only when ``hash_paths`` is on.
"""

from __future__ import annotations

import os

from .._json import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol, TypeGuard

    class Mapper(Protocol):
        """What `to_event` needs of a tool's module."""

        PREFIX: str

        def map_payload(self, payload: dict[str, Any], fields: Fields,
                        event: str | None) -> str: ...

CONTENT_CAP = 8 * 1024  # characters kept of one content field, when content is included
HASH_BYTES = 8  # a hashed path is this many bytes, written as hex (16 characters)
META_CHARS = 200  # a longer "metadata" string is not metadata: only its size is sent
_TOKEN_CHARS = 64
_SEPS = os.sep + (os.altsep or "")


def size_of(value: object) -> int:
    """Size in bytes of a value as JSON (strings: their UTF-8 length)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    try:
        return len(dumps(value))
    except (TypeError, ValueError, RecursionError):
        return 0


def cap(value: object) -> object:
    """Content as it is sent when included: at most ``CONTENT_CAP`` characters."""
    if isinstance(value, str):
        return value if len(value) <= CONTENT_CAP else value[:CONTENT_CAP] + "...[truncated]"
    if size_of(value) > CONTENT_CAP:
        return cap(dumps(value).decode("utf-8", "replace"))
    return value


def string(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def is_token(value: object) -> TypeGuard[str]:
    """A short string with no spaces: an enum value or a name, not something a person wrote."""
    return (isinstance(value, str) and 0 < len(value) <= _TOKEN_CHARS and value.isprintable()
            and " " not in value)


def event_name(payload: dict[str, Any], default: str, key: str = "hook_event_name") -> str:
    """The payload's own name for its event, where it is a name; else ``default``."""
    name = payload.get(key)
    return name if is_token(name) else default


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


class Fields:
    """Builds an event's properties: metadata as it is, paths shown as configured, content
    only when allowed."""

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
                isinstance(value, str) and len(value) <= META_CHARS):
            self.data[out or key] = value
        else:
            self.content(out or key, value)

    def metas(self, payload: dict[str, Any], keys: tuple[str, ...]) -> None:
        for key in keys:
            self.meta(key, payload.get(key))

    def token(self, key: str, value: object, out: str | None = None) -> None:
        """An enum value where a tool might also put free text: kept only when it is a
        token (``server_error``, ``window_close``), else sent as content."""
        if is_token(value):
            self.data[out or key] = value
        else:
            self.content(out or key, value)

    def count(self, key: str, value: object) -> None:
        """A number that counts or measures (not a bool): kept as it is."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.data[key] = value

    def content(self, key: str, value: object, size_key: str | None = None) -> None:
        if value is None:
            return
        self.data[size_key or f"{key}_bytes"] = size_of(value)
        if self.include:
            self.data[key] = cap(value)

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
            self.data[key] = [self.shown(v) if isinstance(v, str) else cap(v) for v in value]


def file_path(tool_input: object) -> str | None:
    """The file a tool call works on, from its input, under the names tools give it."""
    if isinstance(tool_input, dict):
        for key in ("file_path", "notebook_path", "path", "absolute_path", "target_file",
                    "dir_path", "filePath"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def tool_success(tool_response: object) -> bool:
    """False where the response says the tool failed: ``success: false``, ``is_error``,
    ``interrupted`` (Claude Code), an ``error`` (Gemini CLI, Qwen Code)."""
    if isinstance(tool_response, dict):
        if tool_response.get("success") is False or tool_response.get("is_error") is True:
            return False
        if tool_response.get("interrupted") is True or tool_response.get("error"):
            return False
    return True


def tool_call(f: Fields, payload: dict[str, Any]) -> None:
    """tool_name, tool_use_id, the tool's file (a path), and the sizes of its input and
    output (the input and output themselves with content)."""
    tool_input = payload.get("tool_input")
    f.meta("tool_name", payload.get("tool_name"))
    f.meta("tool_use_id", payload.get("tool_use_id"))
    f.path("file_path", file_path(tool_input))
    f.content("tool_input", tool_input, "input_bytes")
    f.content("tool_response", payload.get("tool_response"), "output_bytes")


# -- Claude Code's shape: Claude Code, Codex's lifecycle hooks, Qwen Code ------------------

CLAUDE_META = ("session_id", "turn_id", "prompt_id", "permission_mode", "agent_id",
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


def claude_like(f: Fields, payload: dict[str, Any], name: str) -> None:
    """The fields of a payload shaped like Claude Code's hooks (event ``name``)."""
    f.data["hook_event_name"] = name
    f.metas(payload, CLAUDE_META)
    for key in _CLAUDE_PATHS:
        f.path(key, payload.get(key))
    for key in _CLAUDE_LOCAL:
        f.local(key, payload.get(key))
    for key in _CLAUDE_CONTENT:
        f.content(key, payload.get(key))
    effort = payload.get("effort")
    if isinstance(effort, dict):
        f.meta("effort", effort.get("level"))
    if name in _TOOL_EVENTS:
        tool_call(f, payload)
        if name == "PostToolUse":
            f.data["success"] = tool_success(payload.get("tool_response"))
        elif name == "PostToolUseFailure":
            f.data["success"] = False
    elif "file_path" in payload:  # InstructionsLoaded, ConfigChange, FileChanged
        f.path("file_path", payload.get("file_path"))
    if name == "StopFailure":  # error is the kind of failure: rate_limit, server_error...
        f.token("error", payload.get("error"), "error_type")
    else:
        f.content("error", payload.get("error"))
    if name == "SessionEnd":
        f.meta("reason", payload.get("reason"))
    else:  # PermissionDenied's reason is the classifier's own words
        f.token("reason", payload.get("reason"))


# -- raw bytes -> event -----------------------------------------------------------------------


def to_event(
    tool: Mapper, raw: bytes, *, include_content: bool, event: str | None = None,
    hash_key: bytes | None = None,
) -> tuple[str, dict[str, Any]]:
    """Turn a hook's raw stdin into an event name and its properties, with ``tool``'s
    mapping.

    ``include_content`` adds prompts, commands, file contents and output (capped);
    ``hash_key`` (the cache's ``path_key``, given when ``hash_paths`` is on) turns every
    path into a keyed hash of its ``~`` form; ``event`` is the event's name (the mapping
    may read it: Copilot CLI's payloads do not say which hook they are). A payload that
    is not a JSON object still makes an event (named for the tool) that says what was
    wrong, never an error. A UTF-8 byte order mark (Cursor on Windows) is ignored."""
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
        return event or f"{tool.PREFIX}.invalid_payload", {"payload_error": problem,
                                                           "payload_bytes": len(raw)}
    fields = Fields(include_content, _home(), hash_key)
    name = tool.map_payload(payload, fields, event)
    return event or name, fields.data
