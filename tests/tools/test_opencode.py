"""opencode: the plugin `shipper hooks install opencode` writes, run under node as opencode
runs it (each event one hook process, nothing printed, nothing thrown, nothing done once
shipper is gone), what its payloads may send, and the real CLI run offline
(`TestOpencodeOffline`)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipper._tools._install import hook_argv

from ..agents.checks import AgentChecks
from ..agents.clients import Client, HookRun, Replay, Session
from ..agents.fakes import ChatApi, FakeApi
from ..agents.npm import NpmPackage, cache_root
from ..conftest import child_env, events_on_disk, require_tool, wait_for
from .common import HOME, SECRET, Where, check, props_of

PLUGIN = Path(".config") / "opencode" / "plugins" / "shipper.js"
COMMON = {"session_id": "ses_1"}
PAYLOADS: dict[str, dict[str, Any]] = {  # as the plugin passes them
    "session.created": {"cwd": f"{HOME}/proj", "version": "1.18.33", "project_id": "global",
                        "title_bytes": 11},
    "chat.message": {"message_id": "msg_1", "agent": "build", "model": "offline/m",
                     "part_count": 1, "file_count": 0, "prompt_bytes": 64},
    "tool.execute.after": {"tool_name": "bash", "tool_use_id": "call_1", "exit_code": 0,
                           "truncated": False, "input_bytes": 80, "output_bytes": 24},
    "session.idle": {},
    "session.error": {"error_type": "ProviderAuthError", "error_bytes": 40},
    "session.compacted": {},
}
EXPECTED: dict[str, dict[str, Any]] = {
    "session.created": {"cwd": "~/proj", "version": "1.18.33", "project_id": "global",
                        "title_bytes": 11},
    "chat.message": {"message_id": "msg_1", "agent": "build", "model": "offline/m",
                     "prompt_bytes": 64},
    "tool.execute.after": {"tool_name": "bash", "tool_use_id": "call_1", "exit_code": 0,
                           "success": True, "input_bytes": 80, "output_bytes": 24},
    "session.error": {"error_type": "ProviderAuthError", "error_bytes": 40},
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_opencode_events_record_metadata(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each event the plugin passes becomes opencode.<event>: its metadata, ``~`` paths and
    the sizes the plugin measured."""
    event, props = props_of("opencode", {"hook_event_name": name, **COMMON, **PAYLOADS[name]},
                            monkeypatch)
    assert event == f"opencode.{name}"
    check(props, {"hook_event_name": name, "session_id": "ses_1", **EXPECTED.get(name, {})},
          ())


def test_content_the_plugin_passed_is_kept_only_when_included(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Content the plugin passed (opted in there) is dropped unless content is included
    here too; the size is the whole's, as the plugin measured it."""
    payload = {"hook_event_name": "chat.message", **COMMON, "prompt": SECRET,
               "prompt_bytes": 9000}
    assert "prompt" not in props_of("opencode", payload, monkeypatch)[1]
    _, props = props_of("opencode", payload, monkeypatch, include_content=True)
    assert props["prompt"] == SECRET and props["prompt_bytes"] == 9000


def test_a_failed_command_is_not_a_success(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool whose exit code is not 0 is ``success: false``."""
    payload = {"hook_event_name": "tool.execute.after", **COMMON, "tool_name": "bash",
               "exit_code": 2}
    assert props_of("opencode", payload, monkeypatch)[1]["success"] is False


# -- the plugin, under node ------------------------------------------------------------------

DRIVE = """
import { pathToFileURL } from "node:url"
const [plugin, sid, secret, home] = process.argv.slice(2)
const { Shipper } = await import(pathToFileURL(plugin).href)
const hooks = await Shipper({ directory: home + "/proj" })
const info = { id: sid, directory: home + "/proj", version: "1.18.33", projectID: "global",
               title: secret }
await hooks.event({ event: { type: "session.created", properties: { sessionID: sid, info } } })
await hooks.event({ event: { type: "message.updated", properties: { sessionID: sid } } })
await hooks["chat.message"](
  { sessionID: sid, agent: "build", model: { providerID: "p", modelID: "m" }, messageID: "msg_1" },
  { message: { id: "msg_1" }, parts: [{ type: "text", text: "please " + secret }] })
await hooks["tool.execute.after"](
  { tool: "read", sessionID: sid, callID: "call_1",
    args: { filePath: home + "/proj/a.md", secret } },
  { title: secret, output: "x".repeat(10000) + secret, metadata: { exit: 0 } })
const error = { name: "APIError", data: { message: secret } }
await hooks.event({ event: { type: "session.error", properties: { sessionID: sid, error } } })
await hooks.event({ event: { type: "session.idle", properties: { sessionID: sid } } })
await hooks.event(undefined)
await hooks["chat.message"](undefined, undefined)
await hooks["tool.execute.after"](null, null)
"""


def drive(plugin: Path, cache: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the plugin's hooks under node with opencode's inputs (and some it should not
    choke on); node exits at once, the hook processes it started go on."""
    require_tool("node")
    script = tmp_path / "drive.mjs"
    script.write_text(DRIVE)
    return subprocess.run(["node", str(script), str(plugin), "ses_9", SECRET, HOME],
                          env=child_env(cache, HOME=HOME, PATH="/usr/bin:/bin"),
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_plugin_hands_each_event_to_a_hook_of_its_own(where: Where, tmp_path: Path) -> None:
    """session.created, chat.message, tool.execute.after, session.error and session.idle
    each become one event (message.updated and bad inputs none); node prints nothing and
    exits 0 without waiting for them; sizes, not content."""
    assert where("install", "opencode")[0] == 0
    cache = tmp_path / "cache"
    done = drive(where.home / PLUGIN, cache, tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert wait_for(lambda: len(events_on_disk(cache)) >= 5, timeout=60)
    events = {e["event"]: e["properties"] for e in events_on_disk(cache)}
    assert sorted(events) == ["opencode.chat.message", "opencode.session.created",
                              "opencode.session.error", "opencode.session.idle",
                              "opencode.tool.execute.after"]
    assert events["opencode.tool.execute.after"]["output_bytes"] == 10000 + len(SECRET)
    assert events["opencode.tool.execute.after"]["file_path"] == "~/proj/a.md"
    assert events["opencode.session.created"]["cwd"] == "~/proj"
    assert events["opencode.session.error"]["error_type"] == "APIError"
    assert all(props["session_id"] == "ses_9" for props in events.values())
    assert SECRET not in json.dumps(events) and HOME not in json.dumps(events)


def test_the_plugin_passes_content_once_opted_in_and_keeps_that_on_reinstall(
        where: Where, tmp_path: Path) -> None:
    """``--include-content`` added to the plugin's HOOK line: the prompt and the tool's
    input and output are passed (8 KiB each) and recorded; a reinstall keeps the opt-in."""
    assert where("install", "opencode")[0] == 0
    plugin = where.home / PLUGIN
    plugin.write_text(plugin.read_text().replace('"opencode"]', '"opencode", '
                                                 '"--include-content"]'))
    assert where("install", "opencode")[1].endswith("nothing changed\n")
    cache = tmp_path / "cache"
    assert drive(plugin, cache, tmp_path).returncode == 0
    assert wait_for(lambda: len(events_on_disk(cache)) >= 5, timeout=60)
    events = {e["event"]: e["properties"] for e in events_on_disk(cache)}
    assert events["opencode.chat.message"]["prompt"] == f"please {SECRET}"
    tool = events["opencode.tool.execute.after"]
    assert len(tool["tool_response"]) == 8192 and tool["output_bytes"] == 10000 + len(SECRET)


def test_the_plugin_passes_the_payload_where_only_the_user_can_read_it(
        where: Where, tmp_path: Path) -> None:
    """Opted in to content, the plugin still puts neither the prompt nor a path on the
    hook's command line (``ps`` shows it to every user): the whole payload is in the hook's
    environment, ``SHIPPER_HOOK_PAYLOAD``, which only the user can read."""
    assert where("install", "opencode")[0] == 0
    plugin = where.home / PLUGIN
    text = plugin.read_text()
    hook_line = next(line for line in text.splitlines() if line.startswith("const HOOK = "))
    seen = tmp_path / "seen"
    seen.mkdir()
    recorder = tmp_path / "recorder.sh"  # what the hook process was given, as it ran
    recorder.write_text('printf "%s\\n" "$0" "$@" >"$SEEN/argv.$$"\n'
                        'printf "%s" "$SHIPPER_HOOK_PAYLOAD" >"$SEEN/.env.$$"\n'
                        'mv "$SEEN/.env.$$" "$SEEN/env.$$"\n')
    argv = ["/bin/sh", str(recorder), "--source", "opencode", "--include-content"]
    plugin.write_text(text.replace(hook_line, f"const HOOK = {json.dumps(argv)}"))
    require_tool("node")
    script = tmp_path / "drive.mjs"
    script.write_text(DRIVE)
    done = subprocess.run(["node", str(script), str(plugin), "ses_9", SECRET, HOME],
                          env=child_env(tmp_path / "cache", HOME=HOME, PATH="/usr/bin:/bin",
                                        SEEN=str(seen)),
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert wait_for(lambda: len(list(seen.glob("env.*"))) >= 5, timeout=60)
    argvs = "".join(p.read_text() for p in seen.glob("argv.*"))
    assert SECRET not in argvs and HOME not in argvs and "ses_9" not in argvs
    payloads = [json.loads(p.read_text()) for p in seen.glob("env.*")]
    assert {p["hook_event_name"] for p in payloads} >= {"chat.message", "tool.execute.after"}
    assert any(SECRET in p.get("prompt", "") for p in payloads)


def test_a_plugin_left_behind_by_a_removed_shipper_does_nothing(
        where: Where, tmp_path: Path) -> None:
    """With the interpreter or the script it names gone (`pip uninstall` without `shipper
    hooks uninstall`), the plugin starts nothing, prints nothing, throws nothing."""
    assert where("install", "opencode")[0] == 0
    plugin = where.home / PLUGIN
    gone = str(tmp_path / "removed-venv" / "bin" / "python")
    plugin.write_text(plugin.read_text().replace(json.dumps(hook_argv()[0]), json.dumps(gone)))
    cache = tmp_path / "cache"
    done = drive(plugin, cache, tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not cache.exists()


# -- installing ------------------------------------------------------------------------------


def test_install_writes_the_plugin_and_uninstall_removes_it(where: Where) -> None:
    """The plugin goes to ~/.config/opencode/plugins/shipper.js; a second install changes
    nothing; status says so; uninstall removes it and leaves no backup."""
    code, out, _ = where("install", "opencode")
    plugin = where.home / PLUGIN
    assert code == 0 and str(plugin) in out and plugin.is_file()
    assert json.dumps(hook_argv()[0]) in plugin.read_text()
    assert where("install", "opencode")[1].endswith("nothing changed\n")
    assert f"opencode (user): installed, plugin, up to date ({plugin})" in where("status")[1]
    assert where("uninstall", "opencode")[0] == 0
    assert list(plugin.parent.iterdir()) == []
    assert "opencode (user): not installed" in where("status")[1]


def test_project_scope_and_xdg_config_home(where: Where, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """--scope project writes .opencode/plugins/shipper.js; the user scope follows
    XDG_CONFIG_HOME, as opencode does."""
    assert where("install", "opencode", scope="project")[0] == 0
    assert (where.cwd / ".opencode" / "plugins" / "shipper.js").is_file()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert where("install", "opencode")[0] == 0
    assert (tmp_path / "xdg" / "opencode" / "plugins" / "shipper.js").is_file()


def test_a_plugin_of_the_users_at_that_path_is_left_alone(where: Where) -> None:
    """A shipper.js that shipper did not write is refused, exit 1, untouched."""
    plugin = where.home / PLUGIN
    plugin.parent.mkdir(parents=True)
    plugin.write_text("export const Mine = async () => ({})\n")
    code, _, err = where("install", "opencode")
    assert code == 1 and "is not shipper's" in err
    assert where("uninstall", "opencode")[0] == 1
    assert plugin.read_text() == "export const Mine = async () => ({})\n"


# -- the real CLI, offline -------------------------------------------------------------------


class Opencode(Client):
    """``opencode run --format json -m offline/offline-model PROMPT`` with an
    OpenAI-compatible provider at the stand-in. opencode has no account of its plugins'
    hooks, so the hook runs a session must have made are read from its own account of the
    session (the JSON events it prints): the session created, one prompt, each tool call
    completed, the session idle at the end. The plugin starts each hook with its streams on
    /dev/null (nothing can reach opencode); each is also replayed as the plugin starts it
    (its argv, the payload in ``SHIPPER_HOOK_PAYLOAD``). The first run in a home installs
    ``@opencode-ai/plugin`` from npm into the config folder (opencode's own doing, for any
    plugin); an npm cache shared by the sessions keeps that quick."""

    name = "opencode"
    prefix = "opencode"
    package = NpmPackage("opencode-ai", "1.18.33", "opencode")
    api_class = ChatApi
    scenario = ("session.created", "chat.message", "tool.execute.after", "session.idle")
    ok_statuses = ("handed over",)
    bounds = ("session.created", "session.idle")

    def plugin(self, session: Session) -> Path:
        return session.home / PLUGIN

    def installed(self, session: Session) -> set[str]:
        text = self.plugin(session).read_text(encoding="utf-8")
        return {event for event in self.scenario if f'"{event}"' in text}

    def before_install(self, session: Session, api: FakeApi) -> None:
        config = {
            "$schema": "https://opencode.ai/config.json",
            "provider": {"offline": {
                "npm": "@ai-sdk/openai-compatible", "name": "offline",
                "options": {"baseURL": f"{api.url}/v1", "apiKey": "offline-test-key"},
                "models": {ChatApi.model: {"name": ChatApi.model, "tool_call": True}}}},
            "model": f"offline/{ChatApi.model}",
            "permission": {"bash": "allow"}, "autoupdate": False, "share": "disabled"}
        folder = session.home / ".config" / "opencode"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "opencode.json").write_text(json.dumps(config, indent=2), encoding="utf-8")

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        """npm's own settings of this machine (its registry) carried over for the plugin's
        dependency, from a cache the sessions share."""
        npm = {k: v for k, v in os.environ.items()
               if k.lower().startswith("npm_config_") and k.lower() != "npm_config_cache"}
        return {**npm, "OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1",
                "PWD": str(session.work), "NO_COLOR": "1",
                "npm_config_cache": str(cache_root() / "opencode-plugin-npm-cache")}

    def argv(self, executable: Path, session: Session) -> list[str]:
        return [str(executable), "run", "--format", "json", "-m", f"offline/{ChatApi.model}",
                session.case.prompt]

    def read_reports(self, session: Session, api: FakeApi) -> None:
        tools = 0
        for line in session.stdout.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                session.problems.append(f"stdout line is not JSON: {line[:200]!r}")
                continue
            session.session_id = session.session_id or record.get("sessionID")
            part = record.get("part") or {}
            if record.get("type") == "tool_use" and part.get("state", {}).get(
                    "status") == "completed":
                tools += 1
            elif record.get("type") == "error":
                session.problems.append(json.dumps(record)[:500])
        if session.session_id:
            ran = ["session.created", "chat.message", *["tool.execute.after"] * tools,
                   "session.idle"]
            session.runs = [HookRun(event, status="handed over") for event in ran]

    def transcripts(self, session: Session) -> list[Path]:
        folder = session.home / ".local" / "share" / "opencode"
        return sorted(p for p in folder.glob("opencode.db*") if p.is_file())

    def replays(self, session: Session) -> list[Replay]:
        """Each event of the session, with the payload the plugin makes of it."""
        text = self.plugin(session).read_text(encoding="utf-8")
        hook = json.loads(next(line for line in text.splitlines()
                               if line.startswith("const HOOK = "))[len("const HOOK = "):])
        common = {"session_id": session.session_id}
        payloads = {
            "session.created": {"cwd": str(session.work), "version": "1.18.33",
                                "project_id": "global", "title_bytes": 40},
            "chat.message": {"agent": "build", "model": f"offline/{ChatApi.model}",
                             "part_count": 1, "file_count": 0, "prompt_bytes": 60},
            "tool.execute.after": {"tool_name": "bash", "tool_use_id": "call_replayed",
                                   "exit_code": 0, "input_bytes": 90, "output_bytes": 24},
            "session.idle": {},
        }
        return [Replay(event, hook, b"", {"SHIPPER_HOOK_PAYLOAD": json.dumps(
            {"hook_event_name": event, **common, **payload})})
            for event, payload in payloads.items()]


class TestOpencodeOffline(AgentChecks):
    client = Opencode()

