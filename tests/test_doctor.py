"""What `shipper doctor` and the first warnings tell a user about their configuration: which
endpoint won and why, a protocol shipper cannot speak, a path shipper adds itself, a
setting that would break every request."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper import ConfigError, Shipper

from .conftest import Collector, child_env, shipper_cmd


def test_doctor_says_which_endpoint_won_over_the_opentelemetry_variable(
        tmp_path: Path, collector: Collector) -> None:
    """destination otlp, an endpoint in config.toml and OTEL_EXPORTER_OTLP_ENDPOINT set:
    the config file wins (shipper's own settings first), and doctor says so, naming both
    and the fix, instead of letting the variable be ignored in silence."""
    config = tmp_path / "config.toml"
    config.write_text(f'destination = "otlp"\nendpoint = "{collector.url}"\n')
    env = child_env(tmp_path / "c", SHIPPER_CONFIG=str(config),
                    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    done = shipper_cmd(env, "doctor")
    assert done.returncode == 1
    assert f"endpoint {collector.url} (from config file {config})" in done.stdout
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 is not used" in done.stdout
    assert f"take endpoint out of config file {config}" in done.stdout


def test_a_grpc_protocol_gets_the_fix_named(tmp_path: Path) -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc (Claude Code's own default): the warning and
    doctor name what to do (OTLP/HTTP, port 4318), not only that it is unsupported."""
    env = child_env(tmp_path / "c", SHIPPER_DESTINATION="otlp",
                    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
                    OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    emitted = shipper_cmd(env, "emit", "x")
    assert emitted.returncode == 0 and "4318" in emitted.stderr and "http/json" in emitted.stderr
    done = shipper_cmd(env, "doctor")
    assert done.returncode == 1 and "OTEL_EXPORTER_OTLP_PROTOCOL=grpc" in done.stdout
    assert "4318" in done.stdout


def test_an_endpoint_with_the_batch_path_is_told_to_drop_it(tmp_path: Path,
                                                          collector: Collector) -> None:
    """`…:8053/v1/batch` as the endpoint: doctor and the sync's own messages say to drop
    /v1/batch (shipper adds it), not to set health_path."""
    env = child_env(tmp_path / "c", SHIPPER_ENDPOINT=collector.url + "/v1/batch")
    done = shipper_cmd(env, "doctor")
    assert done.returncode == 1 and "drop /v1/batch from the endpoint" in done.stdout
    assert shipper_cmd(env, "emit", "x").returncode == 0
    synced = shipper_cmd(env, "sync", "--timeout", "10")
    assert "drop /v1/batch from the endpoint" in synced.stderr
    assert "health_path" not in synced.stderr


@pytest.mark.parametrize("user", ["bob\r\nX-Evil: 1", "bob\n", "bob\x00"])
def test_a_clickhouse_user_with_a_line_break_is_refused_as_a_setting(
        user: str, tmp_path: Path) -> None:
    """clickhouse_user goes into a header: a line break or control character is refused
    where it is set (it used to make every send fail as a "network error")."""
    with pytest.raises(ConfigError, match="clickhouse_user"):
        Shipper(destination="clickhouse", endpoint="http://127.0.0.1:9", clickhouse_user=user)
    done = shipper_cmd(child_env(tmp_path / "c", SHIPPER_CLICKHOUSE_USER=user.replace(
        "\x00", "\x01")), "status")
    assert done.returncode == 2 and "clickhouse_user" in done.stderr


def test_a_cache_path_under_a_file_is_named_by_every_command(tmp_path: Path) -> None:
    """`cache_dir` below a regular file: status says so instead of crashing, and emit and
    doctor name the cause (a part of the path is a file), not "File exists"."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = child_env(blocker / "cache")
    status = shipper_cmd(env, "status")
    assert status.returncode == 0 and "problem:" in status.stdout
    assert "a part of the cache path is a file" in status.stdout
    emitted = shipper_cmd(env, "emit", "x")
    assert emitted.returncode == 1 and "a part of the cache path is a file" in emitted.stderr
    doctor = shipper_cmd(env, "doctor")
    assert doctor.returncode == 1 and "a part of the cache path is a file" in doctor.stdout
    for text in (emitted.stderr, doctor.stdout):
        assert "File exists" not in text


def test_a_fresh_cache_does_not_claim_events_were_delivered(tmp_path: Path) -> None:
    """Nothing ever recorded: status says so, not "every recorded event was delivered"."""
    status = shipper_cmd(child_env(tmp_path / "c"), "status")
    assert "no event has been recorded in this cache yet" in status.stdout
