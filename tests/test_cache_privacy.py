"""The cache folder is the user's alone: one below a folder others can change, or reached
through another user's link, is refused, checked at every write; a folder swapped for a
link is not followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipper import Shipper

from .conftest import (
    child_env,
    pending_events,
    shipper_cmd,
)

pytestmark = pytest.mark.chaos



def test_a_cache_below_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    """Every folder above the cache must be root's or ours and not writable by others
    (unless root's and sticky, like /tmp): else nothing is written, and doctor says why."""
    open_dir = tmp_path / "shared"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)  # writable by all, not sticky
    cache = open_dir / "cache"
    env = child_env(cache)
    out = shipper_cmd(env, "emit", "x")
    assert out.returncode == 1 and "another user can change" in out.stderr
    assert not cache.exists()
    doctor = shipper_cmd(env, "doctor")
    assert doctor.returncode == 1 and "another user can change" in doctor.stdout
    os.chmod(open_dir, 0o1777)
    os.chown(open_dir, 54321, 54321)  # sticky, but not root's
    assert shipper_cmd(env, "emit", "x").returncode == 1
    os.chown(open_dir, 0, 0)  # like /tmp: root's and sticky
    assert shipper_cmd(env, "emit", "x").returncode == 0


def test_a_running_client_checks_the_tree_every_time(tmp_path: Path) -> None:
    """A client that wrote once is refused later if a folder above the cache became
    writable by others: it checks at each write, not once."""
    parent = tmp_path / "home"
    parent.mkdir(mode=0o755)
    cache = parent / "cache"
    s = Shipper(endpoint="http://127.0.0.1:9", cache_dir=str(cache), shutdown_timeout=0.2)
    s.track("before")
    s.flush()
    assert pending_events(cache) == 1
    os.chmod(parent, 0o777)
    s.track("after")
    s.close()
    assert pending_events(cache) == 1 and s.stats()["dropped"] == {"disk_unwritable": 1}


@pytest.mark.parametrize("folder", ["pending", "tmp"])
def test_a_folder_of_the_cache_swapped_for_a_link_is_not_followed(
        tmp_path: Path, folder: str) -> None:
    """A folder inside the cache replaced by a link to elsewhere: the files are opened
    through descriptors of folders opened without following links, so nothing is written
    there; the event is reported as not recorded."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache = tmp_path / "cache"
    env = child_env(cache)
    assert shipper_cmd(env, "emit", "first").returncode == 0
    (cache / folder).rename(tmp_path / "moved")
    (cache / folder).symlink_to(elsewhere, target_is_directory=True)
    out = shipper_cmd(env, "emit", "second")
    assert out.returncode == 1 and "event not recorded" in out.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_link_above_the_cache_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A folder link owned by another user above the cache: refused."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    os.lchown(link, 54321, 54321)
    out = shipper_cmd(child_env(link / "cache"), "emit", "x")
    assert out.returncode == 1 and not (real / "cache").exists()
