"""``shipper serve``: a small local collector that speaks the wire protocol.

Standard library only (``http.server``), so trying shipper needs no extra install, but
bounded the way a public-facing parser must be: request bodies are capped before they are
read (413), gzip is inflated with a cap on the output (a decompression bomb gets 413, not
all our memory), JSON nested too deep gets 400, each request has a deadline for all of it
(a client trickling a byte at a time is cut off), at most ``MAX_WORKERS`` requests run at
once, and a connection beyond that is answered 503 at once instead of stalling the accept
loop. The events file is private (0600): it holds the users' events.

Accepted events are de-duplicated by id and appended to a JSON Lines file. For tests and
demos, ``--control`` adds ``/_control/faults`` (inject failures) and ``/_control/stats``.
"""

from __future__ import annotations

import hmac
import io
import json
import os
import random
import socket
import struct
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 8 * 1024 * 1024
MAX_INFLATED = 32 * 1024 * 1024
MAX_WORKERS = 64
REQUEST_DEADLINE_S = 30.0  # for a whole request, idle keep-alive wait included
BLACKHOLE_MAX_S = 120.0


@dataclass
class Faults:
    """Failures to inject (all off by default)."""

    error_rate: float = 0.0          # answer 500 with this probability
    status: int | None = None        # answer every batch with this status
    retry_after: str | None = None   # Retry-After header on 429/503 answers
    latency: float = 0.0             # seconds to wait before answering
    blackhole: bool = False          # read the request, never answer
    reset_rate: float = 0.0          # reset the connection before answering (not accepted)
    reset_after_rate: float = 0.0    # accept the batch, then reset instead of answering
    max_events: int | None = None    # 413 for batches with more events than this
    refuse_marked: bool = False      # 400 for batches holding an event with properties.refuse
    health_status: int = 200         # what /health answers
    seed: int | None = None

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in self.__dataclass_fields__:
                setattr(self, key, value)


@dataclass
class Tally:
    batch_requests: int = 0
    accepted_requests: int = 0
    health_probes: int = 0
    events_received: int = 0
    events_accepted: int = 0
    duplicates: int = 0
    refused_requests: int = 0
    first_probe_at: float | None = None
    probe_times: list[float] = field(default_factory=list)


class Collector:
    """The collector's state: seen ids, output file, faults, counters."""

    def __init__(self, out: Path | None, api_key: str | None, faults: Faults | None = None,
                 max_body: int = MAX_BODY) -> None:
        self.out = out
        self.api_key = api_key
        self.faults = faults or Faults()
        self.max_body = max_body
        self.tally = Tally()
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.rng = random.Random(self.faults.seed)
        if out is not None and out.exists():
            os.chmod(out, 0o600)  # users' events: private, whoever made the file
            with open(out, "rb") as f:
                for line in f:
                    try:
                        self.seen.add(json.loads(line)["id"])
                    except (ValueError, KeyError, TypeError):
                        continue

    def accept(self, events: list[dict[str, Any]]) -> int:
        fresh = []
        with self.lock:
            self.tally.events_received += len(events)
            for event in events:
                if event["id"] in self.seen:
                    self.tally.duplicates += 1
                    continue
                self.seen.add(event["id"])
                fresh.append(event)
            self.tally.events_accepted += len(fresh)
            if self.out is not None and fresh:
                fd = os.open(self.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in fresh)
        return len(fresh)


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side that gives up at a deadline, however the bytes trickle in:
    each read waits only for what is left of the time (a plain socket timeout restarts
    with every byte, which a slowloris client exploits)."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.sock = sock
        self.deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request deadline passed")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shipper-collector"
    timeout = REQUEST_DEADLINE_S
    server: _Server

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.server.request_deadline)
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.request_deadline  # per request
        try:
            super().handle_one_request()
        except TimeoutError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the JSON Lines file is the record

    def _reply(self, status: int, payload: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status >= 400 and status != 429 and status < 500:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._reply(411, {"error": "Content-Length required"})
            return None
        size = int(length)
        if size > self.server.collector.max_body:
            self._reply(413, {"error": f"body over {self.server.collector.max_body} bytes"})
            return None
        return self.rfile.read(size)

    def do_GET(self) -> None:
        collector = self.server.collector
        path = self.path.split("?", 1)[0]
        if path == "/health":
            with collector.lock:
                collector.tally.health_probes += 1
                collector.tally.probe_times.append(time.time())
                del collector.tally.probe_times[:-1000]
            status = collector.faults.health_status
            self._reply(status, {"ok": 200 <= status < 300})
        elif path == "/_control/stats" and self.server.control:
            with collector.lock:
                self._reply(200, asdict(collector.tally))
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        collector = self.server.collector
        path = self.path.split("?", 1)[0]
        if path == "/_control/faults" and self.server.control:
            body = self._read_body()
            if body is not None:
                collector.faults.update(json.loads(body or b"{}"))
                self._reply(200, asdict(collector.faults))
            return
        if path == "/_control/reset" and self.server.control:
            self._read_body()
            with collector.lock:
                collector.tally = Tally()
            self._reply(200, {})
            return
        if path != "/v1/batch":
            self._reply(404, {"error": "not found"})
            return
        with collector.lock:
            collector.tally.batch_requests += 1
        if collector.api_key is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {collector.api_key}".encode()):
                self._read_body()
                self._reply(401, {"error": "bad or missing API key"})
                return
        body = self._read_body()
        if body is None:
            return
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            inflater = zlib.decompressobj(wbits=31)
            try:
                body = inflater.decompress(body, MAX_INFLATED)
            except zlib.error:
                self._reply(400, {"error": "bad gzip"})
                return
            if inflater.unconsumed_tail:
                self._reply(413, {"error": f"inflated body over {MAX_INFLATED} bytes"})
                return
        try:
            doc = json.loads(body)  # RecursionError for JSON nested too deep
            events = doc["batch"]
            if not isinstance(events, list) or not all(
                    isinstance(e, dict) and isinstance(e.get("id"), str) for e in events):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            self._reply(400, {"error": "body is not a batch"})
            return
        if self._inject(events):
            return
        fresh = collector.accept(events)
        with collector.lock:
            collector.tally.accepted_requests += 1
        faults = collector.faults
        if faults.reset_after_rate and collector.rng.random() < faults.reset_after_rate:
            self._reset()
            return
        self._reply(200, {"accepted": len(events), "new": fresh})

    def _reset(self) -> None:
        """Start an answer, then reset the connection (RST) in the middle of it."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Le")
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _inject(self, events: list[dict[str, Any]]) -> bool:
        """Apply the configured faults; True if the request was answered (or dropped) here."""
        faults = self.server.collector.faults
        rng = self.server.collector.rng
        if faults.latency:
            time.sleep(min(faults.latency, BLACKHOLE_MAX_S))
        if faults.blackhole:
            self.connection.settimeout(BLACKHOLE_MAX_S)
            try:
                self.rfile.read(1)  # until the client gives up and closes
            except OSError:
                pass
            self.close_connection = True
            return True
        if faults.reset_rate and rng.random() < faults.reset_rate:
            self._reset()
            return True
        refused = None
        if faults.status is not None:
            refused = faults.status
        elif faults.error_rate and rng.random() < faults.error_rate:
            refused = 500
        elif faults.max_events is not None and len(events) > faults.max_events:
            refused = 413
        elif faults.refuse_marked and any(
                isinstance(e.get("properties"), dict) and e["properties"].get("refuse")
                for e in events):
            refused = 400
        if refused is None:
            return False
        with self.server.collector.lock:
            self.server.collector.tally.refused_requests += 1
        headers = {"Retry-After": faults.retry_after} if faults.retry_after else None
        self._reply(refused, {"error": "injected fault"}, headers)
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], collector: Collector, control: bool,
                 request_deadline: float = REQUEST_DEADLINE_S) -> None:
        super().__init__(address, _Handler)
        self.collector = collector
        self.control = control
        self.request_deadline = request_deadline
        self._slots = threading.BoundedSemaphore(MAX_WORKERS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):  # never stall the accept loop
            _busy(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _busy(request: socket.socket) -> None:
    """Answer 503 to a connection there is no worker for, without reading it."""
    body = b'{"error": "busy"}'
    try:
        request.settimeout(1.0)
        request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                        b"Content-Type: application/json\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    except OSError:
        pass


def make_server(
    host: str = "127.0.0.1",
    port: int = 8053,
    *,
    out: Path | None = None,
    api_key: str | None = None,
    control: bool = False,
    faults: Faults | None = None,
    max_body: int = MAX_BODY,
    request_deadline: float = REQUEST_DEADLINE_S,
) -> _Server:
    """A ready collector server; call ``serve_forever()`` on it (``shutdown()`` to stop)."""
    collector = Collector(out, api_key, faults, max_body)
    return _Server((host, port), collector, control, request_deadline)


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """What to tell a person whose ``make_server(host, port)`` raised ``exc``: one line."""
    import errno

    hosts = "use --host 127.0.0.1 (this machine) or --host 0.0.0.0 (every interface)"
    if isinstance(exc, socket.gaierror):
        if ":" in host:
            return f"cannot listen on {host}: the collector listens on IPv4 only; {hosts}"
        return f"cannot listen on {host!r}: not an address or a host name known here; {hosts}"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use; pick another with --port"
    if exc.errno == errno.EACCES:
        return (f"not allowed to listen on port {port} of {host} (ports below 1024 need "
                "privileges); pick another with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: it is not an address of this machine; {hosts}"
    return f"cannot listen on port {port} of {host}: {exc.strerror or exc}"
