"""The three agent CLIs: how each is installed, configured offline, run headless, and how
each tells, in its own words, which hooks it ran and how they ended.

What each client itself reports about its hooks:

- Claude Code: ``--output-format stream-json --verbose --include-hook-events`` prints a
  ``hook_started`` and a ``hook_response`` (stdout, stderr, exit code) for every hook but
  SessionEnd, which runs after the last message; its ``--debug-file`` has the line
  ``SessionEnd:other [COMMAND] completed with status N``. SessionEnd's stdout is shown
  nowhere (Claude Code discards it).
- Gemini CLI: its local telemetry file (``telemetry.target = "local"``, ``logPrompts``) has
  a ``gemini_cli.hook_call`` record for every hook run: event, exit code, stdout, stderr.
- Codex: ``codex exec`` prints ``hook: EVENT Completed|Failed|Blocked`` on stderr for each
  hook of a turn, and its OpenTelemetry metrics count every hook run by name and status,
  SessionEnd included (``codex.hooks.run``); "Completed" means exit status 0. A hook's
  stdout is shown nowhere as such: SessionStart's and UserPromptSubmit's would be added to
  the model's input (the rollout marks it as from a hook), Stop's would fail it unless it
  were JSON, the others' is discarded.
  ``notify`` runs once per completed turn (the rollout's ``task_complete``), detached, its
  output sent to /dev/null.

Where a client shows no exit status or stdout, `replays` gives the hook payloads to run the
installed command with, the way that client runs it, so the test can see both.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fakes import Case, ClaudeApi, CodexApi, FakeApi, GeminiApi
from .npm import NpmPackage

CLAUDE_CODE = NpmPackage("@anthropic-ai/claude-code", "2.1.197", "claude")
GEMINI_CLI = NpmPackage("@google/gemini-cli", "0.61.0", "gemini")
CODEX = NpmPackage("@openai/codex", "0.171.0", "codex")

GEMINI_MODEL = "gemini-2.5-flash"
CODEX_KEY_VARIABLE = "FAKE_PROVIDER_KEY"  # Codex sends its value as the bearer token


@dataclass
class HookRun:
    """One hook run as the client reported it; None where the client does not say."""

    event: str  # the client's name for it (notify: "agent-turn-complete")
    exit_code: int | None = None
    stdout: str | None = None
    status: str | None = None  # the client's word for how it ended


@dataclass
class Session:
    """One headless session and what came of it."""

    client: str
    index: int
    case: Case
    home: Path
    work: Path
    folder: Path  # outside the home: the client's logs
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    session_id: str | None = None
    runs: list[HookRun] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the client's own signs of trouble

    def describe(self) -> str:
        return (f"{self.client} session {self.index} (case {self.case.id}, id "
                f"{self.session_id}): exit {self.returncode} after {self.seconds:.1f} s\n"
                f"stdout: {self.stdout[-1500:]}\nstderr: {self.stderr[-3000:]}")


@dataclass
class Replay:
    """A hook run a client gave no account of, to make again by hand: the installed
    command, how the client starts it, and the payload it gives it (on stdin, or in the
    environment)."""

    event: str
    argv: list[str]
    stdin: bytes
    env: dict[str, str] = field(default_factory=dict)


def hook_commands(path: Path, event: str) -> list[str]:
    """The commands installed for an event in a JSON config shaped {"hooks": {EVENT:
    [{"hooks": [{"command": ...}]}]}}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [h["command"] for group in data.get("hooks", {}).get(event, [])
            for h in group.get("hooks", []) if isinstance(h, dict) and "command" in h]


class Client:
    """What differs between the clients; `Session` is what they share."""

    name: str  # as `shipper hooks install` and `shipper hook --source` call it
    prefix: str  # of the events shipper records for it
    package: NpmPackage
    api_class: type[FakeApi]
    scenario: tuple[str, ...]  # the hook runs one session makes, where hooks are set
    ok_statuses: tuple[str, ...]  # the client's words for a hook that went well
    bounds: tuple[str, ...] = ("SessionStart", "SessionEnd")  # installed, and run by each
    secret_kinds: tuple[str, ...] = ("prompt", "command", "file content", "tool description",
                                     "assistant message")  # what its hooks are given

    def event_name(self, client_event: str) -> str:
        return f"{self.prefix}.{client_event}"

    def installed(self, session: Session) -> set[str]:
        """The events `shipper hooks install` set a hook for in the session's home."""
        raise NotImplementedError

    def expected(self, session: Session) -> Counter[str]:
        """The hook runs a session should report: its scenario's, of the installed events."""
        installed = self.installed(session)
        return Counter(event for event in self.scenario if event in installed)

    def before_install(self, session: Session, api: FakeApi) -> None:
        """Write the user's own configuration: what a user of this client would have."""

    def install_env(self, session: Session) -> dict[str, str]:
        return {"HOME": str(session.home)}

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        raise NotImplementedError

    def argv(self, executable: Path, session: Session) -> list[str]:
        raise NotImplementedError

    def read_reports(self, session: Session, api: FakeApi) -> None:
        """Fill ``session.session_id``, ``runs`` and ``problems`` from the client's output."""
        raise NotImplementedError

    def transcripts(self, session: Session) -> list[Path]:
        """The conversation files the client wrote for the session."""
        raise NotImplementedError

    def replays(self, session: Session) -> list[Replay]:
        return []


class ClaudeCode(Client):
    name = "claude-code"
    prefix = "claude_code"
    package = CLAUDE_CODE
    api_class = ClaudeApi
    scenario = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
                "PostToolBatch", "MessageDisplay", "Stop", "SessionEnd")
    ok_statuses = ("success", "completed")

    def installed(self, session: Session) -> set[str]:
        settings = session.home / ".claude" / "settings.json"
        return set(json.loads(settings.read_text(encoding="utf-8")).get("hooks", {}))

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-ant-offline-test",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
                "CLAUDE_CODE_MAX_RETRIES": "0"}

    def argv(self, executable: Path, session: Session) -> list[str]:
        return [str(executable), "-p", session.case.prompt,
                "--allowedTools", "Bash(cat:*)",
                "--output-format", "stream-json", "--verbose", "--include-hook-events",
                "--debug-file", str(session.folder / "claude-debug.log")]

    def read_reports(self, session: Session, api: FakeApi) -> None:
        for line in session.stdout.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                session.problems.append(f"stdout line is not JSON: {line[:200]!r}")
                continue
            if not isinstance(message, dict) or message.get("type") != "system":
                continue
            session.session_id = session.session_id or message.get("session_id")
            if message.get("subtype") == "hook_started":
                session.runs.append(HookRun(str(message.get("hook_event"))))
            elif message.get("subtype") == "hook_response":
                run = next((r for r in reversed(session.runs)
                            if r.event == message.get("hook_event") and r.status is None), None)
                if run is None:
                    session.problems.append(f"a hook_response without its start: {message}")
                    continue
                run.exit_code = message.get("exit_code")
                run.stdout = message.get("stdout")
                run.status = message.get("outcome")
        debug = session.folder / "claude-debug.log"
        text = debug.read_text(encoding="utf-8", errors="replace") if debug.exists() else ""
        for match in re.finditer(r"\] SessionEnd:\S* \[.*\] completed with status (-?\d+)",
                                 text):
            session.runs.append(HookRun("SessionEnd", exit_code=int(match.group(1)),
                                        status="completed"))
        session.problems += re.findall(r"^\S* \[ERROR\] .*[Hh]ook.*$", text, re.MULTILINE)

    def transcripts(self, session: Session) -> list[Path]:
        return sorted((session.home / ".claude" / "projects").glob(f"*/{session.session_id}.jsonl"))

    def replays(self, session: Session) -> list[Replay]:
        """SessionEnd, whose stdout Claude Code shows nowhere: as Claude Code starts a hook
        (``/bin/sh -c COMMAND``, the payload on stdin)."""
        settings = session.home / ".claude" / "settings.json"
        transcript = self.transcripts(session)
        payload = {"session_id": session.session_id,
                   "transcript_path": str(transcript[0]) if transcript else "",
                   "cwd": str(session.work), "hook_event_name": "SessionEnd", "reason": "other"}
        return [Replay("SessionEnd", ["/bin/sh", "-c", command], json.dumps(payload).encode())
                for command in hook_commands(settings, "SessionEnd")]


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    return data


def _concatenated_json(text: str) -> list[Any]:
    """The JSON values written one after another (pretty-printed) into one file."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


class GeminiCli(Client):
    name = "gemini"
    prefix = "gemini"
    package = GEMINI_CLI
    api_class = GeminiApi
    scenario = ("SessionStart", "BeforeAgent", "PreCompress", "BeforeModel",
                "BeforeToolSelection", "AfterModel", "BeforeTool", "AfterTool", "PreCompress",
                "BeforeModel", "BeforeToolSelection", "AfterModel", "AfterAgent", "SessionEnd")
    ok_statuses = ("success",)

    def installed(self, session: Session) -> set[str]:
        settings = session.home / ".gemini" / "settings.json"
        return set(json.loads(settings.read_text(encoding="utf-8")).get("hooks", {}))

    def telemetry_file(self, session: Session) -> Path:
        return session.folder / "gemini-telemetry.json"

    def before_install(self, session: Session, api: FakeApi) -> None:
        settings = {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": False},
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
            "ide": {"enabled": False},
            "telemetry": {"enabled": True, "target": "local", "logPrompts": True,
                          "outfile": str(self.telemetry_file(session))},
        }
        folder = session.home / ".gemini"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        return {"GEMINI_API_KEY": "offline-test-key", "GOOGLE_GEMINI_BASE_URL": api.url,
                "GEMINI_CLI_TRUST_WORKSPACE": "true", "GEMINI_CLI_NO_RELAUNCH": "true",
                "NO_BROWSER": "true", "NO_COLOR": "1"}

    def argv(self, executable: Path, session: Session) -> list[str]:
        return [str(executable), "-m", GEMINI_MODEL, "-p", session.case.prompt, "--yolo"]

    def read_reports(self, session: Session, api: FakeApi) -> None:
        path = self.telemetry_file(session)
        if not path.exists():
            session.problems.append(f"no telemetry file {path}")
            return
        for record in _concatenated_json(path.read_text(encoding="utf-8")):
            attrs = record.get("attributes", {}) if isinstance(record, dict) else {}
            if attrs.get("event.name") != "gemini_cli.hook_call":
                continue
            session.session_id = session.session_id or attrs.get("session.id")
            session.runs.append(HookRun(
                str(attrs.get("hook_event_name")), exit_code=attrs.get("exit_code"),
                stdout=attrs.get("stdout"),
                status="success" if attrs.get("success") else f"failed: {attrs.get('error')}"))

    def transcripts(self, session: Session) -> list[Path]:
        return sorted((session.home / ".gemini" / "tmp").glob("*/chats/session-*.json*"))


class Codex(Client):
    name = "codex"
    prefix = "codex"
    package = CODEX
    api_class = CodexApi
    scenario = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop",
                "SessionEnd", "agent-turn-complete")
    ok_statuses = ("Completed", "completed", "notify")
    secret_kinds = ("prompt", "command", "file content", "assistant message")

    def installed(self, session: Session) -> set[str]:
        home = self.codex_home(session)
        events = set(json.loads((home / "hooks.json").read_text(encoding="utf-8"))
                     .get("hooks", {}))
        if "notify" in _toml(home / "config.toml"):
            events.add("agent-turn-complete")
        return events

    def codex_home(self, session: Session) -> Path:
        return session.home / ".codex"

    def before_install(self, session: Session, api: FakeApi) -> None:
        """A config.toml with a provider at the stand-in, and OpenTelemetry metrics sent to
        it (Codex's count of the hooks it ran)."""
        home = self.codex_home(session)
        home.mkdir(parents=True, exist_ok=True)
        metrics = f"{api.url}/otel/{session.case.id}/v1/metrics"
        (home / "config.toml").write_text(f"""\
model = "gpt-offline"
model_provider = "offline"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[history]
persistence = "none"

[model_providers.offline]
name = "offline"
base_url = "{api.url}/v1"
wire_api = "responses"
env_key = "{CODEX_KEY_VARIABLE}"
request_max_retries = 0
stream_max_retries = 0

[features]
hooks = true
plugins = false
shell_snapshot = false
unbounded_connection_retries = false

[otel]
metrics_exporter = {{ otlp-http = {{ endpoint = "{metrics}", protocol = "json" }} }}
""", encoding="utf-8")

    def install_env(self, session: Session) -> dict[str, str]:
        return {"HOME": str(session.home), "CODEX_HOME": str(self.codex_home(session))}

    def agent_env(self, session: Session, api: FakeApi) -> dict[str, str]:
        return {"CODEX_HOME": str(self.codex_home(session)),
                CODEX_KEY_VARIABLE: "offline-test-key", "SHELL": "/bin/bash"}

    def argv(self, executable: Path, session: Session) -> list[str]:
        return [str(executable), "exec", "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox", "--color", "never",
                session.case.prompt]

    def rollout(self, session: Session) -> list[dict[str, Any]]:
        lines = []
        for path in self.transcripts(session):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    lines.append(json.loads(line))
        return lines

    def read_reports(self, session: Session, api: FakeApi) -> None:
        found = re.search(r"^session id: (\S+)$", session.stderr, re.MULTILINE)
        session.session_id = found.group(1) if found else None
        # the exit status of each hook of the turn, in order: "hook: EVENT STATUS"
        endings: dict[str, list[str]] = {}
        for event, status in re.findall(r"^hook: (\w+) (\w+)$", session.stderr, re.MULTILINE):
            endings.setdefault(event, []).append(status)
        assert isinstance(api, CodexApi)
        for event, status in api.hook_runs(session.case):
            ended = endings.get(event, [])
            word = ended.pop(0) if ended else status  # SessionEnd runs after the last line
            session.runs.append(HookRun(  # "completed" is an exit status of 0 (and more)
                event, status=word, exit_code=0 if word.lower() == "completed" else None))
        for event, left in endings.items():
            if left:
                session.problems.append(f"stderr shows {event} {left} beyond Codex's count")
        rollout = self.rollout(session)
        for item in rollout:
            if item.get("type") == "event_msg" and item.get("payload", {}).get(
                    "type") == "task_complete":
                session.runs.append(HookRun("agent-turn-complete", status="notify"))
            text = json.dumps(item)
            if '"hook": true' in text or '"hooks.additional_context"' in text:
                session.problems.append(f"hook output reached the model: {text[:500]}")

    def transcripts(self, session: Session) -> list[Path]:
        return sorted((self.codex_home(session) / "sessions").glob("**/rollout-*.jsonl"))

    def replays(self, session: Session) -> list[Replay]:
        """Every lifecycle hook (Codex shows no hook's stdout as such, nor SessionEnd's
        exit status), as Codex starts one (``$SHELL -c COMMAND``, the payload on stdin);
        and notify (its argv plus the JSON argument)."""
        home = self.codex_home(session)
        transcript = self.transcripts(session)
        common = {"session_id": session.session_id, "turn_id": "replayed-turn",
                  "transcript_path": str(transcript[0]) if transcript else "",
                  "cwd": str(session.work), "model": "gpt-offline",
                  "permission_mode": "bypassPermissions"}
        tool = {"tool_name": "Bash", "tool_input": {"command": session.case.command},
                "tool_use_id": "call_replayed"}
        payloads = {
            "SessionStart": {**common, "hook_event_name": "SessionStart", "source": "startup"},
            "UserPromptSubmit": {**common, "hook_event_name": "UserPromptSubmit",
                                 "prompt": session.case.prompt},
            "PreToolUse": {**common, "hook_event_name": "PreToolUse", **tool},
            "PostToolUse": {**common, "hook_event_name": "PostToolUse", **tool,
                            "tool_response": session.case.content_secret},
            "Stop": {**common, "hook_event_name": "Stop", "stop_hook_active": False,
                     "last_assistant_message": session.case.answer},
            "SessionEnd": {"session_id": session.session_id,
                           "transcript_path": common["transcript_path"],
                           "cwd": str(session.work), "hook_event_name": "SessionEnd",
                           "reason": "other"},
        }
        shell = shutil.which("bash") or "/bin/sh"
        replays = [Replay(event, [shell, "-c", command], json.dumps(payload).encode())
                   for event, payload in payloads.items()
                   for command in hook_commands(home / "hooks.json", event)]
        notify = _toml(home / "config.toml").get("notify")
        if isinstance(notify, list):
            argument = {"type": "agent-turn-complete", "thread-id": session.session_id,
                        "turn-id": "replayed-turn", "cwd": str(session.work),
                        "client": "codex_exec", "input-messages": [session.case.prompt],
                        "last-assistant-message": session.case.answer}
            replays.append(Replay("agent-turn-complete", [*notify, json.dumps(argument)], b""))
        return replays



