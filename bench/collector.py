"""A lean benchmark collector: counts events, answers at once, never the bottleneck.

Speaks enough HTTP/1.1 (keep-alive, Content-Length, gzip bodies) for shipper
(`POST /v1/batch`), Segment (`POST /v1/batch`), PostHog (`POST /batch/`, `/capture/`), OTLP
logs (`POST /v1/logs`, JSON) and webhooks (a JSON array or JSON Lines, any path). Events are
counted by their id (`id`, `messageId`, `uuid` or the `event.id` attribute), so losses and
duplicates show.

    python bench/collector.py --port 8053            # up
    python bench/collector.py --port 8053 --blackhole  # accepts connections, never answers

`GET /stats` returns the counts; `POST /reset` clears them. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import socket
import time
import zlib
from typing import Any

try:  # the collector must never be what is measured: the fastest parser at hand
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover - bench installs orjson
    json_loads = json.loads


class Counts:
    def __init__(self) -> None:
        self.outage = False  # not cleared by reset: set by POST /outage/on, /outage/off
        self.reset()

    def reset(self) -> None:
        self.ids: set[str] = set()
        self.events = 0
        self.requests = 0
        self.probes = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def add(self, batch: list[Any]) -> None:
        now = time.time()
        self.first_at = self.first_at or now
        self.last_at = now
        for event in batch:
            if isinstance(event, dict):
                key = event.get("id") or event.get("messageId") or event.get("uuid")
                self.events += 1
                if key is not None:
                    self.ids.add(str(key))

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "unique": len(self.ids), "requests": self.requests,
                "probes": self.probes, "first_at": self.first_at, "last_at": self.last_at}


def _otlp_events(doc: dict[str, Any]) -> list[Any]:
    out = []
    for resource in doc.get("resourceLogs", []):
        for scope in resource.get("scopeLogs", []):
            for record in scope.get("logRecords", []):
                for attr in record.get("attributes", []):
                    if attr.get("key") == "event.id":
                        out.append({"id": attr["value"].get("stringValue")})
    return out


def _events_of(path: str, body: bytes) -> list[Any]:
    try:
        doc = json_loads(body)
    except ValueError:  # JSON Lines (a webhook's ndjson)
        try:
            return [json_loads(line) for line in body.splitlines() if line.strip()]
        except ValueError:
            return []
    if isinstance(doc, dict) and "resourceLogs" in doc:
        return _otlp_events(doc)
    if isinstance(doc, dict):
        if isinstance(doc.get("batch"), list):
            return list(doc["batch"])
        if path.startswith(("/capture", "/i/v0/e", "/e")):
            return [doc]
    if isinstance(doc, list):
        return doc
    return []


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 counts: Counts) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            elif headers.get("content-encoding") == "deflate":
                body = zlib.decompress(body)
            status, payload = 200, b'{"status":1}'
            if method == "GET" and path.startswith("/stats"):
                payload = json.dumps(counts.as_dict()).encode()
            elif method == "POST" and path.startswith("/reset"):
                counts.reset()
            elif method == "POST" and path.startswith("/outage/"):
                counts.outage = path.startswith("/outage/on")
            elif method == "GET" and path.startswith("/health"):
                counts.probes += 1
                if counts.outage:
                    status = 503
            elif method == "POST" and counts.outage:
                counts.requests += 1
                status = 503
            elif method == "POST":
                counts.requests += 1
                counts.add(_events_of(path, body))
            else:
                status, payload = 404, b"{}"
            writer.write(b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (status, len(payload), payload))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    counts = Counts()
    server = await asyncio.start_server(lambda r, w: handle(r, w, counts), "127.0.0.1", port,
                                        backlog=1024, limit=1 << 24)
    async with server:
        await server.serve_forever()


def blackhole(port: int) -> None:
    """Listen and never accept: connections complete, requests are never answered."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    while True:
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8053)
    parser.add_argument("--blackhole", action="store_true")
    args = parser.parse_args()
    if args.blackhole:
        blackhole(args.port)
    else:
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
