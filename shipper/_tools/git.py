"""git: each commit, from a block shipper adds to the repository's ``post-commit`` script.

The block sends the commit's sha, branch, repository folder name, files changed and
whether it merged; never the message, the diff or the author. It never fails the commit.
Our part of the script is the block between two marker lines.
"""

from __future__ import annotations

import os

from ._mapping import is_token

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ._install import Installer, Plan, Where
    from ._mapping import Fields

NAME = "git"
TITLE = "git"
ORDER = 900
PREFIX = "git"
ALIASES = ()
RECORDS = "each commit: sha, branch, repository folder name, files changed, merge"
EVENTS = ("each commit",)
MARK_BEGIN = "# >>> shipper >>>"
MARK_END = "# <<< shipper <<<"
# what a copy of hooks/git/post-commit runs (today's, and the older one's)
HAND_COPIED = ("shipper hook --source git", "shipper emit git.commit")


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    for key in ("sha", "branch", "repo", "files_changed", "merge"):
        fields.meta(key, payload.get(key))
    name = payload.get("event")
    return name if is_token(name) and name.startswith("git.") else "git.commit"


_BLOCK = r"""# >>> shipper >>>
# Records each commit as a `git.commit` event (sha, branch, repo, files changed, merge):
# metadata only, never the message or the diff; it never fails the commit.
# `shipper hooks uninstall git` takes this block out.
(
  sha=$(git rev-parse HEAD 2>/dev/null) || exit 0
  branch=$(git symbolic-ref --short -q HEAD 2>/dev/null || echo detached)
  files=$(git diff-tree --no-commit-id --name-only -r --root HEAD 2>/dev/null | wc -l | tr -d ' ')
  parents=$(git rev-list --parents -n 1 HEAD 2>/dev/null | wc -w | tr -d ' ')
  repo=$(basename "$(git rev-parse --show-toplevel 2>/dev/null)")
  merge=false
  [ "${parents:-0}" -gt 2 ] && merge=true
  str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
  printf '{"event":"git.commit","sha":%s,"branch":%s,"repo":%s,"files_changed":%s,"merge":%s}' \
    "$(str "$sha")" "$(str "$branch")" "$(str "$repo")" "${files:-0}" "$merge" |
    @HOOK@
) </dev/null >/dev/null 2>&1 || true
# <<< shipper <<<
"""
_SHELLS = ("sh", "bash", "dash", "ksh", "zsh")


def _block() -> str:
    from ._install import hook_command

    return _BLOCK.replace("@HOOK@", f"{{ {hook_command(NAME)}; }}")


def _hooks_dir(cwd: Path) -> Path:
    """The hooks folder of the repository holding ``cwd`` (core.hooksPath honoured)."""
    import shutil
    import subprocess

    from ._install import Refused

    git = shutil.which("git")
    if git is None:
        raise Refused("git is not installed (or not on PATH)")
    try:
        out = subprocess.run([git, "rev-parse", "--git-path", "hooks"], cwd=cwd,
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise Refused(f"could not run git: {exc}") from None
    if out.returncode != 0:
        raise Refused(f"{cwd} is not inside a git repository; run this in the repository", 2)
    return cwd / out.stdout.strip()


def _is_shell_script(text: str) -> bool:
    """Whether a script's #! line runs a POSIX-style shell (directly or through env)."""
    first = text.split("\n", 1)[0].rstrip("\r")
    words = first[2:].split() if first.startswith("#!") else []
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and os.path.basename(words[0]) in _SHELLS


def _block_span(lines: list[str], path: Path) -> tuple[int, int] | None:
    """The first and last line of our block, if there is one."""
    from ._install import Refused

    marks = [line.strip() for line in lines]
    if MARK_BEGIN not in marks:
        return None
    start = marks.index(MARK_BEGIN)
    if MARK_END not in marks[start:]:
        raise Refused(f"{path} has the line `{MARK_BEGIN}` without `{MARK_END}`; fix it by "
                      "hand, then run this again")
    return start, marks.index(MARK_END, start)


def _plan(action: str, scope: str, where: Where) -> Plan:
    """Our block in the repository's post-commit: a new script, or put into the user's sh
    script right after its #! line; on uninstall taken out (the whole file if only the
    #! line is left)."""
    from ._install import Change, Plan, Refused, read

    path = _hooks_dir(where.cwd) / "post-commit"
    text = read(path)
    lines = (text or "").splitlines(keepends=True)
    span = _block_span(lines, path) if text is not None else None
    plan = Plan(where=path, changes=[], done=[], unchanged="",
                found="post-commit" if span else None)
    if action == "uninstall":
        plan.unchanged = f"{NAME}: shipper's hook is not in {path}; nothing changed"
        if span is not None:
            rest = lines[:span[0]] + lines[span[1] + 1:]
            only_ours = all(not line.strip() or (i == 0 and line.startswith("#!"))
                            for i, line in enumerate(rest))
            plan.changes = [Change(path, text, None if only_ours else "".join(rest))]
            plan.done = [f"{NAME}: removed shipper's block from {path}" if not only_ours
                         else f"{NAME}: removed {path} (shipper had made it)"]
        return plan
    block = _block().splitlines(keepends=True)
    if text is None or not text.strip():
        new = "#!/bin/sh\n" + "".join(block)
    elif span is not None:
        new = "".join(lines[:span[0]] + block + lines[span[1] + 1:])
    elif any(line in text for line in HAND_COPIED):
        plan.found = "post-commit"
        plan.state = "copied by hand, not managed by shipper"
        plan.unchanged = (f"{NAME}: {path} already records commits with shipper (a copy of "
                          "hooks/git/post-commit?); left it as it is")
        return plan
    elif not _is_shell_script(text):
        raise Refused(f"{path} is not a sh or bash script (first line: "
                      f"{lines[0].strip()[:60]!r}); shipper will not edit it: pipe the "
                      "commit into `shipper hook --source git` from it yourself, as "
                      "hooks/git/post-commit does")
    else:  # after the #! line: a script that ends with `exit` never reaches an appended one
        first = lines[0] if lines[0].endswith("\n") else lines[0] + "\n"
        new = "".join([first, *block, *lines[1:]])
    if text and text.strip() and not os.access(path, os.X_OK):
        raise Refused(f"{path} is not executable, so git skips it; shipper will not turn "
                      "it on: make it executable (chmod +x) or remove it, then run this again")
    plan.changes = [Change(path, text, new, executable=True)]
    plan.done = [f"{NAME}: installed shipper's post-commit hook in {path}"]
    plan.unchanged = f"{NAME}: already installed in {path}; nothing changed"
    return plan


def installer() -> Installer:
    from ._install import Planned

    return Planned(_plan, scopes=("project",),
                   scope_note="git hooks belong to a repository: run this inside it "
                              "(--scope project)")
