"""Any payload makes an event: a hook never loses what an agent handed it.

Run as real hook processes, with the standard library's ``json`` never imported (the hook
path drives its C scanner directly): cut-off, malformed, oversized or never-closed stdin
each makes one event that says what was wrong and how large the payload was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, child_env, events_on_disk

# Python 3.10 and 3.11 raise SystemError for these from the C scanner when json was never
# imported; 3.12 imports json.decoder itself to say what is wrong.
SCANNER_ERRORS = [b'{"a":"b', b'{"a":1', b'{"a":"\\x"}', b'{"a" 1}']
NOT_OBJECTS = [b"", b"   ", b"not json", b"\xff\xfe\x00\x01", b"[1, 2, 3]", b'"a string"',
               b"null", b"{", b'{"hook_event_name": ', b"1e999999",
               b"[" * 100_000 + b"]" * 100_000]


def hook(payload: bytes, cache: Path, python: str = sys.executable,
         *args: str) -> subprocess.CompletedProcess[bytes]:
    """The hook as the installed script runs it: ``python -S``, shipper's own entry point."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from shipper._hook import run; run()"
    return subprocess.run([python, "-S", "-c", code, "--source", "claude-code", *args],
                          input=payload, env=child_env(cache), capture_output=True,
                          timeout=60, check=False)


def the_event(cache: Path) -> dict[str, object]:
    events = events_on_disk(cache)
    assert len(events) == 1, events
    return events[0]


@pytest.mark.parametrize("payload", SCANNER_ERRORS + NOT_OBJECTS,
                         ids=range(len(SCANNER_ERRORS + NOT_OBJECTS)))
def test_a_payload_that_is_not_a_json_object_makes_an_event_with_its_size(
        payload: bytes, tmp_path: Path) -> None:
    """Malformed, cut-off or non-object JSON: exit 0, nothing on stdout, and one
    ``invalid_payload`` event saying what was wrong and how many bytes came."""
    done = hook(payload, tmp_path / "c")
    assert (done.returncode, done.stdout) == (0, b"")
    event = the_event(tmp_path / "c")
    assert event["event"] == "claude_code.invalid_payload"
    props = event["properties"]
    assert isinstance(props, dict)
    assert props["payload_bytes"] == len(payload) and props["payload_error"]


def _interpreters() -> list[str]:
    """This Python, and every other CPython from 3.10 on that this machine has."""
    found = {sys.executable}
    for minor in range(10, 15):
        path = shutil.which(f"python3.{minor}")
        if path is None:
            continue
        version = subprocess.run([path, "-c", "import sys; print(sys.version_info >= (3, 10))"],
                                 capture_output=True, text=True, timeout=60, check=False)
        if version.stdout.strip() == "True":
            found.add(path)
    return sorted(found)


@pytest.mark.parametrize("python", _interpreters())
def test_malformed_json_makes_an_event_on_every_python(python: str, tmp_path: Path) -> None:
    """The scanner's errors are caught on each supported Python this machine has (3.10
    and 3.11 report them as SystemError when json is not loaded)."""
    for i, payload in enumerate(SCANNER_ERRORS):
        cache = tmp_path / f"c{i}"
        done = hook(payload, cache, python)
        assert (done.returncode, done.stdout) == (0, b""), done.stderr
        assert the_event(cache)["event"] == "claude_code.invalid_payload"


def test_a_payload_over_16_mib_makes_an_event_with_its_whole_size(tmp_path: Path) -> None:
    """A payload past the 16 MiB the hook keeps is not parsed cut off: its event says it was
    too large, with the size of all of it."""
    payload = b'{"prompt": "' + b"x" * (17 << 20) + b'"}'
    done = hook(payload, tmp_path / "c")
    assert done.returncode == 0
    props = the_event(tmp_path / "c")["properties"]
    assert isinstance(props, dict)
    assert props["payload_bytes"] == len(payload)
    assert "16 MiB" in str(props["payload_error"])


def _open_stdin_hook(cache: Path, written: bytes) -> int:
    """A hook whose stdin gets ``written`` and is never closed; its exit status."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from shipper._hook import run; run()"
    read, write = os.pipe()
    try:
        proc = subprocess.Popen([sys.executable, "-S", "-c", code, "--source", "claude-code"],
                                stdin=read, stdout=subprocess.DEVNULL, env=child_env(cache))
        os.write(write, written)
        return proc.wait(timeout=60)
    finally:
        os.close(read)
        time.sleep(0)
        os.close(write)


def test_a_whole_payload_on_a_stdin_never_closed_is_recorded(tmp_path: Path) -> None:
    """An agent that writes its payload and keeps stdin open: once the budget passes, the
    hook records what was written, as a normal event."""
    assert _open_stdin_hook(tmp_path / "c", json.dumps(
        {"hook_event_name": "Stop", "session_id": "s-open"}).encode()) == 0
    event = the_event(tmp_path / "c")
    assert event["event"] == "claude_code.Stop"
    assert event["properties"] == {"hook_event_name": "Stop", "session_id": "s-open"}


def test_half_a_payload_on_a_stdin_never_closed_makes_an_event_that_says_so(
        tmp_path: Path) -> None:
    """Half a payload and stdin left open: an ``invalid_payload`` event that names the
    cause, with the bytes that came."""
    assert _open_stdin_hook(tmp_path / "c", b'{"hook_event_name": "St') == 0
    props = the_event(tmp_path / "c")["properties"]
    assert isinstance(props, dict)
    assert props["payload_bytes"] == 23
    assert "still open" in str(props["payload_error"])


def test_the_json_reader_says_value_error_for_bad_json_without_json_loaded() -> None:
    """`shipper._json.loads` turns every syntax error into a ValueError, also where the
    standard library's json was never imported (the hook path)."""
    code = ("import sys\nfrom shipper._json import loads\n"
            "for text in sys.argv[1:]:\n"
            "    try:\n        loads(text.encode())\n    except ValueError:\n        pass\n"
            "print('json' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-S", "-c", code,
                           *(p.decode() for p in SCANNER_ERRORS)], capture_output=True,
                          text=True, env={**child_env(), "PYTHONPATH": str(ROOT)}, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # json came in only to say what was wrong


def test_a_payload_in_the_environment_is_recorded_when_stdin_is_empty(tmp_path: Path) -> None:
    """``SHIPPER_HOOK_PAYLOAD`` (the opencode plugin's way: private to the user, where argv
    is not) is the payload when stdin is empty; stdin, when it has one, wins; either way
    the variable is taken out of the hook's environment, so nothing it starts inherits it."""
    code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); from shipper._hook import main; "
            f"main(); sys.stderr.write(repr('SHIPPER_HOOK_PAYLOAD' in os.environ))")
    payload = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Read"})
    on_stdin = payload.replace("Read", "Edit").encode()
    for stdin, cache, tool in ((b"", tmp_path / "env", "Read"),
                               (on_stdin, tmp_path / "stdin", "Edit")):
        env = {**child_env(cache), "SHIPPER_HOOK_PAYLOAD": payload}
        done = subprocess.run([sys.executable, "-S", "-c", code, "--source", "claude-code"],
                              input=stdin, env=env, capture_output=True, timeout=60,
                              check=False)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"False")
        props = the_event(cache)["properties"]
        assert isinstance(props, dict) and props["tool_name"] == tool
