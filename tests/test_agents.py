"""Real agent CLIs, offline: Claude Code, Gemini CLI and Codex, installed from npm (pinned,
cached outside the repository), each run headless for many sessions against a loopback
stand-in for its model API, with hooks set up by ``shipper hooks install`` as a user would,
and a real collector process receiving what the hooks record (`tests/agents/checks.py`).

Each client's own account of its hooks (Claude Code's stream-json and debug log, Gemini
CLI's telemetry file, Codex's stderr and OpenTelemetry metrics) is the ground truth for
what fired and how each hook ended; see `tests/agents/clients.py`. The agents added since
are driven from their own tool's test file (tests/tools/).
"""

from __future__ import annotations

from .agents.checks import AgentChecks
from .agents.clients import ClaudeCode, Codex, GeminiCli


class TestClaudeCode(AgentChecks):
    client = ClaudeCode()


class TestGeminiCli(AgentChecks):
    client = GeminiCli()


class TestCodex(AgentChecks):
    client = Codex()
