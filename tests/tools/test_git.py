"""git: the post-commit block of `shipper hooks install git` and the ready-made script:
each commit recorded as metadata (never the message or the diff), the user's own
post-commit kept working."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import child_env, events_on_disk
from .common import HOOKS, SECRET, SYSTEM_PATH, Where, env_for

needs_git = pytest.mark.usefixtures("needs_git")


@pytest.mark.usefixtures("needs_git")
def test_git_post_commit_records_the_commit(tmp_path: Path) -> None:
    """The post-commit hook records sha, branch and file count, never the message."""
    repo = tmp_path / "repo"
    repo.mkdir()
    cache = tmp_path / "c"
    env = env_for(cache, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e",
                  GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e", HOME=str(tmp_path))

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    shutil.copy(HOOKS / "git" / "post-commit", repo / ".git" / "hooks" / "post-commit")
    (repo / "a.txt").write_text("a")
    (repo / "b.txt").write_text("b")
    git("add", ".")
    git("commit", "-q", "-m", SECRET)
    (event,) = events_on_disk(cache)
    assert event["event"] == "git.commit"
    props = event["properties"]
    assert props["sha"] == git("rev-parse", "HEAD")
    assert props["branch"] == "main" and props["files_changed"] == 2
    assert props["merge"] is False and props["repo"] == "repo"
    assert SECRET not in json.dumps(event)


# -- installing ------------------------------------------------------------------------------


@pytest.fixture
def repo(where: Where, tmp_path: Path) -> Path:
    """A real repository, as the working folder."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(where.cwd)], check=True,
                   capture_output=True)
    return where.cwd


def commit(repo: Path, cache: Path, message: str = "a commit") -> str:
    """Commit a new file with shipper's cache in ``cache`` and no shipper on PATH; returns
    the sha."""
    env = child_env(cache, PATH=SYSTEM_PATH, HOME=str(repo.parent), GIT_AUTHOR_NAME="t",
                    GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    count = len(list(repo.glob("f*.txt")))
    (repo / f"f{count}.txt").write_text(str(count))
    git = shutil.which("git") or "git"
    subprocess.run([git, "add", "."], cwd=repo, env=env, check=True, capture_output=True)
    subprocess.run([git, "commit", "-q", "-m", message], cwd=repo, env=env, check=True,
                   capture_output=True)
    out = subprocess.run([git, "rev-parse", "HEAD"], cwd=repo, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


@needs_git
def test_git_hook_records_each_commit_by_absolute_path(
        where: Where, repo: Path, tmp_path: Path) -> None:
    """install git writes an executable post-commit that records git.commit (metadata only)
    with shipper by absolute path."""
    code, out, _ = where("install", "git")
    hook = repo / ".git" / "hooks" / "post-commit"
    assert code == 0 and str(hook) in out
    assert os.access(hook, os.X_OK) and hook.read_text().startswith("#!/bin/sh\n")
    cache = tmp_path / "cache-git"
    sha = commit(repo, cache, message="TOP-SECRET message")
    (event,) = events_on_disk(cache)
    assert event["event"] == "git.commit"
    assert event["properties"] == {"sha": sha, "branch": "main", "repo": "work",
                                   "files_changed": 1, "merge": False}
    assert "TOP-SECRET" not in json.dumps(event)


@needs_git
def test_git_keeps_the_users_post_commit_hook_working(
        where: Where, repo: Path, tmp_path: Path) -> None:
    """A user's sh hook that ends with `exit 0` still runs, ours runs too; uninstall gives
    the user's script back byte for byte."""
    hook = repo / ".git" / "hooks" / "post-commit"
    marker = tmp_path / "user-hook-ran"
    mine = f'#!/bin/sh\n# my hook\necho ran >> "{marker}"\nexit 0\n'
    hook.write_text(mine)
    hook.chmod(0o755)
    assert where("install", "git")[0] == 0
    assert "# >>> shipper >>>" in hook.read_text() and "# <<< shipper <<<" in hook.read_text()
    cache = tmp_path / "cache-git"
    commit(repo, cache)
    assert marker.read_text() == "ran\n"
    assert [e["event"] for e in events_on_disk(cache)] == ["git.commit"]
    assert where("install", "git")[1].endswith("nothing changed\n")
    assert where("uninstall", "git")[0] == 0
    assert hook.read_text() == mine and os.access(hook, os.X_OK)


@needs_git
def test_git_uninstall_removes_the_hook_it_created_and_status_follows(
        where: Where, repo: Path) -> None:
    """A post-commit shipper made is removed whole; status says installed, then not."""
    hook = repo / ".git" / "hooks" / "post-commit"
    assert "git (project): not installed" in where("status")[1]
    where("install", "git")
    assert f"git (project): installed, post-commit, up to date ({hook})" in where("status")[1]
    code, out, _ = where("uninstall", "git")
    assert code == 0 and not hook.exists() and "removed" in out
    assert "git (project): not installed" in where("status")[1]


@needs_git
def test_git_dry_run_shows_the_script_and_writes_nothing(where: Where, repo: Path) -> None:
    """--dry-run prints the new script as a diff; no hook is written."""
    code, out, _ = where("install", "git", dry_run=True)
    assert code == 0 and "+# >>> shipper >>>" in out and "nothing written" in out
    assert not (repo / ".git" / "hooks" / "post-commit").exists()


@needs_git
def test_git_refuses_a_hook_that_is_not_a_shell_script(where: Where, repo: Path) -> None:
    """A Python post-commit is not edited: exit 1, the file untouched, the reason given."""
    hook = repo / ".git" / "hooks" / "post-commit"
    script = "#!/usr/bin/env python3\nprint('hi')\n"
    hook.write_text(script)
    hook.chmod(0o755)
    code, _, err = where("install", "git")
    assert code == 1 and "not a sh or bash script" in err
    assert hook.read_text() == script


@needs_git
@pytest.mark.parametrize("copy", ["today's", "older"])
def test_git_leaves_a_hand_copied_shipper_hook_alone(where: Where, repo: Path,
                                                     copy: str) -> None:
    """A copy of hooks/git/post-commit (today's, piping into `shipper hook`, or an older one
    calling `shipper emit`) already records commits: no second block is added, and status
    says it is not shipper's to manage."""
    hook = repo / ".git" / "hooks" / "post-commit"
    if copy == "older":
        hook.write_text("#!/bin/sh\nshipper emit git.commit -p \"sha=\\\"$sha\\\"\" || true\n")
    else:
        shutil.copy(HOOKS / "git" / "post-commit", hook)
    hook.chmod(0o755)
    before = hook.read_bytes()
    code, out, _ = where("install", "git")
    assert code == 0 and "already records commits with shipper" in out
    assert hook.read_bytes() == before
    assert "copied by hand, not managed by shipper" in where("status")[1]


@needs_git
def test_git_fills_an_empty_hook_file_and_refuses_a_disabled_one(
        where: Where, repo: Path) -> None:
    """An empty post-commit is filled in; a non-executable one (git skips it) is not
    turned on behind the user's back: exit 1, untouched."""
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text("")
    assert where("install", "git")[0] == 0 and os.access(hook, os.X_OK)
    hook.write_text("#!/bin/sh\necho off\n")
    hook.chmod(0o644)
    code, _, err = where("install", "git")
    assert code == 1 and "not executable" in err
    assert hook.read_text() == "#!/bin/sh\necho off\n"


@needs_git
def test_git_follows_core_hookspath(where: Where, repo: Path) -> None:
    """With core.hooksPath set, the hook goes to that folder (made if missing)."""
    subprocess.run(["git", "config", "core.hooksPath", ".githooks"], cwd=repo, check=True)
    assert where("install", "git")[0] == 0
    assert (repo / ".githooks" / "post-commit").exists()


@needs_git
def test_git_outside_a_repository_or_in_user_scope_is_a_usage_error(where: Where) -> None:
    """git hooks belong to a repository: user scope and a non-repository folder exit 2."""
    code, _, err = where("install", "git", scope="user")
    assert code == 2 and "repository" in err
    code, _, err = where("install", "git")
    assert code == 2 and "not inside a git repository" in err


@needs_git
def test_a_commit_after_shipper_was_removed_is_silent(
        where: Where, repo: Path, tmp_path: Path) -> None:
    """The block of a shipper that is gone (its interpreter no longer there) neither fails
    the commit nor prints anything, and records nothing."""
    assert where("install", "git")[0] == 0
    hook = repo / ".git" / "hooks" / "post-commit"
    python = json.dumps(str(Path(sys.executable).absolute()))[1:-1]
    hook.write_text(hook.read_text().replace(python, str(tmp_path / "gone" / "python")))
    env = child_env(tmp_path / "cache", PATH=SYSTEM_PATH, HOME=str(repo.parent),
                    GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
                    GIT_COMMITTER_EMAIL="t@e")
    (repo / "a.txt").write_text("a")
    git = shutil.which("git") or "git"
    subprocess.run([git, "add", "."], cwd=repo, env=env, check=True, capture_output=True)
    done = subprocess.run([git, "commit", "-q", "-m", "m"], cwd=repo, env=env,
                          capture_output=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert not (tmp_path / "cache").exists()
