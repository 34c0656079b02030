"""A real browser for the tests: Debian's ``chromium``, installed with apt where it is
missing (root), driven by Playwright for Python (pip-installed where missing) with the
system browser's path: Playwright downloads no browser of its own.

Chromium runs headless with what a closed network needs (no background connections to
Google's services, which this machine refuses) and a fresh profile folder each time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-quic"]


def chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return CHROMIUM if Path(CHROMIUM).exists() else None


def install() -> str | None:
    """Install what is missing (Debian's chromium, Playwright for Python); None when both
    are there, else why they cannot be."""
    if chromium() is None:
        if os.geteuid() != 0:
            return "chromium is not installed and installing it needs root"
        if shutil.which("apt-get") is None:
            return "chromium is not installed and there is no apt-get"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            done = subprocess.run(step, env=env, capture_output=True, timeout=1200,
                                  check=False)
            if done.returncode != 0:
                return f"{' '.join(step)} failed: {done.stderr.decode(errors='replace')[-500:]}"
        if chromium() is None:
            return "chromium did not install"
    try:
        import playwright  # noqa: F401 - only whether it is there
    except ImportError:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"],
                              capture_output=True, timeout=900, check=False)
        if done.returncode != 0:
            return f"pip install playwright failed: {done.stderr.decode(errors='replace')[-500:]}"
    return None
