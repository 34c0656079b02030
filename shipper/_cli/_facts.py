"""What an event says, for the viewer: its source, session, tool and kind, and a session's
timeline. Pure functions over parsed events (dicts); the store and the page build on them.

Events come from two channels that describe the same agent sessions:

- hooks (``shipper hook``): ``claude_code.PreToolUse``, ``gemini.AfterTool``... with the
  hook's name in ``properties.hook_event_name``, ``session_id``, ``tool_name``,
  ``tool_use_id``, ``success`` and ``cwd``;
- the agents' own OpenTelemetry logs (``serve``'s ``/v1/logs``): ``claude_code.api_request``
  with tokens and ``cost_usd``, ``gemini_cli.api_response``, ``codex.sse_event``... with
  ``session.id`` (Codex: ``conversation.id``), ``context.otlp`` saying they came that way.

Both land in one session where the agent uses one id for both (Claude Code and Gemini CLI
do), so a session shows its hooks' tool calls beside the tokens and cost its telemetry
reports.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# what a hook or a log event is, by the last part of its name (or its hook_event_name)
START = "start"
END = "end"
PROMPT = "prompt"
TOOL_BEFORE = "tool_before"
TOOL_AFTER = "tool_after"
API = "api"
ERROR = "error"
OTHER = "event"

_KINDS = {
    START: ("SessionStart", "sessionStart", "conversation_starts"),
    END: ("SessionEnd", "sessionEnd", "conversation_finished"),
    PROMPT: ("UserPromptSubmit", "beforeSubmitPrompt", "BeforeAgent", "user_prompt"),
    TOOL_BEFORE: ("PreToolUse", "preToolUse", "BeforeTool", "beforeShellExecution",
                  "beforeMCPExecution"),
    TOOL_AFTER: ("PostToolUse", "PostToolUseFailure", "postToolUse", "postToolUseFailure",
                 "AfterTool", "afterShellExecution", "afterMCPExecution", "tool_result",
                 "tool_call"),
    API: ("api_request", "api_response"),
    ERROR: ("api_error", "StopFailure", "PermissionDenied"),
}
KIND_OF = {verb: kind for kind, verbs in _KINDS.items() for verb in verbs}
_FAILURE_VERBS = frozenset({"PostToolUseFailure", "postToolUseFailure"})

_SESSION_KEYS = ("session_id", "session.id", "conversation.id", "conversation_id",
                 "thread_id")
_TOOL_KEYS = ("tool_name", "function_name")
_TOKENS_IN = ("input_tokens", "input_token_count")
_TOKENS_OUT = ("output_tokens", "output_token_count")
_TOKENS_CACHE = ("cache_read_tokens", "cached_content_token_count", "cached_token_count")
_MAX_ID = 200  # characters of a session id or tool name kept: longer is not a name


class Facts(NamedTuple):
    """What the viewer indexes and sums about one event."""

    source: str
    session: str | None
    tool: str | None
    kind: str
    ok: bool | None  # False: a failure; None: the event says nothing about it
    project: str | None
    otlp: bool  # came through the OpenTelemetry intake (not a hook)
    tokens_in: int
    tokens_out: int
    tokens_cache: int
    cost_usd: float
    model: str | None


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)) and str(value).strip():
        return str(value)[:_MAX_ID]
    return None


def _first(props: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = props.get(key)
        if value is None:
            continue
        if type(value) is str:  # the usual case, at once
            if value and not value.isspace():
                return value[:_MAX_ID]
            continue
        found = _text(value)
        if found is not None:
            return found
    return None


def number(value: object) -> float:
    """A count or amount, whether the agent sent it as a number or as text ("12")."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, (int, float)):
        return float(value) if value == value and abs(value) < 1e15 else 0.0  # noqa: PLR0124
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return 0.0
        return parsed if parsed == parsed and abs(parsed) < 1e15 else 0.0  # noqa: PLR0124
    return 0.0


def _sum(props: dict[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        if key in props:
            return int(number(props[key]))
    return 0


def truth(value: object) -> bool | None:
    """``success``: a boolean, or the text "true"/"false" (Claude Code's telemetry)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def source_of(event: dict[str, Any]) -> str:
    """Which program an event came from: the hook's ``--source`` (``context.source``),
    else the app's name, else the library that recorded it."""
    context = event.get("context")
    if type(context) is not dict:
        return "unknown"
    source = context.get("source")
    if type(source) is str and source:  # the usual case, at once
        return source[:_MAX_ID]
    for part in ("app", "library"):
        inner = context.get(part)
        if type(inner) is dict:
            found = _text(inner.get("name"))
            if found is not None:
                return found
    found = _text(source)
    return "unknown" if found is None else found


def verb_of(name: str, props: dict[str, Any]) -> str:
    """The hook's own name (``PreToolUse``) or the last part of a dotted event name."""
    hook = props.get("hook_event_name")
    if type(hook) is str and hook:
        return hook
    return name.rpartition(".")[2]


def facts(event: dict[str, Any]) -> Facts:
    """What ``event`` (a native event, parsed) says, for the store's columns and sums.
    Runs for every event stored: kept plain and quick."""
    props = event.get("properties")
    if type(props) is not dict:
        props = {}
    name = event.get("event")
    name = name if type(name) is str else ""
    verb = verb_of(name, props)
    kind = KIND_OF.get(verb, OTHER)
    if verb == "sse_event":  # Codex: the tokens come on the stream's completion event
        kind = API if props.get("event.kind") == "response.completed" else OTHER
    success = props.get("success")
    ok = success if type(success) is bool else truth(success) if success is not None else None
    if verb in _FAILURE_VERBS or kind == ERROR or (
            kind == API and (props.get("error") or number(props.get("status_code")) >= 400)):
        ok = False
    context = event.get("context")
    otlp = type(context) is dict and type(context.get("otlp")) is dict
    cwd = props.get("cwd")
    project = cwd[:_MAX_ID] if type(cwd) is str and cwd else None
    if project is None and "workspace_roots" in props:
        roots = props["workspace_roots"]
        project = _text(roots[0]) if isinstance(roots, list) and roots else None
    tool = _first(props, _TOOL_KEYS)
    if tool is None and verb == "tool_result":
        tool = _text(props.get("name"))
    if kind != API:
        return Facts(source_of(event), _first(props, _SESSION_KEYS), tool, kind, ok, project,
                     otlp, 0, 0, 0, 0.0, None)
    return Facts(source_of(event), _first(props, _SESSION_KEYS), tool, kind, ok, project, otlp,
                 _sum(props, _TOKENS_IN), _sum(props, _TOKENS_OUT), _sum(props, _TOKENS_CACHE),
                 number(props.get("cost_usd")), _text(props.get("model")))


# -- sessions ---------------------------------------------------------------------------

SUMS = ("events", "prompts_hook", "prompts_otlp", "tools_hook", "tools_otlp",
        "tool_failures_hook", "tool_failures_otlp", "errors", "api_calls", "tokens_in",
        "tokens_out", "tokens_cache", "cost_usd")


def session_deltas(rows: list[tuple[int, Facts]]) -> dict[str, dict[str, Any]]:
    """What a batch adds to each session it touches: ``rows`` are ``(timestamp ms, facts)``.

    Prompts and tool calls are counted per channel (hooks, telemetry) and a session shows
    the larger count: an agent that sends both reports each call twice."""
    out: dict[str, dict[str, Any]] = {}
    for ts, f in rows:
        if f.session is None:
            continue
        d = out.get(f.session)
        if d is None:
            d = out[f.session] = dict.fromkeys(SUMS, 0)
            d.update(session=f.session, source=f.source, project=None, first_ts=ts,
                     last_ts=ts, started=False, ended=False, model=None)
        d["events"] += 1
        d["first_ts"] = min(d["first_ts"], ts)
        d["last_ts"] = max(d["last_ts"], ts)
        d["project"] = d["project"] or f.project
        channel = "otlp" if f.otlp else "hook"
        if f.kind == PROMPT:
            d[f"prompts_{channel}"] += 1
        elif f.kind == TOOL_AFTER:
            d[f"tools_{channel}"] += 1
            if f.ok is False:
                d[f"tool_failures_{channel}"] += 1
        elif f.kind == ERROR:
            d["errors"] += 1
        elif f.kind == API:
            d["api_calls"] += 1
            if f.ok is False:
                d["errors"] += 1
        elif f.kind == START:
            d["started"] = True
        elif f.kind == END:
            d["ended"] = True
        d["tokens_in"] += f.tokens_in
        d["tokens_out"] += f.tokens_out
        d["tokens_cache"] += f.tokens_cache
        d["cost_usd"] += f.cost_usd
        d["model"] = f.model or d["model"]
    return out


def session_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A stored session row as the API shows it: one count of prompts, tool calls and
    failures whichever channel reported them."""
    tools = max(row["tools_hook"], row["tools_otlp"])
    failures = max(row["tool_failures_hook"], row["tool_failures_otlp"]) + row["errors"]
    return {
        "session": row["session"], "source": row["source"], "project": row["project"],
        "start": row["first_ts"], "end": row["last_ts"],
        "duration_ms": row["last_ts"] - row["first_ts"],
        "started": bool(row["started"]), "ended": bool(row["ended"]),
        "events": row["events"], "prompts": max(row["prompts_hook"], row["prompts_otlp"]),
        "tool_calls": tools, "failures": failures, "api_calls": row["api_calls"],
        "tokens_in": row["tokens_in"], "tokens_out": row["tokens_out"],
        "tokens_cache": row["tokens_cache"], "cost_usd": round(row["cost_usd"], 6),
        "model": row["model"],
    }


# -- a session's timeline ----------------------------------------------------------------


def timeline(events: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The items of one session, oldest first, from its events ``(timestamp ms, event)``
    in time order: prompts, tool calls (a hook's before and after joined into one item,
    with the time between them; the telemetry's report of the same call, by its
    ``tool_use_id``, folded in), API calls with their tokens and cost, failures, the start
    and end, and the rest."""
    items: list[dict[str, Any]] = []
    by_use_id: dict[str, dict[str, Any]] = {}
    waiting: dict[str, list[dict[str, Any]]] = {}  # per tool: befores without an after yet
    for ts, event in events:
        f = facts(event)
        props = event.get("properties")
        props = props if isinstance(props, dict) else {}
        name = str(event.get("event", ""))
        event_id = str(event.get("id", ""))
        use_id = _text(props.get("tool_use_id")) or _text(props.get("call_id"))
        reported = (number(props["duration_ms"]) if props.get("duration_ms") is not None
                    else None)
        if f.kind in (TOOL_BEFORE, TOOL_AFTER):
            item = by_use_id.get(use_id) if use_id else None
            if item is None and f.kind == TOOL_AFTER and waiting.get(f.tool or ""):
                item = waiting[f.tool or ""][0]
            if item is None:
                item = {"kind": "tool", "ts": ts, "end": None, "tool": f.tool, "ok": None,
                        "duration_ms": None, "name": name, "ids": [], "source": f.source}
                items.append(item)
                if f.kind == TOOL_BEFORE:
                    waiting.setdefault(f.tool or "", []).append(item)
                else:  # reported once done: it ran for its duration, up to now
                    item["duration_ms"] = reported
                    item["end"] = ts
                    item["ts"] = ts - int(reported or 0)
            elif f.kind == TOOL_AFTER and item["end"] is None:
                item["end"] = ts
                item["duration_ms"] = ts - item["ts"]
                if item in waiting.get(f.tool or "", []):
                    waiting[f.tool or ""].remove(item)
            item["ids"].append(event_id)
            if use_id:
                by_use_id[use_id] = item
            if f.ok is not None:
                item["ok"] = f.ok if item["ok"] is None else item["ok"] and f.ok
            if f.ok is False:
                item["error"] = _text(props.get("error")) or _text(props.get("error_type"))
            continue
        item = {"kind": f.kind, "ts": ts, "name": name, "ids": [event_id], "source": f.source}
        if f.ok is not None:
            item["ok"] = f.ok
        if f.kind == PROMPT:
            size = props.get("prompt_bytes", props.get("prompt_length"))
            if size is not None:
                item["size"] = int(number(size))
        elif f.kind == API:
            item.update(model=f.model, tokens_in=f.tokens_in, tokens_out=f.tokens_out,
                        tokens_cache=f.tokens_cache, cost_usd=f.cost_usd,
                        duration_ms=reported)
        if f.ok is False:
            item["error"] = (_text(props.get("error")) or _text(props.get("error_type"))
                             or _text(props.get("status_code")))
        items.append(item)
    return items
