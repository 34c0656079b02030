"""``shipper hooks install|uninstall|status``: shipper's hooks in each tool's own config.

Every action is planned before anything is written: the tool's files are read and parsed
(a file that cannot be merged safely is refused, exit 1, and left untouched), the new text
is computed, and only then is each changed file backed up (``<file>.shipper-backup``) and
replaced atomically, or, with ``--dry-run``, shown as a diff.

Our entries are told from the user's by their command alone: one that runs a ``shipper``
executable (or ``-m shipper``) with the ``hook`` subcommand is ours, anything else is the
user's and is kept as it is, in order. Installing replaces our entries where they are (so
installing twice changes nothing, and a new shipper path replaces the old one); uninstalling
takes out only ours, and the containers it leaves empty. For git, our part of the
``post-commit`` script is the block between two marker lines.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from tomlkit import TOMLDocument
    from tomlkit.items import Table

TOOLS = ("claude-code", "cursor", "codex", "gemini", "git")
SCOPES = ("user", "project")
TOOL_SCOPES = {"claude-code": SCOPES, "cursor": SCOPES, "codex": ("user",), "gemini": SCOPES,
               "git": ("project",)}
BACKUP_SUFFIX = ".shipper-backup"
MARK_BEGIN = "# >>> shipper >>>"
MARK_END = "# <<< shipper <<<"


# -- the command a hook runs ----------------------------------------------------------------


HOOK_SCRIPT = "shipper-hook"


def _hook_argv() -> list[str]:
    """This installation's ``shipper hook``, by absolute path: where the wheel installed the
    ``shipper-hook`` script beside the interpreter, that script run by the interpreter with
    ``-S`` (no ``site``: together they halve what a hook adds to starting Python; the
    script finds shipper without it, see scripts/shipper-hook); else the ``shipper``
    console script, else the interpreter with ``-m shipper``."""
    python = os.path.abspath(sys.executable)
    script = Path(python).parent / HOOK_SCRIPT
    return [python, "-S", str(script)] if script.is_file() else [*_shipper_argv(), "hook"]


def _shipper_argv() -> list[str]:
    """This installation's ``shipper`` command, by absolute path: the console script beside
    the interpreter where there is one, else the interpreter with ``-m shipper``."""
    python = os.path.abspath(sys.executable)
    script = Path(python).parent / "shipper"
    return [str(script)] if script.is_file() else [python, "-m", "shipper"]


def hook_command(source: str) -> str:
    """The shell command of a ``shipper hook --source SOURCE`` hook, shell-quoted, calling
    this installation's shipper by absolute path (a hook must work where PATH lacks it)."""
    return shlex.join([*_hook_argv(), "--source", source])


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # unbalanced quotes: still read the words
        return command.split()


def is_shipper_hook(command: object) -> bool:
    """Whether a hook command is ours: it runs ``shipper-hook`` or a ``shipper`` executable
    (any path) or ``-m shipper``, with the ``hook`` subcommand."""
    if not isinstance(command, str):
        return False
    words = _words(command)
    for i, word in enumerate(words):
        if os.path.basename(word) == HOOK_SCRIPT:
            return True
        if os.path.basename(word) in ("shipper", "shipper.exe") and words[i + 1:i + 2] == [
                "hook"]:
            return True
        if word == "-m" and words[i + 1:i + 3] == ["shipper", "hook"]:
            return True
    return False


def _command_for(source: str, replaced: list[str]) -> str:
    """Our hook command, keeping ``--include-content`` where the user had added it to an
    entry of ours this one replaces (that flag is a documented per-hook opt-in)."""
    command = hook_command(source)
    if any("--include-content" in _words(old) for old in replaced):
        command += " --include-content"
    return command


# -- plans ----------------------------------------------------------------------------------


class _Refused(Exception):
    """The action cannot be done safely; nothing was written. ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class _Where:
    home: Path
    cwd: Path


@dataclass
class _Change:
    """One file: its text now (None: missing) and after (None: removed)."""

    path: Path
    old: str | None
    new: str | None
    executable: bool = False


@dataclass
class _Plan:
    """What an action would do: the files, what to say when they change or not, notes to
    say either way, and what of ours is there now (None: nothing)."""

    where: Path
    changes: list[_Change]
    done: list[str]
    unchanged: str
    found: str | None = None
    notes: list[str] = field(default_factory=list)
    state: str | None = None  # what status says instead of "up to date" / "out of date"

    def pending(self) -> list[_Change]:
        return [c for c in self.changes if c.old != c.new]


# -- files ----------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    """A file's text, None when it does not exist; refused when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise _Refused(f"{path} is not UTF-8 text; left it untouched") from None
    except OSError as exc:
        raise _Refused(f"cannot read {path}: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode_for(target: Path, executable: bool) -> int:
    """The file's own mode (a new file's from the umask), plus x where r is if asked."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    if executable:
        mode |= (mode & 0o444) >> 2
    return mode


def _replace(change: _Change) -> Path | None:
    """Back the file up, then write the new text atomically (temp file and rename in the
    same folder, the file's mode kept) or remove the file. Returns the backup's path."""
    import shutil
    import tempfile

    if _read(change.path) != change.old:
        raise _Refused(f"{change.path} changed while shipper was editing it; run this again")
    target = Path(os.path.realpath(change.path))  # a symlinked dotfile stays a symlink
    backup = None
    if change.old is not None:
        backup = change.path.with_name(change.path.name + BACKUP_SUFFIX)
        backup.unlink(missing_ok=True)
        shutil.copy2(target, backup)
    if change.new is None:
        target.unlink()
        return backup
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(target, change.executable)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                suffix=".shipper-new")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(change.new)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return backup


def _diff(change: _Change) -> str:
    import difflib

    name = str(change.path)
    lines = difflib.unified_diff(
        (change.old or "").splitlines(keepends=True), (change.new or "").splitlines(
            keepends=True),
        "/dev/null" if change.old is None else name, "/dev/null" if change.new is None else name)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- JSON configs: Claude Code, Cursor, Gemini CLI, Codex's hooks.json ---------------------


def _parse_json(text: str | None, path: Path) -> dict[str, Any]:
    """The config as a dict ({} for a missing or blank file); refused unless it is a JSON
    object whose "hooks", if any, is an object too."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Refused(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                       f"{exc.msg}); left it untouched") from None
    except RecursionError:
        raise _Refused(f"{path} is nested too deeply to read; left it untouched") from None
    if not isinstance(data, dict):
        raise _Refused(f"{path}: the top level is not a JSON object; left it untouched")
    if not isinstance(data.get("hooks", {}), dict):
        raise _Refused(f'{path}: "hooks" is not a JSON object; left it untouched')
    return data


def _indent_of(text: str | None) -> str:
    """The indentation the file uses (of its first indented line), two spaces by default."""
    for line in (text or "").splitlines():
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            return line[:len(line) - len(stripped)]
    return "  "


def _same(a: object, b: object) -> bool:
    """Equal as JSON, types and key order included (``1 == True`` in Python)."""
    return json.dumps(a) == json.dumps(b)


def _handlers(item: object, grouped: bool) -> list[Any]:
    """The handlers of one entry of an event's list: a group's "hooks" list (Claude Code,
    Codex, Gemini), or the entry itself (Cursor's flat lists)."""
    if not grouped:
        return [item]
    if isinstance(item, dict) and isinstance(item.get("hooks"), list):
        return list(item["hooks"])
    return []


def _is_ours(handler: object) -> bool:
    return isinstance(handler, dict) and is_shipper_hook(handler.get("command"))


def _found(hooks: dict[str, Any], grouped: bool) -> dict[str, list[str]]:
    """Our commands in a "hooks" object, by event."""
    found: dict[str, list[str]] = {}
    for event, items in hooks.items():
        if isinstance(items, list):
            mine = [h["command"] for item in items for h in _handlers(item, grouped)
                    if _is_ours(h)]
            if mine:
                found[event] = mine
    return found


Position = tuple[str, int, int]  # event, index in its list, index of the handler in the group


@dataclass
class _Merged:
    """A config with our entries merged in (or taken out), and where things went: our
    entry's index per event, the positions our old entries had, and the user's handlers
    that changed position (Codex keys its trust entries by position)."""

    data: dict[str, Any]
    placed: dict[str, int] = field(default_factory=dict)
    removed: list[Position] = field(default_factory=list)
    moved: dict[Position, tuple[int, int]] = field(default_factory=dict)

    def move(self, event: str, old: int, new: int, handlers: list[int]) -> None:
        for new_h, old_h in enumerate(handlers):
            if (old, old_h) != (new, new_h):
                self.moved[(event, old, old_h)] = (new, new_h)


def _merge_event(event: str, items: list[Any], want: dict[str, Any] | None, grouped: bool,
                 merged: _Merged) -> tuple[list[Any], bool]:
    """One event's list with our handlers taken out, and ``want`` (our entry) put where the
    first entry of ours was, else at the end. Returns the list and whether ours were in it."""
    out: list[Any] = []
    had_ours = False
    for g, item in enumerate(items):
        handlers = _handlers(item, grouped)
        mine = [h for h, handler in enumerate(handlers) if _is_ours(handler)]
        if not mine:
            merged.move(event, g, len(out), list(range(len(handlers))))
            out.append(item)
            continue
        had_ours = True
        merged.removed += [(event, g, h) for h in mine]
        theirs = [h for h in range(len(handlers)) if h not in mine]
        if theirs:  # a group of the user's that also held ours: keep theirs in it
            merged.move(event, g, len(out), theirs)
            out.append({**item, "hooks": [handlers[h] for h in theirs]})
        elif want is not None and event not in merged.placed:
            merged.placed[event] = len(out)
            out.append(want)
    if want is not None and event not in merged.placed:
        merged.placed[event] = len(out)
        out.append(want)
    return out, had_ours


def _merge(data: dict[str, Any], want: dict[str, dict[str, Any]], grouped: bool,
           path: Path) -> _Merged:
    """``data`` with exactly ``want`` as our entries: ours elsewhere are taken out, and an
    event list or "hooks" object that only we filled goes with them."""
    hooks: dict[str, Any] = data.get("hooks", {})
    merged = _Merged(data={})
    new_hooks: dict[str, Any] = {}
    for event, items in hooks.items():
        if not isinstance(items, list):
            if event in want:
                raise _Refused(f'{path}: "hooks.{event}" is not a list; left it untouched')
            new_hooks[event] = items
            continue
        kept, had_ours = _merge_event(event, items, want.get(event), grouped, merged)
        if kept or not had_ours:
            new_hooks[event] = kept
    for event, item in want.items():
        if event not in hooks:
            merged.placed[event] = 0
            new_hooks[event] = [item]
    merged.data = dict(data)
    if new_hooks or ("hooks" in data and not hooks):
        merged.data["hooks"] = new_hooks
    else:
        merged.data.pop("hooks", None)
    return merged


@dataclass(frozen=True)
class _JsonTool:
    """A tool whose hooks live in a JSON file shaped {"hooks": {Event: [entry, ...]}}; its
    name is also the ``--source`` of its hook command."""

    name: str
    folder: str
    filename: str
    events: tuple[str, ...]
    entry: Callable[[str, str], dict[str, Any]]  # (event, command) -> our entry
    grouped: bool = True  # entries are {"matcher"?, "hooks": [handler]} groups
    first_keys: tuple[tuple[str, Any], ...] = ()  # added at the top when missing
    notes: Callable[[dict[str, Any], Path], list[str]] = lambda data, path: []
    home_env: tuple[str, str] = ("", "")  # a variable naming the user's folder, and below it

    def path(self, scope: str, where: _Where) -> Path:
        """The config file of a scope: in the home (or where the tool's own variable says,
        as the tool itself reads it), or in the current folder."""
        if scope == "project":
            return where.cwd / self.folder / self.filename
        variable, below = self.home_env
        value = os.environ.get(variable, "") if variable else ""
        folder = where.cwd / value / below if value else where.home / self.folder
        return folder / self.filename


def _json_plan(tool: _JsonTool, path: Path, action: str) -> tuple[_Plan, _Merged]:
    """The plan for one JSON file, and the merge behind it."""
    text = _read(path)
    data = _parse_json(text, path)
    found = _found(data.get("hooks", {}), tool.grouped)
    want = {} if action == "uninstall" else {
        event: tool.entry(event, _command_for(tool.name, found.get(event, [])))
        for event in tool.events}
    merged = _merge(data, want, tool.grouped, path)
    new = merged.data
    if action == "install":
        new = {**{k: v for k, v in tool.first_keys if k not in new}, **new}
    leftover = {k: v for k, v in new.items() if (k, v) not in tool.first_keys}
    if _same(new, data):
        new_text = text
    elif not leftover and action == "uninstall":
        new_text = None  # nothing of the user's was in it: no empty file left behind
    else:
        new_text = json.dumps(new, indent=_indent_of(text), ensure_ascii=False) + "\n"
    name = tool.name
    if action == "install":
        done = [f"{name}: installed shipper's hooks for {len(merged.placed)} events in {path}"]
        unchanged = f"{name}: already installed in {path}; nothing changed"
    elif new_text is None and text is not None:
        done = [f"{name}: removed {path}: it held only shipper's hooks ({len(found)} events)"]
        unchanged = ""
    else:
        done = [f"{name}: removed shipper's hooks ({len(found)} events) from {path}"]
        unchanged = f"{name}: shipper's hooks are not in {path}; nothing changed"
    plan = _Plan(where=path, changes=[_Change(path, text, new_text)], done=done,
                 unchanged=unchanged, found=f"{len(found)} events" if found else None,
                 notes=tool.notes(data, path) if action == "install" else [])
    return plan, merged


# No PreToolUse: Cursor also runs the hooks in ~/.claude/settings.json (its "third-party"
# setting, on by default), maps PreToolUse to its own preToolUse permission hook, and reads a
# silent answer there as "deny": it would block every tool call of people who use both.
# PostToolUse, PostToolUseFailure and PermissionRequest carry the same tool calls.
CLAUDE_EVENTS = ("SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
                 "PermissionRequest", "Notification", "Stop", "StopFailure", "SubagentStart",
                 "SubagentStop", "PreCompact", "PostCompact", "SessionEnd")
CLAUDE_TOOL_EVENTS = ("PostToolUse", "PostToolUseFailure", "PermissionRequest")
CURSOR_EVENTS = ("sessionStart", "sessionEnd", "postToolUse", "postToolUseFailure",
                 "subagentStop", "afterShellExecution", "afterMCPExecution", "afterFileEdit",
                 "preCompact", "stop", "afterAgentResponse", "afterAgentThought",
                 "afterTabFileEdit")
CODEX_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
                "PermissionRequest", "PreCompact", "PostCompact", "SubagentStart",
                "SubagentStop", "Stop", "SessionEnd")
GEMINI_EVENTS = ("SessionStart", "SessionEnd", "BeforeAgent", "AfterAgent", "PreCompress",
                 "Notification", "AfterTool")
GEMINI_TOOL_MATCHER = "run_shell_command|write_file|replace|edit"  # a regex, unanchored


def _claude_entry(event: str, command: str) -> dict[str, Any]:
    """Synchronous (no "async"): Claude Code kills async hooks still running when a
    headless session ends, and then skips the SessionEnd hooks altogether."""
    group: dict[str, Any] = {"matcher": "*"} if event in CLAUDE_TOOL_EVENTS else {}
    group["hooks"] = [{"type": "command", "command": command, "timeout": 5}]
    return group


def _claude_notes(data: dict[str, Any], path: Path) -> list[str]:
    if data.get("disableAllHooks") is True:
        return [f"claude-code: {path} turns every hook off (disableAllHooks: true); left so: "
                "shipper's hooks run once you turn hooks back on"]
    return []


def _cursor_entry(event: str, command: str) -> dict[str, Any]:
    return {"command": command}


def _codex_entry(event: str, command: str) -> dict[str, Any]:
    """No matcher (all); SessionEnd's timeout is 3 s, Codex's most for it (it would clamp a
    larger one, with a warning at every start)."""
    timeout = 3 if event == "SessionEnd" else 5
    return {"hooks": [{"type": "command", "command": command, "timeout": timeout}]}


def _gemini_entry(event: str, command: str) -> dict[str, Any]:
    """Gemini waits for every hook, so only AfterTool on the tools that change things; the
    timeout is in milliseconds."""
    group: dict[str, Any] = {"matcher": GEMINI_TOOL_MATCHER} if event == "AfterTool" else {}
    group["hooks"] = [{"type": "command", "command": command, "name": "shipper",
                       "timeout": 5000}]
    return group


def _gemini_notes(data: dict[str, Any], path: Path) -> list[str]:
    config = data.get("hooksConfig")
    if not isinstance(config, dict):
        return []
    notes = []
    if config.get("enabled") is False:
        notes.append(f"gemini: {path} turns hooks off (hooksConfig.enabled: false); left so: "
                     "shipper's hooks run once you turn them on")
    disabled = config.get("disabled")
    if isinstance(disabled, list) and "shipper" in disabled:
        notes.append(f'gemini: "shipper" is in hooksConfig.disabled in {path}; left so: '
                     "its hooks do not run until you take it out")
    return notes


CLAUDE = _JsonTool("claude-code", ".claude", "settings.json", CLAUDE_EVENTS, _claude_entry,
                   notes=_claude_notes, home_env=("CLAUDE_CONFIG_DIR", ""))
CURSOR = _JsonTool("cursor", ".cursor", "hooks.json", CURSOR_EVENTS, _cursor_entry,
                   grouped=False, first_keys=(("version", 1),))
GEMINI = _JsonTool("gemini", ".gemini", "settings.json", GEMINI_EVENTS, _gemini_entry,
                   notes=_gemini_notes, home_env=("GEMINI_CLI_HOME", ".gemini"))
CODEX = _JsonTool("codex", ".codex", "hooks.json", CODEX_EVENTS, _codex_entry)


# -- Codex: hooks.json, and notify, trust and the feature flag in config.toml ---------------


def _codex_home(where: _Where) -> Path:
    """$CODEX_HOME (Codex canonicalizes it and needs it to exist), else ~/.codex."""
    value = os.environ.get("CODEX_HOME", "")
    if not value:
        return where.home / ".codex"
    path = (where.cwd / value).resolve()
    if not path.is_dir():
        raise _Refused(f"CODEX_HOME is {value}, which is not a folder (Codex refuses it "
                       "too); create it or unset CODEX_HOME")
    return path


def _snake(event: str) -> str:
    """Codex's label of an event in trust keys: SessionStart -> session_start."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in event).lstrip("_")


def codex_trusted_hash(event: str, handler: dict[str, Any]) -> str:
    """The ``trusted_hash`` Codex compares before it runs a command hook of a group with no
    matcher (ours): sha256 of the compact, key-sorted JSON of the hook's normalized
    identity: the event's label and the handler as Codex reads it (timeout defaulted to
    600 s, or clamped to 1..3 s for SessionEnd; never async)."""
    import hashlib

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


def _parse_toml(text: str | None, path: Path) -> TOMLDocument:
    """The document, to edit with its formatting and comments kept; refused unless valid."""
    import tomlkit

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        tomllib.loads(text or "")  # the strict reader, for its clear messages
        return tomlkit.parse(text or "")
    except ValueError as exc:
        raise _Refused(f"{path} is not valid TOML ({exc}); left it untouched") from None


def _table(parent: TOMLDocument | Table, key: str, create: bool, path: Path) -> Table | None:
    """``parent[key]`` as a table, made (as a header-only table) when missing and asked."""
    import tomlkit
    from tomlkit.items import Table

    if key not in parent:
        if not create:
            return None
        parent[key] = tomlkit.table(is_super_table=True)
    value = parent[key]
    if not isinstance(value, Table):
        raise _Refused(f"{path}: `{key}` is not a [table] shipper can add its trust entries "
                       "to; left it untouched")
    return value


def _codex_trust(doc: TOMLDocument, hooks_path: Path, merged: _Merged, path: Path) -> bool:
    """Write the ``[hooks.state."<hooks.json>:<event>:<group>:<handler>"]`` entries Codex
    needs before it runs our hooks, drop those of our old positions, and move the user's
    entries whose hooks changed position. Returns whether anything changed."""
    import tomlkit

    def key(event: str, group: int, handler: int) -> str:
        return f"{hooks_path}:{_snake(event)}:{group}:{handler}"

    hooks = _table(doc, "hooks", bool(merged.placed), path)
    state = _table(hooks, "state", bool(merged.placed), path) if hooks is not None else None
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
                  "trusted_hash": codex_trusted_hash(event, handler)}
    drop = (ours_before | {key(*p) for p in merged.moved}) - set(put)
    for k in drop & set(before):
        del state[k]
    for k, value in put.items():
        if before.get(k) != value:
            entry = tomlkit.table()
            entry.update(value)
            state[k] = entry
    if before and not state:
        del hooks["state"]
        if not hooks:
            del doc["hooks"]
    return state.unwrap() != before


def _is_our_notify(value: object) -> bool:
    """Whether a ``notify`` value (an argv list) runs ``shipper hook``."""
    return (isinstance(value, list) and all(isinstance(word, str) for word in value)
            and is_shipper_hook(shlex.join(value)))


def _codex_notify(doc: TOMLDocument, action: str, path: Path, notes: list[str]) -> str | None:
    """Set ``notify`` to shipper where there is none (or ours, outdated), keep the user's;
    take ours out on uninstall. Returns what was done, if anything."""
    current = doc.unwrap().get("notify")
    ours = _is_our_notify(current)
    if action == "uninstall":
        if ours:
            del doc["notify"]
            return f"codex: removed shipper's notify from {path}"
        return None
    if current is not None and not ours:
        notes.append(f"codex: kept your own notify program in {path} (Codex runs only one); "
                     "shipper records each turn through the Stop hook instead")
        return None
    replaced = [shlex.join(current)] if ours and isinstance(current, list) else []
    want = shlex.split(_command_for("codex", replaced))
    if current == want:
        return None
    doc["notify"] = want
    return f"codex: set notify in {path}"


def _codex_features(doc: TOMLDocument, path: Path, notes: list[str]) -> None:
    features = doc.unwrap().get("features")
    if isinstance(features, dict) and False in (features.get("hooks"),
                                                features.get("codex_hooks")):
        notes.append(f"codex: {path} turns lifecycle hooks off ([features] hooks = false); "
                     "left so: only notify records until you turn them on")


def _plan_codex(action: str, where: _Where) -> _Plan:
    import tomlkit

    home = _codex_home(where)
    hooks_path, config_path = home / "hooks.json", home / "config.toml"
    plan, merged = _json_plan(CODEX, hooks_path, action)
    text = _read(config_path)
    doc = _parse_toml(text, config_path)
    had_notify = _is_our_notify(doc.unwrap().get("notify"))
    notify_done = _codex_notify(doc, action, config_path, plan.notes)
    trusted = _codex_trust(doc, hooks_path, merged, config_path)
    if action == "install":
        _codex_features(doc, config_path, plan.notes)
        if set(doc.unwrap().get("hooks") or {}) - {"state"}:
            plan.notes.append(f"codex: {config_path} also has hooks of its own ([hooks]); "
                              "Codex runs both sets and warns that it found two")
    new_text: str | None = tomlkit.dumps(doc)
    if new_text == (text or ""):
        new_text = text
    elif new_text is not None and not new_text.strip() and action == "uninstall":
        new_text = None  # only ours was in it
    elif new_text is not None:  # no blank lines left at the ends where notify was
        new_text = new_text.strip("\n") + "\n"
    plan.changes.append(_Change(config_path, text, new_text))
    hooks_changed = plan.changes[0].old != plan.changes[0].new
    plan.done = [*(plan.done if hooks_changed else []),
                 *([f"codex: trusted shipper's hooks in {config_path} ([hooks.state])"]
                   if trusted and action == "install" else []),
                 *([f"codex: took shipper's trust entries out of {config_path}"]
                   if trusted and action == "uninstall" else []),
                 *([notify_done] if notify_done else [])]
    if action == "uninstall" and not plan.pending():
        plan.unchanged = f"codex: shipper's hooks are not in {home}; nothing changed"
    if had_notify:
        plan.found = f"{plan.found} and notify" if plan.found else "notify"
    return plan


# -- git: a block in the repository's post-commit script -----------------------------------

_GIT_BLOCK = r"""# >>> shipper >>>
# Records each commit as a `git.commit` event (sha, branch, repo, files changed, merge):
# metadata only, never the message or the diff; it never fails the commit.
# `shipper hooks uninstall git` takes this block out.
(
  sha=$(git rev-parse HEAD 2>/dev/null) || exit 0
  branch=$(git symbolic-ref --short -q HEAD 2>/dev/null || echo detached)
  files=$(git diff-tree --no-commit-id --name-only -r --root HEAD 2>/dev/null | wc -l | tr -d ' ')
  parents=$(git rev-list --parents -n 1 HEAD 2>/dev/null | wc -w | tr -d ' ')
  repo=$(basename "$(git rev-parse --show-toplevel 2>/dev/null)")
  merge=false
  [ "${parents:-0}" -gt 2 ] && merge=true
  str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
  printf '{"event":"git.commit","sha":%s,"branch":%s,"repo":%s,"files_changed":%s,"merge":%s}' \
    "$(str "$sha")" "$(str "$branch")" "$(str "$repo")" "${files:-0}" "$merge" |
    @HOOK@ --source git
) </dev/null >/dev/null 2>&1 || true
# <<< shipper <<<
"""
_SHELLS = ("sh", "bash", "dash", "ksh", "zsh")


def _git_block() -> str:
    return _GIT_BLOCK.replace("@HOOK@", shlex.join(_hook_argv()))


def _git_hooks_dir(cwd: Path) -> Path:
    """The hooks folder of the repository holding ``cwd`` (core.hooksPath honoured)."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        raise _Refused("git is not installed (or not on PATH)")
    try:
        out = subprocess.run([git, "rev-parse", "--git-path", "hooks"], cwd=cwd,
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _Refused(f"could not run git: {exc}") from None
    if out.returncode != 0:
        raise _Refused(f"{cwd} is not inside a git repository; run this in the repository", 2)
    return cwd / out.stdout.strip()


def _is_shell_script(text: str) -> bool:
    """Whether a script's #! line runs a POSIX-style shell (directly or through env)."""
    first = text.split("\n", 1)[0]
    words = first[2:].split() if first.startswith("#!") else []
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and os.path.basename(words[0]) in _SHELLS


def _block_span(lines: list[str], path: Path) -> tuple[int, int] | None:
    """The first and last line of our block, if there is one."""
    marks = [line.strip() for line in lines]
    if MARK_BEGIN not in marks:
        return None
    start = marks.index(MARK_BEGIN)
    if MARK_END not in marks[start:]:
        raise _Refused(f"{path} has the line `{MARK_BEGIN}` without `{MARK_END}`; fix it by "
                       "hand, then run this again")
    return start, marks.index(MARK_END, start)


def _plan_git(action: str, where: _Where) -> _Plan:
    """Our block in the repository's post-commit: a new script, or put into the user's sh
    script right after its #! line; on uninstall taken out (the whole file if only the
    #! line is left)."""
    hooks_dir = _git_hooks_dir(where.cwd)
    path = hooks_dir / "post-commit"
    text = _read(path)
    lines = (text or "").splitlines(keepends=True)
    span = _block_span(lines, path) if text is not None else None
    plan = _Plan(where=path, changes=[], done=[], unchanged="",
                 found="post-commit" if span else None)
    if action == "uninstall":
        plan.unchanged = f"git: shipper's hook is not in {path}; nothing changed"
        if span is not None:
            rest = lines[:span[0]] + lines[span[1] + 1:]
            only_ours = all(not line.strip() or (i == 0 and line.startswith("#!"))
                            for i, line in enumerate(rest))
            plan.changes = [_Change(path, text, None if only_ours else "".join(rest))]
            plan.done = [f"git: removed shipper's block from {path}" if not only_ours
                         else f"git: removed {path} (shipper had made it)"]
        return plan
    block = _git_block().splitlines(keepends=True)
    if text is None or not text.strip():
        new = "#!/bin/sh\n" + "".join(block)
    elif span is not None:
        new = "".join(lines[:span[0]] + block + lines[span[1] + 1:])
    elif "shipper emit git.commit" in text:
        plan.found = "post-commit"
        plan.state = "copied by hand, not managed by shipper"
        plan.unchanged = (f"git: {path} already runs `shipper emit git.commit` (a copy of "
                          "hooks/git/post-commit?); left it as it is")
        return plan
    elif not _is_shell_script(text):
        raise _Refused(f"{path} is not a sh or bash script (first line: "
                       f"{lines[0].strip()[:60]!r}); shipper will not edit it: call "
                       "`shipper emit git.commit` from it yourself")
    else:  # after the #! line: a script that ends with `exit` never reaches an appended one
        first = lines[0] if lines[0].endswith("\n") else lines[0] + "\n"
        new = "".join([first, *block, *lines[1:]])
    if text and text.strip() and not os.access(path, os.X_OK):
        raise _Refused(f"{path} is not executable, so git skips it; shipper will not turn "
                       "it on: make it executable (chmod +x) or remove it, then run this again")
    plan.changes = [_Change(path, text, new, executable=True)]
    plan.done = [f"git: installed shipper's post-commit hook in {path}"]
    plan.unchanged = f"git: already installed in {path}; nothing changed"
    return plan


# -- the command ----------------------------------------------------------------------------


def _plan(tool: str, action: str, scope: str, where: _Where) -> _Plan:
    if tool == "git":
        return _plan_git(action, where)
    if tool == "codex":
        return _plan_codex(action, where)
    json_tool = {"claude-code": CLAUDE, "cursor": CURSOR, "gemini": GEMINI}[tool]
    return _json_plan(json_tool, json_tool.path(scope, where), action)[0]


def _carry_out(tool: str, plan: _Plan, dry_run: bool, out: TextIO, err: TextIO) -> int:
    """Print the diff (dry run) or back up and write each changed file, and say so."""
    changes = plan.pending()
    if not changes:
        print(plan.unchanged, file=out)
        for note in plan.notes:
            print(note, file=out)
        return 0
    if dry_run:
        for change in changes:
            out.write(_diff(change))
        print(f"{tool}: dry run; nothing written", file=out)
        for note in plan.notes:
            print(note, file=out)
        return 0
    backups = []
    for change in changes:
        try:
            backup = _replace(change)
        except OSError as exc:
            print(f"{tool}: cannot write {change.path}: {exc.strerror or exc}", file=err)
            return 1
        if backup is not None:
            backups.append(backup)
    for line in [*plan.done, *[f"{tool}: the previous file is kept as {b}" for b in backups],
                 *plan.notes]:
        print(line, file=out)
    return 0


def _status(tools: tuple[str, ...], where: _Where, out: TextIO) -> int:
    """One line per tool and scope: installed (how many events, up to date or not) and
    where, or not; then any note (hooks turned off, a notify of the user's)."""
    for tool in tools:
        for scope in TOOL_SCOPES[tool]:
            label = f"{tool} ({scope})"
            try:
                plan = _plan(tool, "install", scope, where)
            except _Refused as exc:
                print(f"{label}: {exc.message.removesuffix('; left it untouched')}", file=out)
                continue
            if plan.found is None:
                print(f"{label}: not installed ({plan.where})", file=out)
                continue
            scope_flag = " --scope project" if scope == "project" and tool != "git" else ""
            fresh = plan.state or ("up to date" if not plan.pending() else
                                   f"out of date: run `shipper hooks install {tool}{scope_flag}`")
            print(f"{label}: installed, {plan.found}, {fresh} ({plan.where})", file=out)
            for note in plan.notes:
                print(note, file=out)
    return 0


def hooks_command(action: str, tool: str | None, *, scope: str | None = None,
                  dry_run: bool = False, out: TextIO, err: TextIO, home: Path | None = None,
                  cwd: Path | None = None) -> int:
    """``shipper hooks ACTION [TOOL]``: ``install`` or ``uninstall`` one tool's hooks in
    ``scope`` ("user" or "project"; None: the tool's own default, project for git only),
    or ``status`` of every tool. Exit 0 done or nothing to do, 1 could not (the files are
    left untouched), 2 usage."""
    where = _Where(Path(home or Path.home()).absolute(), Path(cwd or Path.cwd()).absolute())
    if tool is not None and tool not in TOOLS:
        print(f"shipper hooks: unknown tool {tool!r}; one of: {', '.join(TOOLS)}", file=err)
        return 2
    if action == "status":
        return _status((tool,) if tool else TOOLS, where, out)
    if action not in ("install", "uninstall"):
        print(f"shipper hooks: unknown action {action!r}; install, uninstall or status",
              file=err)
        return 2
    if tool is None:
        print(f"shipper hooks {action}: which tool? one of: {', '.join(TOOLS)}", file=err)
        return 2
    scope = scope or TOOL_SCOPES[tool][0]
    if scope not in TOOL_SCOPES[tool]:
        why = {"git": "git hooks belong to a repository: run this inside it (--scope project)",
               "codex": "Codex reads notify and hook trust from the user's config only "
                        "(~/.codex, or $CODEX_HOME)"}.get(tool, "the scope is user or project")
        print(f"{tool}: no {scope!r} scope; {why}", file=err)
        return 2
    try:
        plan = _plan(tool, action, scope, where)
        return _carry_out(tool, plan, dry_run, out, err)
    except _Refused as exc:
        print(f"{tool}: {exc.message}", file=err)
        return exc.code
    except OSError as exc:  # a folder that cannot be made, a backup that cannot be written
        print(f"{tool}: {exc.strerror or exc}"
              + (f": {exc.filename}" if exc.filename else ""), file=err)
        return 1


# -- argparse -------------------------------------------------------------------------------


def add_hooks_parser(subparsers: argparse._SubParsersAction[Any],
                     parents: list[argparse.ArgumentParser]) -> None:
    """Add ``hooks install|uninstall TOOL [--scope S] [--dry-run]`` and ``hooks status``."""
    hooks = subparsers.add_parser(
        "hooks", parents=parents, help="install shipper's hooks into an agent or git",
        description="Merge shipper's hooks into a tool's own configuration (keeping yours), "
                    "take them out again, or see where they are.")
    actions = hooks.add_subparsers(dest="hooks_action", metavar="ACTION")
    actions.required = True
    for name, text in (("install", "add shipper's hooks (changes nothing if they are there)"),
                       ("uninstall", "take shipper's hooks out, and only them")):
        command = actions.add_parser(name, parents=parents, help=text)
        command.add_argument("tool", choices=TOOLS, metavar="TOOL", help=" | ".join(TOOLS))
        command.add_argument("--scope", choices=SCOPES,
                             help="user: your home's config (the default); project: the "
                                  "current folder's (git: project only, codex: user only)")
        command.add_argument("--dry-run", action="store_true",
                             help="print the change as a diff; write nothing")
    actions.add_parser("status", parents=parents, help="where shipper's hooks are installed")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The ``hooks`` command from parsed arguments."""
    return hooks_command(args.hooks_action, getattr(args, "tool", None),
                         scope=getattr(args, "scope", None),
                         dry_run=getattr(args, "dry_run", False), out=out, err=err)
