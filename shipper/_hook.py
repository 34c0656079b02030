"""``shipper hook``: record one agent hook payload, whatever happens, in a few milliseconds.

An agent runs this on every tool call and some wait for it, so it is the cheapest path in
shipper. It prints nothing (stdout is pointed at /dev/null before anything else runs),
exits 0 whatever happens, gives up after ``HOOK_BUDGET_S``, and imports almost nothing:
``_signal`` rather than ``signal`` (which imports ``enum``), `shipper._json` rather than
``json`` (which imports ``re``), the parsed snapshot of the config file rather than
``tomllib``. ``tests/test_hook_imports.py`` holds it to an allow-list of modules.

A client may signal its hooks at any moment: Claude Code sends SIGTERM to hooks still
running when a headless session ends. SIGTERM, SIGHUP and SIGINT are therefore deferred
from the first thing this module does until the event is on disk; the hook then exits 0 as
it would have anyway. Only SIGKILL can cut it short, and an event file is written to a
temporary name and renamed into place whole, so a cut never leaves a partial event behind.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal  # the same functions and constants, typed
    from typing import NoReturn
else:
    import _signal

HOOK_BUDGET_S = 1.0  # a hook gives up after this long (Claude Code's SessionEnd allows ~1.5 s)
HOOK_MAX_STDIN = 16 * 1024 * 1024
DEFERRED = (_signal.SIGINT, _signal.SIGHUP, _signal.SIGTERM)  # SIGTERM last: see the tests

USAGE = """\
usage: shipper hook [--source SOURCE] [--event NAME] [--include-content] [PAYLOAD]

Record one agent hook payload, read from stdin (or PAYLOAD, for Codex's notify), as an
event. Prints nothing and exits 0 whatever happens: a hook must never fail its agent.

  --source SOURCE     claude-code, cursor, codex, gemini, git or generic (default)
  --event NAME        the event name (default: from the payload)
  --include-content   also record prompts, commands, file contents and output
"""


class _OutOfTime(BaseException):
    """The hook's budget ran out (raised from SIGALRM)."""


def _out_of_time(signum: int, frame: object) -> None:
    raise _OutOfTime


def _after_the_event(signum: int, frame: object) -> None:
    """A deferred signal: the hook finishes recording, then exits as it would have."""


def main(argv: list[str] | None = None) -> int:
    """Record the payload; always 0. ``--help`` prints the usage on stderr (a hook's stdout
    stays empty whatever happens: some agents read it as a verdict) and records nothing."""
    args = sys.argv[1:] if argv is None else argv
    if "-h" in args or "--help" in args:
        try:
            sys.stderr.write(USAGE)
        except (AttributeError, OSError):  # no stderr, or a closed one: nothing to tell
            pass
        return 0
    try:
        for signum in DEFERRED:
            _signal.signal(signum, _after_the_event)
    except (OSError, ValueError):  # not the main thread (a test calling main()): no deferral
        pass
    _within_budget(args)
    return 0


def run(argv: list[str] | None = None) -> NoReturn:
    """The hook as a process of its own: `main`, then end the process at once.

    Once main() returns there is nothing left to do: the event is on disk (data and rename
    fsync'd), a sync, if one was started, runs in its own session, stdout points at
    /dev/null, and nothing on the hook path keeps a buffered file or needs an exit handler
    (`logging`, when a warning loads it, registers one to flush handlers that flush every
    record anyway). What Python does at a normal exit, tearing down every module and object
    one by one, was an eighth of the whole hook (1.7 of 14 ms, docs/performance.md), so
    stderr, which may hold a warning, is flushed and the process ends with ``os._exit``.
    Exit handlers that a ``sitecustomize`` or ``.pth`` file registered do not run either
    (the installed hook runs without ``site`` anyway). For the same reason the cycle
    collector is off: it ran nine times over the hook's imports (0.2 ms), and this process
    frees nothing before it ends."""
    import gc

    gc.disable()
    code = main(argv)
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # none, closed, or a full disk
            pass
    os._exit(code)


def _within_budget(argv: list[str]) -> None:
    try:
        _std_streams_on_devnull()
        _signal.signal(_signal.SIGALRM, _out_of_time)
        _signal.setitimer(_signal.ITIMER_REAL, HOOK_BUDGET_S)
    except (OSError, ValueError):
        pass
    try:
        _guarded(argv)
    except BaseException:  # noqa: BLE001, S110 - even _OutOfTime racing the guard's logging
        pass
    finally:
        try:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
        except (OSError, ValueError):
            pass


def _std_streams_on_devnull() -> None:
    """Point stdout at /dev/null (nothing may reach the agent, not even from C code), and
    stdin or stderr too where the agent left them closed: a closed one would give its
    number to the next file the hook opens, the event being written or the sync lock, to be
    read or written as a standard stream, or replaced by the sync's own redirections."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    for fd in (0, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.dup2(devnull, fd)
    if devnull > 2:  # not itself one of the three
        os.close(devnull)


def _guarded(argv: list[str]) -> None:
    from ._guard import never_raises

    never_raises("shipper hook", None, catch=BaseException)(_hook)(argv)


def flag_value(argv: list[str], i: int, flag: str) -> tuple[str | None, int]:
    """The value of ``--flag VALUE`` or ``--flag=VALUE`` at ``argv[i]``, and the next
    index; None (and the end) when the value is missing."""
    arg = argv[i]
    if arg.startswith(flag + "="):
        return arg[len(flag) + 1:], i + 1
    if i + 1 < len(argv):
        return argv[i + 1], i + 2
    return None, len(argv)


def parse(argv: list[str]) -> tuple[str, str | None, bool, str | None]:
    """``[--source S] [--event NAME] [--include-content] [PAYLOAD]``, leniently: an unknown
    flag is ignored, an unknown source is read as generic. Returns (source, event,
    include_content, payload)."""
    from ._sources import source_named

    source, event, include, payload = "generic", None, False, None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--source" or arg.startswith("--source="):
            value, i = flag_value(argv, i, "--source")
            source = source_named(value or "")
            continue
        if arg == "--event" or arg.startswith("--event="):
            event, i = flag_value(argv, i, "--event")
            continue
        if arg == "--include-content":
            include = True
        elif not arg.startswith("-"):
            payload = arg
        i += 1
    return source, event, include, payload


def _hook(argv: list[str]) -> None:
    source, event, include, payload = parse(argv)
    raw = payload.encode("utf-8", "surrogateescape") if payload is not None else read_stdin()
    from ._config import load_settings

    settings = load_settings(short_lived=True)  # not strict: a bad value is logged, skipped
    if settings.disabled:
        return
    from ._oneshot import record
    from ._sources import to_event

    key = None
    if settings.hash_paths:  # the key stays in the cache; only the hashes leave it
        from ._cache._identity import path_key

        key = path_key(settings.cache_root)
    name, props = to_event(source, raw, include_content=include or settings.include_content,
                           event=event, hash_key=key)
    record(settings, name, props, context={"source": source})


def read_stdin() -> bytes:
    """All of stdin, up to ``HOOK_MAX_STDIN``; nothing from a terminal."""
    stdin = sys.stdin
    if stdin is None or stdin.isatty():
        return b""
    chunks = []
    size = 0
    while size < HOOK_MAX_STDIN:
        chunk = stdin.buffer.read(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
