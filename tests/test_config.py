"""Settings precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper import ConfigError, ShipperError, load_settings


def test_defaults_match_the_contract() -> None:
    """Defaults are the contract's table."""
    s = load_settings(environ={"SHIPPER_CONFIG": "/nonexistent"})
    assert (s.endpoint, s.batch_size, s.batch_bytes, s.flush_interval, s.queue_size) == (
        None, 500, 512 * 1024, 1.0, 10_000)
    assert (s.timeout, s.health_path_or_default, s.health_ttl, s.breaker_threshold) == (
        5.0, "/health", 30.0, 3)
    assert (s.destination, s.headers, s.user_id, s.service_name, s.webhook_format) == (
        "shipper", {}, None, "shipper", "json")
    assert (s.clickhouse_database, s.clickhouse_table, s.clickhouse_user) == (
        "default", "shipper_events", "default")
    assert (s.breaker_cooldown, s.max_retries, s.max_cache_mb, s.max_age_days) == (
        30.0, 3, 50.0, 7.0)
    assert (s.max_event_bytes, s.shutdown_timeout, s.disabled) == (64 * 1024, 2.0, False)


def test_kwargs_beat_env_beat_file(tmp_path: Path) -> None:
    """Keyword arguments > SHIPPER_* environment > config file > defaults."""
    cfg = tmp_path / "config.toml"
    cfg.write_text('endpoint = "http://file"\nbatch_size = 7\nhealth_ttl = 3.5\ntimeout = 9\n')
    env = {"SHIPPER_CONFIG": str(cfg), "SHIPPER_BATCH_SIZE": "8", "SHIPPER_TIMEOUT": "2"}
    s = load_settings({"timeout": 1.5}, environ=env)
    assert s.endpoint == "http://file"
    assert s.batch_size == 8
    assert s.health_ttl == 3.5
    assert s.timeout == 1.5


def test_do_not_track_disables() -> None:
    """DO_NOT_TRACK=1 turns everything off, whatever else says."""
    s = load_settings({"disabled": False}, environ={"DO_NOT_TRACK": "1",
                                                     "SHIPPER_CONFIG": "/nonexistent"})
    assert s.disabled


def test_unknown_keyword_is_a_programmer_error() -> None:
    """A misspelt keyword raises ConfigError, a ShipperError."""
    with pytest.raises(ShipperError):
        load_settings({"batchsize": 3})
    with pytest.raises(ConfigError):
        load_settings({"batch_size": "many"})


def test_bad_env_is_skipped_unless_strict() -> None:
    """A bad environment value is logged and ignored for recording, an error for the CLI."""
    env = {"SHIPPER_BATCH_SIZE": "lots", "SHIPPER_CONFIG": "/nonexistent"}
    assert load_settings(environ=env).batch_size == 500
    with pytest.raises(ConfigError):
        load_settings(environ=env, strict=True)


def test_unreadable_toml_is_reported_when_strict(tmp_path: Path) -> None:
    """A config file that is not TOML is an error for the CLI."""
    cfg = tmp_path / "config.toml"
    cfg.write_text("endpoint = [unclosed")
    with pytest.raises(ConfigError):
        load_settings(environ={"SHIPPER_CONFIG": str(cfg)}, strict=True)
    assert load_settings(environ={"SHIPPER_CONFIG": str(cfg)}).endpoint is None


def test_repr_hides_the_api_key() -> None:
    """The API key never shows in a repr (and so in a log line or traceback)."""
    s = load_settings({"api_key": "sekret-123"})
    assert "sekret-123" not in repr(s) and "sekret-123" not in str(s)


@pytest.mark.parametrize("xdg", [None, "", "/custom/xdg"])
def test_default_folders_match_platformdirs(monkeypatch: pytest.MonkeyPatch,
                                            xdg: str | None) -> None:
    """The folders computed without platformdirs are the ones platformdirs gives."""
    import platformdirs

    from shipper._config import config_file, default_cache_dir

    for var in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        if xdg is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, xdg)
    assert default_cache_dir() == platformdirs.user_state_dir("shipper", appauthor=False)
    assert config_file({}) == str(
        Path(platformdirs.user_config_dir("shipper", appauthor=False)) / "config.toml")


def test_settings_are_immutable_values() -> None:
    """Settings compare by value, refuse assignment, and _replace makes a changed copy."""
    a = load_settings({"batch_size": 9})
    assert a == load_settings({"batch_size": 9}) and a != load_settings()
    with pytest.raises(AttributeError):
        a.batch_size = 3  # type: ignore[misc]
    assert a._replace(batch_size=4).batch_size == 4 and a.batch_size == 9
