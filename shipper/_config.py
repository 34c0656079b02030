"""Settings: keyword arguments > SHIPPER_* environment > TOML config file > defaults."""

from __future__ import annotations

import math
import os
import sys

from . import _log
from ._errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

KIB = 1024

DEFAULTS: dict[str, object] = {
    "endpoint": None,
    "api_key": None,
    "cache_dir": None,
    "disabled": False,
    "batch_size": 500,
    "batch_bytes": 512 * KIB,
    "flush_interval": 1.0,
    "queue_size": 10_000,
    "timeout": 5.0,
    "health_path": "/health",
    "health_ttl": 30.0,
    "breaker_threshold": 3,
    "breaker_cooldown": 30.0,
    "max_retries": 3,
    "max_cache_mb": 50.0,
    "max_age_days": 7.0,
    "max_event_bytes": 64 * KIB,
    "shutdown_timeout": 2.0,
    "include_content": False,
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
    batch_size: int
    batch_bytes: int
    flush_interval: float
    queue_size: int
    timeout: float
    health_path: str
    health_ttl: float
    breaker_threshold: int
    breaker_cooldown: float
    max_retries: int
    max_cache_mb: float
    max_age_days: float
    max_event_bytes: int
    shutdown_timeout: float
    include_content: bool
    verify_tls: bool

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(DEFAULTS)
        if unknown:
            raise ConfigError(f"unknown setting {sorted(unknown)[0]!r}")
        for key, default in DEFAULTS.items():
            object.__setattr__(self, key, values.get(key, default))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are immutable; use _replace()")

    def _asdict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in DEFAULTS}

    def _replace(self, **changes: Any) -> Settings:
        return Settings(**{**self._asdict(), **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._asdict() == other._asdict()

    def __hash__(self) -> int:
        return hash(tuple(self._asdict().items()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={'<hidden>' if k == 'api_key' and v else v!r}"
                          for k, v in self._asdict().items())
        return f"Settings({shown})"

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


KEYS: dict[str, type] = {
    key: (str if default is None else type(default)) for key, default in DEFAULTS.items()
}
_POSITIVE = {"batch_size", "batch_bytes", "queue_size", "max_event_bytes"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _xdg(variable: str, fallback: str) -> str:
    value = os.environ.get(variable, "").strip()
    return value if value else os.path.expanduser(fallback)


def default_cache_dir() -> str:
    """``platformdirs.user_state_dir("shipper")``; computed directly on Linux, where it is
    $XDG_STATE_HOME or ~/.local/state (tests check the two agree), to keep platformdirs
    off the hook path."""
    if sys.platform.startswith("linux"):
        return os.path.join(_xdg("XDG_STATE_HOME", "~/.local/state"), "shipper")
    import platformdirs

    return str(platformdirs.user_state_dir("shipper", appauthor=False))


def config_file(environ: Mapping[str, str]) -> str:
    """``SHIPPER_CONFIG``, else ``platformdirs.user_config_dir("shipper")/config.toml``."""
    explicit = environ.get("SHIPPER_CONFIG")
    if explicit:
        return explicit
    if sys.platform.startswith("linux"):
        return os.path.join(_xdg("XDG_CONFIG_HOME", "~/.config"), "shipper", "config.toml")
    import platformdirs

    return os.path.join(platformdirs.user_config_dir("shipper", appauthor=False),
                        "config.toml")


def _coerce(key: str, value: object) -> object:
    kind = KEYS[key]
    if kind is str:
        if value is None or value == "":
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise ConfigError(f"{key} must be a string, not {type(value).__name__}")
        text = os.fspath(value)
        return text if isinstance(text, str) else text.decode()
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
    except (TypeError, ValueError):
        number = None
    if number is None or math.isnan(number) or number < 0:
        raise ConfigError(f"{key} must be a non-negative number")
    if key in _POSITIVE and number < 1:
        raise ConfigError(f"{key} must be at least 1")
    return number


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return data


def load_settings(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
) -> Settings:
    """Resolve settings by precedence.

    Unknown or ill-typed keyword arguments are programmer errors and raise `ConfigError`.
    A bad environment variable or config file raises too when ``strict`` (the CLI reports it
    and exits 2); otherwise it is logged and skipped, so recording never fails over it.
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
        file_values = _read_file(config_file(env))
    except ConfigError as exc:
        if strict:
            raise
        _log.warning("%s", exc)
        file_values = {}
    for key, value in file_values.items():
        if key in KEYS:
            take(f"config file key {key!r}", key, value)
        else:
            _log.warning("ignoring unknown config file key %r", key)
    for key in KEYS:
        raw = env.get("SHIPPER_" + key.upper())
        if raw is not None:
            take(f"SHIPPER_{key.upper()}", key, raw)
    for key, value in (overrides or {}).items():
        if key not in KEYS:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(key, value)
    if env.get("DO_NOT_TRACK", "").strip().lower() in _TRUE:
        values["disabled"] = True
    return Settings(**values)
