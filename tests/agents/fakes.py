"""Loopback stand-ins for the three model APIs, each just enough for one headless session of
its real CLI: the model asks for one shell command, then (once the request carries the
command's result) answers with text and ends its turn.

One server serves many sessions at once. It holds no conversation state: each session's
prompt names its `Case` (``case <id>``), and the case says which command to ask for and
what to answer, so that every session carries strings of its own that the tests can then
look for where they must not be. Every request is kept (`FakeApi.requests`); Codex's
OpenTelemetry export (its own account of the hooks it ran) is kept per case.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CASE_RE = re.compile(r"\bcase ([0-9a-f]{12})\b")


def _token(kind: str) -> str:
    """A string found nowhere else: the kind, then 16 random hex digits."""
    return kind + secrets.token_hex(8)


@dataclass(frozen=True)
class Case:
    """One session's made-up content: each secret is a token that must never leave the
    machine, since content was not opted in."""

    id: str = field(default_factory=lambda: secrets.token_hex(6))
    prompt_secret: str = field(default_factory=lambda: _token("PROMPT"))
    command_secret: str = field(default_factory=lambda: _token("COMMAND"))
    content_secret: str = field(default_factory=lambda: _token("CONTENT"))
    description_secret: str = field(default_factory=lambda: _token("DESCRIBE"))
    answer_secret: str = field(default_factory=lambda: _token("ANSWER"))

    @property
    def prompt(self) -> str:
        return f"Check the notes of case {self.id}, {self.prompt_secret}."

    @property
    def notes_file(self) -> str:
        """A file in the session's folder; the command prints it (file content)."""
        return f"notes-{self.command_secret}.txt"

    @property
    def command(self) -> str:
        return f"cat {self.notes_file}"

    @property
    def description(self) -> str:
        return f"Show the notes {self.description_secret}"

    @property
    def answer(self) -> str:
        return f"The notes say {self.answer_secret}."

    def secrets(self) -> dict[str, str]:
        """What must not appear in the cache or on the wire, by kind."""
        return {"prompt": self.prompt_secret, "command": self.command_secret,
                "file content": self.content_secret, "tool description": self.description_secret,
                "assistant message": self.answer_secret}


def _texts(value: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


class FakeApi:
    """A threaded HTTP server on 127.0.0.1, on a free port, for the length of a `with`."""

    name = "fake"

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name=f"fake-{self.name}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def add(self, case: Case) -> None:
        with self.lock:
            self.cases[case.id] = case

    def case_of(self, body: object) -> Case | None:
        """The case a request belongs to: the first ``case <id>`` in its text."""
        for text in _texts(body):
            match = CASE_RE.search(text)
            if match:
                with self.lock:
                    return self.cases.get(match.group(1))
        return None

    def record(self, method: str, path: str, body: object) -> None:
        with self.lock:
            self.requests.append({"method": method, "path": path, "body": body})

    def requests_of(self, case: Case) -> list[dict[str, Any]]:
        with self.lock:
            kept = list(self.requests)
        return [r for r in kept if self.case_of(r["body"]) is case]

    def answer(self, request: _Request) -> None:
        raise NotImplementedError


class _Request:
    """What a handler needs to answer: the path, the parsed body, and ways to reply."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: object) -> None:
        self.handler = handler
        self.path = handler.path
        self.body = body

    def json(self, payload: object, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def sse(self, events: list[tuple[str | None, object]], done: bool = False) -> None:
        """A whole server-sent event stream in one body: (event name or None, data);
        ``done`` ends it with OpenAI's ``data: [DONE]``."""
        parts = []
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            parts.append(f"{head}data: {json.dumps(data)}\n\n")
        if done:
            parts.append("data: [DONE]\n\n")
        payload = "".join(parts).encode()
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _body(self) -> object:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def do_POST(self) -> None:
            body = self._body()
            api.record("POST", self.path, body)
            api.answer(_Request(self, body))

        def do_GET(self) -> None:
            api.record("GET", self.path, None)
            _Request(self, None).json({})

    return Handler


# -- Anthropic Messages API (Claude Code) ---------------------------------------------------


def _last_user_content(body: dict[str, Any]) -> list[Any]:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, list) else []
    return []


class ClaudeApi(FakeApi):
    """``POST /v1/messages`` (streamed): a Bash ``tool_use`` running the case's command;
    once the last user message carries its ``tool_result``, the answer and ``end_turn``."""

    name = "anthropic"

    def answer(self, request: _Request) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        path = request.path.split("?", 1)[0]
        if path.endswith("/count_tokens"):
            request.json({"input_tokens": 100})
            return
        if not path.endswith("/v1/messages"):
            request.json({})
            return
        case = self.case_of(body.get("messages"))
        done = any(isinstance(b, dict) and b.get("type") == "tool_result"
                   for b in _last_user_content(body))
        offers_bash = any(isinstance(t, dict) and t.get("name") == "Bash"
                          for t in body.get("tools") or [])
        if case is not None and offers_bash and not done:
            block: dict[str, Any] = {
                "type": "tool_use", "id": "toolu_" + secrets.token_hex(8), "name": "Bash",
                "input": {"command": case.command, "description": case.description}}
            stop = "tool_use"
        else:
            block = {"type": "text", "text": case.answer if case else "OK."}
            stop = "end_turn"
        message = {"id": "msg_" + secrets.token_hex(8), "type": "message",
                   "role": "assistant", "model": body.get("model", "claude"),
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 12, "output_tokens": 1,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
        if not body.get("stream"):
            request.json({**message, "content": [block], "stop_reason": stop})
            return
        if block["type"] == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        request.sse([
            ("message_start", {"type": "message_start", "message": {**message, "content": []}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": stop, "stop_sequence": None},
                               "usage": {"output_tokens": 7}}),
            ("message_stop", {"type": "message_stop"}),
        ])


# -- Gemini API (Gemini CLI) ----------------------------------------------------------------


class GeminiApi(FakeApi):
    """``POST /v1beta/models/M:streamGenerateContent?alt=sse``: a ``run_shell_command``
    function call; once the last turn carries its ``functionResponse``, the answer."""

    name = "gemini"

    def answer(self, request: _Request) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        path = request.path.split("?", 1)[0]
        model = path.rsplit("/", 1)[-1].split(":", 1)[0]
        if path.endswith(":countTokens"):
            request.json({"totalTokens": 100})
            return
        if not path.endswith(("GenerateContent", "generateContent")):
            request.json({})
            return
        contents = body.get("contents") or []
        last = contents[-1] if contents and isinstance(contents[-1], dict) else {}
        done = any(isinstance(p, dict) and "functionResponse" in p
                   for p in last.get("parts") or [])
        case = self.case_of(contents)
        if case is not None and not done:
            part: dict[str, Any] = {"functionCall": {
                "name": "run_shell_command",
                "args": {"command": case.command, "description": case.description}}}
        else:
            part = {"text": case.answer if case else "OK."}
        chunk = {"candidates": [{"content": {"role": "model", "parts": [part]},
                                 "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10,
                                   "totalTokenCount": 110},
                 "modelVersion": model}
        if path.endswith(":generateContent"):
            request.json(chunk)
        else:
            request.sse([(None, chunk)])


# -- OpenAI Responses API (Codex) ------------------------------------------------------------


class CodexApi(FakeApi):
    """``POST /v1/responses`` (streamed): an ``exec_command`` function call; once the input
    ends with its ``function_call_output``, the answer. Also takes Codex's OpenTelemetry
    metrics (``POST /otel/<case>/v1/metrics``, OTLP JSON) and keeps them by case."""

    name = "openai"

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, list[dict[str, Any]]] = {}

    def answer(self, request: _Request) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        path = request.path.split("?", 1)[0]
        otel = re.fullmatch(r"/otel/([0-9a-f]{12})/v1/metrics", path)
        if otel:
            with self.lock:
                self.metrics.setdefault(otel.group(1), []).append(body)
            request.json({})
            return
        if not path.endswith("/responses"):
            request.json({})
            return
        items = [i for i in body.get("input") or [] if isinstance(i, dict)]
        done = bool(items) and items[-1].get("type") == "function_call_output"
        case = self.case_of(items)
        n = secrets.token_hex(6)
        if case is not None and not done:
            item: dict[str, Any] = {
                "type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}",
                "name": "exec_command", "status": "completed",
                "arguments": json.dumps({"cmd": case.command, "login": False,
                                         "yield_time_ms": 10000})}
        else:
            item = {"type": "message", "role": "assistant", "id": f"msg_{n}",
                    "status": "completed",
                    "content": [{"type": "output_text", "annotations": [],
                                 "text": case.answer if case else "OK."}]}
        usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 110}
        request.sse([
            ("response.created", {"type": "response.created", "response": {"id": f"resp_{n}"}}),
            ("response.output_item.done", {"type": "response.output_item.done",
                                           "output_index": 0, "item": item}),
            ("response.completed", {"type": "response.completed",
                                    "response": {"id": f"resp_{n}", "usage": usage}}),
        ])

    def hook_runs(self, case: Case) -> list[tuple[str, str]]:
        """(hook name, status) of every hook run Codex counted for a case, from the
        cumulative ``codex.hooks.run`` counter of its last export."""
        with self.lock:
            exports = list(self.metrics.get(case.id, []))
        runs: dict[tuple[str, str], int] = {}
        for export in exports:
            for resource in export.get("resourceMetrics", []):
                for scope in resource.get("scopeMetrics", []):
                    for metric in scope.get("metrics", []):
                        if metric.get("name") != "codex.hooks.run":
                            continue
                        total = metric.get("sum", {})
                        delta = total.get("aggregationTemporality") == 1  # else cumulative
                        for point in total.get("dataPoints", []):
                            attrs = {a["key"]: next(iter(a["value"].values()), None)
                                     for a in point.get("attributes", [])}
                            key = (str(attrs.get("hook_name")), str(attrs.get("status")))
                            count = int(point.get("asInt", 0))
                            runs[key] = (runs.get(key, 0) + count if delta
                                         else max(runs.get(key, 0), count))
        return [key for key, count in sorted(runs.items()) for _ in range(count)]


# -- OpenAI chat completions (opencode, GitHub Copilot CLI, Qwen Code) -----------------------

SHELL_TOOLS = ("bash", "run_shell_command", "shell")  # each client's name for its shell tool


def _chat_tools(body: dict[str, Any]) -> list[str]:
    names = []
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


class ChatApi(FakeApi):
    """``POST .../chat/completions`` (streamed or not): a call of the client's shell tool
    running the case's command; once the last message is that tool's result, the answer.
    ``GET .../models`` lists one model."""

    name = "chat"
    model = "offline-model"
    settle = ""  # appended to the command: Qwen Code loses a fast command's output under load

    def answer(self, request: _Request) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        path = request.path.split("?", 1)[0]
        if not path.endswith("/chat/completions"):
            request.json({"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 0, "owned_by": "offline"}]})
            return
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        done = bool(messages) and messages[-1].get("role") == "tool"
        case = self.case_of([m for m in messages if m.get("role") == "user"])
        shell = next((t for t in _chat_tools(body) if t in SHELL_TOOLS), None)
        n = secrets.token_hex(6)
        if case is not None and shell is not None and not done:
            call = {"id": f"call_{n}", "type": "function", "function": {
                "name": shell, "arguments": json.dumps(
                    {"command": case.command + self.settle, "description": case.description})}}
            message: dict[str, Any] = {"role": "assistant", "content": None,
                                       "tool_calls": [call]}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": case.answer if case else "OK."}
            finish = "stop"
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        base = {"id": f"chatcmpl-{n}", "created": 0, "model": body.get("model", self.model)}
        if not body.get("stream"):
            request.json({**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": message, "finish_reason": finish}]})
            return
        delta: dict[str, Any] = {"role": "assistant"}
        if "tool_calls" in message:
            delta["tool_calls"] = [{"index": 0, **message["tool_calls"][0]}]
        else:
            delta["content"] = message["content"]
        chunk = {**base, "object": "chat.completion.chunk"}
        events: list[tuple[str | None, object]] = [
            (None, {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
            (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
            (None, {**chunk, "choices": [], "usage": usage}),
        ]
        request.sse(events, done=True)
