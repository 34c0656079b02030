"""The ``shipper`` command line. ``main(argv) -> int`` is the whole of it.

``hook`` and ``emit`` are the hot path: their arguments are parsed by hand (argparse costs
more than the rest of the hook together), they import only what recording to disk needs,
never httpx, asyncio or typing, and ``hook`` prints nothing and exits 0 whatever happens.
"""

from __future__ import annotations

import os
import sys

from .. import _log
from .._config import UNKNOWN_KEY, Settings, load_settings
from .._errors import ConfigError
from .._guard import never_raises
from .._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import logging
    from collections.abc import Callable, Sequence
    from typing import Any


class _UsageError(Exception):
    """A usage error: its text is the usage line and ``shipper X: error: ...``."""


GLOBAL_FLAGS = ("-q", "--quiet", "--debug")  # before the command, or after it


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser, and each command's by name."""
    import argparse

    class _Parser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # no abbreviations: `--qui` is no -q (emit and hook are routed before parsing)
            kwargs.setdefault("allow_abbrev", False)
            super().__init__(*args, **kwargs)
            # the innermost parser that took part wins: its usage for unrecognized arguments
            self.set_defaults(_usage_parser=self)

        def error(self, message: str) -> Any:  # exit 2 through main, not SystemExit
            raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")

    # no defaults (SUPPRESS, filled in by _parse): a subcommand's would undo `shipper -q CMD`
    common = _Parser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no warnings on stderr (and, for sync, no summary)")
    common.add_argument("--debug", action="store_true",
                        help="debug logging on stderr for this command (the debug setting)")
    parser = _Parser(prog="shipper", description="Offline-first event shipper.",
                     parents=[common])
    parser.add_argument("-V", "--version", action="version", version=f"shipper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands: dict[str, argparse.ArgumentParser] = {}

    def command(name: str, text: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = sub.add_parser(name, help=text, parents=[common])
        commands[name] = made
        return made

    _emit_arguments(command("emit", "record one event"))

    from .._tools._registry import names

    hook = sub.add_parser("hook", help="record an agent hook payload read from stdin")
    hook.add_argument("--source", default="generic", choices=names(),
                      help="the tool whose payload this is (default: generic)")
    hook.add_argument("--event", help="event name (default: from the payload)")
    hook.add_argument("--include-content", action="store_true", default=None,
                      help="also ship prompts, file contents, commands and output")
    hook.add_argument("payload", nargs="?", help="the payload as an argument (Codex notify)")

    sync = command("sync", "deliver the disk cache now")
    sync.add_argument("--timeout", type=float, metavar="S",
                      help="give up after S seconds (what is left stays on disk, exit 1)")
    sync.add_argument("--json", action="store_true", help="the result as one JSON object")
    sync.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    sync.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)

    status = command("status", "what is pending, and why")
    status.add_argument("--json", action="store_true",
                        help="the status as one JSON object (keys in docs/operations.md)")

    prune = command("prune", "apply the cache limits now")
    prune.add_argument("--max-age", type=float, metavar="DAYS",
                       help="remove events older than this (default: max_age_days)")
    prune.add_argument("--max-size", type=float, metavar="MB",
                       help="remove the oldest events past this size (default: max_cache_mb)")
    prune.add_argument("--dry-run", action="store_true",
                       help="say what would be removed; remove nothing")
    prune.add_argument("--json", action="store_true", help="the result as one JSON object")

    requeue = command("requeue", "move dead-lettered events back to pending, or an earlier "
                                 "destination's events to the configured one")
    requeue.add_argument("--from", dest="source", metavar="DESTINATION",
                         help="an earlier destination (its URL, or the folder name `shipper "
                              "status` shows): move its pending and dead-lettered events to "
                              "the configured destination, ids unchanged")
    requeue.add_argument("--dry-run", action="store_true", help="say what would move; move "
                                                                "nothing")
    requeue.add_argument("--json", action="store_true", help="the result as one JSON object")

    doctor = command("doctor", "check configuration, cache folder and endpoint")
    doctor.add_argument("--json", action="store_true", help="the findings as one JSON object")
    demo = command("demo", "see shipper work with a local collector")
    demo.add_argument("--events", type=int, default=5, help=argparse.SUPPRESS)

    from ._hooks import add_hooks_parser

    add_hooks_parser(sub, [common])

    from ._configure import add_config_parser

    add_config_parser(sub, [common])

    _serve_arguments(command("serve", "run a local collector and viewer (a web page)"))
    _browse_arguments(command("events", "what a local shipper serve received"), events=True)
    _browse_arguments(command("sessions", "agent sessions a local shipper serve received"),
                      events=False)
    return parser, commands


def _emit_arguments(emit: argparse.ArgumentParser) -> None:
    """For --help and usage lines only: `_emit` parses emit's arguments by hand."""
    import argparse

    emit.add_argument("event", metavar="EVENT", help="the event name")
    emit.add_argument("-p", "--property", action="append", default=[], metavar="KEY=VALUE",
                      help="a property (VALUE parsed as JSON when it is JSON)")
    emit.add_argument("--props-json", dest="json_props", metavar="OBJECT",
                      help="properties as one JSON object (-p entries win over its keys)")
    # the old name, kept working but hidden: --json means "output as JSON" everywhere else
    emit.add_argument("--json", dest="json_props", help=argparse.SUPPRESS)
    emit.add_argument("--user-id", metavar="ID",
                      help="who did it (overrides the user_id setting for this event)")
    emit.add_argument("--print-id", action="store_true", help="print the event id")


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_port, default=8053,
                       help="the port to listen on (default: 8053; 0: any free one)")
    serve.add_argument("--db", metavar="FILE",
                       help="the store (SQLite; default: events.db in the user data folder)")
    serve.add_argument("--out", metavar="FILE", help="also append new events to this "
                                                     "JSON Lines file")
    serve.add_argument("--keep-days", type=_positive, metavar="N",
                       help="remove events older than N days (now, then hourly)")
    serve.add_argument("--api-key-file", metavar="FILE",
                       help="require this key (Authorization: Bearer); or set "
                            "SHIPPER_SERVE_API_KEY (never on the command line: ps shows it)")
    serve.add_argument("--control", action="store_true",
                       help="enable /_control/ endpoints (fault injection, counters)")


def _browse_arguments(parser: argparse.ArgumentParser, *, events: bool) -> None:
    if events:
        parser.add_argument("--source", metavar="S", help="only events from this source")
        parser.add_argument("--event", metavar="NAME", help="only events of this name")
        parser.add_argument("--session", metavar="ID", help="only this session's events")
        parser.add_argument("--tool", metavar="NAME", help="only this tool's events")
        parser.add_argument("--limit", type=int, default=50, metavar="N",
                            help="at most N events (default 50, at most 1000)")
        parser.add_argument("--follow", "-f", action="store_true",
                            help="then print new events as they arrive (Ctrl-C stops)")
    else:
        parser.add_argument("--limit", type=int, default=50, metavar="N",
                            help="at most N sessions (default 50, at most 1000)")
    parser.add_argument("--since", metavar="DURATION",
                        help="only what happened since: 15m, 2h, 7d, or a time")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--db", metavar="FILE",
                        help="read this store file instead of asking the serve at endpoint")


def _positive(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _port(text: str) -> int:
    import argparse

    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0: any free one)")
    return port


def _parse(args_list: list[str]) -> argparse.Namespace:
    """Parsed arguments; raises `_UsageError` (usage line and error) and SystemExit (for
    --help and --version)."""
    parser, _ = _parsers()
    args, extra = parser.parse_known_args(args_list)
    innermost: argparse.ArgumentParser = args._usage_parser
    del args._usage_parser
    args.quiet = getattr(args, "quiet", False)
    args.debug = getattr(args, "debug", False)
    if extra:  # said by the command that was given them, with its usage
        innermost.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    rest = _after_global_flags(args_list)
    if rest[:1] == ["hook"]:  # silent, always: a hook speaks to nobody (nor is `-q` for it)
        from .._hook import main as hook
        from .._hook import run

        if argv is None:  # the `shipper` process itself: nothing to do after the hook
            run(rest[1:])
        return hook(rest[1:])
    quiet = any(_is_quiet_flag(a) for a in args_list)
    _log.show_on_stderr(not quiet)  # warnings on stderr; -q silences them
    try:
        code = _main(args_list, rest)
        _flush_stdout()
        return code
    except BrokenPipeError:  # emit --print-id, --help: written outside _run_command
        return _reader_left()
    except OSError as exc:  # stdout on a full disk, say: what was recorded stays recorded
        print(f"shipper: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        _log.show_on_stderr(False)  # main() may run in a process that goes on (tests)
        _warnings.stop()


def _is_global_flag(arg: str) -> bool:
    return arg in GLOBAL_FLAGS or (len(arg) > 2 and arg[0] == "-" and set(arg[1:]) == {"q"})


def _is_quiet_flag(arg: str) -> bool:
    """``-q``, ``-qq``..., ``--quiet``: the global flags but ``--debug``."""
    return _is_global_flag(arg) and arg != "--debug"


def _after_global_flags(args_list: list[str]) -> list[str]:
    """The arguments from the command on (``-q``, ``-qq`` and ``--debug`` may come before
    it; the parsers take no other spelling: no abbreviations)."""
    i = 0
    while i < len(args_list) and _is_global_flag(args_list[i]):
        i += 1
    return args_list[i:]


def _main(args_list: list[str], rest: list[str]) -> int:
    """Run the command; ``rest`` is ``args_list`` from the command on."""
    if rest[:1] == ["emit"] and not {"-h", "--help"} & set(rest):
        flags = args_list[:len(args_list) - len(rest)]
        try:
            return _emit(rest[1:], quiet=any(_is_quiet_flag(f) for f in flags),
                         debug="--debug" in flags)
        except _UsageError as exc:
            print(_emit_usage_error(str(exc)), file=sys.stderr)
            return 2
        except ConfigError as exc:
            print(f"shipper: configuration error: {exc}", file=sys.stderr)
            return 2
    try:
        args = _parse(args_list)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    if args.command is None:
        _parsers()[0].print_help(sys.stderr)
        return 2
    return _run_command(args)


def _internal_error(args: argparse.Namespace) -> int:
    print(f"shipper {args.command}: internal error (a bug in shipper); nothing was lost from "
          "the cache. Please report it with the output of `shipper doctor`.", file=sys.stderr)
    return 1


@never_raises("shipper command", 1, recover=_internal_error)
def _run_command(args: argparse.Namespace) -> int:
    handler = globals()[f"_cmd_{args.command}"]
    try:
        result: int = handler(args)
        _flush_stdout()
        return result
    except ConfigError as exc:
        print(f"shipper: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `shipper status | head`: the reader left; nothing went wrong
        return _reader_left()


def _flush_stdout() -> None:
    """Flush here, where a closed pipe is caught, not at interpreter exit (no stdout at
    all, as with ``>&-``, is nothing to flush)."""
    if sys.stdout is not None:
        sys.stdout.flush()


def _reader_left() -> int:
    """Point stdout at /dev/null, so the interpreter's flush at exit cannot fail again; the
    exit status a shell reports for a command that SIGPIPE ended."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to flush
        pass
    return 141


def _settings_for(args: argparse.Namespace) -> Settings:
    return _settings(quiet=args.quiet, debug=args.debug)


def _settings(*, quiet: bool, debug: bool = False, strict: bool = True, doctor: bool = False,
              **overrides: Any) -> Settings:
    """This command's settings: ``strict``, a bad value is a configuration error (exit 2);
    ``debug`` from --debug. What resolving them warns about is said once on stderr however
    often the command resolves them, a misspelt config key with the key it most likely
    meant; ``doctor`` reports unknown keys itself, so they are not warned about."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if debug:
        values["debug"] = True
    if "logging" not in sys.modules:
        # The usual case: nothing to warn about, and a command that logs nothing must not
        # pay for importing logging to filter it. Resolve them quietly first; if that logged
        # anything, resolve them again below, through the filter.
        _log.show_on_stderr(False)
        try:
            settings = load_settings(values, strict=strict)
        except ConfigError:
            if "logging" not in sys.modules:
                raise
        else:
            if "logging" not in sys.modules:
                return settings
        finally:
            _log.show_on_stderr(not quiet)
    _warnings.start(unknown_keys=not doctor)
    return load_settings(values, strict=strict)


class _Warnings:
    """A filter on the ``shipper`` logger while a command runs."""

    def __init__(self) -> None:
        self.on = False
        self.unknown_keys = True
        self.seen: set[str] = set()

    def start(self, *, unknown_keys: bool) -> None:
        import logging

        self.unknown_keys = unknown_keys
        if not self.on:
            logging.getLogger("shipper").addFilter(self.filter)
            self.on = True

    def stop(self) -> None:
        """Back to the start, for the next command in this process."""
        if self.on:
            sys.modules["logging"].getLogger("shipper").removeFilter(self.filter)
        self.on = False
        self.seen.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        """Each warning once; none about unknown keys for doctor (it reports them)."""
        if not self.unknown_keys and str(record.msg).startswith(UNKNOWN_KEY):
            return False
        if record.levelno < 30:  # logging.WARNING: --debug lines repeat, and must all show
            return True
        text = record.getMessage()
        if text in self.seen:
            return False
        self.seen.add(text)
        return True


_warnings = _Warnings()


# -- recording ----------------------------------------------------------------------------


def _flag_value(argv: list[str], i: int, flag: str) -> tuple[str, int]:
    """`shipper._hook.flag_value`, with a missing value a usage error."""
    from .._hook import flag_value

    value, after = flag_value(argv, i, flag)
    if value is None:
        raise _UsageError(f"argument {flag}: expected one argument")
    return value, after


def _emit_usage_error(message: str) -> str:
    """The usage line of ``emit`` and the error, as argparse says them for other commands
    (built only when there is an error: argparse is not on emit's path)."""
    try:
        _parsers()[1]["emit"].error(message)
    except _UsageError as exc:
        return str(exc)
    return message  # pragma: no cover - error() always raises


def _json_or_text(text: str) -> Any:
    """``text`` parsed as JSON where it is JSON, else the text itself. ``NaN``,
    ``Infinity`` and numbers too large for a float are not JSON: they stay text (parsed,
    they would be sent as null)."""
    from .._json import loads

    try:
        value = loads(text)
    except (ValueError, RecursionError):
        return text
    return value if _all_finite(value) else text


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value - value == 0  # false for inf and nan, without importing math
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True


def _emit_parse(argv: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """emit's arguments, parsed by hand into ``options`` (``quiet`` and ``debug`` given):
    ``event``, ``props``, ``user``, ``print_id``."""
    props: dict[str, Any] = {}
    json_props: str | None = None
    json_flag = "--props-json"
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag = arg.partition("=")[0]
        if arg == "-p" or flag == "--property":
            item, i = _flag_value(argv, i, flag)
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise _UsageError(f"property {item!r} is not KEY=VALUE")
            props[key] = _json_or_text(value)
        elif flag in ("--props-json", "--json"):
            json_flag = flag
            json_props, i = _flag_value(argv, i, flag)
        elif flag == "--user-id":
            options["user"], i = _flag_value(argv, i, flag)
            if not options["user"].strip():
                raise _UsageError("argument --user-id: must not be empty")
        else:
            _emit_word(arg, options)
            i += 1
    if "event" not in options:
        raise _UsageError("the following arguments are required: EVENT")
    if json_props is not None:
        loaded = _json_or_text(json_props)
        if not isinstance(loaded, dict):
            raise _UsageError(f"argument {json_flag}: must be a JSON object")
        props = {**loaded, **props}
    options["props"] = props
    return options


def _emit_word(arg: str, options: dict[str, Any]) -> None:
    """One of emit's arguments that takes no value: a switch, or the event's name."""
    if arg == "--print-id":
        options["print_id"] = True
    elif _is_quiet_flag(arg):
        options["quiet"] = True  # and warnings are off: see main
    elif arg == "--debug":
        options["debug"] = True
    elif (arg.startswith("-") and arg != "-") or "event" in options:
        raise _UsageError(f"unrecognized arguments: {arg}")
    else:
        options["event"] = arg


def _emit(argv: list[str], *, quiet: bool = False, debug: bool = False) -> int:
    """``emit EVENT [-p KEY=VALUE ...] [--props-json OBJECT] [--user-id ID] [--print-id]``
    (``--json`` is the old name of ``--props-json``; ``-q`` and ``--debug`` as anywhere)."""
    given = _emit_parse(argv, {"quiet": quiet, "debug": debug})
    from .._oneshot import record

    event_id, why = record(_settings(quiet=given["quiet"], debug=given["debug"]),
                           given["event"], given["props"], user=given.get("user"))
    if why:
        print(f"shipper emit: event not recorded: {why}", file=sys.stderr)
        return 1
    if given.get("print_id") and event_id:
        print(event_id)
    return 0


# -- delivery -----------------------------------------------------------------------------


def _cmd_sync(args: argparse.Namespace) -> int:
    if args.background:
        from .._sync import background_sync

        background_sync(args.lock_fd)  # never raises: detached, the cache keeps everything
        return 0
    settings = _settings_for(args)
    if settings.destination_identity is None:  # the console needs no endpoint
        print("shipper sync: no endpoint is set (SHIPPER_ENDPOINT or endpoint in config.toml)",
              file=sys.stderr)
        return 2
    from .._sync import sync
    from ._progress import Progress

    progress = Progress(sys.stderr, enabled=not (args.quiet or args.json))
    overrides: dict[str, Any] = {"debug": True} if args.debug else {}
    result = sync(args.timeout, progress=progress.update, **overrides)
    progress.done()
    if args.json:
        import json

        print(json.dumps(result.as_dict(), indent=2))
    elif not args.quiet:
        rate = result.delivered / result.seconds if result.seconds > 0 else 0.0
        line = (f"delivered {result.delivered} event(s) in {result.seconds:.1f} s "
                f"({rate:,.0f}/s); {result.pending_events} pending")
        if result.by_other_sync or result.dead_lettered_by_other_sync:
            line += (f"; a sync running beside this one delivered {result.by_other_sync}"
                     + (f" and dead-lettered {result.dead_lettered_by_other_sync}"
                        if result.dead_lettered_by_other_sync else "") + " meanwhile")
        if result.failed_files:
            line += (f"; delivering {result.failed_files} file(s) failed on a fault of "
                     "shipper's own (see the log): they are left for later, and moved to "
                     "quarantine after repeated failures")
        if result.dead_lettered:
            line += f"; {result.dead_lettered} refused (dead letter)"
        if result.stopped_by:
            line += f"; stopped: {result.stopped_by}"
        if result.error:
            line += f"; {result.error}"
        if result.other_destination_events:
            line += (f"; {result.other_destination_events} more wait for a destination that "
                     f"is not configured now ({', '.join(result.other_destinations)}): "
                     f"`shipper requeue --from {result.other_destinations[0]}` moves them here")
        print(line, file=sys.stderr)
    if result.error and "endpoint" in result.error:
        return 2
    return 0 if result.ok else 1


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from ._status import collect_status, render_status

    st = collect_status(_settings_for(args))
    print(json.dumps(st, indent=2) if args.json else render_status(st))
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    from .._cache._prune import prune
    from .._cache._spool import all_spools

    settings = _settings_for(args)
    result = prune(
        all_spools(settings.cache_path),
        max_age_days=settings.max_age_days if args.max_age is None else args.max_age,
        max_cache_mb=settings.max_cache_mb if args.max_size is None else args.max_size,
        dry_run=args.dry_run,
    )
    if args.json:
        import json

        print(json.dumps({**result._asdict(), "dry_run": args.dry_run}, indent=2))
    else:
        verb = "would remove" if args.dry_run else "removed"
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in result.by_reason.items())
        print(f"{verb} {result.events} event(s) in {result.files} file(s), "
              f"{result.bytes / 1024:.1f} KiB" + (f" ({reasons})" if reasons else ""))
        for path in result.paths:
            print(f"  {path}")
    return 0


def _cmd_requeue(args: argparse.Namespace) -> int:
    from ._requeue import requeue

    return requeue(_settings_for(args), args.source, dry_run=args.dry_run, as_json=args.json,
                   out=sys.stdout, err=sys.stderr)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from ._doctor import doctor

    return doctor(lambda: _settings(quiet=args.quiet, debug=args.debug, doctor=True),
                  sys.stdout, as_json=args.json)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    _settings(quiet=args.quiet, strict=False)  # warns, once, about the user's configuration
    return demo(sys.stdout, events=args.events)


def _cmd_hooks(args: argparse.Namespace) -> int:
    from ._hooks import run

    settings = _settings(quiet=args.quiet, strict=False)  # likewise
    return run(args, sys.stdout, sys.stderr, settings)


def _cmd_config(args: argparse.Namespace) -> int:
    from ._configure import run

    return run(args, lambda: _settings_for(args), sys.stdout, sys.stderr, sys.stdin)


def _cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._serve import cannot_listen, make_server
    from ._store import StoreError, default_path

    api_key = os.environ.get("SHIPPER_SERVE_API_KEY") or None
    if args.api_key_file:
        try:
            api_key = Path(args.api_key_file).read_text().strip() or None
        except OSError as exc:
            print(f"shipper serve: cannot read {args.api_key_file}: {exc.strerror}",
                  file=sys.stderr)
            return 2
    db = Path(args.db).expanduser() if args.db else default_path()
    out = Path(args.out).expanduser() if args.out else None
    try:
        server = make_server(args.host, args.port, db=db, out=out, api_key=api_key,
                             control=args.control, debug=sys.stderr if args.debug else None)
    except StoreError as exc:
        print(f"shipper serve: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the port is taken, the address is not ours, no permission
        print(f"shipper serve: {cannot_listen(args.host, args.port, exc)}", file=sys.stderr)
        return 1
    if args.keep_days:
        server.keep_days(args.keep_days)
    port = server.server_address[1]
    also = f" and appended to {out}" if out else ""
    print(f"shipper serve: http://{args.host}:{port}/ shows what arrives; events stored in "
          f"{db}{also}; Ctrl-C stops it", file=sys.stderr, flush=True)
    if server.reads_need_key and api_key is None:
        print("shipper serve: listening beyond loopback without an API key: anyone who can "
              "reach this port can send events, and reading them is refused until "
              "SHIPPER_SERVE_API_KEY (or --api-key-file) is set", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _browse_source(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """How ``events`` and ``sessions`` ask: the store given with --db, or the serve at the
    configured endpoint; None (said on stderr) when there is neither."""
    from pathlib import Path

    from ._browse import Unreachable, local, remote

    try:
        if args.db:
            return local(Path(args.db).expanduser())
        settings = _settings_for(args)
        if not settings.base_url:
            print(f"shipper {args.command}: no endpoint is set: point endpoint at a "
                  "`shipper serve`, or read a store file with --db FILE", file=sys.stderr)
            return None
        return remote(settings.base_url, settings.api_key, settings.timeout)
    except Unreachable as exc:
        print(f"shipper {args.command}: {exc}", file=sys.stderr)
        return None


def _browse_params(args: argparse.Namespace) -> dict[str, Any] | None:
    from ._api import BadRequest, parse_time

    if not 1 <= args.limit <= 1000:
        print(f"shipper {args.command}: --limit must be from 1 to 1000", file=sys.stderr)
        return None
    params: dict[str, Any] = {"limit": args.limit}
    for key in ("source", "event", "session", "tool"):
        if getattr(args, key, None):
            params[key] = getattr(args, key)
    if args.since:
        try:
            params["since"] = parse_time(args.since)
        except BadRequest as exc:
            print(f"shipper {args.command}: --since: {exc}", file=sys.stderr)
            return None
    return params


def _cmd_events(args: argparse.Namespace) -> int:
    from ._browse import events

    return _browse(args, lambda ask, params: events(ask, params, sys.stdout, as_json=args.json,
                                                    follow=args.follow))


def _cmd_sessions(args: argparse.Namespace) -> int:
    from ._browse import sessions

    return _browse(args, lambda ask, params: sessions(ask, params, sys.stdout,
                                                      as_json=args.json))


def _browse(args: argparse.Namespace, show: Callable[[Any, Any], int]) -> int:
    """``events`` or ``sessions``: ``show`` what the serve (or the store) answers."""
    from ._browse import Unreachable

    params = _browse_params(args)
    if params is None:
        return 2
    source = _browse_source(args)
    if source is None:
        return 1
    ask, close = source
    try:
        return show(ask, params)
    except Unreachable as exc:
        print(f"shipper {args.command}: {exc}", file=sys.stderr)
        return 1
    finally:
        close()
