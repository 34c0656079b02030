"""``shipper hooks install|uninstall|status|list``: shipper's hooks in each tool's own config.

The tools are those of the registry (`shipper._tools._registry`); what goes where is each
tool's own (its ``installer()``), and planning, writing and backing up is
`shipper._tools._install`. This module is the command: it reads the arguments, asks the
tool for a plan, and carries it out or shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .._config import origin
from .._errors import ConfigError
from .._kinds import CONSOLE, public_url
from .._tools import _install
from .._tools._registry import installable, load, names

if TYPE_CHECKING:
    import argparse

    from .._config import Settings
    from .._tools._install import Installer, Plan


def _installer(tool: str) -> Installer:
    made: Installer = load(tool).installer()
    return made


def _leftover_backups(plan: Plan) -> list[Path]:
    """The backups of the files an uninstall touched that still hold shipper's hooks (a
    copy of the file as it was: restoring one would bring them back)."""
    found = []
    for change in plan.changes:
        for backup in _install.backups_of(change.path):
            try:
                text = backup.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if _install.mentions_shipper_hook(text):
                found.append(backup)
    return found


def _carry_out(tool: str, action: str, plan: Plan, *, dry_run: bool, out: TextIO,
               err: TextIO) -> int:
    """Print the diff (dry run) or back up and write each changed file, and say so."""
    changes = plan.pending()
    if not changes:
        print(plan.unchanged, file=out)
        for note in plan.remarks():
            print(note, file=out)
        return 0
    if dry_run:
        for change in changes:
            out.write(_install.diff(change))
        print(f"{tool}: dry run; nothing written", file=out)
        for note in plan.remarks():
            print(note, file=out)
        return 0
    backups = []
    for change in changes:
        try:
            backup = _install.replace(change)
        except OSError as exc:
            print(f"{tool}: cannot write {change.path}: {exc.strerror or exc}", file=err)
            return 1
        if backup is not None:
            backups.append(backup)
    lines = [*plan.done, *[f"{tool}: the previous file is kept as {b}" for b in backups],
             *plan.remarks()]
    if action == "uninstall":
        lines += [f"{tool}: {b} still holds shipper's hooks (a copy from before); restoring "
                  "it brings them back: delete it once you no longer need it"
                  for b in _leftover_backups(plan)]
    for line in lines:
        print(line, file=out)
    return 0


def _status(tools: tuple[str, ...], where: _install.Where, out: TextIO) -> int:
    """One line per tool and scope: installed (how many events, up to date or not) and
    where, or not; then any note (hooks turned off, a notify of the user's)."""
    for tool in tools:
        installer = _installer(tool)
        for scope in installer.scopes:
            label = f"{tool} ({scope})"
            try:
                plan = installer.plan("install", scope, where)
            except _install.Refused as exc:
                print(f"{label}: {exc.message.removesuffix('; left it untouched')}", file=out)
                continue
            if plan.found is None:
                print(f"{label}: not installed ({plan.where})", file=out)
                for note in plan.kept:  # a command of the user's that runs the hook
                    print(note, file=out)
                continue
            scope_flag = f" --scope {scope}" if scope != installer.scopes[0] else ""
            fresh = plan.state or ("up to date" if not plan.pending() else
                                   f"out of date: run `shipper hooks install {tool}{scope_flag}`")
            print(f"{label}: installed, {plan.found}, {fresh} ({plan.where})", file=out)
            for note in plan.remarks():
                print(note, file=out)
    return 0


def _list(out: TextIO) -> int:
    """Every tool: its name, what it is, and what its hooks record."""
    tools = [load(name) for name in names()]
    width = max(len(tool.NAME) for tool in tools)
    for tool in tools:
        how = ("" if hasattr(tool, "installer")
               else f" (`shipper hook --source {tool.NAME}`; nothing to install)")
        print(f"{tool.NAME:<{width}}  {tool.TITLE}: {tool.RECORDS}{how}", file=out)
    return 0


def hooks_command(action: str, tool: str | None, *, scope: str | None = None,
                  dry_run: bool = False, out: TextIO, err: TextIO, home: Path | None = None,
                  cwd: Path | None = None) -> int:
    """``shipper hooks ACTION [TOOL]``: ``install`` or ``uninstall`` one tool's hooks in
    ``scope`` ("user" or "project"; None: the tool's first, project for git only),
    ``status`` of every tool, or ``list`` them. Exit 0 done or nothing to do, 1 could not
    (the files are left untouched), 2 usage."""
    where = _install.Where(Path(home or Path.home()).absolute(),
                           Path(cwd or Path.cwd()).absolute())
    tools = installable()
    if tool is not None and tool not in tools:
        print(f"shipper hooks: unknown tool {tool!r}; one of: {', '.join(tools)}", file=err)
        return 2
    if action == "list":
        return _list(out)
    if action == "status":
        return _status((tool,) if tool else tools, where, out)
    if action not in ("install", "uninstall"):
        print(f"shipper hooks: unknown action {action!r}; install, uninstall, status or list",
              file=err)
        return 2
    if tool is None:
        print(f"shipper hooks {action}: which tool? one of: {', '.join(tools)}", file=err)
        return 2
    installer = _installer(tool)
    scope = scope or installer.scopes[0]
    if scope not in installer.scopes:
        print(f"{tool}: no {scope!r} scope; {installer.scope_note}", file=err)
        return 2
    try:
        plan = installer.plan(action, scope, where)
        return _carry_out(tool, action, plan, dry_run=dry_run, out=out, err=err)
    except _install.Refused as exc:
        print(f"{tool}: {exc.message}", file=err)
        return exc.code
    except OSError as exc:  # a folder that cannot be made, a backup that cannot be written
        print(f"{tool}: {exc.strerror or exc}"
              + (f": {exc.filename}" if exc.filename else ""), file=err)
        return 1


# -- argparse -------------------------------------------------------------------------------


def add_hooks_parser(subparsers: argparse._SubParsersAction[Any],
                     parents: list[argparse.ArgumentParser]) -> None:
    """Add ``hooks install|uninstall TOOL [--scope S] [--dry-run]``, ``hooks status
    [TOOL]`` and ``hooks list``."""
    tools = installable()
    hooks = subparsers.add_parser(
        "hooks", parents=parents, help="install shipper's hooks into an agent or git",
        description="Merge shipper's hooks into a tool's own configuration (keeping yours), "
                    "take them out again, or see where they are.")
    actions = hooks.add_subparsers(dest="hooks_action", metavar="ACTION")
    actions.required = True
    for name, text in (("install", "add shipper's hooks (changes nothing if they are there)"),
                       ("uninstall", "take shipper's hooks out, and only them")):
        command = actions.add_parser(name, parents=parents, help=text)
        command.add_argument("tool", choices=tools, metavar="TOOL", help=" | ".join(tools))
        command.add_argument("--scope", choices=_install.SCOPES,
                             help="user: your home's config (the default); project: the "
                                  "current folder's (git: project only, codex: user only)")
        command.add_argument("--dry-run", action="store_true",
                             help="print the change as a diff; write nothing")
    status = actions.add_parser("status", parents=parents,
                                help="where shipper's hooks are installed")
    status.add_argument("tool", nargs="?", choices=tools, metavar="TOOL",
                        help=" | ".join(tools) + " (default: all)")
    actions.add_parser("list", parents=parents, help="the tools, and what each records")


def where_events_go(tool: str, settings: Settings, where: str) -> str:
    """The line ``hooks install`` ends with: where the hooks' events will go, or that they
    wait on disk until an endpoint is set, and how to set one. ``where`` says where the
    endpoint comes from (`shipper._config.origin`)."""
    if settings.disabled:
        return (f"{tool}: shipper is disabled here (DO_NOT_TRACK or `disabled`): the hooks "
                "record nothing")
    if settings.destination == CONSOLE:
        return (f"{tool}: destination console: events are sent nowhere; `shipper sync` "
                "prints them on stderr")
    if not settings.endpoint:
        return (f"{tool}: no endpoint is set: events wait on disk until one is: "
                "`shipper config set endpoint URL`")
    line = (f"{tool}: events go to {public_url(settings.endpoint)} (destination "
            f"{settings.destination})")
    if where.startswith("SHIPPER_") or where.startswith("OTEL_"):
        line += (f"; the endpoint comes from {where} in this shell: the agent needs it too, "
                 "or `shipper config set endpoint URL` for every program")
    return line


def run(args: argparse.Namespace, out: TextIO, err: TextIO,
        settings: Settings | None = None) -> int:
    """The ``hooks`` command from parsed arguments; ``settings``, this command's, say where
    the events of the hooks ``install`` installed will go."""
    code = hooks_command(args.hooks_action, getattr(args, "tool", None),
                         scope=getattr(args, "scope", None),
                         dry_run=getattr(args, "dry_run", False), out=out, err=err)
    if code == 0 and args.hooks_action == "install" and settings is not None:
        try:
            where = origin("endpoint")
        except ConfigError:
            where = "default"
        print(where_events_go(args.tool, settings, where), file=out)
    return code
