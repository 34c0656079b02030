"""The hook's cost is mostly what it imports: hold it to an allow-list of modules.

A hook process runs on every tool call of an agent, and most of its time beyond starting
Python is imports (bench/hook.py measures it; docs/performance.md has the figures). These
tests pin the modules, not a timing: one more module on the hook path fails here, on any
machine, however fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shipper
from shipper._snapshot import SNAPSHOT_FILE
from shipper._tools._registry import module_name, names

from .conftest import ROOT, child_env, events_on_disk, wait_for

# What recording one event needs. Anything else is a regression: `re` (json, the console
# script), `enum` (signal), `tomllib`, `typing`, `datetime`, `logging`, `zlib`, `hashlib`...
NO_ENDPOINT = {
    "__future__", "_json", "errno",
    "shipper", "shipper._version", "shipper._hook", "shipper._log", "shipper._guard",
    "shipper._json", "shipper._kinds", "shipper._errors",
    "shipper._tools", "shipper._tools._registry", "shipper._tools._mapping",
    "shipper._tools.claude_code",  # the one tool the probe's hook maps with
    "shipper._config", "shipper._cache", "shipper._cache._layout", "shipper._cache._files",
    "shipper._event", "shipper._oneshot",
}
# With an endpoint: the config file's snapshot, the sync lock and the shared state's pause
# hint (not the state itself: its reader, the breaker and the gate stay out).
WITH_ENDPOINT = NO_ENDPOINT | {"fcntl", "shipper._snapshot", "shipper._cache._pause"}
# With hash_paths: the cache's path key, and the C blake2 that hashes with it.
WITH_HASH_PATHS = NO_ENDPOINT | {"shipper._cache._identity", "_blake2", "encodings.ascii"}
ARCHITECTURE = ROOT / "docs" / "architecture.md"

PAYLOAD = {"hook_event_name": "PostToolUse", "session_id": "s1", "cwd": "/tmp",
           "tool_name": "Read", "tool_input": {"file_path": "/tmp/a.py"},
           "tool_response": {"success": True}}

# Run the hook's entry point as the shipper-hook script does, and report what it imported
# beyond what this Python had loaded at start-up (site hooks differ between machines).
PROBE = """
import io, json, os, sys
before = set(sys.modules)
sys.stdin = io.TextIOWrapper(io.BytesIO(sys.argv[1].encode()))
real = os.fdopen(os.dup(1), "w")
from shipper._hook import main
main(["--source", "claude-code"])
real.write(json.dumps(sorted(set(sys.modules) - before)))
real.flush()
"""


def imported_by_a_hook(env: dict[str, str]) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(PAYLOAD)], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(out.stdout))


def test_a_hook_without_endpoint_imports_only_the_allow_list(tmp_path: Path) -> None:
    """No endpoint: the event is recorded with nothing beyond the allow-list imported."""
    cache = tmp_path / "cache"
    extra = imported_by_a_hook(child_env(cache)) - NO_ENDPOINT
    assert not extra, f"the hook imports more than it needs: {sorted(extra)}"
    assert len(events_on_disk(cache)) == 1


def hooks_until_snapshotted(tmp_path: Path, text: str) -> tuple[dict[str, str], Path]:
    """A config file holding ``text``, last edited long ago, and hooks run until one has
    kept its snapshot; the hooks' environment, and the config file."""
    home = tmp_path / "home"
    config = home / ".config" / "shipper" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(text)
    long_ago = time.time() - 3600
    os.utime(config, (long_ago, long_ago))
    env = child_env(tmp_path / "cache", HOME=str(home), SHIPPER_CONFIG=str(config),
                    XDG_STATE_HOME=str(home / ".state"))
    # the change time is now (utime sets it): a snapshot is only trusted for a file that
    # has been still for a moment, so let the first hooks parse until it is taken
    deadline = time.monotonic() + 30
    while not (home / ".state" / "shipper" / SNAPSHOT_FILE).exists():
        imported_by_a_hook(env)
        assert time.monotonic() < deadline, "no snapshot of the config file was kept"
        time.sleep(0.5)
    return env, config


@pytest.mark.parametrize("down", [False, True])
def test_a_hook_with_an_endpoint_in_config_imports_no_toml_parser(
        tmp_path: Path, down: bool) -> None:
    """An endpoint set in config.toml: once a hook has parsed the file, the next hooks read
    its snapshot and import nothing beyond the allow-list (no tomllib, re or typing), with
    the collector's state known or not."""
    env, _ = hooks_until_snapshotted(tmp_path, 'endpoint = "http://127.0.0.1:9"\n')
    if down:  # a sync found the collector down: later hooks read that and start none
        imported_by_a_hook(env)
        assert wait_for(lambda: any((tmp_path / "cache").glob("destinations/*/paused-until")),
                        timeout=60)
    imported = imported_by_a_hook(env)
    extra = imported - WITH_ENDPOINT
    assert not extra, f"the hook imports more than it needs: {sorted(extra)}"
    if down:  # ...without even taking the sync lock
        assert "fcntl" not in imported


def test_the_snapshot_follows_an_edit_of_the_config_file(tmp_path: Path) -> None:
    """A config edit is seen by the very next hook: the snapshot is keyed by the file's
    identity and times, and holds no secret."""
    env, config = hooks_until_snapshotted(
        tmp_path, 'endpoint = "http://127.0.0.1:9"\napi_key = "sk-never-copied"\n')
    snapshot = tmp_path / "home" / ".state" / "shipper" / SNAPSHOT_FILE
    assert "sk-never-copied" not in snapshot.read_text()
    config.write_text("disabled = true\n")
    before = len(events_on_disk(tmp_path / "cache"))
    imported_by_a_hook(env)
    assert len(events_on_disk(tmp_path / "cache")) == before  # disabled: nothing recorded


def test_a_torn_config_snapshot_is_ignored_and_rewritten(tmp_path: Path) -> None:
    """A config-snapshot.json cut off inside a string (a crash, a full disk) costs no hook its
    event: the next hook reads the config file itself and writes a whole snapshot again."""
    env, _ = hooks_until_snapshotted(tmp_path, 'endpoint = "http://127.0.0.1:9"\n')
    snapshot = tmp_path / "home" / ".state" / "shipper" / SNAPSHOT_FILE
    text = snapshot.read_text()
    snapshot.write_text(text[:text.index("127.0") + 3])  # inside the endpoint's string
    before = len(events_on_disk(tmp_path / "cache"))
    imported_by_a_hook(env)
    assert len(events_on_disk(tmp_path / "cache")) == before + 1
    assert json.loads(snapshot.read_text())  # whole again


def test_a_hook_with_hash_paths_imports_only_the_key_and_blake2(tmp_path: Path) -> None:
    """hash_paths on: the cache's path key and the C blake2, nothing else."""
    cache = tmp_path / "cache"
    extra = imported_by_a_hook(child_env(cache, SHIPPER_HASH_PATHS="1")) - WITH_HASH_PATHS
    assert not extra, f"the hook imports more than it needs: {sorted(extra)}"
    assert len(events_on_disk(cache)) == 1


def documented_hook_path() -> dict[str, str]:
    """docs/architecture.md's module table: the hook path column, by module name. A cell
    may name several modules; a bare name is in the folder of the first one."""
    lines = ARCHITECTURE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| module |"))
    out: dict[str, str] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        folder = ""
        for name in re.findall(r"`([^`]+)`", cells[0]):
            folder = name.rpartition("/")[0] + "/" if "/" in name else folder
            path = name if "/" in name else folder + name
            dotted = path.removesuffix(".py").removesuffix("/").replace("/", ".")
            out["shipper" if dotted == "__init__" else f"shipper.{dotted}"] = cells[-1]
    return out


def test_the_architecture_table_says_what_a_hook_loads() -> None:
    """Every module of shipper has a row in docs/architecture.md's table, and its hook path
    column is what the allow-lists above say: always, with an endpoint, with hash_paths,
    its tool's hooks (a tool's module: see test_hooks.py), or no."""
    package = Path(shipper.__file__).parent
    modules = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        modules.add(".".join(("shipper", *parts)))
    documented = documented_hook_path()
    assert set(documented) == modules
    tools = {f"shipper._tools.{module_name(name)}" for name in names()}
    for module, column in documented.items():
        expected = ("its tool's hooks" if module in tools else
                    "always" if module in NO_ENDPOINT else
                    "with an endpoint" if module in WITH_ENDPOINT else
                    "with hash_paths" if module in WITH_HASH_PATHS else "no")
        assert column == expected, module
