"""Helpers for the viewer's tests: a real `shipper serve` process, and events as agents
send them (real hook processes, Claude Code's OTLP log records)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from shipper._event import rfc3339_ms

from .conftest import child_env, free_port, wait_for

SESSION = "5d2c9a1e-0000-4000-8000-00000000beef"


class Serve:
    """A `shipper serve` process on a free loopback port, with its store in ``db``."""

    def __init__(self, tmp: Path, *extra: str, db: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db or tmp / "events.db"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shipper", "serve", "--port", str(self.port), "--db",
             str(self.db), *self.extra], env=child_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        assert wait_for(self._up, timeout=60), self.stop()

    def _up(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert self.proc is not None and self.proc.poll() is None, self.stop()
            return False

    def stop(self, sig: int = signal.SIGKILL) -> str:
        """Stop it; what it wrote on stderr."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        self.proc = None
        return err.decode()

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10, **kw)

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(self.url + path, params=params, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


def native(i: int, name: str = "page.view", ts: float | None = None,
           **props: Any) -> dict[str, Any]:
    return {"id": f"0190abcd-0000-7000-8000-{i:012d}", "event": name,
            "timestamp": rfc3339_ms(ts if ts is not None else time.time()),
            "properties": props, "context": {"library": {"name": "shipper"}}}


def otlp_logs(records: list[dict[str, Any]], service: str = "claude-code") -> dict[str, Any]:
    return {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"},
                       "logRecords": records}]}]}


def api_request_record(session: str, cost: float, tokens_in: int) -> dict[str, Any]:
    """A log record as Claude Code's telemetry sends one for each API request."""
    def kv(key: str, **value: Any) -> dict[str, Any]:
        return {"key": key, "value": value}

    return {"timeUnixNano": str(time.time_ns()),
            "body": {"stringValue": "claude_code.api_request"},
            "attributes": [kv("event.name", stringValue="api_request"),
                           kv("session.id", stringValue=session),
                           kv("model", stringValue="claude-sonnet-4-5"),
                           kv("cost_usd", doubleValue=cost),
                           kv("input_tokens", intValue=str(tokens_in)),
                           kv("output_tokens", intValue="321"),
                           kv("duration_ms", intValue="1800")]}


def run_hook(cache: Path, endpoint: str, payload: dict[str, Any],
             source: str = "claude-code") -> None:
    """One real `shipper hook` process, as an agent runs it."""
    subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", source],
                   input=json.dumps(payload).encode(), timeout=60, check=True,
                   env=child_env(cache, SHIPPER_ENDPOINT=endpoint))


def record_agent_session(cache: Path, serve_url: str, session: str = SESSION) -> None:
    """A Claude Code session as its hooks report it: start, a prompt, a tool that works and
    one that fails, the end; delivered by `shipper sync`."""
    base = {"session_id": session, "cwd": str(Path.home() / "work" / "demo-project")}
    for payload in (
        {"hook_event_name": "SessionStart", "source": "startup"},
        {"hook_event_name": "UserPromptSubmit", "prompt": "make the tests pass"},
        {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_1",
         "tool_input": {"command": "pytest -q"}},
        {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_1",
         "tool_response": {"stdout": "3 passed"}},
        {"hook_event_name": "PreToolUse", "tool_name": "Edit", "tool_use_id": "toolu_2",
         "tool_input": {"file_path": "/tmp/x.py"}},
        {"hook_event_name": "PostToolUseFailure", "tool_name": "Edit",
         "tool_use_id": "toolu_2", "error": "file changed on disk"},
        {"hook_event_name": "SessionEnd", "reason": "exit"},
    ):
        run_hook(cache, serve_url, {**base, **payload})
    subprocess.run([sys.executable, "-m", "shipper", "sync", "-q"], timeout=60, check=False,
                   env=child_env(cache, SHIPPER_ENDPOINT=serve_url))


