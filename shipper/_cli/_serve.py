"""``shipper serve``: the local collector and viewer.

It takes shipper's wire protocol (``/v1/batch``) and OpenTelemetry logs over HTTP
(``/v1/logs``, JSON or protobuf: see `_intake`), keeps every event once in a SQLite store
(`_store`, optionally also appended to a JSON Lines file), and shows them: ``GET /`` is a web
page (`_page`), ``/api/...`` its JSON (`_api`).

Standard library only (``http.server``, ``sqlite3``), so trying shipper needs no extra
install, but bounded the way a public-facing parser must be: request bodies are capped
before they are read (413), gzip is inflated with a cap on the output (a decompression bomb
gets 413, not all our memory), JSON nested too deep gets 400, each request has a deadline
for all of it (a client trickling a byte at a time is cut off), at most ``MAX_WORKERS``
requests run at once, and a connection beyond that is answered 503 at once instead of
stalling the accept loop. These hold for every path. The store and the events file are
private (0600): they hold the users' events. Writes need the API key where one is set;
reads too when the server listens beyond loopback.

For tests and demos, ``--control`` adds ``/_control/faults`` (inject failures),
``/_control/stats`` and ``/_control/reset``.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import json
import os
import random
import socket
import sqlite3
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from . import _api, _facts, _intake, _page
from ._store import Store

MAX_BODY = 8 * 1024 * 1024
MAX_INFLATED = 32 * 1024 * 1024
MAX_WORKERS = 64
REQUEST_DEADLINE_S = 30.0  # for a whole request, idle keep-alive wait included
BLACKHOLE_MAX_S = 120.0
PRUNE_EVERY_S = 3600.0
_NATIVE = "native"
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_INTAKE_TYPES = frozenset({"application/json", "application/x-protobuf",
                           "application/protobuf"})
# what each intake path takes (None: an OTLP signal, told by the body)
_INTAKE: dict[str, str | None] = {"/v1/batch": _NATIVE, "/v1/logs": _intake.LOGS,
                                  "/v1/metrics": _intake.METRICS,
                                  "/v1/traces": _intake.TRACES, "/": None}


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
    rate_limit: float | None = None  # batches a second; beyond: 429 with Retry-After
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
    batch_times: list[float] = field(default_factory=list)  # every batch request's arrival
    limited_times: list[float] = field(default_factory=list)  # those the rate limit refused


class Collector:
    """The collector's state: the store, the events file, faults, counters."""

    def __init__(self, out: Path | None, api_key: str | None, faults: Faults | None = None,
                 max_body: int = MAX_BODY, *, store: Store | None = None,
                 debug: TextIO | None = None) -> None:
        self.out = out
        self.api_key = api_key
        self.faults = faults or Faults()
        self.max_body = max_body
        self.store = store if store is not None else Store(None)
        self.debug = debug
        self.tally = Tally()
        self.lock = threading.Lock()
        self.rng = random.Random(self.faults.seed)
        self.store_failure: str | None = None
        self.taken: list[float] = []  # batches let through in the last second (rate_limit)
        if out is not None and out.exists():
            os.chmod(out, 0o600)  # users' events: private, whoever made the file

    def accept(self, events: list[dict[str, Any]], raws: list[str] | None = None) -> int:
        """Store ``events`` (each id once, across restarts too; ``raws`` their JSON texts
        where known) and append the new ones to the events file; returns how many were new.
        Raises `sqlite3.Error` when the store cannot take them (the client keeps them and
        sends them again)."""
        fresh = self.store.add(events, raws=raws,
                               before_commit=self._copy if self.out is not None else None)
        with self.lock:
            self.tally.events_received += len(events)
            self.tally.duplicates += len(events) - len(fresh)
            self.tally.events_accepted += len(fresh)
        return len(fresh)

    def _copy(self, fresh: list[dict[str, Any]]) -> None:
        """Append new events to the JSON Lines copy, before the store commits them: a copy
        that cannot be written (a full disk) stores nothing, and the sender sends again
        (an event stored but not copied would never be copied, being a duplicate then)."""
        assert self.out is not None  # noqa: S101 - called only with an --out file
        fd = os.open(self.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in fresh)

    def said(self, line: str) -> None:
        """One line on the debug stream (``serve --debug``), if any."""
        if self.debug is not None:
            try:
                self.debug.write(time.strftime("%H:%M:%S ") + line + "\n")
                self.debug.flush()
            except (OSError, ValueError):
                pass


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
        # headers and body go out in two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK (40 ms on Linux) of the headers
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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
        if length is None or not (length.isascii() and length.isdigit()):
            self._reply(411, {"error": "Content-Length required"})
            return None
        size = int(length)
        if size > self.server.collector.max_body:
            self._reply(413, {"error": f"body over {self.server.collector.max_body} bytes"})
            return None
        return self.rfile.read(size)

    def _inflated_body(self) -> bytes | None:
        """The request body, inflated where it is gzip (capped at `MAX_INFLATED`); None
        when the request was answered here (too large, bad gzip, an unknown encoding)."""
        body = self._read_body()
        if body is None:
            return None
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding == "gzip":
            inflater = zlib.decompressobj(wbits=31)
            try:
                body = inflater.decompress(body, MAX_INFLATED)
            except zlib.error:
                self._reply(400, {"error": "bad gzip"})
                return None
            if inflater.unconsumed_tail:
                self._reply(413, {"error": f"inflated body over {MAX_INFLATED} bytes"})
                return None
        elif encoding not in ("", "identity"):
            self._reply(415, {"error": f"Content-Encoding {encoding!r} is not supported "
                                       "(gzip or none)"})
            return None
        return body

    def _key_given(self) -> bool:
        key = self.server.collector.api_key
        given = self.headers.get("Authorization", "")
        return key is not None and hmac.compare_digest(given.encode(),
                                                       f"Bearer {key}".encode())

    def _may_read(self) -> bool:
        """Reads need the API key when the server listens beyond loopback (and are
        refused there when none is set); answered here when they may not."""
        if not self.server.reads_need_key or self._key_given():
            return True
        if self.server.collector.api_key is None:
            self._reply(403, {"error": "this server listens beyond loopback without an API "
                                       "key: set SHIPPER_SERVE_API_KEY (or --api-key-file) "
                                       "to read from it"})
        else:
            self._reply(401, {"error": "bad or missing API key"},
                        {"WWW-Authenticate": "Bearer"})
        return False

    def _host_is_ours(self) -> bool:
        """On loopback, a request must name this machine (``Host: 127.0.0.1:8053``,
        ``localhost``, ``[::1]``): a web page the user opens cannot reach the serve through a
        name of its own that resolves here (DNS rebinding). Answered here when it does not."""
        if self.server.reads_need_key:  # beyond loopback: the API key guards it instead
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name in _LOOPBACK_NAMES:
            return True
        self._reply(421, {"error": f"this serve answers requests for this machine only "
                                   f"(127.0.0.1, localhost), not for {host[:100]!r}"})
        return False

    def _may_control(self) -> bool:
        """``--control`` endpoints need the key wherever reads do."""
        return self.server.control and self._may_read()

    def do_GET(self) -> None:
        if not self._host_is_ours():
            return
        collector = self.server.collector
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/health":
            with collector.lock:
                collector.tally.health_probes += 1
                collector.tally.probe_times.append(time.time())
                del collector.tally.probe_times[:-1000]
            status = collector.faults.health_status
            self._reply(status, {"ok": 200 <= status < 300})
        elif path == "/_control/stats" and self.server.control:
            if self._may_control():
                with collector.lock:
                    self._reply(200, asdict(collector.tally))
        elif path.startswith("/api/"):
            if self._may_read():
                self._api(path, parse_qs(parts.query))
        else:
            asset = _page.asset(path)
            if asset is None:
                self._reply(404, {"error": "not found"})
            else:
                self._send(200, asset.body, asset.content_type, _page.HEADERS)

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        try:
            status, payload = _api.answer(self.server.collector.store, unquote(path), query)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: a row that is not JSON
            status, payload = 500, {"error": f"the store cannot be read: {exc}"}
        body = _json_body(payload)
        self._send(status, body, "application/json", {"Cache-Control": "no-store"})

    def do_POST(self) -> None:
        if not self._host_is_ours():
            return
        collector = self.server.collector
        path = self.path.split("?", 1)[0]
        if path == "/_control/faults" and self.server.control:
            body = self._read_body()
            if body is not None and self._may_control():
                collector.faults.update(json.loads(body or b"{}"))
                self._reply(200, asdict(collector.faults))
            return
        if path == "/_control/reset" and self.server.control:
            self._read_body()
            if self._may_control():
                with collector.lock:
                    collector.tally = Tally()
                self._reply(200, {})
            return
        if path not in _INTAKE:
            self._read_body()
            self._reply(404, {"error": "not found"})
            return
        with collector.lock:
            collector.tally.batch_requests += 1
            _keep(collector.tally.batch_times, time.time())
        if collector.api_key is not None and not self._key_given():
            self._read_body()
            self._reply(401, {"error": "bad or missing API key"})
            return
        if not self._content_type_is_ours():
            return
        body = self._inflated_body()
        if body is None:
            return
        signal = _INTAKE[path]
        if signal is None:  # an OTLP exporter that posts every signal to the URL it was given
            signal = _intake.json_signal(body)
            if signal is None:
                self._reply(404, {"error": "not found (OpenTelemetry logs go to /v1/logs)"})
                return
        if signal == _NATIVE:
            self._take_batch(path, body)
        else:
            self._take_otlp(path, signal, body)

    def _content_type_is_ours(self) -> bool:
        """What senders of events send (JSON, OTLP protobuf): a web page cannot post that to
        another site without asking first (CORS), where it can post ``text/plain``."""
        kind = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if kind in _INTAKE_TYPES:
            return True
        self._reply(415, {"error": f"Content-Type {kind or 'none'!r} is not taken: send "
                                   "application/json (or OTLP's application/x-protobuf)"})
        return False

    def _take_batch(self, path: str, body: bytes) -> None:
        if _intake.too_many_objects(body):
            self._reply(413, {"error": f"more than {_intake.MAX_OBJECTS} JSON objects in one "
                                       "request: send smaller batches"})
            return
        try:
            events, raws = _intake.native_batch(body)
        except _intake.Refused as exc:
            self._reply(exc.status, {"error": str(exc)})
            return
        _intake.cleaned(events, raws)
        if self._inject(events) or self._over_the_rate():
            return
        fresh = self._store(path, events, raws)
        if fresh is None:
            return
        if self._reset_after():
            return
        self._reply(200, {"accepted": len(events), "new": fresh})

    def _take_otlp(self, path: str, signal: str, body: bytes) -> None:
        protobuf = _intake.is_protobuf(self.headers.get("Content-Type", ""), body)
        if not protobuf and _intake.too_many_objects(body):
            self._reply(413, {"error": f"more than {_intake.MAX_OBJECTS} JSON objects in one "
                                       "request: send smaller batches"})
            return
        try:
            doc = _intake.decode(signal, body, protobuf)
            if signal == _intake.LOGS:
                events, rejected = _intake.log_events(doc, int(time.time() * 1000),
                                                      protobuf=protobuf)
            else:
                events, rejected = [], _intake.ignored_items(signal, doc)
        except _intake.Refused as exc:
            self._reply(exc.status, {"error": str(exc)})
            return
        except (RecursionError, TypeError, ValueError):
            self._reply(400, {"error": "body is not an OTLP export request"})
            return
        message = ""
        if signal != _intake.LOGS:
            message = f"shipper serve keeps OpenTelemetry logs only: {signal} are not stored"
            self.server.collector.said(f"{path} from {self.client_address[0]}: {rejected} "
                                       f"item(s) of {signal}, not stored (logs only)")
        elif rejected:
            message = f"{rejected} log record(s) could not be read"
        if self._inject(events):
            return
        if events and self._store(path, events) is None:
            return
        if self._reset_after():
            return
        answer, content_type = _intake.answer(signal, protobuf, rejected, message)
        self._send(200, answer, content_type)

    def _store(self, path: str, events: list[dict[str, Any]],
               raws: list[str] | None = None) -> int | None:
        """Accept ``events`` (``raws``: their JSON texts, where they came as text); the count
        of new ones, or None when the store failed and the request was answered 503 (the
        sender keeps the events and tries again)."""
        collector = self.server.collector
        try:
            fresh = collector.accept(events, raws)
        except (sqlite3.Error, OSError) as exc:
            why = f"the store cannot take events: {exc}"
            if collector.store_failure != why:
                collector.store_failure = why
                print(f"shipper serve: {why}", file=sys.stderr, flush=True)
            self._reply(503, {"error": why}, {"Retry-After": "5"})
            return None
        except Exception as exc:  # noqa: BLE001 - the batch's fault: refused, never a hang-up
            # a 400 makes a sender look for the events at fault (shipper bisects), so the
            # rest of the batch is still stored; the connection is answered, never dropped
            why = f"an event of this batch cannot be stored ({type(exc).__name__}: {exc})"
            print(f"shipper serve: {why[:300]}", file=sys.stderr, flush=True)
            self._reply(400, {"error": why[:300]})
            return None
        collector.store_failure = None
        with collector.lock:
            collector.tally.accepted_requests += 1
        if collector.debug is not None:
            sources = Counter(_facts.source_of(e) for e in events)
            shown = ", ".join(f"{name} {n}" for name, n in sources.most_common(4))
            collector.said(f"{path} from {self.client_address[0]}: {len(events)} event(s), "
                           f"{fresh} new, {len(events) - fresh} duplicate(s) [{shown}]")
        return fresh

    def _reset_after(self) -> bool:
        """The ``reset_after_rate`` fault: the batch is kept, the answer is lost."""
        faults = self.server.collector.faults
        if faults.reset_after_rate and self.server.collector.rng.random() < faults.reset_after_rate:
            self._reset()
            return True
        return False

    def _reset(self) -> None:
        """Start an answer, then reset the connection (RST) in the middle of it."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Le")
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _over_the_rate(self) -> bool:
        """The ``rate_limit`` fault: more than that many batches in the last second are
        answered 429 with Retry-After (the fault's ``retry_after``, or 1 s)."""
        collector = self.server.collector
        limit = collector.faults.rate_limit
        if limit is None:
            return False
        now = time.monotonic()
        with collector.lock:
            taken = collector.taken
            while taken and taken[0] <= now - 1.0:
                taken.pop(0)
            if len(taken) < limit:
                taken.append(now)
                return False
            collector.tally.refused_requests += 1
            _keep(collector.tally.limited_times, time.time())
        self._reply(429, {"error": "rate limited"},
                    {"Retry-After": collector.faults.retry_after or "1"})
        return True

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
        self.collector = collector
        self.control = control
        self.request_deadline = request_deadline
        self._slots = threading.BoundedSemaphore(MAX_WORKERS)
        self._stop = threading.Event()
        self._pruner: threading.Thread | None = None
        super().__init__(address, _Handler)
        self.reads_need_key = not _is_loopback(str(self.server_address[0]))

    def keep_days(self, days: float) -> None:
        """Remove events older than ``days`` now and every `PRUNE_EVERY_S` from now on."""
        def prune_now() -> None:
            cutoff = int((time.time() - days * 86400) * 1000)
            try:
                gone = self.collector.store.prune(cutoff)
            except sqlite3.Error as exc:
                print(f"shipper serve: cannot prune the store: {exc}", file=sys.stderr,
                      flush=True)
                return
            if gone:
                self.collector.said(f"pruned {gone} event(s) older than {days:g} day(s)")

        def loop() -> None:
            prune_now()
            while not self._stop.wait(PRUNE_EVERY_S):
                prune_now()

        self._pruner = threading.Thread(target=loop, name="shipper-serve-prune", daemon=True)
        self._pruner.start()

    def server_close(self) -> None:
        super().server_close()
        self._stop.set()
        if self._pruner is not None:
            self._pruner.join(30)
        self.collector.store.close()

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


def _keep(times: list[float], moment: float, most: int = 20_000) -> None:
    """Append to a list of times, keeping the last ``most``."""
    times.append(moment)
    del times[:-most]


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


def _json_body(payload: object) -> bytes:
    """``payload`` as JSON bytes, always valid JSON: a number that is not finite (a stored
    NaN, Infinity or 1e999) is written as null."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(_intake.clean(payload), separators=(",", ":")).encode()


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def make_server(
    host: str = "127.0.0.1",
    port: int = 8053,
    *,
    out: Path | None = None,
    db: Path | None = None,
    api_key: str | None = None,
    control: bool = False,
    faults: Faults | None = None,
    max_body: int = MAX_BODY,
    request_deadline: float = REQUEST_DEADLINE_S,
    debug: TextIO | None = None,
) -> _Server:
    """A ready collector server; call ``serve_forever()`` on it (``shutdown()`` to stop,
    ``server_close()`` to close its store). Events are kept in the store file ``db``, or
    in memory where it is None; `StoreError` when that file cannot be used."""
    store = Store(db)
    try:
        collector = Collector(out, api_key, faults, max_body, store=store, debug=debug)
        return _Server((host, port), collector, control, request_deadline)
    except BaseException:
        store.close()
        raise


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
