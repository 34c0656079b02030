"""A recording receiver for the destination tests: a real HTTP server process on 127.0.0.1.

    python tests/receiver.py --kind segment --port 8080 --out requests.jsonl

It accepts what one kind of destination sends (any path, gzip or not), records every
request (method, path, headers, decoded body) as a JSON line, and reads the events out of
each kind's format so that tests can check what arrived. What it answers is steered at run
time through ``POST /_control/plan``:

- ``status``: answer every batch with this status (``retry_after`` adds the header);
- ``refuse_marked``: answer 400 to a batch holding an event whose properties have
  ``refuse: true`` (the way a receiver refuses bad events);
- ``max_events``: answer 413 to a batch of more events than this;
- ``partial_reject``: accept, but report this many records rejected (OTLP partialSuccess);
- ``health_status``: what ``GET /health`` answers (404 by default: most receivers have none).

``GET /_control/stats`` returns the counters and the ids accepted so far.
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def events_of(kind: str, path: str, body: bytes) -> list[dict[str, Any]]:
    """The events in one request body, as ``{"id": ..., "properties": {...}}``."""
    text = body.decode("utf-8")
    if kind == "webhook" and not text.lstrip().startswith("["):
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [{"id": d["id"], "properties": d.get("properties", {})} for d in docs]
    doc = json.loads(text)
    if kind == "webhook":
        return [{"id": d["id"], "properties": d.get("properties", {})} for d in doc]
    if kind == "segment":
        return [{"id": i["messageId"], "properties": i.get("properties", {})}
                for i in doc["batch"]]
    if kind == "posthog":
        return [{"id": i["uuid"], "properties": i.get("properties", {})} for i in doc["batch"]]
    if kind == "otlp":
        out = []
        for resource in doc["resourceLogs"]:
            for scope in resource["scopeLogs"]:
                for record in scope["logRecords"]:
                    attrs = {a["key"]: a["value"] for a in record.get("attributes", [])}
                    props = {k: next(iter(v.values()), None) if v else None
                             for k, v in attrs.items()}
                    out.append({"id": props.pop("event.id"), "properties": props})
        return out
    return [{"id": e["id"], "properties": e.get("properties", {})} for e in doc["batch"]]


class Receiver:
    def __init__(self, kind: str, out: str) -> None:
        self.kind = kind
        self.out = out
        self.lock = threading.Lock()
        self.plan: dict[str, Any] = {"health_status": 404}
        self.ids: list[str] = []
        self.stats = {"batch_requests": 0, "accepted_requests": 0, "refused_requests": 0,
                      "health_probes": 0, "events_received": 0}

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock, open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def reply(self, status: int, body: bytes = b"{}",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self) -> bytes:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return data

    def do_GET(self) -> None:
        receiver = self.server.receiver
        if self.path == "/_control/stats":
            with receiver.lock:
                payload = {**receiver.stats, "ids": list(receiver.ids)}
            self.reply(200, json.dumps(payload).encode())
            return
        with receiver.lock:
            receiver.stats["health_probes"] += 1
        self.reply(receiver.plan.get("health_status", 404))

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.body()
        if self.path == "/_control/plan":
            receiver.plan = {"health_status": 404, **json.loads(body)}
            self.reply(200)
            return
        plan = receiver.plan
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            events = events_of(receiver.kind, self.path, body)
        except (ValueError, KeyError, TypeError) as exc:
            receiver.record({"method": "POST", "path": self.path, "headers": headers,
                             "error": repr(exc)})
            self.reply(400, b'{"error": "unreadable"}')
            return
        receiver.record({"method": "POST", "path": self.path, "headers": headers,
                         "body": body.decode("utf-8", "replace"), "events": len(events)})
        with receiver.lock:
            receiver.stats["batch_requests"] += 1
            receiver.stats["events_received"] += len(events)
        status = plan.get("status")
        if status is None and plan.get("max_events") is not None \
                and len(events) > plan["max_events"]:
            status = 413
        if status is None and plan.get("refuse_marked") and any(
                isinstance(e["properties"], dict) and e["properties"].get("refuse")
                for e in events):
            status = 400
        if status is not None and not 200 <= status < 300:
            with receiver.lock:
                receiver.stats["refused_requests"] += 1
            retry = plan.get("retry_after")
            answer = b'{"error": "planned"}'
            if plan.get("echo"):  # a receiver that quotes the request in its refusal
                answer = json.dumps({"error": "bad request" + " " * plan.get("pad", 0),
                                     "authorization": headers.get("authorization"),
                                     "body": body.decode("utf-8", "replace")}).encode()
            self.reply(status, answer, {"Retry-After": str(retry)} if retry else None)
            return
        with receiver.lock:
            receiver.stats["accepted_requests"] += 1
            receiver.ids.extend(e["id"] for e in events)
        rejected = plan.get("partial_reject")
        if rejected:
            answer = {"partialSuccess": {"rejectedLogRecords": str(rejected),
                                         "errorMessage": "planned rejection"}}
            self.reply(status or 200, json.dumps(answer).encode())
        else:
            self.reply(status or 200)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.receiver = receiver


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    Server(args.port, Receiver(args.kind, args.out)).serve_forever()


if __name__ == "__main__":
    main()
