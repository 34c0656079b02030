"""The package as a user gets it: the wheel and the sdist built, the wheel installed (not
editable) into a fresh virtual environment, and its commands run from there."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import child_env, events_on_disk

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and the sdist, built from this checkout by the build front end."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def venv(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its bin folder."""
    where = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q",
                    str(built["wheel"])], check=True, capture_output=True, timeout=600)
    return where / "bin"


def test_the_distribution_is_shipper_events_with_the_shipper_package(
        built: dict[str, Path]) -> None:
    """The wheel is shipper-events (the name `shipper` is another project's on the index),
    installs the `shipper` package (serve's page included), both commands, the license and
    typing marker."""
    assert built["wheel"].name.startswith("shipper_events-")
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = whl.namelist()
        metadata = whl.read(next(n for n in names if n.endswith("/METADATA"))).decode()
        entry_points = whl.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert "Name: shipper-events" in metadata and "License-Expression: MIT" in metadata
    assert "Project-URL: Homepage" in metadata and "Classifier: Typing :: Typed" in metadata
    assert "aiofiles" not in metadata
    assert "shipper/py.typed" in names and "shipper/_hook.py" in names
    assert {f"shipper/_cli/_assets/viewer.{kind}" for kind in ("html", "js", "css")} <= set(
        names)  # serve's page
    assert any(n.endswith(".data/scripts/shipper-hook") for n in names)
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert b"shipper = shipper._cli._main:main" in entry_points
    assert not any("tests/" in n or "bench/" in n for n in names)


def test_the_sdist_holds_what_a_rebuild_needs(built: dict[str, Path]) -> None:
    """The sdist has the sources, the hook script, the license and the README; no caches."""
    with tarfile.open(built["sdist"]) as sdist:
        names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
    for needed in ("pyproject.toml", "LICENSE", "README.md", "scripts/shipper-hook",
                   "shipper/__init__.py", "shipper/_hook.py"):
        assert needed in names
    assert not any("__pycache__" in n or n.endswith(".pyc") or ".ci-skipped" in n
                   for n in names)


def test_the_installed_wheel_reports_its_version(venv: Path) -> None:
    """`shipper --version` from the installed wheel prints the package's version."""
    from shipper import __version__

    out = subprocess.run([str(venv / "shipper"), "--version"], capture_output=True, text=True,
                         env=child_env(), timeout=60, check=True)
    assert out.stdout.strip() == f"shipper {__version__}"


def test_the_default_install_encodes_with_orjson(venv: Path, tmp_path: Path) -> None:
    """Installed without extras, a long-running client encodes with orjson (a dependency on
    CPython: track() at half the standard library's cost), and the wheel's metadata keeps
    the standard library's path where orjson has no wheel (the marker)."""
    code = ("from shipper._event import fast_encoder, encode_stdlib\n"
            "import importlib.metadata as m\n"
            "print(fast_encoder() is not encode_stdlib)\n"
            "print([r for r in m.requires('shipper-events') if r.startswith('orjson')][0])")
    out = subprocess.run([str(venv / "python"), "-c", code], capture_output=True, text=True,
                         env=child_env(tmp_path / "cache"), timeout=120, check=True)
    fast, requirement = out.stdout.splitlines()
    assert fast == "True"
    assert "platform_python_implementation" in requirement and "extra" not in requirement


def test_the_installed_wheel_runs_the_demo(venv: Path, tmp_path: Path) -> None:
    """`shipper demo` from the installed wheel delivers events through an outage."""
    out = subprocess.run([str(venv / "shipper"), "demo"], capture_output=True, text=True,
                         env=child_env(tmp_path / "cache"), timeout=120, check=True)
    assert "5 events are safe on disk" in out.stdout
    assert "delivered 5 events, 0 pending" in out.stdout


def run_installed_hook(bin_dir: Path, cache: Path) -> tuple[list[str], set[str]]:
    """Run the hook command `shipper hooks install` writes for the install in ``bin_dir``
    (after its test that the installation is there), silent and successful: its argv and
    the modules it imported."""
    made = subprocess.run([str(bin_dir / "python"), "-c", "from shipper._tools._install "
                           "import hook_command; print(hook_command('claude-code'))"],
                          capture_output=True, text=True, env=child_env(cache), timeout=60,
                          check=True).stdout.strip()
    words = shlex.split(made)
    argv = words[words.index("exec") + 1:]
    payload = json.dumps({"hook_event_name": "Stop", "session_id": "s1", "cwd": "/tmp"})
    hook = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], input=payload,
                          capture_output=True, text=True, env=child_env(cache), timeout=60,
                          check=False)
    assert (hook.returncode, hook.stdout) == (0, "")
    return argv, {line.rsplit("|", 1)[-1].strip() for line in hook.stderr.splitlines()}


def test_the_installed_hook_command_skips_site(venv: Path, tmp_path: Path) -> None:
    """The command `shipper hooks install` writes for the installed wheel (`python -S
    shipper-hook`) finds shipper without `site`, which it never imports, and records."""
    cache = tmp_path / "cache"
    argv, imported = run_installed_hook(venv, cache)
    assert argv[:3] == [str(venv / "python"), "-S", str(venv / "shipper-hook")]
    assert "shipper._hook" in imported and not {"site", "__future__"} & imported
    assert len(events_on_disk(cache)) == 1


@pytest.fixture(scope="module")
def editable_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with this checkout installed as the README says (`pip
    install -e .`; without its dependencies: a hook needs none on 3.11+); its bin folder."""
    where = tmp_path_factory.mktemp("editable")
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "-e", str(ROOT)], check=True, capture_output=True, timeout=600)
    return where / "bin"


def test_the_editable_install_hook_command_skips_site(editable_venv: Path,
                                                      tmp_path: Path) -> None:
    """From an editable install, the hook command finds shipper through the plain path line
    of its .pth file, without running `site`, and records."""
    cache = tmp_path / "cache"
    argv, imported = run_installed_hook(editable_venv, cache)
    assert argv[:2] == [str(editable_venv / "python"), "-S"]
    assert "shipper._hook" in imported
    if sys.version_info >= (3, 11):  # the fast path's Pythons (see scripts/shipper-hook)
        assert not {"site", "__future__"} & imported
    assert len(events_on_disk(cache)) == 1


def test_the_installed_wheel_records_a_hook(venv: Path, tmp_path: Path) -> None:
    """The shipper-hook script of the installed wheel records a Claude Code event, silently,
    and `shipper status` of the same install counts it."""
    cache = tmp_path / "cache"
    payload = json.dumps({"hook_event_name": "Stop", "session_id": "s1", "cwd": "/tmp"})
    hook = subprocess.run([str(venv / "shipper-hook"), "--source", "claude-code"],
                          input=payload, capture_output=True, text=True,
                          env=child_env(cache), timeout=60, check=False)
    assert (hook.returncode, hook.stdout, hook.stderr) == (0, "", "")
    status = subprocess.run([str(venv / "shipper"), "status", "--json"], capture_output=True,
                            text=True, env=child_env(cache), timeout=60, check=True)
    assert json.loads(status.stdout)["pending_events"] == 1


def test_a_damaged_pth_file_of_shippers_leaves_the_hook_silent(tmp_path: Path) -> None:
    """A shipper .pth file in site-packages that is no text (a byte no encoding reads),
    with shipper nowhere else: the hook script, and site after it, cannot read it; the hook
    still exits 0 and says nothing (an agent reads anything else as a verdict)."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True,
                   timeout=300)
    site = env / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / "__editable__.shipper_events-0.1.0.pth").write_bytes(b"\xff\xfe/src\n")
    script = env / "bin" / "shipper-hook"
    script.write_bytes((ROOT / "scripts" / "shipper-hook").read_bytes())
    payload = json.dumps({"hook_event_name": "Stop", "session_id": "s1", "cwd": "/tmp"})
    hook = subprocess.run([str(env / "bin" / "python"), "-S", str(script), "--source",
                           "claude-code"], input=payload, capture_output=True, text=True,
                          env=child_env(tmp_path / "cache"), timeout=60, check=False)
    assert (hook.returncode, hook.stdout, hook.stderr) == (0, "", "")
