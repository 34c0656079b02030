"""Codex CLI: each lifecycle hook's payload and notify's argument through the installed
command, what they may send, and what `shipper hooks install codex` writes: hooks.json, the
trust entries Codex checks, notify."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipper._tools._install import hook_command, hook_program

from ..conftest import child_env, events_on_disk
from .common import (
    HOME,
    HOOKS,
    SECRET,
    SYSTEM_PATH,
    Where,
    check,
    read_json,
    run_command,
    template_commands,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# Codex's own snake_case label of each event, as its trust keys spell them
CODEX_LABELS = {"SessionStart": "session_start", "UserPromptSubmit": "user_prompt_submit",
                "PreToolUse": "pre_tool_use", "PostToolUse": "post_tool_use",
                "PermissionRequest": "permission_request", "PreCompact": "pre_compact",
                "PostCompact": "post_compact", "SubagentStart": "subagent_start",
                "SubagentStop": "subagent_stop", "Stop": "stop", "SessionEnd": "session_end"}
CODEX_CONFIG = """# my Codex settings
model = "gpt-5.5"  # the default
approval_policy = "on-request"

[features]
plugins = false
"""
USER_HOOKS = {"hooks": {"Stop": [{"hooks": [
    {"type": "command", "command": "notify-send done", "timeout": 10}]}]}}


def hooks_file(where: Where) -> Path:
    return where.home / ".codex" / "hooks.json"


def files(where: Where) -> dict[str, bytes]:
    """Every file in ~/.codex, by name."""
    folder = where.home / ".codex"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def give_user_config(where: Where) -> None:
    """The user's own hooks.json and config.toml."""
    folder = where.home / ".codex"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hooks.json").write_text(json.dumps(USER_HOOKS, indent=4) + "\n")
    (folder / "config.toml").write_text(CODEX_CONFIG)


def codex_commands() -> dict[str, str]:
    return template_commands("codex", "hooks.json")


# the input schemas embedded in Codex 0.171 (codex-rs/hooks/schema/generated)
CODEX_COMMON = {"session_id": "th-1", "cwd": f"{HOME}/proj", "model": "gpt-5.5",
                "transcript_path": f"{HOME}/.codex/sessions/2026/12/01/rollout-th-1.jsonl"}
TURN = {"turn_id": "t-9", "permission_mode": "bypassPermissions"}
CODEX_PAYLOADS: dict[str, dict[str, Any]] = {
    "SessionStart": {"permission_mode": "default", "source": "startup"},
    "UserPromptSubmit": {**TURN, "prompt": SECRET},
    "PreToolUse": {**TURN, "tool_name": "Bash", "tool_input": {"command": f"echo {SECRET}"},
                   "tool_use_id": "call_1"},
    "PermissionRequest": {**TURN, "tool_name": "Bash",
                          "tool_input": {"command": f"echo {SECRET}"}},
    "PostToolUse": {**TURN, "tool_name": "Bash", "tool_input": {"command": f"echo {SECRET}"},
                    "tool_response": f"{SECRET}\n", "tool_use_id": "call_1"},
    "PreCompact": {"turn_id": "t-9", "trigger": "auto"},
    "PostCompact": {"turn_id": "t-9", "trigger": "auto"},
    "SubagentStart": {**TURN, "agent_id": "ag-1", "agent_type": "explorer"},
    "SubagentStop": {**TURN, "agent_id": "ag-1", "agent_type": "explorer",
                     "agent_transcript_path": f"{HOME}/.codex/sessions/ag-1.jsonl",
                     "last_assistant_message": SECRET, "stop_hook_active": False},
    "Stop": {**TURN, "stop_hook_active": False, "last_assistant_message": SECRET},
    "SessionEnd": {"reason": "other"},
}
CODEX_EXPECTED: dict[str, dict[str, Any]] = {
    "SessionStart": {"source": "startup", "permission_mode": "default"},
    "UserPromptSubmit": {"turn_id": "t-9", "permission_mode": "bypassPermissions"},
    "PreToolUse": {"tool_name": "Bash", "tool_use_id": "call_1"},
    "PermissionRequest": {"tool_name": "Bash"},
    "PostToolUse": {"tool_name": "Bash", "success": True},
    "PreCompact": {"trigger": "auto", "turn_id": "t-9"},
    "PostCompact": {"trigger": "auto"},
    "SubagentStart": {"agent_id": "ag-1", "agent_type": "explorer"},
    "SubagentStop": {"agent_id": "ag-1", "stop_hook_active": False},
    "Stop": {"stop_hook_active": False},
    "SessionEnd": {"reason": "other"},
}
CODEX_SIZED: dict[str, tuple[str, ...]] = {
    "UserPromptSubmit": ("prompt_bytes",),
    "PreToolUse": ("input_bytes",),
    "PermissionRequest": ("input_bytes",),
    "PostToolUse": ("input_bytes", "output_bytes"),
    "SubagentStop": ("last_assistant_message_bytes",),
    "Stop": ("last_assistant_message_bytes",),
}


@pytest.mark.parametrize("name", sorted(CODEX_PAYLOADS))
def test_codex_lifecycle_hooks_record_metadata_only(name: str, tmp_path: Path) -> None:
    """Each Codex lifecycle hook becomes codex.<Event> with metadata, no content."""
    payload = {**CODEX_COMMON, "hook_event_name": name, **CODEX_PAYLOADS[name]}
    if name == "SessionEnd":
        del payload["model"]
    event = run_command(codex_commands()[name], payload, tmp_path / "c")
    assert event["event"] == f"codex.{name}"
    expected = {"hook_event_name": name, "session_id": "th-1", "cwd": "~/proj",
                **CODEX_EXPECTED[name]}
    check(event["properties"], expected, CODEX_SIZED.get(name, ()))


def test_codex_hooks_json_events_all_have_payloads() -> None:
    """hooks/codex/hooks.json wires exactly the events with a payload here."""
    assert set(codex_commands()) == set(CODEX_PAYLOADS)


def test_codex_notify_records_turns(tmp_path: Path) -> None:
    """Codex's notify argument becomes codex.agent-turn-complete, messages private."""
    config = tomllib.loads((HOOKS / "codex" / "config.toml").read_text())
    payload = {"type": "agent-turn-complete", "thread-id": "th-1", "turn-id": "t-9",
               "cwd": f"{HOME}/proj", "client": "codex-tui", "input-messages": [SECRET],
               "last-assistant-message": SECRET}
    event = run_command(config["notify"], payload, tmp_path / "c", as_argument=True)
    assert event["event"] == "codex.agent-turn-complete"
    check(event["properties"], {"type": "agent-turn-complete", "thread_id": "th-1",
                                "turn_id": "t-9", "cwd": "~/proj", "client": "codex-tui",
                                "input_message_count": 1},
          ("input_messages_bytes", "last_assistant_message_bytes"))


# -- installing ------------------------------------------------------------------------------


def codex_hash(label: str, command: str, timeout: int, matcher: str | None = None) -> str:
    """Codex's trusted_hash, from its definition: sha256 of the compact, key-sorted JSON of
    {event_name, matcher (when set), hooks: [{type, command, timeout, async}]}."""
    identity: dict[str, Any] = {"event_name": label, "hooks": [
        {"type": "command", "command": command, "timeout": timeout, "async": False}]}
    if matcher is not None:
        identity["matcher"] = matcher
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def test_install_round_trip(where: Where, tmp_path: Path) -> None:
    """Installed into an empty home, each lifecycle hook's command records it, by absolute
    path and without shipper on PATH, and so does notify; uninstall leaves nothing."""
    assert where("install", "codex")[0] == 0
    hooks_json = where.home / ".codex" / "hooks.json"
    for i, name in enumerate(("SessionStart", "Stop")):
        (handler,) = [h for g in read_json(hooks_json)["hooks"][name] for h in g["hooks"]]
        assert handler["command"] == hook_command("codex")
        payload = {**CODEX_COMMON, "hook_event_name": name, **CODEX_PAYLOADS[name]}
        event = run_command(handler["command"], payload, tmp_path / f"c{i}", PATH=SYSTEM_PATH)
        assert event["event"] == f"codex.{name}"
    config = tomllib.loads((hooks_json.parent / "config.toml").read_text())
    turn = {"type": "agent-turn-complete", "thread-id": "t-1"}
    event = run_command(config["notify"], turn, tmp_path / "n", as_argument=True,
                        PATH=SYSTEM_PATH)
    assert event["event"] == "codex.agent-turn-complete"
    assert where("uninstall", "codex")[0] == 0
    assert not hooks_json.exists() and not (hooks_json.parent / "config.toml").exists()


def test_the_ready_made_hooks_match_what_the_installer_writes(where: Where) -> None:
    """hooks/codex/hooks.json is what install writes, with a bare command."""
    assert where("install", "codex")[0] == 0
    installed = hooks_file(where).read_text().replace(json.dumps(hook_command("codex"))[1:-1],
                                                      "shipper hook --source codex")
    assert json.loads(installed) == read_json(HOOKS / "codex" / "hooks.json")


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
    give_user_config(where)
    hooks_json = hooks_file(where)
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
    give_user_config(where)
    code, out, _ = where("install", "codex")
    config = tomllib.loads((hooks_file(where).parent / "config.toml").read_text())
    assert code == 0 and "set notify" in out
    assert config["notify"] == hook_program("codex")
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
    give_user_config(where)
    where("install", "codex")
    text = (where.home / ".codex" / "config.toml").read_text()
    for line in CODEX_CONFIG.splitlines():
        assert line in text.splitlines()


def test_codex_trust_entry_of_a_users_hook_follows_it_when_ours_goes(where: Where) -> None:
    """Codex keys trust by position: when uninstall moves the user's hook up, its trust
    entry is moved with it, so Codex still runs it."""
    assert where("install", "codex")[0] == 0
    hooks_json = hooks_file(where)
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
    assert files(where) == {"config.toml": b'model = "gpt-5\n'}


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
