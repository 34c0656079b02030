"""Settings: keyword arguments > SHIPPER_* environment > TOML config file > defaults."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import _log
from ._errors import ConfigError

KIB = 1024


class Settings(NamedTuple):
    """Every configuration key of the contract, with its default."""

    endpoint: str | None = None
    api_key: str | None = None
    cache_dir: str | None = None
    disabled: bool = False
    batch_size: int = 500
    batch_bytes: int = 512 * KIB
    flush_interval: float = 1.0
    queue_size: int = 10_000
    timeout: float = 5.0
    health_path: str = "/health"
    health_ttl: float = 30.0
    breaker_threshold: int = 3
    breaker_cooldown: float = 30.0
    max_retries: int = 3
    max_cache_mb: float = 50.0
    max_age_days: float = 7.0
    max_event_bytes: int = 64 * KIB
    shutdown_timeout: float = 2.0
    include_content: bool = False
    verify_tls: bool = True

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    @property
    def base_url(self) -> str | None:
        return self.endpoint.rstrip("/") if self.endpoint else None


    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={'<hidden>' if k == 'api_key' and v else v!r}"
            for k, v in zip(self._fields, self, strict=True)
        )
        return f"Settings({shown})"


KEYS: dict[str, type] = {
    key: (str if default is None else type(default))
    for key, default in Settings._field_defaults.items()
}
_POSITIVE = {"batch_size", "batch_bytes", "queue_size", "max_event_bytes"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("shipper", appauthor=False))


def config_file(environ: Mapping[str, str]) -> Path:
    explicit = environ.get("SHIPPER_CONFIG")
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_config_dir("shipper", appauthor=False)) / "config.toml"


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


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
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
    return Settings(**values)  # type: ignore[arg-type]
