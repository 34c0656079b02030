"""Settings that would do harm are refused, not obeyed: no home folder means no cache (not
a folder named ~), bad values, a config file that is a FIFO."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shipper._config import load_settings

from .conftest import (
    ROOT,
    child_env,
    required_or_skip,
    run_py,
    shipper_cmd,
)

pytestmark = pytest.mark.chaos



def _python_for(uid: int) -> str | None:
    """An interpreter another user can run (this one may sit in root's home)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        try:
            if subprocess.run([candidate, "-c", "pass"], user=uid, capture_output=True,
                              timeout=30, check=False).returncode == 0:
                return candidate
        except OSError:
            continue
    return None


def test_no_home_folder_means_no_cache_not_a_tilde_folder() -> None:
    """HOME unset and no user database entry: nothing is written (not ./~/...), and the
    command says why. (Recording needs no third-party module: any Python 3.10+ runs it.)"""
    if os.geteuid() != 0:
        required_or_skip("root", "needed to run as a user with no entry in the user database")
    python = _python_for(54321)
    if python is None:
        required_or_skip("python", "no Python here that another user may run")
    workdir = Path(tempfile.mkdtemp(prefix="shipper-nohome-"))
    try:
        os.chown(workdir, 54321, 54321)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
               "SHIPPER_CONFIG": "/nonexistent/config.toml"}
        out = subprocess.run([python, "-m", "shipper", "emit", "x"], env=env, cwd=workdir,
                             capture_output=True, text=True, timeout=60, check=False,
                             user=54321, group=54321)
        assert out.returncode == 1 and "home folder" in out.stderr, out.stderr
        assert list(workdir.iterdir()) == []
    finally:
        shutil.rmtree(workdir)


@pytest.mark.parametrize(("variable", "value", "default"), [
    ("SHIPPER_ENDPOINT", "http://127.0.0.1:99999", None), ("SHIPPER_ENDPOINT", "ftp://x", None),
    ("SHIPPER_FLUSH_INTERVAL", "0", 1.0), ("SHIPPER_TIMEOUT", "0", 5.0),
])
def test_bad_settings_are_refused_not_obeyed(variable: str, value: str, default: object,
                                             cache_dir: Path) -> None:
    """A port out of range, a scheme that is not http, a flush interval of 0: the CLI
    refuses them (exit 2) and the library ignores them (the default holds) with a
    warning."""
    env = child_env(cache_dir, **{variable: value})
    assert shipper_cmd(env, "status").returncode == 2
    assert shipper_cmd(env, "doctor").returncode == 1
    settings = load_settings(environ={variable: value})
    assert getattr(settings, variable.removeprefix("SHIPPER_").lower()) == default


def test_a_config_file_that_is_a_fifo_does_not_hang(tmp_path: Path, cache_dir: Path) -> None:
    """SHIPPER_CONFIG pointing at a FIFO: the file is ignored with a warning, no hang."""
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    env = child_env(cache_dir, SHIPPER_CONFIG=str(fifo))
    out = run_py("import shipper\nprint(shipper.track('e'))", env, timeout=30)
    assert len(out.stdout.strip()) == 36
    assert shipper_cmd(env, "status").returncode == 2
