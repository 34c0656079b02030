"""``destination = "console"``: no receiver; each batch is printed on stderr, translated as
the destination ``console_as`` names would send it (``shipper`` by default), for trying a
configuration, a ``before_send`` or the hooks without any server. OpenTelemetry Collector's
``debug`` exporter is the model.

``console_format = "text"`` prints a line saying what the batch is (how many events, as
which destination, to what URL) and then each event as that destination gets it, one JSON
per line; ``"json"`` prints only the events, one JSON object a line, for a pipe. With
``debug = true`` the whole request is shown too: headers and body, with the API key and the
configured header values hidden.

Every batch is accepted: nothing is retried, nothing waits on disk once shown.
"""

from __future__ import annotations

import json
import sys
import zlib
from typing import Any

from .._kinds import public_url
from ._base import Destination, Reply, Request, secret_header


class Console(Destination):
    kind = "console"

    def __init__(self, settings: Any, anonymous_id: str = "", *,
                 shown_as: Destination) -> None:
        super().__init__(settings, anonymous_id)
        self.shown_as = shown_as

    @property
    def max_request_bytes(self) -> int | None:
        return self.shown_as.max_request_bytes

    @property
    def max_batch_events(self) -> int | None:
        return self.shown_as.max_batch_events

    @property
    def health_url(self) -> str | None:
        return None  # nothing to probe: the console is always there

    def client_headers(self) -> dict[str, str]:
        return {}  # nothing is sent over HTTP

    def translate(self, events: list[bytes], sent_at: float) -> list[Any]:
        return self.shown_as.translate(events, sent_at)  # what the console shows

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        request = self.shown_as.batch_request(events, sent_at)
        headers = {**self.shown_as.client_headers(), **request.headers}
        return request._replace(headers=headers)

    def answer_here(self, request: Request) -> Reply:
        try:
            sys.stderr.write(self.render(request))
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):  # no stderr, or a closed one
            pass
        return Reply(200, {}, b"")

    def render(self, request: Request) -> str:
        """What is printed for one request."""
        body = request.content
        if request.headers.get("Content-Encoding") == "gzip":
            body = zlib.decompress(body, wbits=31)
        protobuf = "protobuf" in request.headers.get("Content-Type", "")
        items = _items(body, protobuf)
        redact = self.settings.redact
        if self.settings.console_format == "json":
            return "".join(redact(_compact(item)) + "\n" for item in items)
        where = public_url(request.url) if request.url.startswith("http") else request.url
        lines = [f"shipper console: {len(items)} event(s) as {self.shown_as.kind}: "
                 f"{request.method} {where or '(no endpoint)'} ({len(body)} bytes)"]
        lines += [f"  {redact(_compact(item))}" for item in items]
        if self.settings.debug:
            shown = ", ".join(f"{k}: {'<hidden>' if secret_header(k) else redact(v)}"
                              for k, v in request.headers.items())
            text = body.decode("utf-8", "replace") if not protobuf else f"<{len(body)} bytes " \
                "of protobuf>"
            lines.append(f"  request headers: {shown}")
            lines.append(f"  request body: {redact(text)}")
        return "\n".join(lines) + "\n"


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _items(body: bytes, protobuf: bool) -> list[Any]:
    """The events of a request body, each as the destination wrote it."""
    if protobuf:
        doc = _protobuf_logs(body)
        return _log_records(doc) if doc is not None else [f"<{len(body)} bytes>"]
    text = body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:  # JSON Lines: ClickHouse's rows, a webhook's ndjson
        return [_json_or_text(line) for line in text.splitlines() if line.strip()]
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        if isinstance(doc.get("batch"), list):
            return list(doc["batch"])
        if "resourceLogs" in doc:
            return _log_records(doc)
    return [doc]


def _json_or_text(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return line


def _log_records(doc: dict[str, Any]) -> list[Any]:
    return [record for resource in doc.get("resourceLogs") or []
            for scope in resource.get("scopeLogs") or []
            for record in scope.get("logRecords") or []]


def _protobuf_logs(body: bytes) -> dict[str, Any] | None:
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    except ImportError:
        return None
    message = logs_service_pb2.ExportLogsServiceRequest.FromString(body)
    doc: dict[str, Any] = json_format.MessageToDict(message)
    return doc
