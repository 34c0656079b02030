"""Events lost on purpose are counted and shown: a warning on the command line, emit's
reason, drops saved for status, a bug inside track counted, pruned events not called
delivered; the hook's rename is durable."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from shipper import Shipper
from shipper._cache._spool import Spool
from shipper._cli._main import main

from .conftest import (
    child_env,
    require_tool,
    shipper_cmd,
)

pytestmark = pytest.mark.chaos



def test_the_cli_shows_warnings_and_emit_says_why_it_dropped(cache_dir: Path) -> None:
    """emit of an event over the limit exits 1 with the reason; warnings go to stderr, and
    -q silences them."""
    env = child_env(cache_dir, SHIPPER_MAX_EVENT_BYTES="100")
    out = shipper_cmd(env, "emit", "big", "-p", "x=" + "y" * 500)
    assert out.returncode == 1 and "event not recorded" in out.stderr
    assert "over max_event_bytes" in out.stderr
    status = shipper_cmd(env, "status")
    assert "1 too large" in status.stdout
    Spool(cache_dir).write([b'{"id":"old"}'], written_ms=0)
    loud = shipper_cmd(env, "prune", "--max-age", "1")
    assert "shipper: pruned 1 cached events" in loud.stderr
    Spool(cache_dir).write([b'{"id":"old2"}'], written_ms=0)
    quiet = shipper_cmd(env, "prune", "--max-age", "1", "-q")
    assert quiet.stderr == ""


def test_the_hook_path_makes_the_rename_durable(cache_dir: Path) -> None:
    """After renaming the event file into pending/, the folder itself is fsync'd."""
    require_tool("strace")
    out = subprocess.run(["strace", "-f", "-y", "-e", "trace=fsync,renameat,rename",
                          sys.executable, "-m", "shipper", "emit", "durable"],
                         env=child_env(cache_dir), capture_output=True, text=True,
                         timeout=120, check=False)
    lines = out.stderr.splitlines()
    renames = [i for i, line in enumerate(lines) if "rename" in line and "/pending" in line]
    assert renames, out.stderr[-2000:]
    after = lines[renames[-1]:]
    assert any("fsync(" in line and "/pending>" in line and line.rstrip().endswith("= 0")
               for line in after), out.stderr[-2000:]


def test_client_side_drops_are_saved_for_status(cache_dir: Path) -> None:
    """too_large drops of a client are in drops.json after close (status shows them)."""
    s = Shipper(endpoint="http://127.0.0.1:9", max_event_bytes=100, shutdown_timeout=0.2)
    assert s.track("big", {"x": "y" * 500}) is None
    s.close()
    assert json.loads((cache_dir / "drops.json").read_text()) == {"too_large": 1}


def test_a_bug_inside_track_is_counted_as_an_internal_error(
        cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A failure of track() itself (here a subclass whose worker check raises, standing in
    for a bug) reaches no caller: None is returned, the traceback logged, and the lost event
    saved as an internal_error drop for status."""

    class Broken(Shipper):
        def _worker_ready(self) -> bool:
            raise RuntimeError("a bug in shipper")

    s = Broken(endpoint="http://127.0.0.1:9", shutdown_timeout=0.2)
    with caplog.at_level(logging.ERROR, logger="shipper"):
        assert s.track("e", {"n": 1}) is None
    s.close()
    assert "a bug in shipper" in caplog.text
    assert json.loads((cache_dir / "drops.json").read_text()) == {"internal_error": 1}


def test_status_does_not_claim_pruned_events_were_delivered(cache_dir: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            ) -> None:
    """When the cache is empty because events were pruned, status says they were dropped."""
    Spool(cache_dir).write([b'{"id":"old"}'], written_ms=0)
    main(["prune", "--max-age", "1", "-q"])
    capsys.readouterr()
    main(["status"])
    out = capsys.readouterr().out
    assert "were dropped" in out and "every recorded event was delivered" not in out
