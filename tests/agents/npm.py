"""The agent CLIs from the npm registry, installed once into a cache folder outside the
repository and reused by every later run (and by parallel runs: one installs, the others
wait on a lock, then find it done).

``~/.cache/shipper-tests/npm/<name>@<version>/`` (``$XDG_CACHE_HOME`` honoured) holds one
``npm install --prefix`` of one pinned version; a marker file written last says it is
complete, so an install cut short is thrown away and done again.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

NODE_MAJOR_NEEDED = 20  # Gemini CLI's engines field; the others need less
INSTALL_TIMEOUT_S = 900.0  # a hang guard for a slow registry, not a measure
MARKER = ".shipper-tests-installed"


class Unavailable(Exception):
    """This machine cannot have the package (no npm, old node, the install failed)."""


@dataclass(frozen=True)
class NpmPackage:
    """One pinned npm package and the executable of it the tests run."""

    name: str
    version: str
    bin: str  # the name in node_modules/.bin

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shipper-tests" / "npm"


def folder_for(package: NpmPackage) -> Path:
    return cache_root() / package.spec.replace("/", "+")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Unavailable(f"{name} is not installed (or not on PATH)")
    return found


def _check_node() -> None:
    out = subprocess.run([_tool("node"), "--version"], capture_output=True, text=True,
                         timeout=60, check=False)
    match = re.match(r"v(\d+)\.", out.stdout.strip())
    if match is None or int(match.group(1)) < NODE_MAJOR_NEEDED:
        raise Unavailable(f"node {NODE_MAJOR_NEEDED} or newer is needed, found "
                          f"{out.stdout.strip() or out.stderr.strip()!r}")


def executable(package: NpmPackage) -> Path:
    return folder_for(package) / "node_modules" / ".bin" / package.bin


def _installed_version(package: NpmPackage) -> str | None:
    """The version npm put in node_modules (from its package.json), None if none."""
    import json

    manifest = folder_for(package) / "node_modules" / package.name / "package.json"
    try:
        version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) else None


def _reports_version(package: NpmPackage, command: Path) -> bool:
    try:
        out = subprocess.run([str(command), "--version"], capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL, check=False)
    except OSError:
        return False
    return out.returncode == 0 and package.version in out.stdout


def ensure(package: NpmPackage) -> tuple[Path, float]:
    """The package's executable, installed first where missing; and the seconds the
    install took (0 when it was there). Raises `Unavailable` with the reason."""
    folder = folder_for(package)
    marker = folder / MARKER
    with _locked(folder.with_name(folder.name + ".lock")):
        if (marker.is_file() and executable(package).is_file()
                and _installed_version(package) == package.version):
            return executable(package), 0.0
        _check_node()
        npm = _tool("npm")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        start = time.monotonic()
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(folder), "--save-exact", "--no-audit",
                 "--no-fund", "--no-update-notifier", "--loglevel=error", package.spec],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"npm install {package.spec} did not finish in "
                              f"{INSTALL_TIMEOUT_S:.0f} s") from None
        took = time.monotonic() - start
        if done.returncode != 0:
            raise Unavailable(f"npm install {package.spec} failed: {done.stderr[-800:]}")
        if (_installed_version(package) != package.version
                or not _reports_version(package, executable(package))):
            raise Unavailable(f"{executable(package)} --version does not report "
                              f"{package.version} after npm install {package.spec}")
        marker.write_text(f"{package.spec}\n", encoding="utf-8")
        return executable(package), took
