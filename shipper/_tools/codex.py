"""Codex CLI: lifecycle hooks in ``~/.codex/hooks.json`` (Claude Code's shape), trusted in
``config.toml``, and the ``notify`` program.

Codex runs a hook only once it is trusted: the installer writes the
``[hooks.state."<hooks.json>:<event>:<group>:<handler>"] trusted_hash`` entries Codex
checks, so shipper's hooks run without a review in ``/hooks``. Lifecycle hooks need
``[features] hooks`` on (the default). SessionEnd's timeout is 3 s, Codex's most for it (it
would clamp a larger one, with a warning at every start). ``notify`` runs one program per
completed turn with a JSON argument; Codex runs only one, so a notify of the user's is
kept, and the Stop hook records each turn.
"""

from __future__ import annotations

import os

from ._mapping import claude_like, event_name, is_token

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from tomlkit import TOMLDocument

    from ._install import Installer, JsonHooks, Merged, Plan, Where
    from ._mapping import Fields

NAME = "codex"
TITLE = "Codex CLI"
ORDER = 30
PREFIX = "codex"
ALIASES = ("openai-codex", "codex-cli")
RECORDS = "sessions, prompts, tool calls and their outcome, permission requests, " \
          "subagents, compaction, each completed turn (notify)"
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
          "PermissionRequest", "PreCompact", "PostCompact", "SubagentStart", "SubagentStop",
          "Stop", "SessionEnd")


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    """Lifecycle hooks (Claude Code's shape), or notify's argument ({"type":
    "agent-turn-complete", "thread-id": ..., ...})."""
    if "hook_event_name" in payload:
        name = event_name(payload, "Unknown")
        claude_like(fields, payload, name)
        return f"{PREFIX}.{name}"
    kind = payload.get("type")
    kind = kind if is_token(kind) else "notify"
    fields.data["type"] = kind
    for key in ("thread-id", "turn-id", "client"):
        fields.meta(key.replace("-", "_"), payload.get(key))
    fields.path("cwd", payload.get("cwd"))
    messages = payload.get("input-messages")
    if isinstance(messages, list):
        fields.data["input_message_count"] = len(messages)
    fields.content("input_messages", messages)
    fields.content("last_assistant_message", payload.get("last-assistant-message"))
    return f"{PREFIX}.{kind}"


# -- installing: hooks.json, and notify, trust and the feature flag in config.toml ----------


def _entry(event: str, command: str) -> dict[str, Any]:
    """No matcher (all)."""
    timeout = 3 if event == "SessionEnd" else 5
    return {"hooks": [{"type": "command", "command": command, "timeout": timeout}]}


def _home(where: Where) -> Path:
    """$CODEX_HOME (Codex canonicalizes it and needs it to exist), else ~/.codex."""
    from ._install import Refused

    value = os.environ.get("CODEX_HOME", "")
    if not value:
        return where.home / ".codex"
    path = (where.cwd / value).resolve()
    if not path.is_dir():
        raise Refused(f"CODEX_HOME is {value}, which is not a folder (Codex refuses it "
                      "too); create it or unset CODEX_HOME")
    return path


def _snake(event: str) -> str:
    """Codex's label of an event in trust keys: SessionStart -> session_start."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in event).lstrip("_")


def trusted_hash(event: str, handler: dict[str, Any]) -> str:
    """The ``trusted_hash`` Codex compares before it runs a command hook of a group with no
    matcher (ours): sha256 of the compact, key-sorted JSON of the hook's normalized
    identity: the event's label and the handler as Codex reads it (timeout defaulted to
    600 s, or clamped to 1..3 s for SessionEnd; never async)."""
    import hashlib
    import json

    timeout = handler.get("timeout")
    if event in ("SessionEnd", "Interrupt"):
        seconds = min(max(timeout if isinstance(timeout, int) else 1, 1), 3)
    else:
        seconds = max(timeout if isinstance(timeout, int) else 600, 1)
    identity = {"event_name": _snake(event),
                "hooks": [{"type": "command", "command": handler["command"],
                           "timeout": seconds, "async": False}]}
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _trust(doc: TOMLDocument, hooks_path: Path, merged: Merged, path: Path) -> bool:
    """Write the ``[hooks.state."<hooks.json>:<event>:<group>:<handler>"]`` entries Codex
    needs before it runs our hooks, drop those of our old positions, and move the user's
    entries whose hooks changed position. Returns whether anything changed."""
    import tomlkit
    from tomlkit.items import Table

    from ._install import drop_tables, toml_table

    def key(event: str, group: int, handler: int) -> str:
        return f"{hooks_path}:{_snake(event)}:{group}:{handler}"

    hooks = toml_table(doc, "hooks", bool(merged.placed), path)
    state = toml_table(hooks, "state", bool(merged.placed), path) if hooks is not None else None
    if hooks is None or state is None:
        return False
    before: dict[str, Any] = state.unwrap()
    ours_before = {key(*p) for p in merged.removed}
    put: dict[str, dict[str, Any]] = {}
    for (event, g, h), (new_g, new_h) in merged.moved.items():
        if isinstance(before.get(key(event, g, h)), dict):
            put[key(event, new_g, new_h)] = before[key(event, g, h)]
    for event, g in merged.placed.items():
        handler = merged.data["hooks"][event][g]["hooks"][0]
        k = key(event, g, 0)
        kept = before.get(k) if k in ours_before else None  # keeps e.g. `enabled = false`
        put[k] = {**(kept if isinstance(kept, dict) else {}),
                  "trusted_hash": trusted_hash(event, handler)}
    drop = (ours_before | {key(*p) for p in merged.moved}) - set(put)
    drop_tables(doc, [(state, k) for k in sorted(drop & set(before))])
    for k, value in put.items():
        existing = state.get(k)
        if before.get(k) == value:
            continue
        if isinstance(existing, Table):  # in place: what follows it stays where it is
            for name in [n for n in existing if n not in value]:
                del existing[name]
            existing.update(value)
        else:
            entry = tomlkit.table()
            entry.update(value)
            state[k] = entry
    if before and not state:
        del hooks["state"]
        if not hooks:
            del doc["hooks"]
    return state.unwrap() != before


def _notify(doc: TOMLDocument, action: str, path: Path, notes: list[str]) -> str | None:
    """Set ``notify`` to shipper where there is none (or ours, outdated), keep the user's;
    take ours out on uninstall. Returns what was done, if anything."""
    from ._install import hook_program, is_shipper_hook, wants_content

    current = doc.unwrap().get("notify")
    ours = is_shipper_hook(current)
    if action == "uninstall":
        if ours:
            del doc["notify"]
            return f"{NAME}: removed shipper's notify from {path}"
        return None
    if current is not None and not ours:
        notes.append(f"{NAME}: kept your own notify program in {path} (Codex runs only one); "
                     "shipper records each turn through the Stop hook instead")
        return None
    want = hook_program(NAME, include_content=wants_content([current] if ours else []))
    if current == want:
        return None
    doc["notify"] = want
    return f"{NAME}: set notify in {path}"


def _features(doc: TOMLDocument, path: Path, notes: list[str]) -> None:
    features = doc.unwrap().get("features")
    if isinstance(features, dict) and False in (features.get("hooks"),
                                                features.get("codex_hooks")):
        notes.append(f"{NAME}: {path} turns lifecycle hooks off ([features] hooks = false); "
                     "left so: only notify records until you turn them on")


def hooks_file() -> JsonHooks:
    """hooks.json: Claude Code's shape, without a project scope."""
    from ._install import JsonHooks

    return JsonHooks(NAME, ".codex", "hooks.json", EVENTS, _entry, scopes=("user",))


def _plan(action: str, scope: str, where: Where) -> Plan:
    import tomlkit

    from ._install import Change, is_shipper_hook, json_plan, parse_toml, read

    home = _home(where)
    hooks_path, config_path = home / "hooks.json", home / "config.toml"
    plan, merged = json_plan(hooks_file(), hooks_path, action)
    text = read(config_path)
    doc = parse_toml(text, config_path)
    had_notify = is_shipper_hook(doc.unwrap().get("notify"))
    notify_done = _notify(doc, action, config_path, plan.notes)
    trusted = _trust(doc, hooks_path, merged, config_path)
    if action == "install":
        _features(doc, config_path, plan.notes)
        if set(doc.unwrap().get("hooks") or {}) - {"state"}:
            plan.notes.append(f"{NAME}: {config_path} also has hooks of its own ([hooks]); "
                              "Codex runs both sets and warns that it found two")
    new_text: str | None = tomlkit.dumps(doc)
    if new_text == (text or ""):
        new_text = text
    elif new_text is not None and not new_text.strip() and action == "uninstall":
        new_text = None  # only ours was in it
    elif new_text is not None:  # no blank lines left at the ends where notify was
        new_text = new_text.strip("\r\n") + "\n"
    plan.changes.append(Change(config_path, text, new_text))
    hooks_changed = plan.changes[0].old != plan.changes[0].new
    plan.done = [*(plan.done if hooks_changed else []),
                 *([f"{NAME}: trusted shipper's hooks in {config_path} ([hooks.state])"]
                   if trusted and action == "install" else []),
                 *([f"{NAME}: took shipper's trust entries out of {config_path}"]
                   if trusted and action == "uninstall" else []),
                 *([notify_done] if notify_done else [])]
    if action == "uninstall" and not plan.pending():
        plan.unchanged = f"{NAME}: shipper's hooks are not in {home}; nothing changed"
    if had_notify:
        plan.found = f"{plan.found} and notify" if plan.found else "notify"
    return plan


def installer() -> Installer:
    from ._install import Planned

    return Planned(_plan, scopes=("user",),
                   scope_note="Codex reads notify and hook trust from the user's config "
                              "only (~/.codex, or $CODEX_HOME)")
