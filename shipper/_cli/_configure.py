"""``shipper config set|get|list|unset``: the config file, written and read from the shell.

``set`` and ``unset`` change one key of config.toml with tomlkit, so the user's comments,
order and layout stay as they were; the value is checked as any setting is (a bad one is
refused, and nothing is written), the file is replaced atomically and stays private (0600
when shipper makes it). A table key takes ``NAME=VALUE,NAME2=VALUE2`` whole, or one entry
as ``KEY.NAME`` (``properties.team``, ``headers.X-Token``). ``get`` and ``list`` show what
a program would use, wherever it comes from (keyword > environment > file > default).

No secret is ever printed: the API key and header values show as ``<hidden>``, an
endpoint's credentials and query values are hidden (`Settings.redact`). Nor is one left
readable by others: writing one makes the file 0600 (and says so where it was not), and
``set KEY -`` reads the value from stdin (a prompt without echo on a terminal), out of
``ps`` and the shell's history.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, TextIO

from .._config import (
    KEYS,
    Settings,
    closest_key,
    coerce_setting,
    config_file,
    origin,
)
from .._errors import ConfigError
from .._json import loads

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

HIDDEN = "<hidden>"
TABLES = tuple(key for key, kind in KEYS.items() if kind is dict)
SECRET_TABLES = ("headers",)  # each value may be a credential
ENDPOINTS = ("endpoint", "otlp_logs_endpoint")  # secret with credentials or a query
PRIVATE = 0o600


class _Refused(Exception):
    """Said to the user, exit 1: an unknown key, a bad value, an unwritable file."""


def _split(name: str) -> tuple[str, str | None]:
    """``KEY`` or ``TABLE.NAME``, checked: the setting and the entry of its table (or None).
    An unknown key is refused with the one most likely meant."""
    key, dot, entry = name.partition(".")
    if key in KEYS and (not dot or (key in TABLES and entry)):
        return key, entry if dot else None
    if key in KEYS:
        raise _Refused(f"{key} is not a table: write `{key}`, with no .NAME")
    if name == "before_send":
        raise _Refused("before_send is a function: it can only be given to Shipper() or "
                       "shipper.track() in code")
    meant = closest_key(key)
    hint = f" (did you mean {meant + (dot + entry if meant in TABLES else '')!r}?)" \
        if meant else ""
    raise _Refused(f"unknown key {name!r}{hint}; `shipper config list --all` shows them all")


def _entry_value(key: str, text: str) -> object:
    """One entry of a table as written on the command line: a property is JSON where it is
    JSON (as `shipper emit -p` reads it), else text; a header is text."""
    if key != "properties":
        return text
    try:
        return loads(text)
    except (ValueError, RecursionError):
        return text


def _checked(key: str, value: object) -> object:
    try:
        return coerce_setting(key, value)
    except ConfigError as exc:
        raise _Refused(str(exc)) from None


# -- showing values, secrets hidden ------------------------------------------------------


def shown(key: str, value: object, settings: Settings) -> object:
    """``value`` of setting ``key`` as it may be printed: secrets hidden."""
    if value is None or value in ("", {}):
        return value
    if key == "api_key":
        return HIDDEN
    if key in SECRET_TABLES and isinstance(value, dict):
        return dict.fromkeys(value, HIDDEN)
    if isinstance(value, str):
        return settings.redact(value)
    return value


def toml_text(value: object) -> str:
    """A value as TOML writes it on the right of ``key =`` (a table inline)."""
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return tomlkit.item(value).as_string()


def _plain_text(value: object) -> str:
    """A value for a script to read: text as it is, anything else as TOML writes it."""
    return value if isinstance(value, str) else toml_text(value)


def is_secret(key: str, value: object) -> bool:
    """Whether writing ``value`` to ``key`` puts a secret in the file: the API key, a
    header, an endpoint with credentials, a query or a fragment."""
    if key == "api_key" or key in SECRET_TABLES:
        return True
    if key in ENDPOINTS and isinstance(value, str):
        from urllib.parse import urlsplit

        try:
            url = urlsplit(value)
        except ValueError:  # checked before: not reached
            return True
        return "@" in url.netloc or bool(url.query or url.fragment)
    return False


def value_from_stdin(key: str, stdin: TextIO | None, err: TextIO) -> str:
    """``set KEY -``: the value from stdin, its line ending dropped; asked for without echo
    on a terminal. Refused when there is none (``unset`` removes a key)."""
    if stdin is None:
        raise _Refused(f"{key}: no stdin to read the value from")
    if stdin.isatty():
        import getpass

        text = getpass.getpass(f"{key} (not shown): ", stream=err)
    else:
        text = stdin.read()
    text = text.rstrip("\r\n")
    if not text:
        raise _Refused(f"{key}: nothing on stdin; `shipper config unset {key}` removes a key")
    return text


# -- the file -----------------------------------------------------------------------------


def _read(path: str) -> Any:
    """The config file as a tomlkit document (an empty one where there is no file)."""
    import tomlkit

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return tomlkit.parse(text)
    except Exception as exc:  # noqa: BLE001 - tomlkit's parse errors have no common base
        raise _Refused(f"{path} is not valid TOML ({exc}); fix it by hand, nothing was "
                       "changed") from None


def _write(path: str, document: Any, *, private: bool = False) -> bool:
    """Replace the config file atomically (through a link to it, the file it points to),
    keeping its mode; a new one is 0600, in a folder made 0700; with ``private`` (a secret
    is in it) group and others lose every bit. Returns whether the mode was narrowed."""
    import tomlkit

    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        try:
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            mode = PRIVATE
        narrowed = private and bool(mode & 0o077)
        if private:
            mode &= 0o700
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".config.", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(tomlkit.dumps(document).lstrip("\n"))  # no blank first line
                f.flush()
                os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise _Refused(f"cannot write {path}: {exc.strerror or exc}") from None
    return narrowed


def _overridden(key: str, environ: Mapping[str, str]) -> str | None:
    """The environment variable that wins over the file for ``key``, if one is set."""
    name = "SHIPPER_" + key.upper()
    return name if environ.get(name) is not None else None


# -- the commands ---------------------------------------------------------------------------


def config_set(name: str, text: str, *, out: TextIO, err: TextIO,
               environ: Mapping[str, str]) -> int:
    key, entry = _split(name)
    path = config_file(environ)
    if not path:
        raise _Refused("no config file path: set SHIPPER_CONFIG or XDG_CONFIG_HOME")
    if text == "" and key != "health_path":  # "" unsets ("" is no probe for health_path)
        return config_unset(name, out=out, err=err, environ=environ)
    document = _read(path)
    if entry is None:
        value = _checked(key, text)
        document[key] = value
    else:
        current = document.get(key)
        table = dict(current) if isinstance(current, dict) else {}
        value = table[entry] = _entry_value(key, text)
        _checked(key, table)  # the whole table must stay valid
        if isinstance(current, dict):
            current[entry] = value
        else:
            document[key] = {entry: value}
    secret = is_secret(key, value)
    if _write(path, document, private=secret):
        print(f"shipper config: {path} was readable by others; made it private "
              f"({PRIVATE:o}): it holds a secret now", file=err)
    if entry is None:
        value = shown(key, value, Settings(**{key: value}))  # its own secrets known
    elif key in SECRET_TABLES:
        value = HIDDEN
    print(f"{name} = {toml_text(value)}  (written to {path})", file=out)
    _say_overridden(key, environ, err)
    return 0


def config_unset(name: str, *, out: TextIO, err: TextIO, environ: Mapping[str, str]) -> int:
    key, entry = _split(name)
    path = config_file(environ)
    document = _read(path)
    current = document.get(key)
    if entry is None:
        found = key in document
        if found:
            del document[key]
    else:
        found = isinstance(current, dict) and entry in current
        if found:
            del current[entry]
            if not current:
                del document[key]
    if not found:
        print(f"{name} is not set in {path}: nothing to do", file=out)
        return 0
    _write(path, document)
    print(f"{name} removed from {path}", file=out)
    _say_overridden(key, environ, err)
    return 0


def _say_overridden(key: str, environ: Mapping[str, str], err: TextIO) -> None:
    winner = _overridden(key, environ)
    if winner is not None:
        print(f"shipper config: note: {winner} is set in this environment and wins over the "
              "config file", file=err)


def config_get(name: str, *, out: TextIO, err: TextIO, settings: Settings,
               environ: Mapping[str, str]) -> int:
    key, entry = _split(name)
    value = getattr(settings, key)
    if entry is not None:
        value = value.get(entry) if isinstance(value, dict) else None
        if value is not None and key in SECRET_TABLES:
            value = HIDDEN
    else:
        value = shown(key, value, settings)
    if value is None:
        print(f"shipper config: {name} is not set", file=err)
        return 0
    print(_plain_text(value), file=out)
    return 0


def config_list(*, show_all: bool, out: TextIO, settings: Settings,
                environ: Mapping[str, str]) -> int:
    path = config_file(environ)
    print(f"# config file: {path or '(none)'}", file=out)
    hidden = 0
    for key in KEYS:
        where = origin(key, environ=environ)
        where = "config file" if where.startswith("config file") else where
        if where == "default" and not show_all:
            hidden += 1
            continue
        value = shown(key, getattr(settings, key), settings)
        text = "" if value is None else toml_text(value)
        line = f"{key} = {text}" if text else f"# {key} is not set"
        print(f"{line}  # {where}" if text else f"{line} ({where})", file=out)
    if hidden:
        print(f"# {hidden} more at their defaults: `shipper config list --all` shows them",
              file=out)
    return 0


def run(args: argparse.Namespace, settings_for: Any, out: TextIO, err: TextIO,
        stdin: TextIO | None = None) -> int:
    """The ``config`` command from parsed arguments; ``settings_for()`` resolves the
    settings as every command does (a bad value in the file is an error, exit 2); a value
    ``-`` is read from ``stdin``."""
    environ = os.environ
    try:
        if args.config_action == "set":
            text = args.value
            if text == "-":
                _split(args.key)  # an unknown key is refused before anything is asked
                text = value_from_stdin(args.key, stdin, err)
            return config_set(args.key, text, out=out, err=err, environ=environ)
        if args.config_action == "unset":
            return config_unset(args.key, out=out, err=err, environ=environ)
        if args.config_action == "get":
            _split(args.key)
            return config_get(args.key, out=out, err=err, settings=settings_for(),
                              environ=environ)
        return config_list(show_all=args.all, out=out, settings=settings_for(),
                           environ=environ)
    except _Refused as exc:
        print(f"shipper config: {exc}", file=err)
        return 1


def add_config_parser(subparsers: argparse._SubParsersAction[Any],
                      parents: list[argparse.ArgumentParser]) -> None:
    """``config set KEY VALUE``, ``config unset KEY``, ``config get KEY``, ``config
    list [--all]``."""
    config = subparsers.add_parser(
        "config", parents=parents, help="set, show or remove a key of the config file",
        description="Write or read shipper's config.toml (comments kept). A table key "
                    "takes NAME=VALUE,NAME2=VALUE2, or one entry as KEY.NAME "
                    "(properties.team). Secrets are never printed.")
    actions = config.add_subparsers(dest="config_action", metavar="ACTION")
    actions.required = True
    put = actions.add_parser("set", parents=parents, help="write one key to the config file")
    put.add_argument("key", metavar="KEY", help="a setting (`shipper config list --all`), "
                                                "or TABLE.NAME for one entry of a table")
    put.add_argument("value", metavar="VALUE",
                     help="its value; \"\" removes the key; - reads it from stdin (a secret "
                          "then stays out of ps and the shell's history)")
    unset = actions.add_parser("unset", parents=parents,
                               help="remove one key from the config file")
    unset.add_argument("key", metavar="KEY", help="a setting, or TABLE.NAME")
    get = actions.add_parser("get", parents=parents,
                             help="the value a program would use now (secrets hidden)")
    get.add_argument("key", metavar="KEY", help="a setting, or TABLE.NAME")
    listing = actions.add_parser("list", parents=parents,
                                 help="every key that is set, with where it comes from")
    listing.add_argument("--all", action="store_true",
                         help="also the keys at their defaults")
