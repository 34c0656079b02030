"""Hooks under pressure: many at once on a busy machine, and writers that die mid-write.

The hook's time budget limits only what waits on others (stdin, starting a sync): once the
payload is read, its event is written however long a loaded machine takes, and what a
writer killed before its rename left in ``tmp/`` is put back where it was going by the next
sync.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipper._cache._spool import Spool

from .conftest import Collector, child_env, events_on_disk, pending_events

pytestmark = pytest.mark.chaos


def hook_argv() -> list[str]:
    """The hook `shipper hooks install` writes for this installation, as argv (without the
    test, in front of it, that the installation is still there)."""
    from shipper._tools._install import hook_argv as installed

    return [*installed(), "--source", "claude-code"]


def test_a_thousand_hooks_at_once_on_a_busy_machine_record_every_event(tmp_path: Path) -> None:
    """1,000 hooks started at once while two processes keep the cores busy: every event is
    recorded (each its own session id), nothing is left in tmp/, nothing is dropped."""
    cache = tmp_path / "cache"
    script = tmp_path / "hooks.sh"
    command = " ".join(f"'{word}'" for word in hook_argv())
    script.write_text(
        "for i in $(seq 1 1000); do\n"
        f"  printf '{{\"hook_event_name\":\"Stop\",\"session_id\":\"s%d\"}}' \"$i\" | {command} &\n"
        "done\nwait\n")
    env = child_env(cache, SHIPPER_ENDPOINT="http://127.0.0.1:9")  # nothing listens: syncs fail
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        subprocess.run(["sh", str(script)], env=env, timeout=600, check=True)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    sessions = sorted(str(e["properties"]["session_id"]) for e in events_on_disk(cache))  # type: ignore[index]
    assert sessions == sorted(f"s{i}" for i in range(1, 1001))
    assert os.listdir(cache / "tmp") == []
    assert not (cache / "drops.json").exists()


def unfinished(cache: Path, folder: str, events: list[bytes], *, whole: bool) -> Path:
    """A file in tmp/ as a writer that died before its rename leaves it: named by that
    writer (a process that has ended) for ``folder``, whole or cut off mid-line."""
    made = subprocess.run(
        [sys.executable, "-c", "import sys, time\n"
         "from shipper._cache._layout import file_name, tmp_name\n"
         "print(tmp_name(sys.argv[1], file_name(int(time.time() * 1000), int(sys.argv[2]))))",
         folder, str(len(events))], capture_output=True, text=True, env=child_env(),
        timeout=60, check=True)
    from shipper._cache._files import encode_file

    data = encode_file(events)
    path = cache / "tmp" / made.stdout.strip()
    path.write_bytes(data if whole else data[:-10])
    long_ago = time.time() - 60
    os.utime(path, (long_ago, long_ago))
    return path


def batch(n: int) -> list[bytes]:
    return [json.dumps({"id": f"00000000-0000-7000-8000-{i:012d}", "event": "e"}).encode()
            for i in range(n)]


@pytest.mark.parametrize("whole", [True, False])
def test_a_file_whose_writer_died_before_its_rename_is_delivered_by_the_next_sync(
        tmp_path: Path, collector: Collector, whole: bool) -> None:
    """A writer killed between writing and renaming: the next sync puts its file where it
    was going and delivers it (a file cut off mid-line: its whole lines; the rest goes to
    quarantine)."""
    cache = tmp_path / "cache"
    spool = Spool(cache)
    spool.ensure()
    left = unfinished(cache, "pending", batch(5), whole=whole)
    done = subprocess.run([sys.executable, "-m", "shipper", "sync", "--timeout", "30"],
                          env=child_env(cache, SHIPPER_ENDPOINT=collector.url),
                          capture_output=True, text=True, timeout=120, check=False)
    assert not left.exists(), done.stderr
    assert len(collector.ids()) == (5 if whole else 4)
    assert pending_events(cache) == 0
    assert bool(os.listdir(cache / "quarantine")) is not whole


def test_a_file_of_a_writer_still_running_is_left_alone(tmp_path: Path) -> None:
    """A file in tmp/ whose writer is alive (a slow disk, a busy machine) is not touched."""
    cache = tmp_path / "cache"
    spool = Spool(cache)
    spool.ensure()
    from shipper._cache._layout import file_name, tmp_name

    path = cache / "tmp" / tmp_name("pending", file_name(int(time.time() * 1000), 1))
    path.write_bytes(b'{"shipper":1,"n":1}\n')  # this process is its writer, still writing
    long_ago = time.time() - 60
    os.utime(path, (long_ago, long_ago))
    assert spool.clean_tmp() == 0 and path.exists()


def test_two_syncs_recovering_at_once_put_each_file_back_once(tmp_path: Path) -> None:
    """Two processes dealing with the same cut-off files in tmp/ at the same moment: each
    file's readable events come back once (a file is held while it is dealt with)."""
    cache = tmp_path / "cache"
    Spool(cache).ensure()
    expected = []
    for n in range(40):
        events = [json.dumps({"id": f"00000000-0000-7000-8000-{n:06d}{i:06d}",
                              "event": "e"}).encode() for i in range(3)]
        expected += [json.loads(e)["id"] for e in events[:2]]
        unfinished(cache, "pending", events, whole=False)
    start = time.time() + 1.0
    code = (f"import time\nwhile time.time() < {start}: pass\n"
            f"from shipper._cache._spool import Spool\nSpool({str(cache)!r}).clean_tmp()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=child_env()) for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert sorted(e["id"] for e in events_on_disk(cache)) == sorted(expected)
