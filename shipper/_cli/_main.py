"""The ``shipper`` command line. ``main(argv) -> int`` is the whole of it.

``hook`` and ``emit`` are the hot path: their arguments are parsed by hand (argparse costs
more than the rest of the hook together), they import only what recording to disk needs,
never httpx, asyncio or typing, and ``hook`` prints nothing and exits 0 whatever happens.
"""

from __future__ import annotations

import os
import sys

from .. import _log
from .._config import Settings, load_settings
from .._errors import ConfigError
from .._guard import never_raises
from .._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any



class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:  # exit 2 through main, not SystemExit
            raise _UsageError(f"{self.prog}: {message}")

    quiet = _Parser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true",
                       help="no warnings on stderr (and, for sync, no summary)")
    parser = _Parser(prog="shipper", description="Offline-first event shipper.",
                     parents=[quiet])
    parser.add_argument("-V", "--version", action="version", version=f"shipper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = sub.add_parser(name, help=text, parents=[quiet])
        return made

    emit = command("emit", "record one event")
    emit.add_argument("event")
    emit.add_argument("-p", "--property", action="append", default=[], metavar="KEY=VALUE",
                      help="a property (VALUE parsed as JSON when it is JSON)")
    emit.add_argument("--json", dest="json_props", metavar="OBJECT",
                      help="properties as one JSON object")
    emit.add_argument("--print-id", action="store_true", help="print the event id")

    hook = sub.add_parser("hook", help="record an agent hook payload read from stdin")
    hook.add_argument("--source", default="generic",
                      choices=["claude-code", "cursor", "codex", "gemini", "generic"])
    hook.add_argument("--event", help="event name (default: from the payload)")
    hook.add_argument("--include-content", action="store_true", default=None,
                      help="also ship prompts, file contents, commands and output")
    hook.add_argument("payload", nargs="?", help="the payload as an argument (Codex notify)")

    sync = command("sync", "deliver the disk cache now")
    sync.add_argument("--timeout", type=float, metavar="S")
    sync.add_argument("--json", action="store_true")
    sync.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    sync.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)

    status = command("status", "what is pending, and why")
    status.add_argument("--json", action="store_true")

    prune = command("prune", "apply the cache limits now")
    prune.add_argument("--max-age", type=float, metavar="DAYS")
    prune.add_argument("--max-size", type=float, metavar="MB")
    prune.add_argument("--dry-run", action="store_true")
    prune.add_argument("--json", action="store_true")

    requeue = command("requeue", "move dead-lettered events back to pending")
    requeue.add_argument("--dry-run", action="store_true")
    requeue.add_argument("--json", action="store_true")

    command("doctor", "check configuration, cache folder and endpoint")
    demo = command("demo", "see shipper work with a local collector")
    demo.add_argument("--events", type=int, default=5, help=argparse.SUPPRESS)

    from ._install import add_hooks_parser

    add_hooks_parser(sub, [quiet])

    serve = command("serve", "run a local collector")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8053)
    serve.add_argument("--out", default="events.jsonl", metavar="FILE")
    serve.add_argument("--api-key-file", metavar="FILE",
                       help="require this key (Authorization: Bearer); or set "
                            "SHIPPER_SERVE_API_KEY (never on the command line: ps shows it)")
    serve.add_argument("--control", action="store_true",
                       help="enable /_control/ endpoints (fault injection, counters)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["hook"]:
        from .._hook import main as hook

        return hook(args_list[1:])  # silent, always: a hook speaks to nobody
    quiet = "-q" in args_list or "--quiet" in args_list
    _log.show_on_stderr(not quiet)  # warnings on stderr; -q silences them
    try:
        return _main(args_list)
    finally:
        _log.show_on_stderr(False)  # main() may run in a process that goes on (tests)


def _main(args_list: list[str]) -> int:
    if args_list[:1] == ["emit"] and not {"-h", "--help"} & set(args_list):
        try:
            return _emit(args_list[1:])
        except _UsageError as exc:
            print(f"shipper emit: {exc}", file=sys.stderr)
            return 2
        except ConfigError as exc:
            print(f"shipper: configuration error: {exc}", file=sys.stderr)
            return 2
    try:
        args = _parser().parse_args(args_list)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    if args.command is None:
        _parser().print_help(sys.stderr)
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
        return result
    except ConfigError as exc:
        print(f"shipper: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _settings(**overrides: Any) -> Settings:
    return load_settings({k: v for k, v in overrides.items() if v is not None}, strict=True)


# -- recording ----------------------------------------------------------------------------


def _flag_value(argv: list[str], i: int, flag: str) -> tuple[str | None, int]:
    """The value of ``--flag VALUE`` or ``--flag=VALUE`` at ``argv[i]``, and the next index."""
    arg = argv[i]
    if arg.startswith(flag + "="):
        return arg[len(flag) + 1:], i + 1
    if i + 1 < len(argv):
        return argv[i + 1], i + 2
    raise _UsageError(f"{flag} needs a value")


def _emit(argv: list[str]) -> int:
    """``emit EVENT [-p KEY=VALUE ...] [--json OBJECT] [--print-id]``, parsed by hand."""
    from .._json import loads

    event: str | None = None
    props: dict[str, Any] = {}
    json_props: str | None = None
    print_id = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-p", "--property") or arg.startswith("--property="):
            item, i = _flag_value(argv, i, "--property" if arg != "-p" else "-p")
            key, sep, value = (item or "").partition("=")
            if not sep or not key:
                raise _UsageError(f"property {item!r} is not KEY=VALUE")
            try:
                props[key] = loads(value)
            except (ValueError, RecursionError):
                props[key] = value
            continue
        if arg == "--json" or arg.startswith("--json="):
            json_props, i = _flag_value(argv, i, "--json")
            continue
        if arg == "--print-id":
            print_id = True
        elif arg in ("-q", "--quiet"):
            pass  # warnings off: see main
        elif arg.startswith("-") and arg != "-":
            raise _UsageError(f"unknown option {arg}")
        elif event is None:
            event = arg
        else:
            raise _UsageError(f"unexpected argument {arg!r}")
        i += 1
    if event is None:
        raise _UsageError("usage: shipper emit EVENT [-p KEY=VALUE ...] [--json OBJECT] "
                          "[--print-id]")
    if json_props is not None:
        try:
            loaded = loads(json_props)
        except (ValueError, RecursionError):
            loaded = None
        if not isinstance(loaded, dict):
            raise _UsageError("--json must be a JSON object")
        props = {**loaded, **props}
    from .._oneshot import record

    event_id, why = record(_settings(), event, props)
    if why:
        print(f"shipper emit: event not recorded: {why}", file=sys.stderr)
        return 1
    if print_id and event_id:
        print(event_id)
    return 0


# -- delivery -----------------------------------------------------------------------------


def _cmd_sync(args: argparse.Namespace) -> int:
    if args.background:
        from .._sync import background_sync

        background_sync(args.lock_fd)  # never raises: detached, the cache keeps everything
        return 0
    settings = _settings()
    if not settings.base_url:
        print("shipper sync: no endpoint is set (SHIPPER_ENDPOINT or endpoint in config.toml)",
              file=sys.stderr)
        return 2
    from .._sync import sync
    from ._progress import Progress

    progress = Progress(sys.stderr, enabled=not (args.quiet or args.json))
    result = sync(args.timeout, progress=progress.update)
    progress.done()
    if args.json:
        import json

        print(json.dumps(result.as_dict(), indent=2))
    elif not args.quiet:
        rate = result.delivered / result.seconds if result.seconds > 0 else 0.0
        line = (f"delivered {result.delivered} event(s) in {result.seconds:.1f} s "
                f"({rate:,.0f}/s); {result.pending_events} pending")
        if result.dead_lettered:
            line += f"; {result.dead_lettered} refused (dead letter)"
        if result.stopped_by:
            line += f"; stopped: {result.stopped_by}"
        if result.error:
            line += f"; {result.error}"
        print(line, file=sys.stderr)
    if result.error and "endpoint" in result.error:
        return 2
    return 0 if result.ok else 1


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from ._status import collect_status, render_status

    st = collect_status(_settings())
    print(json.dumps(st, indent=2) if args.json else render_status(st))
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    from .._cache._prune import prune
    from .._cache._spool import all_spools

    settings = _settings()
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
    from .._cache._spool import all_spools

    settings = _settings()
    moved: list[dict[str, Any]] = []
    total = 0
    for spool in all_spools(settings.cache_path):
        files, events = spool.requeue(dry_run=args.dry_run)
        if files:
            total += events
            moved.append({"kind": spool.about.get("kind"), "endpoint":
                          spool.about.get("endpoint"), "files": files, "events": events})
    if args.json:
        import json

        print(json.dumps({"dry_run": args.dry_run, "events": total, "destinations": moved},
                         indent=2))
        return 0
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {total} dead-lettered event(s) back to pending")
    for m in moved:
        where = f"{m['kind']} {m['endpoint']}" if m["kind"] else "recorded with no endpoint"
        print(f"  {where}: {m['events']} event(s) in {m['files']} file(s)")
    if total and not args.dry_run:
        print("they are sent by the next sync (`shipper sync`)")
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from ._doctor import doctor

    try:
        settings = _settings()
    except ConfigError as exc:
        print(f"shipper doctor\n  FIX   configuration: {exc}\n"
              "        -> fix or remove that value (see docs/configuration.md)\n"
              "1 thing(s) to fix")
        return 1
    return doctor(settings, sys.stdout)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    return demo(sys.stdout, events=args.events)


def _cmd_hooks(args: argparse.Namespace) -> int:
    from ._install import run

    return run(args, sys.stdout, sys.stderr)


def _cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._serve import make_server

    api_key = os.environ.get("SHIPPER_SERVE_API_KEY") or None
    if args.api_key_file:
        try:
            api_key = Path(args.api_key_file).read_text().strip() or None
        except OSError as exc:
            print(f"shipper serve: cannot read {args.api_key_file}: {exc.strerror}",
                  file=sys.stderr)
            return 2
    server = make_server(args.host, args.port, out=Path(args.out), api_key=api_key,
                         control=args.control)
    port = server.server_address[1]
    print(f"shipper collector listening on http://{args.host}:{port} "
          f"(events appended to {args.out}); Ctrl-C stops it", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
