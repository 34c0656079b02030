"""The ClickHouse destination against a real ClickHouse server (Debian's clickhouse-server,
installed by these tests where it is missing, started on a free loopback port)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipper import Shipper

from .clickhouse import PASSWORD, ClickHouseServer, install
from .conftest import (
    child_env,
    destination_home,
    events_on_disk,
    pending_events,
    require_tool,
    required_or_skip,
    shipper_cmd,
)

pytestmark = pytest.mark.clickhouse


@pytest.fixture(scope="session")
def clickhouse_installed() -> None:
    why = install()
    if why is not None:
        required_or_skip("clickhouse", why)


@pytest.fixture(scope="session")
def server(clickhouse_installed: None) -> Iterator[ClickHouseServer]:
    """One server for the session; each test uses a table of its own."""
    ch = ClickHouseServer()
    ch.start()
    yield ch
    ch.close()


@pytest.fixture
def table(request: pytest.FixtureRequest) -> str:
    return "t_" + request.node.name.split("[")[0].removeprefix("test_")[:40]


def settings_env(cache: Path, ch: ClickHouseServer, table: str, **extra: str) -> dict[str, str]:
    values = {"SHIPPER_DESTINATION": "clickhouse", "SHIPPER_ENDPOINT": ch.url,
              "SHIPPER_CLICKHOUSE_TABLE": table, "SHIPPER_CLICKHOUSE_USER": "shipper",
              "SHIPPER_API_KEY": PASSWORD, **extra}
    return child_env(cache, **values)


def rows(ch: ClickHouseServer, table: str, final: bool = True) -> list[dict[str, object]]:
    """The table's rows; with FINAL, once each by id (duplicates collapsed)."""
    final_sql = " FINAL" if final else ""
    out = ch.query(f"SELECT * FROM default.{table}{final_sql} "  # noqa: S608 - a test's own table
                   "ORDER BY id FORMAT JSONEachRow")
    return [json.loads(line) for line in out.splitlines()]


def test_sync_after_an_outage_inserts_every_event_once(clickhouse_installed: None,
                                                       cache_dir: Path, table: str) -> None:
    """Events recorded while the server is down (by hooks and by a client) are all in the
    table after `shipper sync`, once by id even when a batch is delivered twice."""
    ch = ClickHouseServer()
    try:
        env = settings_env(cache_dir, ch, table)
        recorded = []
        for i in range(5):
            out = shipper_cmd(env, "emit", "hook.event", "-p", f"i={i}", "--print-id")
            recorded.append(out.stdout.strip())
        with Shipper(destination="clickhouse", endpoint=ch.url, clickhouse_table=table,
                     clickhouse_user="shipper", api_key=PASSWORD, shutdown_timeout=0.5) as s:
            recorded += [s.track("client.event", {"i": i}) for i in range(40)]
        assert pending_events(cache_dir) == 45
        home = destination_home(cache_dir, ch.url, "clickhouse", clickhouse_table=table)
        pending = home / "pending"
        backup = [(p.name, p.read_bytes()) for p in pending.iterdir()]
        ch.start()
        assert shipper_cmd(env, "sync", "-q").returncode == 0
        for name, data in backup:  # at-least-once: the same events delivered again
            (pending / ("9" + name[1:])).write_bytes(data)
        assert shipper_cmd(env, "sync", "-q").returncode == 0
        assert len(rows(ch, table, final=False)) == 90
        assert sorted(r["id"] for r in rows(ch, table)) == sorted(recorded)
        assert pending_events(cache_dir) == 0
    finally:
        ch.close()


def test_running_client_inserts_directly(server: ClickHouseServer, cache_dir: Path,
                                         table: str) -> None:
    """A running client creates the table and inserts rows with the time to the
    millisecond and the properties and context as JSON text."""
    with Shipper(destination="clickhouse", endpoint=server.url, clickhouse_table=table,
                 clickhouse_user="shipper", api_key=PASSWORD) as s:
        event_id = s.track("report.generated", {"pages": 12, "name": "\u00e9t\u00e9"},
                           context={"app": "demo"}, timestamp=1_790_000_000.123)
        others = [s.track("e", {"i": i}) for i in range(99)]
    found = rows(server, table)
    assert sorted(r["id"] for r in found) == sorted([event_id, *others])
    (row,) = [r for r in found if r["id"] == event_id]
    assert row["event"] == "report.generated" and row["timestamp"] == "2026-09-21 14:13:20"
    assert row["timestamp_ms"] == 123
    assert json.loads(str(row["properties"])) == {"pages": 12, "name": "\u00e9t\u00e9"}
    assert json.loads(str(row["context"]))["app"] == "demo"
    assert pending_events(cache_dir) == 0


def test_a_column_type_mismatch_is_a_refusal_not_a_retry(server: ClickHouseServer,
                                                         cache_dir: Path, table: str) -> None:
    """A table whose column cannot hold what is sent: ClickHouse refuses the rows, which is
    read as a refusal (ClickHouse names the row), not a transient failure to retry at once.
    Since it refuses every row, the table is at fault, not the events: they are kept, the
    delivery pauses with the reason, and doctor names the column."""
    server.query(f"CREATE TABLE default.{table} (id String, event String, timestamp "
                 "DateTime('UTC'), timestamp_ms UInt16, properties UInt32, context String) "
                 "ENGINE = ReplacingMergeTree() ORDER BY id")
    env = settings_env(cache_dir, server, table)
    with Shipper(destination="clickhouse", endpoint=server.url, clickhouse_table=table,
                 clickhouse_user="shipper", api_key=PASSWORD, shutdown_timeout=5) as s:
        ids = [s.track("e", {"i": i}) for i in range(6)]
        s.flush()
        s.track("more")
    assert rows(server, table) == []
    kept = {e["id"] for e in events_on_disk(cache_dir)}
    assert len(kept) == 7 and set(ids) <= kept
    status = json.loads(shipper_cmd(env, "status", "--json").stdout)
    assert status["dead_letter_events"] == 0 and status["breaker"]["state"] == "open"
    assert "refused all" in status["breaker"]["reason"]
    doctor = shipper_cmd(env, "doctor")
    assert doctor.returncode == 1 and "properties is UInt32" in doctor.stdout


def test_one_row_that_cannot_be_stored_is_refused_alone(server: ClickHouseServer,
                                                       cache_dir: Path, table: str) -> None:
    """An event whose time the table cannot hold (before 1970) is dead-lettered; the others
    are inserted."""
    with Shipper(destination="clickhouse", endpoint=server.url, clickhouse_table=table,
                 clickhouse_user="shipper", api_key=PASSWORD) as s:
        good = [s.track("e", {"i": i}) for i in range(20)]
        bad = s.track("old", timestamp=-86400.0 * 365)
    assert sorted(r["id"] for r in rows(server, table)) == sorted(good)
    dead = destination_home(cache_dir, server.url, "clickhouse", clickhouse_table=table) / "dead"
    kept = [json.loads(line)["id"] for path in dead.iterdir()
            for line in path.read_bytes().splitlines()[1:]]
    assert kept == [bad]


def test_wrong_password_keeps_events_and_pauses(server: ClickHouseServer, cache_dir: Path,
                                                table: str) -> None:
    """Refused credentials are a configuration error: nothing is dropped or dead-lettered,
    and the breaker opens with the reason."""
    env = settings_env(cache_dir, server, table, SHIPPER_API_KEY="wrong")
    for i in range(3):
        shipper_cmd(env, "emit", "e", "-p", f"i={i}")
    out = shipper_cmd(env, "sync", "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["pending_events"] == 3
    status = json.loads(shipper_cmd(env, "status", "--json").stdout)
    assert status["breaker"]["state"] == "open" and status["dead_letter_events"] == 0


def test_doctor_checks_server_credentials_and_table(server: ClickHouseServer, cache_dir: Path,
                                                    table: str) -> None:
    """doctor pings, logs in, and checks the table's columns and the right to insert."""
    env = settings_env(cache_dir, server, table)
    fresh = shipper_cmd(env, "doctor")
    assert fresh.returncode == 0, fresh.stdout
    assert "created (CREATE TABLE IF NOT EXISTS)" in fresh.stdout
    server.query(f"CREATE TABLE default.{table} (id String, properties UInt8) "
                 "ENGINE = MergeTree() ORDER BY id")
    wrong = shipper_cmd(env, "doctor")
    assert wrong.returncode == 1 and "properties is UInt8" in wrong.stdout
    assert "ClickHouse 18" in wrong.stdout or "ClickHouse 2" in wrong.stdout


def test_the_server_is_debians(clickhouse_installed: None) -> None:
    """The server these tests use comes from the machine's package source."""
    require_tool("apt-get")
    from .clickhouse import server_binary

    assert server_binary() is not None


def test_a_user_without_ddl_rights_inserts_into_an_existing_table(
        server: ClickHouseServer, cache_dir: Path, table: str) -> None:
    """A user whose profile forbids DDL (allow_ddl = 0), the table made by its owner: the
    refused CREATE TABLE falls through to the insert, and only the insert's answer counts
    (it used to open the breaker with 0 inserts), for a running client and for sync."""
    from shipper._destinations._clickhouse import create_table_sql

    server.query(create_table_sql("default", table))
    with Shipper(destination="clickhouse", endpoint=server.url, clickhouse_table=table,
                 clickhouse_user="inserter", api_key=PASSWORD, shutdown_timeout=5) as s:
        direct = [s.track("direct", {"i": i}) for i in range(5)]
        s.flush(10)
    env = settings_env(cache_dir, server, table, SHIPPER_CLICKHOUSE_USER="inserter")
    assert shipper_cmd(env, "emit", "synced").returncode == 0
    done = shipper_cmd(env, "sync", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    stored = rows(server, table)
    assert {r["id"] for r in stored} >= set(direct) and len(stored) == 6
    assert pending_events(cache_dir) == 0
