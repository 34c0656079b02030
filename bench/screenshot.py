"""The pictures of `shipper serve`'s page in docs/: a serve with a few agent sessions (real
`shipper hook` processes and Claude Code-shaped OTLP logs), photographed in Debian's
chromium driven by Playwright (`pip install playwright`; `apt-get install chromium`).

    python bench/screenshot.py          # writes docs/viewer.png and docs/viewer-session.png
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def hook(env: dict[str, str], source: str, payload: dict[str, Any]) -> None:
    subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", source],
                   input=json.dumps(payload).encode(), env=env, check=True, timeout=60)


def record(env: dict[str, str], url: str, rng: random.Random) -> None:
    """Three sessions: Claude Code in two projects, Gemini CLI in one."""
    home = Path.home()
    plans = [("claude-code", "a1f3c2d4-7b8e-4c1a-9d2f-0e1b2c3d4e5f", "shipper", 7),
             ("gemini", "0f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b", "shipper", 5),
             ("claude-code", "5d2c9a1e-0f3b-4d6a-9c1e-2b7f8e0a1c3d", "website", 6)]
    tools = {"claude-code": ["Read", "Grep", "Edit", "Bash"],
             "gemini": ["read_file", "search_file_content", "run_shell_command"]}
    for source, session, project, calls in plans:
        before, after = (("PreToolUse", "PostToolUse") if source == "claude-code"
                         else ("BeforeTool", "AfterTool"))
        base = {"session_id": session, "cwd": str(home / "work" / project)}
        hook(env, source, {**base, "hook_event_name": "SessionStart", "source": "startup"})
        hook(env, source, {**base, "hook_event_name": "UserPromptSubmit" if source ==
                           "claude-code" else "BeforeAgent", "prompt": "fix the failing test"})
        for i in range(calls):
            tool = rng.choice(tools[source])
            use = f"toolu_{session[:4]}{i}"
            hook(env, source, {**base, "hook_event_name": before, "tool_name": tool,
                               "tool_use_id": use, "tool_input": {"file_path": "src/app.py"}})
            time.sleep(rng.uniform(0.05, 0.4))
            failed = i == calls - 2 and source != "gemini"
            hook(env, source, {**base, "hook_event_name": after, "tool_name": tool,
                               "tool_use_id": use, "tool_response": {"success": not failed}})
        if source == "claude-code":
            records = [api_record(session, rng) for _ in range(3)]
            httpx.post(url + "/v1/logs", timeout=10, json={"resourceLogs": [{
                "resource": {"attributes": [{"key": "service.name",
                                             "value": {"stringValue": "claude-code"}}]},
                "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"},
                               "logRecords": records}]}]}).raise_for_status()
        hook(env, source, {**base, "hook_event_name": "SessionEnd", "reason": "exit"})
    subprocess.run([sys.executable, "-m", "shipper", "sync", "-q"], env=env, timeout=60,
                   check=False)


def api_record(session: str, rng: random.Random) -> dict[str, Any]:
    def kv(key: str, **value: Any) -> dict[str, Any]:
        return {"key": key, "value": value}

    return {"timeUnixNano": str(time.time_ns()),
            "body": {"stringValue": "claude_code.api_request"},
            "attributes": [kv("session.id", stringValue=session),
                           kv("model", stringValue="claude-sonnet-4-5"),
                           kv("cost_usd", doubleValue=round(rng.uniform(0.01, 0.09), 4)),
                           kv("input_tokens", intValue=str(rng.randrange(8000, 30000))),
                           kv("output_tokens", intValue=str(rng.randrange(200, 900))),
                           kv("duration_ms", intValue=str(rng.randrange(900, 4000)))]}


def main() -> None:
    from playwright.sync_api import sync_playwright

    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="shipper-screenshot-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SHIPPER_CONFIG": str(Path(tmp) / "none.toml"),
               "SHIPPER_CACHE_DIR": str(Path(tmp) / "cache"), "SHIPPER_ENDPOINT": url}
        serve = subprocess.Popen([sys.executable, "-m", "shipper", "serve", "--port",
                                  str(port), "--db", str(Path(tmp) / "events.db")], env=env,
                                 stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    httpx.get(url + "/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            record(env, url, rng)
            time.sleep(1)
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"), executable_path="/usr/bin/chromium",
                    headless=True, args=FLAGS, viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.goto(url + "/#range=1h")
                page.locator("tr.event-row").first.wait_for()
                page.locator("tr.event-row", has_text="api_request").first.click()
                page.wait_for_timeout(500)
                page.screenshot(path=str(ROOT / "docs" / "viewer.png"))
                page.click(".tabs button[data-tab=sessions]")
                page.locator(".lanes-table tr.session-row").first.click()
                page.locator("#session .tl-item").first.wait_for()
                page.wait_for_timeout(500)
                page.screenshot(path=str(ROOT / "docs" / "viewer-session.png"), full_page=True)
                context.close()
        finally:
            serve.terminate()
            serve.wait(30)


if __name__ == "__main__":
    main()
