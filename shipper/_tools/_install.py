"""Installing hooks into a tool's own configuration, whatever the tool: plan, diff, merge
into JSON or TOML, back up, carry out. The tools' modules say what goes where; this module
knows none of them.

Every action is planned before anything is written: the tool's files are read and parsed
(a file that cannot be merged safely is refused, exit 1, and left untouched), the new text
is computed, and only then is each changed file backed up (``<file>.shipper-backup``; a
backup is never overwritten: a later one is ``.shipper-backup.1``, ``.2``...) and replaced
atomically, or, with ``--dry-run``, shown as a diff. A file keeps its line endings
(CRLF stays CRLF), a JSON number its spelling (``1e400`` is not rewritten as
``Infinity``), a TOML file its comments.

Our entries are told from the user's by their command alone: one of the forms shipper
writes (`is_shipper_hook`: the guarded command, the bare ``shipper hook`` invocation with
its flags, Codex's notify program) is ours; anything else is the user's and is kept as it
is, in order, even a command of theirs that also runs ``shipper hook``. Installing
replaces our entries where they are (so installing twice changes nothing, and a new
shipper path replaces the old one); uninstalling takes out only ours, and the containers it
leaves empty.

The command itself is guarded: it runs the hook only while the interpreter and the script
it names are there, and otherwise exits 0 having printed nothing, so a hook left behind by
``pip uninstall`` never blocks its agent (`hook_command`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tomlkit import TOMLDocument
    from tomlkit.container import Container
    from tomlkit.items import Table

SCOPES = ("user", "project")
BACKUP_SUFFIX = ".shipper-backup"
HOOK_SCRIPT = "shipper-hook"
INCLUDE_CONTENT = "--include-content"


class Refused(Exception):
    """The action cannot be done safely; nothing was written. ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Where:
    home: Path
    cwd: Path


def _newline_style(old: str | None, new: str | None) -> str | None:
    """``new`` with the line endings of ``old``: a file written with CRLF stays CRLF."""
    if old is None or new is None or "\r\n" not in old or old.count("\r\n") != old.count("\n"):
        return new
    return new.replace("\r\n", "\n").replace("\n", "\r\n")


@dataclass
class Change:
    """One file: its text now (None: missing) and after (None: removed), in the file's own
    line endings; ``backup``: keep the text it had (not for a file that is shipper's)."""

    path: Path
    old: str | None
    new: str | None
    executable: bool = False
    backup: bool = True

    def __post_init__(self) -> None:
        self.new = _newline_style(self.old, self.new)


@dataclass
class Plan:
    """What an action would do: the files, what to say when they change or not, notes to
    say either way, and what of ours is there now (None: nothing)."""

    where: Path
    changes: list[Change]
    done: list[str]
    unchanged: str
    found: str | None = None
    notes: list[str] = field(default_factory=list)
    state: str | None = None  # what status says instead of "up to date" / "out of date"
    kept: list[str] = field(default_factory=list)  # the user's commands that run the hook

    def remarks(self) -> list[str]:
        """What to say after the action, whatever it did."""
        return [*self.notes, *self.kept]

    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.old != c.new]


class Installer(Protocol):
    """What a tool's ``installer()`` returns: the scopes it has, and a plan for an action."""

    @property
    def scopes(self) -> tuple[str, ...]: ...

    @property
    def scope_note(self) -> str: ...

    def plan(self, action: str, scope: str, where: Where) -> Plan: ...


@dataclass(frozen=True)
class Planned:
    """An installer that is a function of its own (a tool that is not a hooks file)."""

    plan_for: Callable[[str, str, Where], Plan]
    scopes: tuple[str, ...] = SCOPES
    scope_note: str = "the scope is user or project"

    def plan(self, action: str, scope: str, where: Where) -> Plan:
        return self.plan_for(action, scope, where)


# -- the command a hook runs ----------------------------------------------------------------


def hook_argv() -> list[str]:
    """This installation's ``shipper hook``, by absolute path: where the wheel installed the
    ``shipper-hook`` script beside the interpreter, that script run by the interpreter with
    ``-S`` (no ``site``: together they halve what a hook adds to starting Python; the
    script finds shipper without it, see scripts/shipper-hook); else the ``shipper``
    console script, else the interpreter with ``-m shipper``."""
    python = os.path.abspath(sys.executable)
    script = Path(python).parent / HOOK_SCRIPT
    return [python, "-S", str(script)] if script.is_file() else [*shipper_argv(), "hook"]


def shipper_argv() -> list[str]:
    """This installation's ``shipper`` command, by absolute path: the console script beside
    the interpreter where there is one, else the interpreter with ``-m shipper``."""
    python = os.path.abspath(sys.executable)
    script = Path(python).parent / "shipper"
    return [str(script)] if script.is_file() else [python, "-m", "shipper"]


def needed_files(argv: list[str]) -> list[str]:
    """The files a hook command needs: its interpreter or script (first) and, where it
    runs shipper by module or by script, that script or shipper's package."""
    files = [argv[0]]
    if len(argv) > 2 and argv[1] == "-S":  # python -S shipper-hook
        files.append(argv[2])
    elif argv[1:3] == ["-m", "shipper"]:
        import shipper

        files.append(str(Path(shipper.__file__)))
    return files


def guarded(argv: list[str], *, tail: str = "") -> str:
    """A shell command that runs ``argv`` (``tail`` appended, unquoted) while the files it
    needs are there, and otherwise exits 0 having printed nothing: ``pip uninstall`` runs
    no code, so a hook left behind must tell by itself. Shell builtins only (``[``,
    ``exit``, ``exec``): it costs two file checks. Words appended to the command still
    reach the hook. On Windows, where there is no POSIX shell, the plain command."""
    command = shlex.join(argv) + tail
    if os.name == "nt":  # pragma: no cover - no POSIX shell to guard with
        return command
    first, *rest = needed_files(argv)
    tests = [f"[ -x {shlex.quote(first)} ]", *(f"[ -f {shlex.quote(f)} ]" for f in rest)]
    return f"{' && '.join(tests)} || exit 0; exec {command}"


def hook_command(source: str, event: str | None = None, *, include_content: bool = False) -> str:
    """The shell command of a ``shipper hook --source SOURCE [--event EVENT]`` hook,
    calling this installation's shipper by absolute path (a hook must work where PATH lacks
    it), guarded so that it exits 0 in silence once that installation is gone."""
    return guarded(_hook_words(source, event, include_content))


def hook_program(source: str, event: str | None = None, *, include_content: bool = False
                 ) -> list[str]:
    """The hook as an argv list for a tool that runs a program rather than a shell command
    (Codex's ``notify``): the guarded command run by ``/bin/sh``, the tool's own arguments
    passed on to the hook."""
    script = guarded(_hook_words(source, event, include_content), tail=' "$@"')
    return ["/bin/sh", "-c", script, HOOK_SCRIPT]


def _hook_words(source: str, event: str | None, include_content: bool) -> list[str]:
    words = [*hook_argv(), "--source", source]
    if event is not None:
        words += ["--event", event]
    if include_content:
        words.append(INCLUDE_CONTENT)
    return words


def words_of(command: str) -> list[str]:
    """A command's words, and those of a script it runs with ``-c``."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: still read the words
        words = command.split()
    more = []
    for i, word in enumerate(words[:-1]):
        if word == "-c" and " " in words[i + 1]:
            more += words_of(words[i + 1])
    return words + more


def is_shipper_hook(command: object) -> bool:
    """Whether a hook command is ours: one of the forms shipper writes, and nothing else.
    A shell command is the guarded command (`guarded`) or the bare invocation, an argv
    list (Codex's notify) the guarded ``/bin/sh -c`` program (`hook_program`) or the bare
    invocation; the invocation is ``shipper-hook`` (``PYTHON -S`` before it or not),
    ``shipper hook`` or ``PYTHON -m shipper hook`` (any paths), followed by the hook's own
    flags alone (``--source``, ``--event``, ``--include-content``). A command of the user's
    that also runs ``shipper hook`` (``audit.sh && shipper hook``, a pipe, ``bash -c``) is
    theirs (`runs_shipper_hook`): never replaced, never removed."""
    if isinstance(command, list) and all(isinstance(word, str) for word in command):
        if (len(command) == 4 and os.path.basename(command[0]) in ("sh", "bash", "dash")
                and command[1] == "-c" and command[3] == HOOK_SCRIPT):
            script = _shell_words(command[2])
            return script is not None and _is_guarded(script, with_arguments=True)
        return _is_invocation(command)
    if not isinstance(command, str):
        return False
    words = _shell_words(command)
    return words is not None and (_is_invocation(words)
                                  or _is_guarded(words, with_arguments=False))


def _shell_words(command: str) -> list[str] | None:
    """A shell command's words and operators (``&&``, ``||``, ``;`` apart); None when its
    quotes do not balance."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return None


def _is_invocation(words: list[str]) -> bool:
    """``shipper-hook``, ``PYTHON -S shipper-hook``, ``shipper hook`` or ``PYTHON -m
    shipper hook``, then only the hook's flags."""
    names = [os.path.basename(word) for word in words]
    if names[:1] == [HOOK_SCRIPT]:
        rest = words[1:]
    elif words[1:2] == ["-S"] and names[2:3] == [HOOK_SCRIPT]:
        rest = words[3:]
    elif names[:1] in (["shipper"], ["shipper.exe"]) and words[1:2] == ["hook"]:
        rest = words[2:]
    elif words[1:4] == ["-m", "shipper", "hook"]:
        rest = words[4:]
    else:
        return False
    i = 0
    while i < len(rest):
        if rest[i] == INCLUDE_CONTENT or rest[i].startswith(("--source=", "--event=")):
            i += 1
        elif rest[i] in ("--source", "--event") and i + 1 < len(rest):
            i += 2
        else:
            return False
    return True


def _is_guarded(words: list[str], *, with_arguments: bool) -> bool:
    """``[ -x FILE ] && [ -f FILE ] ... || exit 0; exec INVOCATION`` (`guarded`), with
    ``"$@"`` at the end where ``with_arguments``."""
    i = 0
    while words[i:i + 2] in (["[", "-x"], ["[", "-f"]) and words[i + 3:i + 4] == ["]"]:
        i += 4
        if words[i:i + 1] != ["&&"]:
            break
        i += 1
    if i == 0 or words[i:i + 5] != ["||", "exit", "0", ";", "exec"]:
        return False
    rest = words[i + 5:]
    if with_arguments:
        if rest[-1:] != ["$@"]:
            return False
        rest = rest[:-1]
    return _is_invocation(rest)


def runs_shipper_hook(command: object) -> bool:
    """Whether a command runs shipper's hook in any way, ours or one of the user's that
    also does other things (to say that it was left as it is)."""
    if isinstance(command, list) and all(isinstance(word, str) for word in command):
        command = shlex.join(command)
    if not isinstance(command, str):
        return False
    words = words_of(command)
    for i, word in enumerate(words):
        name = os.path.basename(word)
        if name == HOOK_SCRIPT:
            return True
        if name in ("shipper", "shipper.exe") and words[i + 1:i + 2] == ["hook"]:
            return True
        if word == "-m" and words[i + 1:i + 3] == ["shipper", "hook"]:
            return True
    return False


def wants_content(commands: list[Any]) -> bool:
    """Whether the user added ``--include-content`` to one of our entries (a documented
    per-hook opt-in, kept by the entry that replaces it)."""
    return any(INCLUDE_CONTENT in words_of(c if isinstance(c, str) else shlex.join(c))
               for c in commands if isinstance(c, (str, list)))


def mentions_shipper_hook(text: str) -> bool:
    """Whether a file's text (a config, a script, a backup) holds a hook of shipper's: a
    block of shipper's in a git hook, or a JSON or TOML string or array of strings that is
    a command of ours (`is_shipper_hook`; a command of the user's that also runs the hook
    is not)."""
    if ">>> shipper >>>" in text:
        return True
    strings = re.findall(r'"(?:[^"\\\n]|\\.)*"', text)
    arrays = re.findall(r"\[[^\[\]]*\]", text)  # a bare notify (ours: its last string)
    for found in (*strings, *arrays):
        try:
            value = json.loads(found)
        except ValueError:
            continue
        if is_shipper_hook(value):
            return True
    return False


# -- files ----------------------------------------------------------------------------------


def read(path: Path) -> str | None:
    """A file's text, line endings as they are; None when it does not exist; refused when
    it cannot be read."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise Refused(f"{path} is not UTF-8 text; left it untouched") from None
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None


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


def backup_of(path: Path, number: int = 0) -> Path:
    """A file's backup: ``<file>.shipper-backup``, then ``.1``, ``.2``... for later ones."""
    return path.with_name(path.name + BACKUP_SUFFIX + (f".{number}" if number else ""))


def backups_of(path: Path) -> list[Path]:
    """The backups a file has, oldest first."""
    base = path.name + BACKUP_SUFFIX
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    numbers = sorted(0 if name == base else int(name[len(base) + 1:]) for name in names
                     if name == base or (name.startswith(base + ".")
                                         and name[len(base) + 1:].isascii()
                                         and name[len(base) + 1:].isdigit()))
    return [backup_of(path, number) for number in numbers]


def keep_backup(path: Path, target: Path) -> Path:
    """Back ``target`` (``path`` resolved) up without ever overwriting a backup: a copy
    made before is kept (the first one holds the file as the user had it before shipper),
    the new one takes the next number, and a text that a backup already holds is not
    copied again (install, uninstall, install makes two backups, not three)."""
    import shutil

    text = target.read_bytes()
    mode = target.stat().st_mode & 0o777  # from the start: a 0600 file is never readable
    for number in range(1_000):
        backup = backup_of(path, number)
        try:
            with open(os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except FileExistsError:
            try:
                if backup.read_bytes() == text:
                    return backup
            except OSError:  # not a file we can read: go on to the next number
                pass
            continue
        shutil.copystat(target, backup)
        return backup
    raise Refused(f"{path} has 1,000 backups already; delete the old "
                  f"{path.name}{BACKUP_SUFFIX}.* files, then run this again")


def replace(change: Change) -> Path | None:
    """Back the file up (`keep_backup`), then write the new text atomically (temp file and
    rename in the same folder, the file's mode kept) or remove the file. Returns the
    backup's path."""
    import tempfile

    if read(change.path) != change.old:
        raise Refused(f"{change.path} changed while shipper was editing it; run this again")
    target = Path(os.path.realpath(change.path))  # a symlinked dotfile stays a symlink
    backup = None
    if change.old is not None and change.backup:
        backup = keep_backup(change.path, target)
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


def diff(change: Change) -> str:
    import difflib

    name = str(change.path)
    lines = difflib.unified_diff(
        (change.old or "").splitlines(keepends=True), (change.new or "").splitlines(
            keepends=True),
        "/dev/null" if change.old is None else name, "/dev/null" if change.new is None else name)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- JSON: parsed and written back as it was, but for what shipper changes -------------------


class _Verbatim:
    """A number as the file spells it (``1e400``, ``1.50``, ``NaN``, 5,000 digits): kept
    as text, so it is written back the same rather than as ``Infinity`` or ``1.5``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Verbatim) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return self.text


def _int(text: str) -> int | _Verbatim:
    return int(text) if len(text) < 4000 else _Verbatim(text)  # Python's digit limit: 4300


def parse_json(text: str | None, path: Path) -> dict[str, Any]:
    """The config as a dict ({} for a missing or blank file); refused unless it is a JSON
    object whose "hooks", if any, is an object too."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text, parse_float=_Verbatim, parse_int=_int,
                          parse_constant=_Verbatim)
    except json.JSONDecodeError as exc:
        raise Refused(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                      f"{exc.msg}); left it untouched") from None
    except RecursionError:
        raise Refused(f"{path} is nested too deeply to read; left it untouched") from None
    if not isinstance(data, dict):
        raise Refused(f"{path}: the top level is not a JSON object; left it untouched")
    if not isinstance(data.get("hooks", {}), dict):
        raise Refused(f'{path}: "hooks" is not a JSON object; left it untouched')
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def dump_json(data: object, indent: str | None = "  ") -> str:
    """JSON text of a value `parse_json` read: numbers spelt as they were, non-ASCII as
    it is, a lone surrogate (valid JSON as an escape, not as UTF-8) escaped again."""
    nonce = os.urandom(6).hex()
    kept: list[str] = []

    def verbatim(value: object) -> str:
        if isinstance(value, _Verbatim):
            kept.append(value.text)
            return f"{nonce}:{len(kept) - 1}"
        raise TypeError(f"{type(value).__name__} is not JSON")

    text = json.dumps(data, indent=indent, ensure_ascii=False, default=verbatim)
    if kept:
        text = re.sub(f'"{nonce}:(\\d+)"', lambda m: kept[int(m.group(1))], text)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def indent_of(text: str | None) -> str:
    """The indentation the file uses (of its first indented line), two spaces by default."""
    for line in (text or "").splitlines():
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            return line[:len(line) - len(stripped)]
    return "  "


def same(a: object, b: object) -> bool:
    """Equal as JSON, types and key order included (``1 == True`` in Python)."""
    return dump_json(a, None) == dump_json(b, None)


# -- JSON hook configs: {"hooks": {Event: [entry, ...]}} -------------------------------------


Position = tuple[str, int, int]  # event, index in its list, index of the handler in the group


@dataclass
class Merged:
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


@dataclass(frozen=True)
class JsonHooks:
    """A tool whose hooks live in a JSON file shaped ``{"hooks": {Event: [entry, ...]}}``.

    ``source`` is the ``--source`` of its hook command; ``entry(event, command)`` is our
    entry for an event; ``grouped``: entries are ``{"matcher"?, "hooks": [handler]}``
    groups (else the entries are the handlers); ``command_key`` names a handler's command;
    ``event_in_command``: each event's command names its event (``--event``), for a tool
    whose payloads do not; ``first_keys`` are added at the top when missing; ``notes``
    says what the user's own settings change about shipper's hooks; ``home_env`` is a
    variable naming the tool's user folder, and the path below it; ``project`` the file of
    the project scope, under the current folder, when not ``folder/filename``."""

    source: str
    folder: str
    filename: str
    events: tuple[str, ...]
    entry: Callable[[str, str], dict[str, Any]]
    grouped: bool = True
    command_keys: tuple[str, ...] = ("command",)
    event_in_command: bool = False
    prefix: str = ""  # of the event names in commands, with event_in_command
    first_keys: tuple[tuple[str, Any], ...] = ()
    project_first_keys: tuple[tuple[str, Any], ...] | None = None
    notes: Callable[[dict[str, Any], Path], list[str]] = lambda data, path: []
    home_env: tuple[str, str] = ("", "")
    project: str = ""
    scopes: tuple[str, ...] = SCOPES
    scope_note: str = "the scope is user or project"

    def path(self, scope: str, where: Where) -> Path:
        """The config file of a scope: in the home (or where the tool's own variable says,
        as the tool itself reads it), or in the current folder."""
        if scope == "project":
            return where.cwd / (self.project or f"{self.folder}/{self.filename}")
        variable, below = self.home_env
        value = os.environ.get(variable, "") if variable else ""
        folder = where.cwd / value / below if value else where.home / self.folder
        return folder / self.filename

    def command(self, event: str, replaced: list[Any]) -> str:
        """Our command for an event, keeping an ``--include-content`` the user had added
        to an entry of ours that this one replaces."""
        name = f"{self.prefix}.{event}" if self.event_in_command else None
        return hook_command(self.source, name, include_content=wants_content(replaced))

    def command_of(self, handler: object) -> object:
        """A handler's command, under the first of ``command_keys`` it has."""
        if not isinstance(handler, dict):
            return None
        return next((handler[k] for k in self.command_keys if k in handler), None)

    def is_ours(self, handler: object) -> bool:
        return is_shipper_hook(self.command_of(handler))

    def handlers(self, item: object) -> list[Any]:
        """The handlers of one entry of an event's list: a group's "hooks" list, or the
        entry itself (flat lists)."""
        if not self.grouped:
            return [item]
        if isinstance(item, dict) and isinstance(item.get("hooks"), list):
            return list(item["hooks"])
        return []

    def users_own(self, hooks: dict[str, Any]) -> list[str]:
        """The events with a command of the user's that also runs ``shipper hook``."""
        return [event for event, items in hooks.items() if isinstance(items, list) and any(
            runs_shipper_hook(self.command_of(h)) and not self.is_ours(h)
            for item in items for h in self.handlers(item))]

    def found(self, hooks: dict[str, Any]) -> dict[str, list[Any]]:
        """Our commands in a "hooks" object, by event."""
        out: dict[str, list[Any]] = {}
        for event, items in hooks.items():
            if isinstance(items, list):
                mine = [self.command_of(h) for item in items for h in self.handlers(item)
                        if self.is_ours(h)]
                if mine:
                    out[event] = mine
        return out

    def plan(self, action: str, scope: str, where: Where) -> Plan:
        return json_plan(self, self.path(scope, where), action, scope)[0]


def claude_settings(name: str, folder: str, events: tuple[str, ...], *, timeout: int,
                    tool_events: tuple[str, ...], home_env: tuple[str, str]) -> JsonHooks:
    """A settings.json in Claude Code's shape (Claude Code, Qwen Code): a group per event
    with our one command handler, ``"matcher": "*"`` on ``tool_events`` (matched against
    tool names), and a note where ``disableAllHooks: true`` keeps every hook off."""

    def entry(event: str, command: str) -> dict[str, Any]:
        group: dict[str, Any] = {"matcher": "*"} if event in tool_events else {}
        group["hooks"] = [{"type": "command", "command": command, "timeout": timeout}]
        return group

    def notes(data: dict[str, Any], path: Path) -> list[str]:
        if data.get("disableAllHooks") is True:
            return [f"{name}: {path} turns every hook off (disableAllHooks: true); left so: "
                    "shipper's hooks run once you turn hooks back on"]
        return []

    return JsonHooks(name, folder, "settings.json", events, entry, notes=notes,
                     home_env=home_env)


def _merge_event(spec: JsonHooks, event: str, items: list[Any], want: dict[str, Any] | None,
                 merged: Merged) -> tuple[list[Any], bool]:
    """One event's list with our handlers taken out, and ``want`` (our entry) put where the
    first entry of ours was, else at the end. Returns the list and whether ours were in it."""
    out: list[Any] = []
    had_ours = False
    for g, item in enumerate(items):
        handlers = spec.handlers(item)
        mine = [h for h, handler in enumerate(handlers) if spec.is_ours(handler)]
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


def merge(spec: JsonHooks, data: dict[str, Any], want: dict[str, dict[str, Any]],
          path: Path) -> Merged:
    """``data`` with exactly ``want`` as our entries: ours elsewhere are taken out, and an
    event list or "hooks" object that only we filled goes with them."""
    hooks: dict[str, Any] = data.get("hooks", {})
    merged = Merged(data={})
    new_hooks: dict[str, Any] = {}
    for event, items in hooks.items():
        if not isinstance(items, list):
            if event in want:
                raise Refused(f'{path}: "hooks.{event}" is not a list; left it untouched')
            new_hooks[event] = items
            continue
        kept, had_ours = _merge_event(spec, event, items, want.get(event), merged)
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


def json_plan(spec: JsonHooks, path: Path, action: str, scope: str = "user"
              ) -> tuple[Plan, Merged]:
    """The plan for one JSON hooks file, and the merge behind it."""
    text = read(path)
    data = parse_json(text, path)
    found = spec.found(data.get("hooks", {}))
    want = {} if action == "uninstall" else {
        event: spec.entry(event, spec.command(event, found.get(event, [])))
        for event in spec.events}
    merged = merge(spec, data, want, path)
    new = merged.data
    first_keys = spec.first_keys if scope == "user" or spec.project_first_keys is None \
        else spec.project_first_keys
    if action == "install":
        new = {**{k: v for k, v in first_keys if k not in new}, **new}
    leftover = {k: v for k, v in new.items() if (k, v) not in first_keys}
    if same(new, data):
        new_text = text
    elif not leftover and action == "uninstall":
        new_text = None  # nothing of the user's was in it: no empty file left behind
    else:
        new_text = dump_json(new, indent_of(text)) + "\n"
    name = spec.source
    if action == "install":
        done = [f"{name}: installed shipper's hooks for {len(merged.placed)} events in {path}"]
        unchanged = f"{name}: already installed in {path}; nothing changed"
    elif new_text is None and text is not None:
        done = [f"{name}: removed {path}: it held only shipper's hooks ({len(found)} events)"]
        unchanged = ""
    else:
        done = [f"{name}: removed shipper's hooks ({len(found)} events) from {path}"]
        unchanged = f"{name}: shipper's hooks are not in {path}; nothing changed"
    plan = Plan(where=path, changes=[Change(path, text, new_text)], done=done,
                unchanged=unchanged, found=f"{len(found)} events" if found else None,
                notes=spec.notes(data, path) if action == "install" else [])
    own = spec.users_own(data.get("hooks", {}))
    if own:
        plan.kept.append(f"{name}: your own command for {', '.join(own)} in {path} also "
                          "runs `shipper hook`: left as it is (not shipper's to replace or "
                          "remove)")
    return plan, merged


# -- a file that is shipper's alone (a plugin) ------------------------------------------------


def own_file_plan(name: str, path: Path, action: str, new: str, *, marker: str,
                  what: str) -> Plan:
    """A file shipper writes whole (``new``), told apart from the user's by ``marker``:
    installed or brought up to date, removed on uninstall; a file of the user's at that
    path is refused, untouched."""
    text = read(path)
    ours = text is not None and marker in text
    if text is not None and not ours:
        raise Refused(f"{path} is not shipper's (no `{marker}` in it); left it untouched: "
                      "move it away, then run this again")
    plan = Plan(where=path, changes=[], done=[], unchanged="",
                found=what if ours else None)
    if action == "uninstall":
        plan.changes = [Change(path, text, None, backup=False)]
        plan.done = [f"{name}: removed {path}"]
        plan.unchanged = f"{name}: shipper's {what} is not in {path}; nothing changed"
    else:
        plan.changes = [Change(path, text, new, backup=False)]
        plan.done = [f"{name}: installed shipper's {what} as {path}"]
        plan.unchanged = f"{name}: already installed in {path}; nothing changed"
    return plan


# -- TOML: edited in place, comments and layout kept ----------------------------------------


def parse_toml(text: str | None, path: Path) -> TOMLDocument:
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
        raise Refused(f"{path} is not valid TOML ({exc}); left it untouched") from None


def toml_table(parent: TOMLDocument | Table, key: str, create: bool, path: Path
               ) -> Table | None:
    """``parent[key]`` as a table, made (as a header-only table) when missing and asked."""
    import tomlkit
    from tomlkit.items import Table

    if key not in parent:
        if not create:
            return None
        parent[key] = tomlkit.table(is_super_table=True)
    value = parent[key]
    if not isinstance(value, Table):
        raise Refused(f"{path}: `{key}` is not a [table] shipper can edit; left it untouched")
    return value


def _headed_tables(container: Container) -> Iterator[Table]:
    """The tables of a document that print a header, in the order they are printed."""
    from tomlkit.items import AoT, Table

    for _, item in container.body:
        if isinstance(item, Table):
            if not item.is_super_table():
                yield item
            yield from _headed_tables(item.value)
        elif isinstance(item, AoT):
            for table in item.body:
                yield table
                yield from _headed_tables(table.value)


def drop_tables(doc: TOMLDocument, doomed: list[tuple[Table, str]]) -> None:
    """Delete ``parent[key]`` tables, keeping the comments and blank lines at their end:
    a reader takes those as the start of what follows, so they stay where they were, after
    the table printed before (or the top-level keys)."""
    from tomlkit.items import Comment, Table, Whitespace

    tables = {id(parent[key]) for parent, key in doomed if isinstance(parent[key], Table)}
    previous: Table | None = None
    carried: dict[int, list[Any]] = {}  # id of the table kept before (0: top level) -> items
    for table in _headed_tables(doc):
        if id(table) not in tables:
            previous = table
            continue
        body = table.value.body
        end = len(body)
        while end and body[end - 1][0] is None and isinstance(body[end - 1][1],
                                                                (Comment, Whitespace)):
            end -= 1
        if end < len(body):
            carried.setdefault(id(previous) if previous is not None else 0, []).extend(
                item for _, item in body[end:])
            del body[end:]
    kept = {id(t): t for t in _headed_tables(doc) if id(t) not in tables}
    for parent, key in doomed:
        del parent[key]
    for owner, items in carried.items():
        if owner and owner in kept:
            for item in items:
                kept[owner].value.body.append((None, item))
            continue
        first = next((i for i, (_, item) in enumerate(doc.body) if isinstance(item, Table)),
                     len(doc.body))
        doc.body[first:first] = [(None, item) for item in items]
