"""`shipper hooks install|uninstall|status`: shipper's hooks merged into each tool's own
configuration, beside the user's, and taken out again; real temp homes, real files, real git."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipper._cli._install import add_hooks_parser, hook_command, hooks_command, run

from .conftest import ROOT, child_env, events_on_disk

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HOOKS = ROOT / "hooks"
JSON_TOOLS = ["claude-code", "cursor", "gemini", "codex"]
SYSTEM_PATH = "/usr/bin:/bin"  # no shipper on it: hooks must call it by absolute path

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


@dataclass
class Where:
    home: Path
    cwd: Path

    def __call__(self, action: str, tool: str | None = None,
                 **kw: Any) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = hooks_command(action, tool, out=out, err=err, home=self.home, cwd=self.cwd,
                             **kw)
        return code, out.getvalue(), err.getvalue()

    def config(self, tool: str) -> Path:
        return self.home / USER_CONFIG[tool][0]

    def files(self, tool: str) -> dict[str, bytes]:
        """Every file in the tool's folder, by name: to see that nothing at all changed."""
        folder = self.config(tool).parent
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() \
            else {}


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Where:
    """An empty home and working folder (no tool folder variables from the machine)."""
    for variable in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    return Where(tmp_path / "home", tmp_path / "work")


def write_config(where: Where, tool: str, text: str) -> Path:
    """Put ``text`` where the tool keeps its config (the folder made first); its path."""
    path = where.config(tool)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def give_user_config(where: Where, tool: str) -> dict[str, Any]:
    """Write the user's own config for a tool (indented 4, as a person might) and return it."""
    path = where.config(tool)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = USER_CONFIG[tool][1]
    path.write_text(json.dumps(data, indent=4) + "\n")
    if tool == "codex":
        (path.parent / "config.toml").write_text(CODEX_CONFIG)
    return data


def entries(tool: str, items: list[Any]) -> list[dict[str, Any]]:
    """The handlers in one event's list: groups' "hooks" lists, or Cursor's flat entries."""
    if tool == "cursor":
        return items
    return [h for group in items for h in group["hooks"]]


def ours(tool: str, data: dict[str, Any], event: str) -> list[dict[str, Any]]:
    """The handlers of shipper's in an event: exactly this installation's command."""
    return [h for h in entries(tool, data["hooks"].get(event, []))
            if h.get("command") == hook_command(tool)]


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def run_hook(command: str, payload: dict[str, Any], cache: Path) -> subprocess.CompletedProcess[
        bytes]:
    """Run a hook command the way agents do (`sh -c`), payload on stdin, without shipper on
    PATH."""
    return subprocess.run(["sh", "-c", command], input=json.dumps(payload).encode(),
                          env=child_env(cache, PATH=SYSTEM_PATH), capture_output=True,
                          timeout=60, check=False)


def codex_hash(label: str, command: str, timeout: int, matcher: str | None = None) -> str:
    """Codex's trusted_hash, from its definition: sha256 of the compact, key-sorted JSON of
    {event_name, matcher (when set), hooks: [{type, command, timeout, async}]}."""
    identity: dict[str, Any] = {"event_name": label, "hooks": [
        {"type": "command", "command": command, "timeout": timeout, "async": False}]}
    if matcher is not None:
        identity["matcher"] = matcher
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


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
    assert Path(shlex.split(handler["command"])[0]).is_absolute()
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


@pytest.mark.parametrize("tool", sorted(FOLDER_VARIABLES))
def test_the_tools_own_folder_variable_is_honoured(
        tool: str, where: Where, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the user points the tool elsewhere (CLAUDE_CONFIG_DIR, GEMINI_CLI_HOME), the
    user scope is there, as the tool reads it."""
    variable, below = FOLDER_VARIABLES[tool]
    monkeypatch.setenv(variable, str(tmp_path / "custom"))
    assert where("install", tool)[0] == 0
    assert len(ours(tool, read_json(tmp_path / "custom" / below), "SessionStart")) == 1
    assert not where.config(tool).exists()


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


def test_claude_code_gets_no_pre_tool_use_hook_and_loses_an_old_one(where: Where) -> None:
    """Cursor runs ~/.claude/settings.json too and reads a silent PreToolUse as "deny": our
    PreToolUse entry from an older install is taken out; the user's own stays."""
    user = {"type": "command", "command": "guard.sh"}
    path = write_config(where, "claude-code", json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [user]},
        {"matcher": "*", "hooks": [{"type": "command", "command": hook_command("claude-code")}]},
    ]}}))
    assert where("install", "claude-code")[0] == 0
    assert read_json(path)["hooks"]["PreToolUse"] == [{"matcher": "Bash", "hooks": [user]}]


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


def test_claude_hooks_are_synchronous_with_a_timeout_and_a_matcher_on_tool_events(
        where: Where) -> None:
    """No "async" (Claude Code kills async hooks at exit and then skips SessionEnd), a 5 s
    timeout on every hook, and "*" matchers only where Claude matches tool names."""
    where("install", "claude-code")
    hooks = read_json(where.config("claude-code"))["hooks"]
    assert list(hooks) == CLAUDE_EVENTS
    for event, (group,) in hooks.items():
        assert group["hooks"] == [
            {"type": "command", "command": hook_command("claude-code"), "timeout": 5}]
        tool_event = event in ("PreToolUse", "PostToolUse", "PostToolUseFailure",
                               "PermissionRequest")
        assert group.get("matcher") == ("*" if tool_event else None)


def test_cursor_wires_only_events_where_an_empty_answer_is_safe(where: Where) -> None:
    """No permission hook and no beforeSubmitPrompt (a silent hook there blocks Cursor); the
    user's version key is kept, and a new file gets version 1."""
    give_user_config(where, "cursor")
    where("install", "cursor")
    new = read_json(where.config("cursor"))
    assert new["version"] == 1 and next(iter(new)) == "version"
    mine = {event for event in new["hooks"] if ours("cursor", new, event)}
    assert mine == set(CURSOR_EVENTS) and not mine & set(CURSOR_BLOCKING)
    assert new["hooks"]["beforeShellExecution"] == [{"command": "./guard.sh"}]


def test_cursor_keeps_a_version_it_does_not_know(where: Where) -> None:
    """An existing "version" value is left as it is."""
    path = write_config(where, "cursor", '{"version": 2}')
    where("install", "cursor")
    assert read_json(path)["version"] == 2


def test_gemini_entries_are_narrow_named_and_timed_in_milliseconds(where: Where) -> None:
    """Gemini waits for every hook: AfterTool only on tools that change things, no matcher
    where Gemini compares it as an exact string, a name, and 5000 ms."""
    where("install", "gemini")
    hooks = read_json(where.config("gemini"))["hooks"]
    assert list(hooks) == GEMINI_EVENTS
    for event, (group,) in hooks.items():
        assert group["hooks"] == [{"type": "command", "command": hook_command("gemini"),
                                   "name": "shipper", "timeout": 5000}]
        assert group.get("matcher") == (
            "run_shell_command|write_file|replace|edit" if event == "AfterTool" else None)


def test_gemini_hooks_turned_off_are_reported_and_left_off(where: Where) -> None:
    """hooksConfig.enabled = false is not changed; install and status say hooks are off."""
    path = write_config(where, "gemini", '{"hooksConfig": {"enabled": false}}')
    code, out, _ = where("install", "gemini")
    assert code == 0 and "hooksConfig.enabled: false" in out
    assert read_json(path)["hooksConfig"] == {"enabled": False}
    assert "hooksConfig.enabled: false" in where("status")[1]


# -- Codex ----------------------------------------------------------------------------------


def test_codex_reference_hash_reproduces_hashes_codex_computed() -> None:
    """The tests' own trust hash gives the values Codex computed for two hooks (published
    as goldens by another project that pins them against Codex)."""
    assert codex_hash("post_tool_use", "'/Applications/GWT.app/Contents/MacOS/gwtd' hook "
                      "event PostToolUse", 600, matcher="*") == (
        "sha256:9c3ce103f03f0b27a28bc4a30883f7e98a80b5df566b4572fcbb2955ebf5ba62")
    assert codex_hash("user_prompt_submit", 'gwt_bin="${GWT_BIN_PATH:-/Applications/GWT.app/'
                      'Contents/MacOS/gwtd}"; "$gwt_bin" hook event UserPromptSubmit', 600) == (
        "sha256:1a86ba6796c5b5bf1601fd1af1d6094846287ec85e9f1ad4d39335c6b306e2fa")


def test_codex_trust_entries_carry_the_hash_codex_expects(where: Where) -> None:
    """Each of our hooks gets [hooks.state."<hooks.json>:<event>:<group>:0"] with Codex's
    hash of that entry; the user's own trust entry is left as it was."""
    give_user_config(where, "codex")
    hooks_json = where.config("codex")
    config = hooks_json.parent / "config.toml"
    user_key = f"{hooks_json}:stop:0:0"
    config.write_text(CODEX_CONFIG + f'\n[hooks.state."{user_key}"]\ntrusted_hash = "sha256:u"\n')
    assert where("install", "codex")[0] == 0
    state = tomllib.loads(config.read_text())["hooks"]["state"]
    assert state[user_key] == {"trusted_hash": "sha256:u"}
    hooks = read_json(hooks_json)["hooks"]
    for event, label in CODEX_LABELS.items():
        group = len(hooks[event]) - 1  # after the user's Stop group
        timeout = 3 if event == "SessionEnd" else 5
        assert hooks[event][group]["hooks"] == [
            {"type": "command", "command": hook_command("codex"), "timeout": timeout}]
        assert state[f"{hooks_json}:{label}:{group}:0"] == {
            "trusted_hash": codex_hash(label, hook_command("codex"), timeout)}
    assert len(state) == len(CODEX_LABELS) + 1


def test_codex_sets_notify_as_an_argv_list_that_records_a_turn(
        where: Where, tmp_path: Path) -> None:
    """Without a notify of the user's, notify runs this shipper; Codex's argument is
    recorded as codex.agent-turn-complete."""
    give_user_config(where, "codex")
    code, out, _ = where("install", "codex")
    config = tomllib.loads((where.config("codex").parent / "config.toml").read_text())
    assert code == 0 and "set notify" in out
    assert config["notify"] == shlex.split(hook_command("codex"))
    assert config["model"] == "gpt-5.5" and config["features"] == {"plugins": False}
    turn = {"type": "agent-turn-complete", "thread-id": "t-1", "turn-id": "u-1"}
    cache = tmp_path / "cache-notify"
    done = subprocess.run([*config["notify"], json.dumps(turn)], env=child_env(
        cache, PATH=SYSTEM_PATH), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout == b""
    (recorded,) = events_on_disk(cache)
    assert recorded["event"] == "codex.agent-turn-complete"


def test_codex_keeps_the_users_notify_and_says_so(where: Where) -> None:
    """A notify of the user's is kept (Codex runs one); install says so, uninstall keeps
    it too."""
    folder = where.home / ".codex"
    folder.mkdir()
    mine = 'notify = ["notify-send", "Codex"]  # my desktop ping\n'
    (folder / "config.toml").write_text(mine)
    code, out, _ = where("install", "codex")
    assert code == 0 and "kept your own notify" in out
    text = (folder / "config.toml").read_text()
    assert text.startswith(mine) and "hooks.state" in text
    assert where("uninstall", "codex")[0] == 0
    assert (folder / "config.toml").read_text() == mine


def test_codex_config_keeps_its_comments_and_layout(where: Where) -> None:
    """config.toml is edited, not rewritten: the user's lines stay as they were."""
    give_user_config(where, "codex")
    where("install", "codex")
    text = (where.home / ".codex" / "config.toml").read_text()
    for line in CODEX_CONFIG.splitlines():
        assert line in text.splitlines()


def test_codex_trust_entry_of_a_users_hook_follows_it_when_ours_goes(where: Where) -> None:
    """Codex keys trust by position: when uninstall moves the user's hook up, its trust
    entry is moved with it, so Codex still runs it."""
    assert where("install", "codex")[0] == 0
    hooks_json = where.config("codex")
    config = hooks_json.parent / "config.toml"
    data = read_json(hooks_json)
    data["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": "say done"}]})
    hooks_json.write_text(json.dumps(data))
    config.write_text(config.read_text()
                      + f'\n[hooks.state."{hooks_json}:stop:1:0"]\ntrusted_hash = "sha256:u"\n')
    assert where("uninstall", "codex")[0] == 0
    assert read_json(hooks_json) == {"hooks": {"Stop": [
        {"hooks": [{"type": "command", "command": "say done"}]}]}}
    assert tomllib.loads(config.read_text()) == {
        "hooks": {"state": {f"{hooks_json}:stop:0:0": {"trusted_hash": "sha256:u"}}}}


def test_codex_lifecycle_hooks_turned_off_are_reported_and_left_off(where: Where) -> None:
    """[features] hooks = false is not changed, and install says the hooks stay off."""
    folder = where.home / ".codex"
    folder.mkdir()
    (folder / "config.toml").write_text("[features]\nhooks = false\n")
    code, out, _ = where("install", "codex")
    assert code == 0 and "hooks = false" in out
    assert tomllib.loads((folder / "config.toml").read_text())["features"] == {"hooks": False}


def test_codex_invalid_toml_is_refused_and_both_files_untouched(where: Where) -> None:
    """A config.toml that is not TOML: exit 1, neither hooks.json nor config.toml written."""
    folder = where.home / ".codex"
    folder.mkdir()
    (folder / "config.toml").write_text('model = "gpt-5\n')
    code, _, err = where("install", "codex")
    assert code == 1 and "not valid TOML" in err and "config.toml" in err
    assert where.files("codex") == {"config.toml": b'model = "gpt-5\n'}


def test_codex_hooks_also_defined_in_config_toml_are_kept_and_noted(where: Where) -> None:
    """Inline [[hooks.<Event>]] of the user's stay; install says Codex will see two sets."""
    folder = where.home / ".codex"
    folder.mkdir()
    mine = '[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"\ncommand = "say hi"\n'
    (folder / "config.toml").write_text(mine)
    code, out, _ = where("install", "codex")
    assert code == 0 and "has hooks of its own" in out
    assert mine in (folder / "config.toml").read_text()
    where("uninstall", "codex")
    assert (folder / "config.toml").read_text() == mine


def test_codex_honours_codex_home(where: Where, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With CODEX_HOME set, hooks.json and config.toml go there, and trust keys name it."""
    codex_home = tmp_path / "elsewhere"
    codex_home.mkdir()
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    assert where("install", "codex")[0] == 0
    assert not (where.home / ".codex").exists()
    state = tomllib.loads((codex_home / "config.toml").read_text())["hooks"]["state"]
    assert f"{codex_home / 'hooks.json'}:stop:0:0" in state
    assert f"codex (user): installed, 11 events and notify, up to date ({codex_home}" in (
        where("status")[1])


# -- git ------------------------------------------------------------------------------------

needs_git = pytest.mark.usefixtures("needs_git")


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
def test_git_leaves_a_hand_copied_shipper_hook_alone(where: Where, repo: Path) -> None:
    """A copy of hooks/git/post-commit already records commits: no second block is added,
    and status says it is not shipper's to manage."""
    hook = repo / ".git" / "hooks" / "post-commit"
    shutil.copy(HOOKS / "git" / "post-commit", hook)
    hook.chmod(0o755)
    before = hook.read_bytes()
    code, out, _ = where("install", "git")
    assert code == 0 and "already runs `shipper emit git.commit`" in out
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


# -- the rest -------------------------------------------------------------------------------


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
    made = subprocess.run([str(python), "-c", "from shipper._cli._install import hook_command;"
                           "print(hook_command('generic'))"], capture_output=True, text=True,
                          env=child_env(), timeout=60, check=True).stdout.strip()
    assert made == f"{python} -m shipper hook --source generic"
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
    made = subprocess.run([str(python), "-c", "from shipper._cli._install import hook_command;"
                           "print(hook_command('generic'))"], capture_output=True, text=True,
                          env=child_env(), timeout=60, check=True).stdout.strip()
    assert made == f"{python} -S {python.parent / 'shipper-hook'} --source generic"
    cache = tmp_path / "cache-s"
    done = run_hook(made + " --event ping", {"ok": True}, cache)
    assert (done.returncode, done.stdout) == (0, b"")
    assert [e["event"] for e in events_on_disk(cache)] == ["ping"]


@pytest.mark.parametrize(("tool", "template"), [
    ("claude-code", "claude-code/settings.json"), ("cursor", "cursor/hooks.json"),
    ("gemini", "gemini/settings.json"), ("codex", "codex/hooks.json")])
def test_ready_made_configs_match_what_the_installer_writes(
        tool: str, template: str, where: Where) -> None:
    """hooks/<tool>/ holds what install writes, with the bare `shipper` command."""
    where("install", tool)
    installed = where.config(tool).read_text().replace(hook_command(tool),
                                                       f"shipper hook --source {tool}")
    assert json.loads(installed) == read_json(HOOKS / template)


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
