"""What the tools' tests share: payloads through a real hook process, the check that no
content, email or home path got out, and a tool's installation in a temp home."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipper._cli._hooks import hooks_command
from shipper._tools._install import JsonHooks, hook_command
from shipper._tools._mapping import to_event
from shipper._tools._registry import load

from ..conftest import ROOT, child_env, events_on_disk

HOOKS = ROOT / "hooks"
SECRET = "TOP-SECRET-CONTENT-1234"  # noqa: S105 - a marker to look for, not a credential
HOME = "/home/u"  # the hook processes' home folder: paths below it must come out as ~/...
EMAIL = "alice@example.com"
SYSTEM_PATH = "/usr/bin:/bin"  # no shipper on it: hooks must call it by absolute path


def env_for(cache: Path, **extra: str) -> dict[str, str]:
    env = child_env(cache, **extra)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_command(command: str | list[str], payload: dict[str, Any], cache: Path,
                as_argument: bool = False, **env: str) -> dict[str, Any]:
    """Run a hook command as an agent does (a shell command by ``sh -c``, payload on
    stdin; an argv list with the payload as its last argument): exit 0, nothing printed,
    one event recorded, which is returned."""
    data = json.dumps(payload)
    env.setdefault("HOME", HOME)
    if isinstance(command, list):
        argv = [*command, data] if as_argument else command
        out = subprocess.run(argv, input=None if as_argument else data.encode(),
                             env=env_for(cache, **env), capture_output=True, timeout=60,
                             check=False)
    else:
        out = subprocess.run(["sh", "-c", command], input=data.encode(),
                             env=env_for(cache, **env), capture_output=True, timeout=60,
                             check=False)
    assert (out.returncode, out.stdout, out.stderr) == (0, b"", b"")
    (event,) = events_on_disk(cache)
    return event


def props_of(source: str, payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *,
             include_content: bool = False, hash_key: bytes | None = None,
             home: str = HOME, event: str | None = None) -> tuple[str, dict[str, Any]]:
    """The event name and properties a tool's mapping makes of ``payload``, in-process."""
    monkeypatch.setenv("HOME", home)
    return to_event(load(source), json.dumps(payload).encode(),
                    include_content=include_content, hash_key=hash_key, event=event)


def template_commands(tool: str, filename: str) -> dict[str, str]:
    """The commands of hooks/<tool>/<filename> by event (a grouped or flat hooks file)."""
    config = json.loads((HOOKS / tool / filename).read_text())
    out = {}
    for event, items in config["hooks"].items():
        first = items[0]
        out[event] = first["hooks"][0]["command"] if "hooks" in first else first["command"]
    return out


def recorded(source: str, payload: dict[str, Any], commands: dict[str, Any], tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    """The event name and properties recorded for ``payload``: through the command a tool's
    config runs for that event where one is wired, else through the mapping."""
    name = payload["hook_event_name"]
    if name in commands:
        event = run_command(commands[name], payload, tmp_path / "c")
        return event["event"], event["properties"]
    return props_of(source, payload, monkeypatch)


def check(props: dict[str, Any], expected: dict[str, Any], sized: tuple[str, ...]) -> None:
    """The expected metadata, each content size, and nothing private."""
    assert {k: props.get(k) for k in expected} == expected
    for key in sized:
        assert props[key] > 0, key
    text = json.dumps(props)
    assert SECRET not in text and EMAIL not in text
    assert HOME not in text  # every path under the home folder is written ~/...
    assert "transcript_path" not in text


# -- installing ------------------------------------------------------------------------------


@dataclass
class Where:
    """A temp home and working folder, and ``shipper hooks`` run against them."""

    home: Path
    cwd: Path

    def __call__(self, action: str, tool: str | None = None,
                 **kw: Any) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = hooks_command(action, tool, out=out, err=err, home=self.home, cwd=self.cwd,
                             **kw)
        return code, out.getvalue(), err.getvalue()

    def json_spec(self, tool: str) -> JsonHooks:
        """The JSON hooks file of a tool: its installer, or the hooks.json of one that
        writes more (Codex)."""
        module = load(tool)
        spec = module.hooks_file() if hasattr(module, "hooks_file") else module.installer()
        assert isinstance(spec, JsonHooks)
        return spec

    def config(self, tool: str, scope: str = "user") -> Path:
        """The JSON hooks file of a tool that has one."""
        from shipper._tools._install import Where as Places

        if tool == "codex":  # not CODEX_HOME's: the tests unset it
            return self.home / ".codex" / "hooks.json"
        return self.json_spec(tool).path(scope, Places(self.home, self.cwd))

    def files(self, tool: str) -> dict[str, bytes]:
        """Every file in the tool's folder, by name: to see that nothing at all changed."""
        folder = self.config(tool).parent
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() \
            else {}

    def ours(self, tool: str, event: str, scope: str = "user") -> list[dict[str, Any]]:
        """Shipper's handlers for an event in the tool's JSON hooks file."""
        spec = self.json_spec(tool)
        data = json.loads(self.config(tool, scope).read_text())
        return [h for item in data["hooks"].get(event, []) for h in spec.handlers(item)
                if spec.is_ours(h)]


def write_config(where: Where, tool: str, text: str) -> Path:
    """Put ``text`` where the tool keeps its JSON config (the folder made first)."""
    path = where.config(tool)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def run_hook(command: str, payload: dict[str, Any], cache: Path,
             **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run a hook command the way agents do (`sh -c`), payload on stdin, without shipper on
    PATH."""
    return subprocess.run(["sh", "-c", command], input=json.dumps(payload).encode(),
                          env=child_env(cache, PATH=SYSTEM_PATH, **env), capture_output=True,
                          timeout=60, check=False)


def assert_json_round_trip(where: Where, tool: str, payloads: dict[str, dict[str, Any]],
                           tmp_path: Path) -> None:
    """``shipper hooks install TOOL`` into an empty home: one entry of ours per event the
    tool installs, each running this installation's shipper by absolute path, guarded; the
    command of each event in ``payloads``, run as the agent runs it without shipper on
    PATH, records it as ``<prefix>.<event>``; a second install changes nothing; uninstall
    leaves no file behind."""
    module = load(tool)
    code, _, err = where("install", tool)
    assert code == 0, err
    spec = where.json_spec(tool)
    for event in module.EVENTS:
        (handler,) = where.ours(tool, event)
        command = spec.command_of(handler)
        name = f"{module.PREFIX}.{event}" if spec.event_in_command else None
        assert command == hook_command(tool, name)
        assert shlex.split(command)[-1] != "0"  # words appended reach the hook
    for i, (event, payload) in enumerate(payloads.items()):
        (handler,) = where.ours(tool, event)
        done = run_hook(spec.command_of(handler), payload, tmp_path / f"c{i}")
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
        (recorded_event,) = events_on_disk(tmp_path / f"c{i}")
        assert recorded_event["event"] == f"{module.PREFIX}.{event}"
    files = where.files(tool)
    assert where("install", tool)[1].endswith("nothing changed\n")
    assert where.files(tool) == files
    assert where("uninstall", tool)[0] == 0
    assert not where.config(tool).exists()


def entries(tool: str, items: list[Any]) -> list[dict[str, Any]]:
    """The handlers in one event's list: groups' "hooks" lists, or a flat list's entries."""
    spec = Where(Path(), Path()).json_spec(tool)
    return [h for item in items for h in spec.handlers(item)]


def ours(tool: str, data: dict[str, Any], event: str) -> list[dict[str, Any]]:
    """The handlers of shipper's in an event: exactly this installation's command."""
    return [h for h in entries(tool, data["hooks"].get(event, []))
            if h.get("command") == hook_command(tool)]


def template_matches(where: Where, tool: str, template: str) -> None:
    """hooks/<template> holds what install writes, with the bare `shipper` command."""
    assert where("install", tool)[0] == 0
    installed = where.config(tool).read_text()
    for event in load(tool).EVENTS:
        for handler in where.ours(tool, event):
            command = where.json_spec(tool).command_of(handler)
            assert isinstance(command, str)
            installed = installed.replace(json.dumps(command)[1:-1],
                                          f"shipper hook --source {tool}")
    assert json.loads(installed) == read_json(HOOKS / template)
