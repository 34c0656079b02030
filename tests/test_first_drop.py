"""Silence where a user needs a word: a misspelt setting names the one meant, and the first
event a misconfigured program loses is said on stderr even where logging was never set up,
once, and only as the program's own logging configuration allows.

Logging is process-wide (and pytest adds handlers of its own), so the programs run in
child processes, as a user's would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipper import ConfigError, Shipper

from .conftest import child_env


def run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-c", code], env=child_env(tmp_path / "cache"),
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out


def test_a_misspelt_keyword_of_shipper_track_is_said_once(tmp_path: Path) -> None:
    """shipper.track('x', endpont=...) records nothing and returns None (it never raises),
    and says so, with the setting it most likely meant, in one line on stderr: the first
    time only."""
    out = run("import shipper\n"
              "for _ in range(3):\n"
              "    assert shipper.track('x', endpont='http://127.0.0.1:9') is None\n",
              tmp_path)
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("shipper: ")
    assert "unknown setting 'endpont' (did you mean 'endpoint'?)" in lines[0]
    assert out.stdout == ""


def test_a_misspelt_keyword_of_a_client_names_the_setting_meant() -> None:
    """Shipper(endpont=...) raises ConfigError (a programmer error) naming the setting meant;
    a name close to none gets no guess."""
    with pytest.raises(ConfigError, match=r"'endpont' \(did you mean 'endpoint'\?\)"):
        Shipper(endpont="http://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"unknown setting 'zzz'$"):
        Shipper(zzz=1)


def test_the_first_event_a_client_drops_is_said(tmp_path: Path) -> None:
    """An event over the size limit, a before_send that raises, a track() with a keyword it
    does not take: each kind is said once on stderr, the rest only logged."""
    out = run("from shipper import Shipper\n"
              "def broken(event): raise KeyError('oops')\n"
              "s = Shipper(endpoint='http://127.0.0.1:9', max_event_bytes=1024)\n"
              "t = Shipper(endpoint='http://127.0.0.1:9', before_send=broken)\n"
              "for _ in range(3):\n"
              "    assert s.track('big', {'blob': 'b' * 4096}) is None\n"
              "    assert t.track('x') is None\n"
              "    assert s.track('x', usr_id='u') is None\n"
              "s.close(); t.close()\n", tmp_path)
    lines = out.stderr.splitlines()
    assert len(lines) == 3, out.stderr
    assert "over max_event_bytes" in lines[0]
    assert "before_send raised KeyError" in lines[1]
    assert "track() failed" in lines[2] and "usr_id" in lines[2]
    assert "(did you mean 'user_id'?)" in lines[2]


def test_a_keyword_from_another_sdk_names_the_one_meant(tmp_path: Path) -> None:
    """Segment's and PostHog's camelCase keywords (userId, groupId) name shipper's own; a
    keyword close to none gets no guess."""
    out = run("from shipper import Shipper\n"
              "s = Shipper(endpoint='http://127.0.0.1:9')\n"
              "assert s.track('x', userId='u') is None\n"
              "assert s.group('g', groupId='acme') is None\n"
              "assert s.identify('u', zzz=1) is None\n"
              "s.close()\n", tmp_path)
    lines = out.stderr.splitlines()
    assert len(lines) == 3, out.stderr
    assert "(did you mean 'user_id'?)" in lines[0]
    assert "group() failed" in lines[1] and "(did you mean 'group_id'?)" in lines[1]
    assert "identify() failed" in lines[2] and "did you mean" not in lines[2]


def test_the_programs_own_logging_configuration_rules(tmp_path: Path) -> None:
    """A handler of the program's takes the line instead of stderr (each time it is
    logged); a level on the shipper logger, a NullHandler of the program's, a handler of
    its whose level is above warnings (logging's own fallback counts handlers, not their
    levels) or no lastResort silences it."""
    configured = run("import logging, sys, shipper\n"
                     "logging.basicConfig(stream=sys.stdout, format='LOG %(message)s')\n"
                     "shipper.track('x', endpont='u'); shipper.track('x', endpont='u')\n",
                     tmp_path)
    assert configured.stderr == ""
    assert configured.stdout.count("LOG shipper.track(): unknown setting 'endpont'") == 2
    for silence in ("logging.getLogger('shipper').setLevel(logging.ERROR)",
                    "logging.lastResort = None",
                    "logging.getLogger('shipper').addHandler(logging.NullHandler())",
                    "logging.basicConfig(); logging.getLogger().handlers[0].setLevel(40)",
                    "import logging.config; logging.config.dictConfig({'version': 1, "
                    "'disable_existing_loggers': False, 'handlers': {'h': {'class': "
                    "'logging.StreamHandler', 'level': 'ERROR'}}, 'root': {'handlers': "
                    "['h'], 'level': 'WARNING'}})"):
        quiet = run(f"import logging, shipper\n{silence}\nshipper.track('x', endpont='u')\n",
                    tmp_path)
        assert quiet.stderr == "" and quiet.stdout == "", silence
