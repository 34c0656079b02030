"""``destination = "clickhouse"``: ClickHouse's HTTP interface, one row per event.

``POST {endpoint}/?query=INSERT INTO db.table (columns) FORMAT JSONEachRow``, gzipped, with
``X-ClickHouse-User`` / ``X-ClickHouse-Key``. The table is created if missing, once per
process before its first insert and again after an answer that says it is gone.

The schema (docs/destinations.md) works on the oldest server Debian ships (18.16) and on
current ones: ``ReplacingMergeTree`` ordered by ``id``, so at-least-once re-deliveries
collapse into one row (read with ``FINAL``); whole seconds in a ``DateTime('UTC')`` and the
milliseconds beside them (``DateTime64`` does not exist before 20.1); properties and context
as JSON text. Rows name their columns, so a table an operator extended keeps working.

Answers are read by the exception code in the body (or the ``X-ClickHouse-Exception-Code``
header of newer servers), not by the HTTP status, which differs between versions: a type
mismatch is a refusal of that row ("at row N"), never retried; a missing table, bad
credentials or a read-only user are configuration errors; memory, timeouts and too many
parts are transient.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from .._backoff import parse_retry_after
from .._deliver import ACCEPTED, CONFIG, REFUSED, TOO_LARGE, TRANSIENT, Answer
from .._kinds import with_path
from ._base import (
    Destination,
    Reply,
    Request,
    Unsendable,
    compressed,
    epoch_ms,
    parse_events,
)

COLUMNS = ("id", "event", "timestamp", "timestamp_ms", "properties", "context")
MAX_SECONDS = (1 << 32) - 1  # DateTime's range: 1970-01-01 .. 2106-02-07 06:28:15 UTC

# Exception codes, stable across versions (see docs/destinations.md)
DATA_CODES = frozenset({6, 25, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321})
CONFIG_CODES = frozenset({36, 46, 47, 60, 62, 73, 81, 115, 164, 192, 193, 194, 497, 516})
UNKNOWN_TABLE = 60

_CODE = re.compile(rb"^\s*Code:\s*(\d+)")
_ROW = re.compile(rb"\(at row (\d+)\)")


def create_table_sql(database: str, table: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS `{database}`.`{table}` (\n"
            "    id String,\n"
            "    event String,\n"
            "    timestamp DateTime('UTC'),\n"
            "    timestamp_ms UInt16,\n"
            "    properties String,\n"
            "    context String\n"
            ") ENGINE = ReplacingMergeTree()\n"
            "PARTITION BY toYYYYMM(timestamp)\n"
            "ORDER BY id")


def exception_code(reply: Reply) -> int | None:
    header = reply.headers.get("x-clickhouse-exception-code")
    if header and header.strip().isascii() and header.strip().isdigit():
        return int(header)
    match = _CODE.match(reply.body)
    return int(match.group(1)) if match else None


class ClickHouse(Destination):
    kind = "clickhouse"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = self.settings
        self.table = f"`{settings.clickhouse_database}`.`{settings.clickhouse_table}`"

    def client_headers(self) -> dict[str, str]:
        headers = super().client_headers()
        headers["X-ClickHouse-User"] = self.settings.clickhouse_user
        if self.settings.api_key:
            headers["X-ClickHouse-Key"] = self.settings.api_key
        return headers

    def query_url(self, sql: str) -> str:
        return with_path(self.base_url, "/", f"query={quote(sql, safe='')}")

    def query(self, sql: str, body: bytes = b"") -> Request:
        """A POST of one statement (POST: a GET is read-only to ClickHouse)."""
        return Request("POST", self.query_url(sql), {}, body, len(body))

    @property
    def insert_sql(self) -> str:
        return f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) FORMAT JSONEachRow"

    def setup_requests(self) -> list[Request]:
        settings = self.settings
        return [self.query(create_table_sql(settings.clickhouse_database,
                                            settings.clickhouse_table))]

    def row(self, index: int, doc: dict[str, Any]) -> dict[str, Any]:
        ms = epoch_ms(doc.get("timestamp"))
        if ms is None or not 0 <= ms // 1000 <= MAX_SECONDS:
            raise Unsendable(index, f"timestamp {doc.get('timestamp')!r} is outside "
                                    "ClickHouse's DateTime range (1970 to 2106)")
        context = doc.get("context")
        return {"id": str(doc.get("id")), "event": str(doc.get("event", "")),
                "timestamp": ms // 1000, "timestamp_ms": ms % 1000,
                "properties": self.dumps(doc.get("properties") or {}).decode(),
                "context": self.dumps(context if context is not None else {}).decode()}

    def translate(self, events: list[bytes], sent_at: float) -> list[Any]:
        return [self.row(i, doc) for i, doc in enumerate(parse_events(events))]

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        rows = b"".join(self.dumps(row) + b"\n" for row in self.translate(events, sent_at))
        headers: dict[str, str] = {}
        body = compressed(rows, headers) if rows else rows
        return Request("POST", self.query_url(self.insert_sql), headers, body, len(rows))

    def read_reply(self, reply: Reply) -> Answer:
        status = reply.status
        code = exception_code(reply)
        text = reply.text()
        if 200 <= status < 300 and code is None:
            return Answer(ACCEPTED, status)
        if code in DATA_CODES:
            found = _ROW.search(reply.body)
            row = int(found.group(1)) - 1 if found else None
            return Answer(REFUSED, status, None, f"ClickHouse refused the row: {text}", row)
        if code == UNKNOWN_TABLE:
            return Answer(CONFIG, status, None, f"the table {self.table} does not exist "
                                                f"(it is created on the next try): {text}")
        if code in CONFIG_CODES or status in (401, 403):
            return Answer(CONFIG, status, None, f"ClickHouse refused the request: {text}")
        if status == 413:
            return Answer(TOO_LARGE, status, None, "HTTP 413")
        if status in (400, 404) and code is None:  # not ClickHouse: a proxy, a wrong path
            return Answer(CONFIG, status, None, f"HTTP {status} from {self.base_url}: {text}")
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return Answer(TRANSIENT, status, retry_after, f"HTTP {status}: {text}")
