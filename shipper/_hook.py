"""``shipper hook``: record one agent hook payload, whatever happens, in a few milliseconds.

An agent runs this on every tool call and some wait for it, so it is the cheapest path in
shipper. It prints nothing (stdout is pointed at /dev/null before anything else runs),
exits 0 whatever happens, and imports almost nothing:
``_signal`` rather than ``signal`` (which imports ``enum``), `shipper._json` rather than
``json`` (which imports ``re``), the parsed snapshot of the config file rather than
``tomllib``. ``tests/test_hook_imports.py`` holds it to an allow-list of modules.

Time limits only what waits on others: reading stdin (``HOOK_BUDGET_S``: an agent that
never closes it gets the event of what it wrote) and starting the background sync. Once the
payload is read, the event is written however long that takes on a busy machine: any
payload makes an event, one that is cut off, too large or not JSON an ``invalid_payload``
event with its size, and an event that truly cannot be written is counted in drops.json.

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
    import io
    import signal as _signal  # the same functions and constants, typed
    from typing import Any, NoReturn

    from ._config import Settings
else:
    import _signal

# Waiting on stdin stops after this long. Agents write the payload and close stdin at once,
# so this only bounds an agent that never closes it; it is generous because on a loaded
# machine (hundreds of hooks at once) the agent's own write may take a while to be scheduled,
# and a hook signalled meanwhile defers the signal until its event is on disk.
HOOK_BUDGET_S = 3.0
HOOK_SYNC_BUDGET_S = 0.5  # and starting a background sync after this long
HOOK_MAX_STDIN = 16 * 1024 * 1024  # a larger payload is counted, not kept: its event says so
DEFERRED = (_signal.SIGINT, _signal.SIGHUP, _signal.SIGTERM)  # SIGTERM last: see the tests
# Where a caller with no stdin to give passes the payload (the opencode plugin): a process's
# environment is readable by its user alone (/proc/PID/environ is 0400), its argv by anyone.
PAYLOAD_VARIABLE = "SHIPPER_HOOK_PAYLOAD"

USAGE = """\
usage: shipper hook [--source SOURCE] [--event NAME] [--include-content] [PAYLOAD]

Record one agent hook payload, read from stdin (or PAYLOAD, for Codex's notify; or, where
stdin is empty, the SHIPPER_HOOK_PAYLOAD environment variable, for the opencode plugin), as
an event. Prints nothing and exits 0 whatever happens: a hook must never fail its agent.

  --source SOURCE     {sources} (default: generic)
  --event NAME        the event name (default: from the payload)
  --include-content   also record prompts, commands, file contents and output
"""


class _OutOfTime(BaseException):
    """The hook's budget ran out (raised from SIGALRM)."""


# Whether the budget may cut the hook short now: only while it waits on stdin and while it
# starts a background sync, never while it writes the event. Process state by nature: the
# alarm is the process's.
_cuttable = [False]


def _out_of_time(signum: int, frame: object) -> None:
    if _cuttable[0]:
        _cuttable[0] = False
        raise _OutOfTime


def _start_budget(seconds: float) -> None:
    """From now until `_end_budget`, `_OutOfTime` is raised once ``seconds`` have passed."""
    _cuttable[0] = True
    try:
        _signal.setitimer(_signal.ITIMER_REAL, seconds)
    except (OSError, ValueError):  # no timer here: nothing cuts the hook short
        _cuttable[0] = False


def _end_budget() -> None:
    """The budgeted step is done: the alarm may still fire, but it cuts nothing now. Call it
    as the last statement of the ``try`` that catches `_OutOfTime`: an alarm that comes
    before the flag is cleared is caught there, one that comes after does nothing."""
    _cuttable[0] = False
    try:
        _signal.setitimer(_signal.ITIMER_REAL, 0)
    except (OSError, ValueError):
        pass


def _after_the_event(signum: int, frame: object) -> None:
    """A deferred signal: the hook finishes recording, then exits as it would have."""


def main(argv: list[str] | None = None) -> int:
    """Record the payload; always 0. ``--help`` prints the usage on stderr (a hook's stdout
    stays empty whatever happens: some agents read it as a verdict) and records nothing."""
    args = sys.argv[1:] if argv is None else argv
    if "-h" in args or "--help" in args:
        try:
            from ._tools._registry import names

            sys.stderr.write(USAGE.format(sources=", ".join(names())))
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
    except (OSError, ValueError):
        pass
    try:
        _guarded(argv)
    except BaseException:  # noqa: BLE001, S110 - even _OutOfTime racing the guard's logging
        pass
    finally:
        _end_budget()


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
    from ._tools._registry import source_named

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
    """Read the payload (within the budget), write its event (whatever the time: an event is
    never abandoned half-written), then start a background sync (within a budget again)."""
    source, event, include, payload = parse(argv)
    given = os.environ.pop(PAYLOAD_VARIABLE, None)  # taken once: the sync never inherits it
    if payload is None:
        raw, size, cut = read_stdin()
        if size == 0 and given is not None:  # nothing on stdin: the caller's private payload
            payload = given
    if payload is not None:
        raw, cut = payload.encode("utf-8", "surrogateescape"), ""
        size = len(raw)
    from ._config import load_settings

    settings = load_settings(short_lived=True)  # not strict: a bad value is logged, skipped
    if settings.disabled:
        return
    from ._oneshot import record, sync_in_background

    name, props = _mapped(source, raw, size, cut, event=event, settings=settings,
                          include_content=include or settings.include_content)
    event_id, _ = record(settings, name, props, context={"source": source}, start_sync=False)
    if event_id is None:
        return  # counted in drops.json, with a warning
    try:
        _start_budget(HOOK_SYNC_BUDGET_S)
        sync_in_background(settings)
        _end_budget()
    except _OutOfTime:  # the event is on disk: the next hook or sync delivers it
        pass


def _mapped(source: str, raw: bytes, size: int, cut: str, *, event: str | None,
            settings: Settings, include_content: bool) -> tuple[str, dict[str, Any]]:
    """The event a payload makes, whatever it is: one too large to read, cut off, not JSON,
    or one our mapping fails on (a bug of ours) makes an ``invalid_payload`` event that says
    what was wrong and how large it was."""
    invalid = event or f"{source.replace('-', '_')}.invalid_payload"
    if size > HOOK_MAX_STDIN:
        return invalid, {"payload_error": f"payload is over {HOOK_MAX_STDIN >> 20} MiB: "
                                          "not read", "payload_bytes": size}
    from ._tools._mapping import to_event
    from ._tools._registry import load

    try:
        key = None
        if settings.hash_paths:  # the key stays in the cache; only the hashes leave it
            from ._cache._identity import path_key

            key = path_key(settings.cache_root)
        name, props = to_event(load(source), raw, include_content=include_content,
                               event=event, hash_key=key)
    except Exception as exc:  # noqa: BLE001 - a bug of ours must not cost the event
        from . import _log

        _log.exception("mapping a %s payload failed", source)
        return invalid, {"payload_error": f"the payload could not be mapped "
                                          f"({type(exc).__name__})", "payload_bytes": size}
    if cut and "payload_error" in props:
        props["payload_error"] = f"{props['payload_error']} ({cut})"
    return name, props


def read_stdin() -> tuple[bytes, int, str]:
    """stdin until it is closed, within the hook's budget; nothing from a terminal. Returns
    what was kept (up to ``HOOK_MAX_STDIN``), how many bytes came in all, and why it may be
    cut short ("" when stdin was read to its end). When the budget runs out, what the agent
    has already written is still taken, without waiting for more."""
    stdin = sys.stdin
    if stdin is None or stdin.isatty():
        return b"", 0, ""
    stream: io.BufferedReader = stdin.buffer  # type: ignore[assignment]  # read1 is there
    chunks: list[bytes] = []
    size = 0
    cut = ""
    try:
        _start_budget(HOOK_BUDGET_S)
        while True:
            chunk = stream.read1(1 << 16)  # one read: an alarm never loses what it read
            if not chunk:
                break
            if size < HOOK_MAX_STDIN:
                chunks.append(chunk)
            size += len(chunk)
        _end_budget()
    except _OutOfTime:
        cut = f"stdin was still open after {HOOK_BUDGET_S:g} s"
        try:
            os.set_blocking(stream.fileno(), False)
            while True:  # what is there already, without waiting
                chunk = stream.read1(1 << 16)
                if not chunk:
                    break
                if size < HOOK_MAX_STDIN:
                    chunks.append(chunk)
                size += len(chunk)
        except (OSError, ValueError):  # not a real descriptor, or closed meanwhile
            pass
    return b"".join(chunks), size, cut
