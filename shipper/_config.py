"""Settings: keyword arguments > SHIPPER_* environment > TOML config file > defaults."""

from __future__ import annotations

import os
import stat
import sys

from . import _kinds, _log
from ._errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

KIB = 1024
_INF = float("inf")  # math.inf, without loading math on the hook path

DEFAULTS: dict[str, object] = {
    "endpoint": None,
    "api_key": None,
    "cache_dir": None,
    "disabled": False,
    "destination": _kinds.NATIVE,
    "headers": {},
    "user_id": None,
    "properties": {},
    "service_name": "shipper",
    "resource_attributes": {},
    "otlp_logs_endpoint": None,
    "otlp_protocol": "http/json",
    "clickhouse_database": "default",
    "clickhouse_table": "shipper_events",
    "clickhouse_user": "default",
    "webhook_format": "json",
    "console_format": "text",
    "console_as": _kinds.NATIVE,
    "batch_size": 500,
    "batch_bytes": 512 * KIB,
    "flush_interval": 1.0,
    "queue_size": 10_000,
    "timeout": 5.0,
    "health_path": None,  # None: the destination's own probe; "": no probe
    "health_ttl": 30.0,
    "breaker_threshold": 3,
    "breaker_cooldown": 30.0,
    "max_retries": 3,
    "max_cache_mb": 50.0,
    "max_age_days": 7.0,
    "max_event_bytes": 64 * KIB,
    "shutdown_timeout": 2.0,
    "include_content": False,
    "hash_paths": False,
    "app_name": None,
    "app_version": None,
    "include_host": False,
    "debug": False,
    "verify_tls": True,
}


class Settings:
    """Every configuration key, resolved. Immutable; compares by value.

    A plain class rather than a NamedTuple or dataclass: the hook path builds one, and
    must not pay for importing typing or dataclasses.
    """

    __slots__ = tuple(DEFAULTS)
    _fields = tuple(DEFAULTS)

    endpoint: str | None
    api_key: str | None
    cache_dir: str | None
    disabled: bool
    destination: str
    headers: dict[str, str]
    user_id: str | None
    properties: dict[str, Any]
    service_name: str
    resource_attributes: dict[str, str]
    otlp_logs_endpoint: str | None
    otlp_protocol: str
    clickhouse_database: str
    clickhouse_table: str
    clickhouse_user: str
    webhook_format: str
    console_format: str
    console_as: str
    batch_size: int
    batch_bytes: int
    flush_interval: float
    queue_size: int
    timeout: float
    health_path: str | None
    health_ttl: float
    breaker_threshold: int
    breaker_cooldown: float
    max_retries: int
    max_cache_mb: float
    max_age_days: float
    max_event_bytes: int
    shutdown_timeout: float
    include_content: bool
    hash_paths: bool
    app_name: str | None
    app_version: str | None
    include_host: bool
    debug: bool
    verify_tls: bool

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(DEFAULTS)
        if unknown:
            raise ConfigError(unknown_setting(sorted(unknown)[0]))
        for key, default in DEFAULTS.items():
            value = values.get(key, default)
            object.__setattr__(self, key, dict(value) if isinstance(value, dict) else value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are immutable; use _replace()")

    def _asdict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in DEFAULTS}

    def _replace(self, **changes: Any) -> Settings:
        return Settings(**{**self._asdict(), **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._asdict() == other._asdict()

    def __hash__(self) -> int:
        # a table's values may be lists or tables themselves (properties): hashed as text
        return hash(tuple((k, repr(sorted(v.items())) if isinstance(v, dict) else v)
                          for k, v in self._asdict().items()))

    def __repr__(self) -> str:
        def shown(key: str, value: object) -> str:
            if key == "api_key" and value:
                return "<hidden>"
            if key == "headers" and isinstance(value, dict):  # values may be credentials
                return repr(dict.fromkeys(value, "<hidden>"))
            return repr(value)

        return "Settings({})".format(", ".join(f"{k}={shown(k, v)}"
                                               for k, v in self._asdict().items()))

    def redact(self, text: str) -> str:
        """``text`` with every secret of these settings hidden, in every form a request or
        an answer may carry it (see `shipper._redact`), and the user information of any URL
        in it: for any message that may quote a request, an answer or a setting, before it
        is logged, printed or written."""
        if not text:
            return text
        from ._redact import redactor_for

        return redactor_for(self.api_key, tuple(self.headers.values()),
                            (self.endpoint, self.otlp_logs_endpoint))(text)

    @property
    def cache_root(self) -> str:
        """The cache folder as a string (no pathlib on the hook path)."""
        return self.cache_dir or default_cache_dir()

    @property
    def cache_path(self) -> Path:
        from pathlib import Path

        return Path(self.cache_root)

    @property
    def base_url(self) -> str | None:
        return self.endpoint.rstrip("/") if self.endpoint else None

    @property
    def health_path_or_default(self) -> str | None:
        """The health path to probe: the setting, else the destination's own; None: none."""
        if self.health_path is None:
            return _kinds.DEFAULT_HEALTH_PATH.get(self.destination)
        return self.health_path or None

    @property
    def destination_identity(self) -> str | None:
        """What tells this destination from any other of its kind (its URL, and for
        ClickHouse its table); None without an endpoint."""
        return _kinds.identity(self.destination, self.base_url, self.otlp_logs_endpoint,
                               self.clickhouse_database, self.clickhouse_table)

    @property
    def event_limit(self) -> int:
        """The largest event (native JSON bytes) that may be recorded for this destination
        (for the console, the one it shows batches as)."""
        kind = self.console_as if self.destination == _kinds.CONSOLE else self.destination
        own = _kinds.MAX_EVENT_BYTES.get(kind)
        return self.max_event_bytes if own is None else min(self.max_event_bytes, own)


KEYS: dict[str, type] = {
    key: (str if default is None else type(default)) for key, default in DEFAULTS.items()
}
_POSITIVE = {"batch_size", "batch_bytes", "queue_size", "max_event_bytes"}
_AT_LEAST = {"flush_interval": 0.01, "timeout": 0.01}  # 0 would spin, or fail every request
_MAY_BE_INFINITE = {"max_cache_mb", "max_age_days"}  # inf: no limit
_CHOICES = {"destination": _kinds.KINDS, "webhook_format": _kinds.WEBHOOK_FORMATS,
            "otlp_protocol": _kinds.OTLP_PROTOCOLS, "console_format": _kinds.CONSOLE_FORMATS,
            "console_as": _kinds.SENDING_KINDS}
_IDENTIFIERS = {"clickhouse_database", "clickhouse_table"}
# "" means unset for these: the default
_NON_EMPTY = {"service_name", "clickhouse_user", "console_format", "console_as"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _xdg(variable: str, fallback: str) -> str:
    """An XDG base folder: the variable if it is an absolute path (the specification says
    to ignore a relative one), else the fallback under the home folder; "" when there is
    no home folder either (HOME unset and no entry in the user database)."""
    value = os.environ.get(variable, "").strip()
    if os.path.isabs(value):
        return value
    home = os.path.expanduser(fallback)
    return home if os.path.isabs(home) else ""


def default_cache_dir() -> str:
    """``platformdirs.user_state_dir("shipper")``; computed directly on Linux, where it is
    $XDG_STATE_HOME or ~/.local/state (tests check the two agree), to keep platformdirs
    off the hook path. "" when there is no home folder to put it in: then nothing is
    written until ``cache_dir`` is set (never a folder named ``~`` in the working folder)."""
    if sys.platform.startswith("linux"):
        base = _xdg("XDG_STATE_HOME", "~/.local/state")
        return os.path.join(base, "shipper") if base else ""
    import platformdirs

    return str(platformdirs.user_state_dir("shipper", appauthor=False))


def config_file(environ: Mapping[str, str]) -> str:
    """``SHIPPER_CONFIG``, else ``platformdirs.user_config_dir("shipper")/config.toml``."""
    explicit = environ.get("SHIPPER_CONFIG")
    if explicit:
        return explicit
    if sys.platform.startswith("linux"):
        base = _xdg("XDG_CONFIG_HOME", "~/.config")
        return os.path.join(base, "shipper", "config.toml") if base else ""
    import platformdirs

    return os.path.join(platformdirs.user_config_dir("shipper", appauthor=False),
                        "config.toml")


def _unquote(text: str) -> str:
    """Percent-decoding (``%20`` -> space) without importing urllib on the hook path."""
    if "%" not in text:
        return text
    parts = text.split("%")
    out = bytearray(parts[0].encode())
    for part in parts[1:]:
        try:
            out += bytes.fromhex(part[:2]) + part[2:].encode()
        except ValueError:
            out += b"%" + part.encode()
    return out.decode("utf-8", "replace")


def parse_pairs(text: str) -> dict[str, str]:
    """``key1=value1,key2=value2`` (the OpenTelemetry and ``SHIPPER_HEADERS`` form), values
    percent-decoded. Raises ValueError on an item that is not ``key=value``."""
    pairs = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item.strip()!r} is not key=value")
        pairs[_unquote(key.strip())] = _unquote(value.strip())
    return pairs


def _table(key: str, value: object) -> dict[object, object]:
    """A table setting as given: a TOML table, or ``k=v,k2=v2`` text (the environment)."""
    if isinstance(value, str):
        try:
            value = parse_pairs(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table of names to values")
    return value


def _header_table(key: str, value: object) -> dict[str, str]:
    table = {}
    for name, item in _table(key, value).items():
        if not isinstance(name, str) or not name or isinstance(item, (dict, list)):
            raise ConfigError(f"{key} must map names to plain values")
        text = "" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
        if any(c in name + text for c in "\r\n\0") or any(c in name for c in " :\t"):
            raise ConfigError(f"{key}: {name!r} is not a valid header name or value")
        table[name] = text
    return table


_JSON_SCALARS = (str, int, float, bool, type(None))


def _json_value(key: str, value: object, depth: int = 0) -> object:
    """A value of the ``properties`` table as JSON holds it: TOML's dates and times as
    their ISO text, a float that is no number as null."""
    if isinstance(value, float) and value - value != 0:  # NaN, inf: no JSON for them
        return None
    if isinstance(value, _JSON_SCALARS):
        return value
    if depth < 16 and isinstance(value, (list, tuple)):
        return [_json_value(key, item, depth + 1) for item in value]
    if depth < 16 and isinstance(value, dict):
        return {str(k): _json_value(key, v, depth + 1) for k, v in value.items()}
    iso = getattr(value, "isoformat", None)
    if callable(iso):  # TOML's datetime, date and time
        return str(iso())
    raise ConfigError(f"{key} must hold JSON values (text, numbers, booleans, arrays and "
                      f"tables), not {type(value).__name__}")


def _property_table(key: str, value: object) -> dict[str, object]:
    """The ``properties`` setting: a table of any JSON values (TOML), or ``k=v,k2=v2`` text
    (the environment: values are text, percent-decoded)."""
    table: dict[str, object] = {}
    for name, item in _table(key, value).items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{key} must map names to values")
        table[name] = _json_value(key, item)
    return table


def _coerce(key: str, value: object) -> object:
    kind = KEYS[key]
    if key == "properties":
        return _property_table(key, value)
    if kind is dict:
        return _header_table(key, value)
    if kind is str:
        if value is None:
            return None
        if value == "":
            # "" unsets a key; for health_path it means "no probe"
            return "" if key == "health_path" else DEFAULTS[key] if key in _NON_EMPTY else None
        if not isinstance(value, (str, os.PathLike)):
            raise ConfigError(f"{key} must be a string, not {type(value).__name__}")
        text = os.fspath(value)
        text = text if isinstance(text, str) else text.decode()
        return _checked_text(key, text)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ConfigError(f"{key} must be true or false")
    try:
        number = kind(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or number != number or number < 0:  # noqa: PLR0124 - NaN test
        raise ConfigError(f"{key} must be a non-negative number")
    if key in _POSITIVE and number < 1:
        raise ConfigError(f"{key} must be at least 1")
    if number < _AT_LEAST.get(key, 0):
        raise ConfigError(f"{key} must be at least {_AT_LEAST[key]}")
    if number in (_INF, -_INF) and key not in _MAY_BE_INFINITE:
        raise ConfigError(f"{key} must be a finite number")
    return number


def coerce_setting(key: str, value: object) -> object:
    """``value`` of setting ``key`` checked and made its type, as a config file's value is
    (``shipper config set``); raises `ConfigError` for a bad one."""
    return _coerce(key, value)


def _checked_url(key: str, text: str) -> str:
    """An http(s) URL with a host and, if any, a port from 1 to 65535."""
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{key} must be an http:// or https:// URL")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    host, colon, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if not colon:
        host = netloc
    elif not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError(f"{key} has a port that is not a number from 1 to 65535")
    if not host.strip("[]"):
        raise ConfigError(f"{key} has no host")
    return text


def _checked_text(key: str, text: str) -> str:
    if key in ("endpoint", "otlp_logs_endpoint"):
        return _checked_url(key, text.strip())
    if key == "api_key" and not all(" " < c <= "~" for c in text):
        raise ConfigError("api_key must be printable ASCII (it goes into an HTTP header)")
    if key == "clickhouse_user" and not all(" " <= c <= "~" for c in text):
        raise ConfigError("clickhouse_user must be printable ASCII (it goes into an HTTP "
                          "header): no line breaks or control characters")
    if key == "cache_dir":
        path = os.path.expanduser(text)
        if not os.path.isabs(path) and path.startswith("~"):
            raise ConfigError("cache_dir starts with ~ but there is no home folder")
        return os.path.abspath(path)
    choices = _CHOICES.get(key)
    if choices is not None:
        normal = text.strip().lower()
        if normal not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {text!r}")
        return normal
    if key in _IDENTIFIERS and not (text.replace("_", "a").isalnum() and text.isascii()):
        raise ConfigError(f"{key} must be letters, digits and _ only, not {text!r}")
    if key == "health_path" and not text.startswith("/"):
        return "/" + text
    return text


def _otel(env: Mapping[str, str], values: dict[str, object]) -> None:
    """The OpenTelemetry exporter's standard variables, beneath shipper's own settings, for
    ``destination = "otlp"``: OTEL_EXPORTER_OTLP[_LOGS]_ENDPOINT, _HEADERS and _PROTOCOL,
    OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES."""

    def first(*names: str) -> str | None:
        for name in names:
            raw = env.get(name, "").strip()
            if raw:
                return raw
        return None

    if "endpoint" not in values and "otlp_logs_endpoint" not in values:
        logs = first("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        base = first("OTEL_EXPORTER_OTLP_ENDPOINT")
        if logs is not None:  # used as given
            values["endpoint"] = values["otlp_logs_endpoint"] = logs
        elif base is not None:  # the logs path is appended
            values["endpoint"] = base
    sources = [("headers", ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")),
               ("resource_attributes", ("OTEL_RESOURCE_ATTRIBUTES",)),
               ("service_name", ("OTEL_SERVICE_NAME",))]
    for key, names in sources:
        raw = first(*names)
        if key not in values and raw is not None:
            try:
                values[key] = _coerce(key, raw)
            except ConfigError as exc:  # the standard says: discard the whole variable
                _log.warning("ignoring %s: %s", names[0], exc)
    protocol = first("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    if "otlp_protocol" not in values and protocol is not None:
        if protocol.lower() in _kinds.OTLP_PROTOCOLS:
            values["otlp_protocol"] = protocol.lower()
        else:
            _log.warning("%s", otlp_protocol_advice(protocol))


def otlp_protocol_advice(protocol: str) -> str:
    """What to tell a user whose OTEL_EXPORTER_OTLP_PROTOCOL shipper cannot speak (grpc is
    Claude Code's own default, and an OpenTelemetry Collector takes both)."""
    return (f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: shipper sends OTLP "
            "over HTTP (http/json, or http/protobuf with the otlp-proto extra), so it sends "
            "http/json; point the endpoint at the collector's OTLP/HTTP receiver (port 4318, "
            "not gRPC's 4317) and set OTEL_EXPORTER_OTLP_PROTOCOL=http/json")


_MAX_CONFIG_BYTES = 1 << 20


def _snapshot_file() -> str:
    """Where hooks keep the parsed config file: the default cache folder ("": none)."""
    from ._snapshot import SNAPSHOT_FILE

    root = default_cache_dir()
    return os.path.join(root, SNAPSHOT_FILE) if root else ""


def _read_file(path: str, *, snapshot: bool = False) -> dict[str, Any]:
    """The config file's keys; {} where there is none. It is opened without blocking and
    must be a regular file: a FIFO or a device there must not hang a hook.

    ``snapshot`` (short-lived processes) uses and keeps a parsed copy of the file, without
    its secrets (see `shipper._snapshot`), to save importing tomllib."""
    if not path:
        return {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"config file {path} is not a regular file")
        if snapshot:
            from . import _snapshot

            stamp = _snapshot.stamp_of(info)
            where = _snapshot_file()
            known = _snapshot.cached(where, path, stamp)
            if known is not None:
                return known
        raw = os.read(fd, _MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is over 1 MiB")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    if snapshot:
        _snapshot.remember(where, path, stamp, data, KEYS)
    return data


UNKNOWN_KEY = "ignoring unknown config file key %r"  # the warning's words, known to the CLI


def load_settings(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
    short_lived: bool = False,
) -> Settings:
    """Resolve settings by precedence.

    Unknown or ill-typed keyword arguments are programmer errors and raise `ConfigError`.
    A bad environment variable or config file raises too when ``strict`` (the CLI reports it
    and exits 2); otherwise it is logged and skipped, so recording never fails over it.

    ``short_lived`` is for processes that only record (hooks, `shipper.track`): the config
    file may come from its parsed snapshot, which leaves out ``api_key`` and ``headers``.
    """
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}

    def take(source: str, key: str, value: object) -> None:
        try:
            values[key] = _coerce(key, value)
        except ConfigError as exc:
            if strict:
                raise ConfigError(f"{source}: {exc}") from None
            _log.warning("ignoring %s: %s", source, exc)

    try:
        file_values = _read_file(config_file(env), snapshot=short_lived)
    except ConfigError as exc:
        if strict:
            raise
        _log.warning("%s", exc)
        file_values = {}
    for key, value in file_values.items():
        if key in KEYS:
            take(f"config file key {key!r}", key, value)
        else:
            meant = closest_key(key)
            _log.warning(UNKNOWN_KEY + (" (did you mean %r?)" if meant else ""),
                         *((key, meant) if meant else (key,)))
    for key in KEYS:
        raw = env.get("SHIPPER_" + key.upper())
        if raw is not None:
            take(f"SHIPPER_{key.upper()}", key, raw)
    for key, value in (overrides or {}).items():
        if key not in KEYS:
            raise ConfigError(unknown_setting(key))
        values[key] = _coerce(key, value)
    if values.get("destination") == _kinds.OTLP:
        _otel(env, values)
    if env.get("DO_NOT_TRACK", "").strip().lower() in _TRUE:
        values["disabled"] = True
    return Settings(**values)


def origin(key: str, overrides: Mapping[str, object] | None = None, *,
           environ: Mapping[str, str] | None = None) -> str:
    """Where the value of setting ``key`` comes from, by the precedence `load_settings`
    applies: "keyword argument", "SHIPPER_<KEY>", "config file <path>", an OpenTelemetry
    variable's name (``destination = "otlp"`` only), or "default". Raises `ConfigError`
    when the config file cannot be read."""
    env = os.environ if environ is None else environ
    if overrides and overrides.get(key) is not None:
        return "keyword argument"
    if env.get("SHIPPER_" + key.upper()) is not None:
        return "SHIPPER_" + key.upper()
    path = config_file(env)
    if key in _read_file(path):
        return f"config file {path}"
    if key in ("endpoint", "otlp_logs_endpoint"):
        for name in ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
            if env.get(name, "").strip():
                return name
    return "default"


def unknown_setting(name: str) -> str:
    """What to say of a keyword argument that is no setting: its name, and the setting it
    most likely meant."""
    meant = closest_key(name)
    return f"unknown setting {name!r}" + (f" (did you mean {meant!r}?)" if meant else "")


def closest_key(name: str) -> str | None:
    """The setting a misspelt key or ``SHIPPER_*`` name most likely meant, or None."""
    import difflib

    plain = name.strip().lower().replace("-", "_")
    plain = plain[len("shipper_"):] if plain.startswith("shipper_") else plain
    close = difflib.get_close_matches(plain, KEYS, n=1)
    return close[0] if close else None


def unknown_names(environ: Mapping[str, str] | None = None) -> list[tuple[str, str, str | None]]:
    """What looks like configuration but configures nothing, for `shipper doctor` and the
    command line's warnings: ``(where, name, meant)`` for each key of the config file that is
    no setting (where ``"config file"``) and each ``SHIPPER_*`` environment variable that is
    neither a setting nor ``SHIPPER_CONFIG`` / ``SHIPPER_SERVE_API_KEY`` /
    ``SHIPPER_HOOK_PAYLOAD`` (``"environment"``),
    ``meant`` being the closest real name, spelt the same way, or None. Raises `ConfigError`
    when the config file cannot be read."""
    env = os.environ if environ is None else environ
    found: list[tuple[str, str, str | None]] = []
    for key in _read_file(config_file(env)):
        if key not in KEYS:
            found.append(("config file", key, closest_key(key)))
    known = {"SHIPPER_" + key.upper() for key in KEYS} | {
        "SHIPPER_CONFIG", "SHIPPER_SERVE_API_KEY",
        "SHIPPER_HOOK_PAYLOAD"}  # the opencode plugin's hooks (shipper/_hook.py)
    for name in sorted(env):
        if name.startswith("SHIPPER_") and name not in known:
            meant = closest_key(name)
            found.append(("environment", name, meant and "SHIPPER_" + meant.upper()))
    return found
