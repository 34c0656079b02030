"""The ``properties`` setting: properties added to every event (Segment's and PostHog's
super properties, Sentry's tags), from a keyword, SHIPPER_PROPERTIES or a config table;
an event's own properties win."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import shipper
from shipper import ConfigError, Shipper, load_settings
from shipper._snapshot import SNAPSHOT_FILE, _shareable
from shipper.testing import capture

from .conftest import child_env, events_on_disk


def test_every_event_gets_them_and_its_own_win() -> None:
    """A keyword's properties are in every event; a key the event sets itself keeps the
    event's value; a call's own fields ($traits) stay the call's."""
    with capture() as events, Shipper(properties={"env": "prod", "n": 1, "$traits": 0}) as s:
        s.track("a")
        s.track("b", {"n": 2})
        s.track("c", "not a dict")
        s.identify("u", {"plan": "pro"})
    assert [e["properties"] for e in events] == [
        {"env": "prod", "n": 1, "$traits": 0},
        {"env": "prod", "n": 2, "$traits": 0},
        {"env": "prod", "n": 1, "$traits": 0, "value": "not a dict"},
        {"env": "prod", "n": 1, "$traits": {"plan": "pro"}},
    ]


def test_the_environment_takes_pairs_like_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """SHIPPER_PROPERTIES is NAME=VALUE,NAME2=VALUE2, values percent-decoded, as text."""
    monkeypatch.setenv("SHIPPER_PROPERTIES", "env=prod,team=data%20eng, build=42")
    assert load_settings().properties == {"env": "prod", "team": "data eng", "build": "42"}


def test_a_config_table_keeps_its_types(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A [properties] table keeps numbers, booleans, arrays and tables as they are, and a
    TOML date becomes its ISO text."""
    config = tmp_path / "config.toml"
    config.write_text('[properties]\nenv = "prod"\nbuild = 42\nbeta = true\n'
                      'tags = ["a", "b"]\nsince = 1979-05-27\n[properties.owner]\nteam = "x"\n')
    monkeypatch.setenv("SHIPPER_CONFIG", str(config))
    assert load_settings().properties == {"env": "prod", "build": 42, "beta": True,
                                          "tags": ["a", "b"], "since": "1979-05-27",
                                          "owner": {"team": "x"}}


def test_a_bad_value_is_refused_where_settings_are() -> None:
    """A keyword that is no table raises ConfigError; a mapping of objects JSON cannot hold
    does too."""
    with pytest.raises(ConfigError, match="properties must be a table"):
        Shipper(properties=3)
    with pytest.raises(ConfigError, match="JSON values"):
        Shipper(properties={"f": object()})


def test_shipper_track_and_emit_add_them(cache_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The short-lived paths add them too: shipper.track in this process, `shipper emit` in
    another with the table in its config file."""
    config = tmp_path / "c.toml"
    config.write_text('[properties]\nhost_kind = "ci"\n')
    out = subprocess.run([sys.executable, "-m", "shipper", "emit", "deploy", "-p", "n=1"],
                         env=child_env(cache_dir, SHIPPER_CONFIG=str(config)),
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    monkeypatch.setenv("SHIPPER_PROPERTIES", "env=test,kind=cli")
    shipper.track("cli.run", {"env": "mine"})
    props = sorted((e["event"], e["properties"]) for e in events_on_disk(cache_dir))
    assert props == [("cli.run", {"env": "mine", "kind": "cli"}),
                     ("deploy", {"host_kind": "ci", "n": 1})]


def test_hooks_see_a_properties_table_the_snapshot_cannot_hold(tmp_path: Path) -> None:
    """The hooks' parsed copy of the config file never leaves a setting out: nested values
    are kept, and a file with a date among its properties is not copied at all (hooks then
    parse it), so every hook event has every property."""
    keys = {"properties", "endpoint"}
    nested: dict[str, Any] = {"properties": {"tags": ["a"], "owner": {"team": "x"}}}
    assert _shareable(nested, keys) == nested
    import datetime

    assert _shareable({"properties": {"since": datetime.date(2020, 1, 1)}}, keys) is None
    config = tmp_path / "config.toml"
    config.write_text('endpoint = "http://127.0.0.1:9"\n[properties]\nsince = 2020-01-01\n')
    long_ago = time.time() - 3600
    os.utime(config, (long_ago, long_ago))
    cache = tmp_path / "cache"
    env = child_env(cache, SHIPPER_CONFIG=str(config), XDG_STATE_HOME=str(tmp_path / "st"))
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", "generic",
                        "--event", "x"], input="{}", env=env, capture_output=True, text=True,
                       timeout=60, check=True)
    assert not (tmp_path / "st" / "shipper" / SNAPSHOT_FILE).exists()
    assert [e["properties"]["since"] for e in events_on_disk(cache)] == ["2020-01-01"] * 2
