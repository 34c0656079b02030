"""`shipper hooks install|uninstall|status|list`, the machinery whatever the tool: shipper's
hooks merged into a tool's own configuration, beside the user's, and taken out again; real
temp homes, real files. Shown on four tools of both JSON shapes (grouped, flat) and Codex's
two files; each tool's own file checks the rest for it."""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

import shipper
from shipper._cli._hooks import add_hooks_parser, run
from shipper._tools._install import JsonHooks, hook_command, is_shipper_hook
from shipper._tools._registry import installable, load

from ..conftest import ROOT, child_env, events_on_disk
from .common import SYSTEM_PATH, Where, entries, ours, read_json, run_hook, write_config

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

JSON_TOOLS = ["claude-code", "cursor", "gemini", "codex"]

CLAUDE_EVENTS = ["SessionStart", "UserPromptSubmit", "PostToolUse", "PostToolUseFailure",
                 "PermissionRequest", "Notification", "Stop", "StopFailure", "SubagentStart",
                 "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]
CURSOR_EVENTS = ["sessionStart", "sessionEnd", "postToolUse", "postToolUseFailure",
                 "subagentStop", "afterShellExecution", "afterMCPExecution", "afterFileEdit",
                 "preCompact", "stop", "afterAgentResponse", "afterAgentThought",
                 "afterTabFileEdit"]
CURSOR_BLOCKING = ["preToolUse", "subagentStart", "beforeShellExecution", "beforeMCPExecution",
                   "beforeReadFile", "beforeTabFileRead", "beforeSubmitPrompt"]
GEMINI_EVENTS = ["SessionStart", "SessionEnd", "BeforeAgent", "AfterAgent", "PreCompress",
                 "Notification", "AfterTool"]
# Codex's own snake_case label of each event, as its trust keys spell them
CODEX_LABELS = {"SessionStart": "session_start", "UserPromptSubmit": "user_prompt_submit",
                "PreToolUse": "pre_tool_use", "PostToolUse": "post_tool_use",
                "PermissionRequest": "permission_request", "PreCompact": "pre_compact",
                "PostCompact": "post_compact", "SubagentStart": "subagent_start",
                "SubagentStop": "subagent_stop", "Stop": "stop", "SessionEnd": "session_end"}
EVENTS = {"claude-code": CLAUDE_EVENTS, "cursor": CURSOR_EVENTS, "gemini": GEMINI_EVENTS,
          "codex": list(CODEX_LABELS)}

# a home's own config for each tool, with the user's hooks in it
USER_CONFIG: dict[str, tuple[str, dict[str, Any]]] = {
    "claude-code": (".claude/settings.json", {
        "model": "opus",
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [
                {"type": "command", "command": "/usr/local/bin/guard.sh"}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]},
                     {"matcher": "", "hooks": [{"type": "command", "command": "echo bye"}]}],
        },
        "permissions": {"allow": ["Bash(ls:*)"]},
    }),
    "cursor": (".cursor/hooks.json", {
        "version": 1,
        "hooks": {"beforeShellExecution": [{"command": "./guard.sh"}],
                  "afterFileEdit": [{"command": "./format.sh", "timeout": 10}]},
    }),
    "gemini": (".gemini/settings.json", {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "hooks": {"AfterTool": [{"matcher": "write_file", "hooks": [
            {"type": "command", "command": "lint.sh", "name": "lint"}]}]},
        "ui": {"theme": "dark"},
    }),
    "codex": (".codex/hooks.json", {
        "hooks": {"Stop": [{"hooks": [
            {"type": "command", "command": "notify-send done", "timeout": 10}]}]},
    }),
}
CODEX_CONFIG = """# my Codex settings
model = "gpt-5.5"  # the default
approval_policy = "on-request"

[features]
plugins = false
"""
# one payload per tool, the event it fires on, and the event shipper records
PAYLOADS: dict[str, tuple[str, dict[str, Any], str]] = {
    "claude-code": ("Stop", {"hook_event_name": "Stop", "session_id": "s-1",
                             "stop_hook_active": False}, "claude_code.Stop"),
    "cursor": ("stop", {"hook_event_name": "stop", "conversation_id": "c-1",
                        "status": "completed"}, "cursor.stop"),
    "gemini": ("AfterTool", {"hook_event_name": "AfterTool", "session_id": "g-1",
                             "tool_name": "write_file", "tool_input": {"file_path": "/w/a"}},
               "gemini.AfterTool"),
    "codex": ("Stop", {"hook_event_name": "Stop", "session_id": "x-1"}, "codex.Stop"),
}


def give_user_config(where: Where, tool: str) -> dict[str, Any]:
    """Write the user's own config for a tool (indented 4, as a person might) and return it."""
    path = where.config(tool)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = USER_CONFIG[tool][1]
    path.write_text(json.dumps(data, indent=4) + "\n")
    if tool == "codex":
        (path.parent / "config.toml").write_text(CODEX_CONFIG)
    return data


# -- every JSON-configured tool -------------------------------------------------------------


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_install_keeps_the_users_entries_in_order_and_backs_the_file_up(
        tool: str, where: Where) -> None:
    """Install adds one entry of ours per event after the user's, which stay as they were."""
    original = give_user_config(where, tool)
    before = where.config(tool).read_bytes()
    code, out, err = where("install", tool)
    assert code == 0, err
    new = read_json(where.config(tool))
    assert {k: v for k, v in new.items() if k != "hooks"} == {
        k: v for k, v in original.items() if k != "hooks"}
    for event, items in original["hooks"].items():
        assert new["hooks"][event][:len(items)] == items
    assert all(len(ours(tool, new, event)) == 1 for event in EVENTS[tool])
    assert set(new["hooks"]) == set(EVENTS[tool]) | set(original["hooks"])
    backup = where.config(tool).with_name(where.config(tool).name + ".shipper-backup")
    assert backup.read_bytes() == before
    assert str(backup) in out and f"for {len(EVENTS[tool])} events" in out


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_installing_twice_changes_nothing(tool: str, where: Where) -> None:
    """A second install writes nothing (same bytes, backup untouched) and says so."""
    give_user_config(where, tool)
    assert where("install", tool)[0] == 0
    files = where.files(tool)
    code, out, _ = where("install", tool)
    assert code == 0 and "nothing changed" in out
    assert where.files(tool) == files


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_dry_run_prints_the_diff_and_writes_nothing(tool: str, where: Where) -> None:
    """--dry-run shows a unified diff with our command and leaves every file as it was."""
    give_user_config(where, tool)
    files = where.files(tool)
    code, out, _ = where("install", tool, dry_run=True)
    assert code == 0
    assert where.files(tool) == files
    assert f"--- {where.config(tool)}" in out and f"+++ {where.config(tool)}" in out
    assert any(line.startswith("+") and hook_command(tool) in line for line in out.splitlines())
    assert "nothing written" in out


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_a_file_that_is_not_valid_json_is_refused_and_left_untouched(
        tool: str, where: Where) -> None:
    """Broken JSON: exit 1, a message naming the file and the place, no byte changed."""
    path = write_config(where, tool, '{"hooks": {"Stop": [}\n')
    files = where.files(tool)
    code, out, err = where("install", tool)
    assert code == 1 and out == ""
    assert "not valid JSON" in err and str(path) in err and "line 1" in err
    assert where.files(tool) == files


@pytest.mark.parametrize(("tool", "content"), [
    ("claude-code", "[1, 2]"), ("cursor", '{"hooks": []}'), ("gemini", '{"hooks": "x"}'),
    ("codex", '"hooks"')])
def test_a_top_level_or_hooks_that_is_not_an_object_is_refused(
        tool: str, content: str, where: Where) -> None:
    """A JSON file whose top level or "hooks" is not an object is refused, untouched."""
    path = write_config(where, tool, content)
    code, _, err = where("install", tool)
    assert code == 1 and "not a JSON object" in err
    assert path.read_text() == content


def test_an_event_that_is_not_a_list_is_refused(where: Where) -> None:
    """A "hooks" event shipper must add to but that is not a list: exit 1, untouched."""
    path = write_config(where, "claude-code", '{"hooks": {"Stop": {"command": "x"}}}')
    code, _, err = where("install", "claude-code")
    assert code == 1 and '"hooks.Stop" is not a list' in err
    assert path.read_text() == '{"hooks": {"Stop": {"command": "x"}}}'


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_uninstall_leaves_exactly_the_users_config(tool: str, where: Where) -> None:
    """Install then uninstall: the user's config, parsed, is what it was."""
    original = give_user_config(where, tool)
    assert where("install", tool)[0] == 0
    code, out, _ = where("uninstall", tool)
    assert code == 0 and "removed shipper's hooks" in out
    assert read_json(where.config(tool)) == original
    if tool == "codex":
        config = where.config(tool).parent / "config.toml"
        assert tomllib.loads(config.read_text()) == tomllib.loads(CODEX_CONFIG)
    code, out, _ = where("uninstall", tool)
    assert code == 0 and "nothing changed" in out


@pytest.mark.parametrize("tool", ["claude-code", "cursor", "gemini"])
def test_uninstall_removes_a_file_only_shipper_filled(tool: str, where: Where) -> None:
    """A config that install created is gone again after uninstall, not left empty."""
    assert where("install", tool)[0] == 0
    assert where("uninstall", tool)[0] == 0
    assert not where.config(tool).exists()


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_status_says_where_and_how_many_events_before_and_after(
        tool: str, where: Where) -> None:
    """status: not installed, then installed with the event count and the file, exit 0."""
    give_user_config(where, tool)
    code, out, _ = where("status")
    assert code == 0
    assert f"{tool} (user): not installed ({where.config(tool)})" in out
    where("install", tool)
    code, out, _ = where("status")
    assert code == 0
    assert f"{tool} (user): installed, {len(EVENTS[tool])} events" in out
    assert f"up to date ({where.config(tool)})" in out
    where("uninstall", tool)
    assert f"{tool} (user): not installed" in where("status")[1]


@pytest.mark.parametrize("tool", JSON_TOOLS)
def test_the_installed_command_is_absolute_and_records_an_event(
        tool: str, where: Where, tmp_path: Path) -> None:
    """The command in the config runs without shipper on PATH: exit 0, no stdout, and the
    event is in the cache."""
    assert where("install", tool)[0] == 0
    event, payload, name = PAYLOADS[tool]
    (handler,) = ours(tool, read_json(where.config(tool)), event)
    words = shlex.split(handler["command"])
    assert Path(words[words.index("exec") + 1]).is_absolute()
    cache = tmp_path / "cache-hook"
    done = run_hook(handler["command"], payload, cache)
    assert done.returncode == 0 and done.stdout == b""
    (recorded,) = events_on_disk(cache)
    assert recorded["event"] == name


@pytest.mark.parametrize("tool", ["claude-code", "gemini"])
def test_project_scope_writes_the_current_folders_config(tool: str, where: Where) -> None:
    """--scope project writes ./.<tool>/settings.json, and the home's config not at all."""
    code, out, _ = where("install", tool, scope="project")
    project = where.cwd / USER_CONFIG[tool][0]
    assert code == 0 and str(project) in out
    assert len(ours(tool, read_json(project), "SessionStart")) == 1
    assert not where.config(tool).exists()
    assert f"{tool} (project): installed" in where("status")[1]


FOLDER_VARIABLES = {"claude-code": ("CLAUDE_CONFIG_DIR", "settings.json"),
                    "gemini": ("GEMINI_CLI_HOME", ".gemini/settings.json")}


def test_reinstall_after_shipper_moved_replaces_the_old_entries(where: Where) -> None:
    """Entries of an older shipper (bare `shipper`, another venv's `python -m shipper`, the
    old async template) are replaced in place, never duplicated; the user's stay."""
    user = {"type": "command", "command": "echo mine"}
    old_template = {"type": "command", "command": "shipper hook --source claude-code",
                    "async": True, "timeout": 5}
    old_venv = {"type": "command",
                "command": "'/old venv/bin/python' -m shipper hook --source claude-code"}
    path = write_config(where, "claude-code", json.dumps({"hooks": {
        "Stop": [{"hooks": [old_template]}, {"hooks": [user]}, {"hooks": [old_venv]}],
        "SessionEnd": [{"hooks": [old_venv]}],
    }}))
    assert where("install", "claude-code")[0] == 0
    new = read_json(path)
    assert new["hooks"]["Stop"] == [
        {"hooks": [{"type": "command", "command": hook_command("claude-code"), "timeout": 5}]},
        {"hooks": [user]}]
    assert entries("claude-code", new["hooks"]["SessionEnd"]) == [
        {"type": "command", "command": hook_command("claude-code"), "timeout": 5}]
    assert "async" not in json.dumps(new)


def test_a_users_group_that_also_held_our_handler_keeps_the_users_handler(
        where: Where) -> None:
    """Our handler inside a group of the user's is taken out of it; theirs stays there."""
    user = {"type": "command", "command": "guard.sh"}
    path = write_config(where, "claude-code", json.dumps({"hooks": {"PostToolUse": [
        {"matcher": "Bash", "hooks": [
            user, {"type": "command", "command": "shipper hook --source claude-code"}]}]}}))
    where("install", "claude-code")
    pre = read_json(path)["hooks"]["PostToolUse"]
    assert pre[0] == {"matcher": "Bash", "hooks": [user]}
    assert pre[1]["matcher"] == "*" and len(pre) == 2
    where("uninstall", "claude-code")
    assert read_json(path) == {"hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [user]}]}}


def test_include_content_the_user_added_survives_a_reinstall(where: Where) -> None:
    """A per-hook --include-content opt-in is kept on the entry that replaces it, and only
    there."""
    path = write_config(where, "claude-code", json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [
        {"type": "command", "command": "shipper hook --source claude-code --include-content"}
    ]}]}}))
    where("install", "claude-code")
    new = read_json(path)
    (prompt,) = entries("claude-code", new["hooks"]["UserPromptSubmit"])
    assert prompt["command"] == hook_command("claude-code") + " --include-content"
    assert len(ours("claude-code", new, "Stop")) == 1  # the others have no opt-in


def test_unknown_tool_or_scope_is_a_usage_error(where: Where) -> None:
    """An unknown tool, a scope the tool has not, or no tool: exit 2, nothing written."""
    assert where("install", "vim")[0] == 2
    code, _, err = where("install", "codex", scope="project")
    assert code == 2 and "user" in err
    assert where("install", None)[0] == 2
    assert not any(where.home.iterdir())


def test_an_unreadable_config_is_refused(where: Where) -> None:
    """A config path that cannot be read (here a folder) gives exit 1 and a plain message."""
    where.config("claude-code").mkdir(parents=True)
    code, _, err = where("install", "claude-code")
    assert code == 1 and "cannot read" in err and "Traceback" not in err


def test_file_mode_and_symlinks_are_kept(where: Where, tmp_path: Path) -> None:
    """A private settings file stays private, and a symlinked one stays a symlink (its
    target is edited)."""
    dotfiles = tmp_path / "dotfiles" / "settings.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text("{}")
    dotfiles.chmod(0o600)
    link = where.config("claude-code")
    link.parent.mkdir(parents=True)
    link.symlink_to(dotfiles)
    assert where("install", "claude-code")[0] == 0
    assert link.is_symlink() and dotfiles.stat().st_mode & 0o777 == 0o600
    assert len(ours("claude-code", read_json(dotfiles), "Stop")) == 1


def test_hook_command_falls_back_to_python_m_shipper(tmp_path: Path) -> None:
    """Where no console script sits beside the interpreter, the command is
    `<python> -m shipper hook ...`, and it runs."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    made = subprocess.run([str(python), "-c", "from shipper._tools._install import hook_command;"
                           "print(hook_command('generic'))"], capture_output=True, text=True,
                          env=child_env(), timeout=60, check=True).stdout.strip()
    package = Path(shipper.__file__)
    assert made == (f"[ -x {python} ] && [ -f {package} ] || exit 0; "
                    f"exec {python} -m shipper hook --source generic")
    cache = tmp_path / "cache-m"
    assert run_hook(made + " --event ping", {"ok": True}, cache).returncode == 0
    assert [e["event"] for e in events_on_disk(cache)] == ["ping"]


def test_hook_command_runs_the_hook_script_without_site(tmp_path: Path) -> None:
    """Where the shipper-hook script sits beside the interpreter, the command is
    `<python> -S <script> ...`; it records even where shipper is not in that environment's
    site-packages (here an editable install), by running `site` after all."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    # an environment of its own around that interpreter (a venv's python away from its
    # pyvenv.cfg is the base Python), where shipper is an editable install: a .pth file
    (tmp_path / "pyvenv.cfg").write_text(
        f"home = {os.path.dirname(os.path.realpath(sys.executable))}\n"
        "include-system-site-packages = false\n")
    site_packages = tmp_path / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (site_packages / "site-packages").mkdir(parents=True)
    (site_packages / "site-packages" / "_shipper_editable.pth").write_text(f"{ROOT}\n")
    shutil.copy(ROOT / "scripts" / "shipper-hook",
                python.parent / "shipper-hook")
    made = subprocess.run([str(python), "-c", "from shipper._tools._install import hook_command;"
                           "print(hook_command('generic'))"], capture_output=True, text=True,
                          env=child_env(), timeout=60, check=True).stdout.strip()
    script = python.parent / "shipper-hook"
    assert made == (f"[ -x {python} ] && [ -f {script} ] || exit 0; "
                    f"exec {python} -S {script} --source generic")
    cache = tmp_path / "cache-s"
    done = run_hook(made + " --event ping", {"ok": True}, cache)
    assert (done.returncode, done.stdout) == (0, b"")
    assert [e["event"] for e in events_on_disk(cache)] == ["ping"]


def test_the_cli_wiring_parses_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hooks install TOOL --scope S --dry-run` and `hooks status` parse and run; a bad
    tool is an argparse error."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser(prog="shipper")
    add_hooks_parser(parser.add_subparsers(dest="command"), [])
    out, err = io.StringIO(), io.StringIO()
    args = parser.parse_args(["hooks", "install", "cursor", "--scope", "project", "--dry-run"])
    assert run(args, out, err) == 0 and "nothing written" in out.getvalue()
    assert not (tmp_path / ".cursor").exists()
    assert run(parser.parse_args(["hooks", "status"]), out, err) == 0
    assert "cursor (project): not installed" in out.getvalue()
    with pytest.raises(SystemExit):
        parser.parse_args(["hooks", "install", "emacs"])


# -- a hook left behind: `pip uninstall` without `shipper hooks uninstall` ------------------

JSON_CONFIGURED = [name for name in installable()
                   if isinstance(load(name).installer(), JsonHooks)
                   or hasattr(load(name), "hooks_file")]


def doomed_installation(tmp_path: Path, form: str) -> tuple[Path, dict[str, str]]:
    """An installation of shipper to be removed later: a python of its own (this one,
    linked) with the shipper-hook script beside it ("script"), or with shipper importable
    from a copy of the package and no script ("module"); and the environment that makes
    it run."""
    root = tmp_path / "doomed"
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    copy = root / "lib"
    shutil.copytree(Path(shipper.__file__).parent, copy / "shipper")
    if form == "script":
        shutil.copy(ROOT / "scripts" / "shipper-hook", bin_dir / "shipper-hook")
    libraries = sysconfig.get_paths()["purelib"]  # tomlkit and the rest, for the install
    return bin_dir / "python", {"PYTHONPATH": os.pathsep.join([str(copy), libraries])}


def commands_in(folder: Path) -> list[str | list[str]]:
    """Every hook command of shipper's in the JSON and TOML files below ``folder``: shell
    command strings, and argv lists (Codex's notify)."""
    found: list[str | list[str]] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            if is_shipper_hook(value):
                found.append(value)
            else:
                for item in value:
                    walk(item)
        elif isinstance(value, str) and is_shipper_hook(value):
            found.append(value)

    for path in sorted(folder.rglob("*")):
        if path.suffix == ".json":
            walk(json.loads(path.read_text()))
        elif path.suffix == ".toml":
            walk(tomllib.loads(path.read_text()))
    return found


@pytest.mark.parametrize("gone", ["environment", "shipper"])
@pytest.mark.parametrize("form", ["script", "module"])
@pytest.mark.parametrize("tool", JSON_CONFIGURED)
def test_a_hook_left_by_a_removed_installation_exits_0_and_prints_nothing(
        tool: str, form: str, gone: str, where: Where, tmp_path: Path) -> None:
    """Installed by an installation that is then removed (the whole environment, as pipx
    uninstall does, or only shipper, as pip uninstall does), every command left in the
    tool's config, run as the agent runs it, exits 0 and prints nothing, on stdout or
    stderr: an agent reads exit 2 (or, for Copilot's preToolUse, any failure) as "block"."""
    python, env = doomed_installation(tmp_path, form)
    done = subprocess.run([str(python), "-m", "shipper", "hooks", "install", tool],
                          cwd=where.cwd, env=child_env(HOME=str(where.home), **env),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    commands = commands_in(where.home)
    assert commands and all(str(python) in str(c) for c in commands)
    if gone == "environment":
        shutil.rmtree(python.parent.parent)
    elif form == "script":
        (python.parent / "shipper-hook").unlink()
    else:
        shutil.rmtree(python.parent.parent / "lib" / "shipper")
    payload = json.dumps({"hook_event_name": "PreToolUse", "session_id": "s"})
    cache = tmp_path / "cache"
    for command in commands:
        argv = [*command, payload] if isinstance(command, list) else ["sh", "-c", command]
        ran = subprocess.run(argv, input=payload.encode(), env=child_env(cache, PATH=SYSTEM_PATH),
                             capture_output=True, timeout=60, check=False)
        assert (ran.returncode, ran.stdout, ran.stderr) == (0, b"", b""), command
    assert not cache.exists()


def test_the_hook_script_exits_0_in_silence_where_shipper_is_gone(tmp_path: Path) -> None:
    """The shipper-hook script of an environment whose shipper package is gone (the
    command's own test sees the script, not the package) exits 0 and prints nothing."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "env")],
                   check=True, timeout=120)
    script = tmp_path / "env" / "bin" / "shipper-hook"
    shutil.copy(ROOT / "scripts" / "shipper-hook", script)
    done = subprocess.run([str(tmp_path / "env" / "bin" / "python"), "-S", str(script),
                           "--source", "claude-code"], input=b"{}", env=child_env(),
                          capture_output=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_words_appended_to_an_installed_command_still_reach_the_hook(
        where: Where, tmp_path: Path) -> None:
    """The documented per-hook opt-in: `--include-content` typed at the end of an installed
    (guarded) command is passed to the hook, which records the prompt."""
    assert where("install", "claude-code")[0] == 0
    (handler,) = where.ours("claude-code", "UserPromptSubmit")
    done = run_hook(handler["command"] + " --include-content",
                    {"hook_event_name": "UserPromptSubmit", "prompt": "hello"},
                    tmp_path / "c")
    assert (done.returncode, done.stdout) == (0, b"")
    (event,) = events_on_disk(tmp_path / "c")
    assert event["properties"]["prompt"] == "hello"


def test_uninstall_names_the_backups_that_still_hold_shipper_hooks(where: Where) -> None:
    """After uninstall, each backup that still holds shipper's hooks (restoring it would
    bring them back) is named with its path; a backup without them is not."""
    mine = write_config(where, "claude-code", '{"model": "opus"}\n')
    first = mine.with_name("settings.json.shipper-backup")
    second = mine.with_name("settings.json.shipper-backup.1")
    assert where("install", "claude-code")[0] == 0
    assert first.read_text() == '{"model": "opus"}\n'  # the user's file, as it was
    code, out, _ = where("uninstall", "claude-code")
    assert code == 0 and json.loads(mine.read_text()) == {"model": "opus"}
    assert f"{second} still holds shipper's hooks" in out and f"{first} still" not in out
    assert is_shipper_hook(read_json(second)["hooks"]["Stop"][0]["hooks"][0]["command"])
    second.unlink()
    assert where("uninstall", "claude-code")[1].endswith("nothing changed\n")


def test_a_backup_is_never_overwritten(where: Where) -> None:
    """Each change keeps the file as it was under a name of its own (``.shipper-backup``,
    then ``.1``, ``.2``): the first copy, the user's file before shipper, is never lost;
    a text a backup already holds is not copied again."""
    original = '{\n  "model": "opus"\n}\n'
    mine = write_config(where, "claude-code", original)
    for action in ("install", "uninstall", "install", "uninstall"):
        assert where(action, "claude-code")[0] == 0
    backups = sorted(p.name for p in mine.parent.iterdir() if p != mine)
    assert backups == ["settings.json.shipper-backup", "settings.json.shipper-backup.1"]
    assert mine.with_name(backups[0]).read_text() == original == mine.read_text()
    mine.write_text('{"model": "sonnet"}\n')
    code, out, _ = where("install", "claude-code")
    third = mine.with_name("settings.json.shipper-backup.2")
    assert code == 0 and f"kept as {third}\n" in out
    assert third.read_text() == '{"model": "sonnet"}\n'
    assert mine.with_name(backups[0]).read_text() == original


USERS_OWN = '/usr/local/bin/audit-log.sh "$PWD" && shipper hook --source claude-code'


@pytest.mark.parametrize("command", [
    USERS_OWN, "shipper hook --source claude-code | tee -a ~/hooks.log",
    "bash -c 'shipper hook --source claude-code'",
    "SHIPPER_ENDPOINT=http://127.0.0.1:9 shipper hook --source claude-code",
    hook_command("claude-code") + "; ./more.sh",
    "shipper hook --source claude-code > /tmp/out"])
def test_a_users_command_that_also_runs_the_hook_is_theirs(command: str, where: Where) -> None:
    """A command of the user's that runs ``shipper hook`` among other things is not one of
    shipper's forms: install adds shipper's own beside it, uninstall leaves it, and both
    (and status) say it was left as it is."""
    assert not is_shipper_hook(command)
    user = {"type": "command", "command": command}
    path = write_config(where, "claude-code", json.dumps(
        {"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [user]}]}}))
    code, out, _ = where("install", "claude-code")
    assert code == 0 and "your own command for PostToolUse" in out
    assert read_json(path)["hooks"]["PostToolUse"][0] == {"matcher": "*", "hooks": [user]}
    assert len(ours("claude-code", read_json(path), "PostToolUse")) == 1
    code, out, _ = where("uninstall", "claude-code")
    assert code == 0 and "your own command for PostToolUse" in out and "left as it is" in out
    assert read_json(path) == {"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [user]}]}}
    assert "your own command for PostToolUse" in where("status", "claude-code")[1]


@pytest.mark.parametrize("command", [
    hook_command("qwen"), hook_command("qwen", "qwen.Stop", include_content=True),
    hook_command("qwen") + " --include-content", "shipper hook --source qwen",
    "/opt/bin/shipper hook --source=qwen --event=x", "shipper-hook --source qwen",
    "'/old venv/bin/python' -m shipper hook --source qwen",
    "/v/bin/python -S /v/bin/shipper-hook --source qwen",
    ["shipper", "hook", "--source", "codex"]])
def test_the_forms_shipper_writes_are_its_own(command: str | list[str]) -> None:
    """The guarded command, the bare invocation with the hook's flags (as older versions
    and the templates wrote it), and the notify argv are shipper's."""
    assert is_shipper_hook(command)


def test_codex_notify_is_ours_only_in_the_form_shipper_writes() -> None:
    """Codex's notify: the guarded ``/bin/sh -c`` program is ours; a program of the user's
    that runs the hook after something else is not."""
    from shipper._tools._install import hook_program

    assert is_shipper_hook(hook_program("codex"))
    theirs = ["/bin/sh", "-c", 'notify-send done; shipper hook --source codex "$@"',
              "shipper-hook"]
    assert not is_shipper_hook(theirs)


# -- configs written back as they were, but for shipper's part ------------------------------


def strict_json(text: str) -> object:
    """What a strict reader (JSON's grammar, no NaN or Infinity) makes of a file, numbers
    as the text they are."""
    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse, parse_int=str, parse_float=str)


NUMBERS = '{"huge": 1e400, "tiny": -1E-400, "money": 1.50, "exp": 2.5e+3, "long": ' \
          + "9" * 5000 + ', "zero": -0.0}'


def test_numbers_keep_their_spelling(where: Where) -> None:
    """1e400 is not rewritten as Infinity (strict parsers refuse that), nor 1.50 as 1.5, nor
    a 5,000-digit integer refused: every number of the user's is written as it was."""
    path = write_config(where, "claude-code", NUMBERS)
    assert where("install", "claude-code")[0] == 0
    text = path.read_text()
    strict_json(text)
    for spelling in ("1e400", "-1E-400", "1.50", "2.5e+3", "9" * 5000, "-0.0"):
        assert f": {spelling}" in text, spelling
    assert where("uninstall", "claude-code")[0] == 0
    assert json.dumps(strict_json(path.read_text())) == json.dumps(strict_json(NUMBERS))


def test_a_lone_escaped_surrogate_is_kept_escaped(where: Where) -> None:
    """A string holding a lone escaped surrogate ("\\ud800", valid JSON) is no traceback:
    it is written back as the same escape, in a file that is UTF-8; so is a dry run."""
    path = write_config(where, "claude-code", '{"note": "a\\ud800b", "ok": "\\u00e9"}')
    code, out, err = where("install", "claude-code", dry_run=True)
    assert code == 0 and "Traceback" not in err and "\\ud800" in out
    assert where("install", "claude-code")[0] == 0
    text = path.read_bytes().decode("utf-8")
    assert '"a\\ud800b"' in text and '"é"' in text
    assert where("uninstall", "claude-code")[0] == 0
    assert json.loads(path.read_text()) == {"note": "a\ud800b", "ok": "é"}


@pytest.mark.parametrize("tool", ["claude-code", "codex"])
def test_a_crlf_file_stays_crlf(tool: str, where: Where) -> None:
    """A config written with CRLF line endings (JSON, and Codex's TOML) keeps them, every
    line, after install and after uninstall."""
    path = write_config(where, tool, '{\r\n  "model": "opus"\r\n}\r\n')
    toml = path.parent / "config.toml"
    mine = b'# mine\r\nmodel = "gpt-5"\r\n\r\n[features]\r\nplugins = false\r\n'
    toml.write_bytes(mine)
    files = [path, toml] if tool == "codex" else [path]
    for action in ("install", "uninstall"):
        assert where(action, tool)[0] == 0
        for file in files:
            data = file.read_bytes()
            assert data.count(b"\n") == data.count(b"\r\n") > 2, (action, file)
    assert toml.read_bytes() == mine


def test_codex_uninstall_keeps_the_comments_after_shippers_trust_tables(where: Where) -> None:
    """The comments and blank lines that end one of shipper's [hooks.state...] tables (a
    reader takes them as the start of what follows) stay where they were on uninstall."""
    assert where("install", "codex")[0] == 0
    config = where.home / ".codex" / "config.toml"
    text = config.read_text()
    config.write_text(text + "\n# my MCP servers, kept by hand\n# second line\n\n"
                      '[mcp_servers.docs]\ncommand = "docs-mcp"\n')
    middle = text.index('[hooks.state."', text.index('[hooks.state."') + 1)
    config.write_text(config.read_text()[:middle] + "# between shipper's tables\n"
                      + config.read_text()[middle:])
    first = text.index('trusted_hash = "sha256:')  # one of ours gone stale: set again
    config.write_text(config.read_text()[:first] + 'trusted_hash = "sha256:stale"'
                      + config.read_text()[first + len('trusted_hash = "sha256:') + 64 + 1:])
    assert where("install", "codex")[1].startswith("codex: trusted shipper's hooks")
    assert "sha256:stale" not in config.read_text()
    assert "\n# between shipper's tables\n[hooks.state." in config.read_text()
    assert where("uninstall", "codex")[0] == 0
    after = config.read_text()
    assert "hooks.state" not in after
    assert "# between shipper's tables\n" in after
    assert after.endswith("# my MCP servers, kept by hand\n# second line\n\n"
                          '[mcp_servers.docs]\ncommand = "docs-mcp"\n')
    assert tomllib.loads(after) == {"mcp_servers": {"docs": {"command": "docs-mcp"}}}
