"""``shipper serve``'s store: every event it received, in one SQLite file (standard library).

One table of events keyed by id (a duplicate, even one sent again after a restart, is
stored once), with indexes for time, source, event name and session (a tool's events are
found along the time index: one index less to keep up at every insert); beside it, what
the page reads without scanning the events: per-minute counts by source and event name
(``counts_by_event``) and by source and tool (``counts_by_tool``), one row per agent session
with its sums (``sessions``) and the names seen (``names``). A batch is added
in one transaction; write-ahead logging lets the page read while events arrive.

The file is private (0600, in a 0700 folder where the store makes it). A file that is not a
shipper store, one made by a newer shipper, or one SQLite finds damaged is refused with the
reason (`StoreError`): never emptied, never rewritten.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from .._destinations._base import epoch_ms
from .._json import encode, loads
from ._facts import SUMS, Facts, facts, session_deltas, session_summary, timeline

APPLICATION_ID = 0x73687072  # "shpr": says the file is a shipper store
SCHEMA_VERSION = 1
PAGE_SIZE = 16384
MAX_SESSION_EVENTS = 5000  # events of one session a timeline is built from
_CHUNK = 500  # ids per "already stored?" query
_READERS = 4  # connections kept for reading (the page, the API) beside the writer
_PRUNE_CHUNK = 20_000  # events deleted per transaction when pruning

SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,        -- arrival order: the live feed asks for seq > N
    id TEXT NOT NULL UNIQUE,
    ts INTEGER NOT NULL,            -- the event's timestamp, ms since the epoch
    received INTEGER NOT NULL,      -- when this store took it, ms
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    session TEXT,
    tool TEXT,
    kind TEXT NOT NULL,             -- see _facts: prompt, tool_before, tool_after, api...
    ok INTEGER,                     -- 0 a failure, 1 a success, NULL not said
    doc TEXT NOT NULL               -- the event as received (JSON)
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_source ON events (source, ts);
CREATE INDEX events_event ON events (event, ts);
CREATE INDEX events_session ON events (session, ts) WHERE session IS NOT NULL;
CREATE TABLE counts_by_event (
    minute INTEGER NOT NULL, source TEXT NOT NULL, event TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (minute, source, event)
) WITHOUT ROWID;
CREATE TABLE counts_by_tool (
    minute INTEGER NOT NULL, source TEXT NOT NULL, tool TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (minute, source, tool)
) WITHOUT ROWID;
CREATE TABLE sessions (
    session TEXT PRIMARY KEY, source TEXT, project TEXT, first_ts INTEGER, last_ts INTEGER,
    started INTEGER, ended INTEGER, model TEXT, events INTEGER, prompts_hook INTEGER,
    prompts_otlp INTEGER, tools_hook INTEGER, tools_otlp INTEGER,
    tool_failures_hook INTEGER, tool_failures_otlp INTEGER, errors INTEGER,
    api_calls INTEGER, tokens_in INTEGER, tokens_out INTEGER, tokens_cache INTEGER,
    cost_usd REAL
);
CREATE INDEX sessions_last ON sessions (last_ts);
CREATE TABLE names (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value))
    WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('events', 0);
"""

_UPSERT_SESSION = f"""
INSERT INTO sessions (session, source, project, first_ts, last_ts, started, ended, model,
                      {", ".join(SUMS)})
VALUES (:session, :source, :project, :first_ts, :last_ts, :started, :ended, :model,
        {", ".join(":" + s for s in SUMS)})
ON CONFLICT (session) DO UPDATE SET
    source = coalesce(sessions.source, excluded.source),
    project = coalesce(sessions.project, excluded.project),
    first_ts = min(sessions.first_ts, excluded.first_ts),
    last_ts = max(sessions.last_ts, excluded.last_ts),
    started = sessions.started OR excluded.started,
    ended = sessions.ended OR excluded.ended,
    model = coalesce(excluded.model, sessions.model),
    {", ".join(f"{s} = sessions.{s} + excluded.{s}" for s in SUMS)}
"""  # noqa: S608 - names fixed here, values are parameters

_INSERT_EVENT = ("INSERT OR IGNORE INTO events (id, ts, received, event, source, session, "
                 "tool, kind, ok, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_EVENT_COLUMNS = "seq, id, ts, received, event, source, session, tool, kind, ok, doc"
_SESSION_COLUMNS = ("session", "source", "project", "first_ts", "last_ts", "started",
                    "ended", "model", *SUMS)


class StoreError(Exception):
    """The store cannot be used; the message says why and what to do."""


def default_path() -> Path:
    """``platformdirs.user_data_dir("shipper")/events.db``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("shipper", appauthor=False)) / "events.db"


def _refuse(path: Path, why: str) -> StoreError:
    return StoreError(f"{path}: {why}; nothing was changed in it (move it aside, or pass "
                      "--db another file)")


def _connect(target: str) -> sqlite3.Connection:
    conn = sqlite3.connect(target, timeout=10.0, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


class Store:
    """One store file (or, with ``path`` None, one in memory: tests and the demo).

    Safe from any thread: writes go through one connection under a lock; reads through a
    few connections of their own (in memory: the writer's, under the lock)."""

    def __init__(self, path: Path | None = None, *, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._reader_count = 0
        self._closed = False
        if path is None:
            self._writer = _connect(":memory:")
            self._create(self._writer)
            return
        self._writer = self._open_file(path, create=create)

    # -- opening ------------------------------------------------------------------------

    def _open_file(self, path: Path, *, create: bool) -> sqlite3.Connection:
        if not path.exists():
            if not create:
                raise StoreError(f"{path}: no store there (start `shipper serve --db {path}` "
                                 "to make one)")
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the store: "
                                 f"{exc.strerror or exc}") from None
        elif not path.is_file():
            raise _refuse(path, "not a file")
        try:
            os.chmod(path, 0o600)  # users' events: private, whoever made the file
        except OSError:
            pass
        try:
            conn = _connect(str(path))
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the store: {exc}") from None
        try:
            self._check(conn, path, create=create)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check(self, conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
        """Refuse what is not a shipper store of this version, or is damaged; make the
        tables in a new (empty) file."""
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _refuse(path, f"not a shipper store, or a damaged one ({exc})") from None
        if app_id == 0 and version == 0 and tables == 0:
            if not create:
                raise StoreError(f"{path}: an empty file, not a store yet")
            # 16 KiB pages: a batch touches fewer of them (measured: bench/viewer.py)
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            self._wal(conn, path)
            self._create(conn)
            return
        if app_id != APPLICATION_ID:
            raise _refuse(path, "an SQLite database, but not a shipper store")
        if version > SCHEMA_VERSION:
            raise _refuse(path, f"made by a newer shipper (store version {version}; this "
                                f"one reads version {SCHEMA_VERSION}): upgrade shipper")
        if version < SCHEMA_VERSION:
            raise _refuse(path, f"store version {version}, which this shipper cannot read")
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            raise _refuse(path, "damaged (SQLite's check says: " + "; ".join(problems) + ")")
        self._wal(conn, path)

    @staticmethod
    def _wal(conn: sqlite3.Connection, path: Path) -> None:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot use the store: {exc}") from None
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: the indexes of a big store

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection; again is nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while True:
                try:
                    self._readers.get_nowait().close()
                except queue.Empty:
                    break
            self._writer.close()

    # -- writing ------------------------------------------------------------------------

    def add(self, events: list[dict[str, Any]], received_ms: int | None = None, *,
            raws: list[str] | None = None,
            before_commit: Callable[[list[dict[str, Any]]], object] | None = None,
            ) -> list[dict[str, Any]]:
        """Store ``events`` (parsed native events, each with a string id; ``raws``, their
        JSON texts where the caller has them) in one transaction; returns those that were
        new (not stored before, nor earlier in the batch), in order. ``before_commit`` is
        given them inside the transaction (a copy kept elsewhere): if it raises, nothing is
        stored and the exception is raised. Raises `sqlite3.Error` when the file cannot take
        them."""
        received = int(time.time() * 1000) if received_ms is None else received_ms
        texts = raws if raws is not None and len(raws) == len(events) else [None] * len(events)
        batch: dict[str, tuple[dict[str, Any], str | None]] = {}
        for event, text in zip(events, texts, strict=True):
            batch.setdefault(event["id"], (event, text))
        with self._lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                fresh = self._insert_new(conn, batch, received)
                if before_commit is not None and fresh:
                    before_commit(fresh)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return fresh

    def _insert_new(self, conn: sqlite3.Connection,
                    batch: dict[str, tuple[dict[str, Any], str | None]], received: int,
                    ) -> list[dict[str, Any]]:
        """Insert what is new in ``batch``. Most batches are all new: they are inserted at
        once, and only when some id was already there is it taken out and the rest sent
        again (within the same transaction)."""
        ready = _prepare(batch.values(), received)
        before = conn.total_changes
        conn.executemany(_INSERT_EVENT, ready.rows)
        if conn.total_changes - before != len(ready.rows):
            conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
            ids = list(batch)
            for start in range(0, len(ids), _CHUNK):
                part = ids[start:start + _CHUNK]
                marks = ",".join("?" * len(part))
                for (known,) in conn.execute(
                        f"SELECT id FROM events WHERE id IN ({marks})", part):  # noqa: S608 - placeholders only
                    del batch[known]
            ready = _prepare(batch.values(), received)
            conn.executemany(_INSERT_EVENT, ready.rows)
        if ready.rows:
            _sums(conn, ready)
        return [event for event, _ in batch.values()]


    def prune(self, before_ms: int) -> int:
        """Remove events older than ``before_ms`` (by their own timestamp), their counts,
        and sessions that ended before it; sums of a session that spans it are computed
        again from what is left. Returns how many events went. Works in small transactions
        so that events keep arriving meanwhile."""
        removed = 0
        while True:
            with self._lock:
                conn = self._writer
                conn.execute("BEGIN IMMEDIATE")
                try:
                    gone = conn.execute(
                        "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? "
                        "LIMIT ?)", (before_ms, _PRUNE_CHUNK)).rowcount
                    conn.execute("UPDATE meta SET value = value - ? WHERE key = 'events'",
                                 (gone,))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            removed += gone
            if gone < _PRUNE_CHUNK:
                break
        with self._lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("counts_by_event", "counts_by_tool"):
                    conn.execute(f"DELETE FROM {table} WHERE minute < ?",  # noqa: S608 - fixed
                                 (before_ms // 60000,))
                conn.execute("DELETE FROM sessions WHERE last_ts < ?", (before_ms,))
                spanning = [r[0] for r in conn.execute(
                    "SELECT session FROM sessions WHERE first_ts < ?", (before_ms,))]
                for session in spanning:
                    self._recount(conn, session)
                conn.execute("DELETE FROM names")
                for column, table in (("source", "counts_by_event"),
                                      ("event", "counts_by_event"),
                                      ("tool", "counts_by_tool")):
                    conn.execute(f"INSERT INTO names SELECT DISTINCT '{column}', {column} "  # noqa: S608 - fixed names
                                 f"FROM {table} WHERE {column} != ''")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    @staticmethod
    def _recount(conn: sqlite3.Connection, session: str) -> None:
        timed = [(ts, facts(loads(doc))) for ts, doc in conn.execute(
            "SELECT ts, doc FROM events WHERE session = ? ORDER BY ts", (session,))]
        conn.execute("DELETE FROM sessions WHERE session = ?", (session,))
        deltas = session_deltas(timed)
        if deltas:
            conn.executemany(_UPSERT_SESSION, list(deltas.values()))

    # -- reading ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if self.path is None:
            with self._lock:
                yield self._writer
            return
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = _connect(str(self.path))
            conn.execute("PRAGMA query_only = ON")
        try:
            yield conn
        finally:
            with self._lock:
                keep = not self._closed and self._readers.qsize() < _READERS
            if keep:
                self._readers.put(conn)
            else:
                conn.close()

    def latest(self) -> int:
        """The arrival number of the newest event (0: none yet)."""
        with self._reading() as conn:
            return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])

    def total(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'events'")
                       .fetchone()[0])

    def events(self, *, source: str | None = None, event: str | None = None,
               session: str | None = None, tool: str | None = None,
               since: int | None = None, until: int | None = None,
               before: tuple[int, int] | None = None, after: int | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        """Events matching every filter given: newest first by timestamp, or, with
        ``after`` (an arrival number), those that arrived since, in arrival order.
        ``before`` is ``(ts, seq)`` of the last event of the previous page."""
        where, args = _filters(source=source, event=event, session=session, tool=tool,
                               since=since, until=until)
        if after is not None:
            where.append("seq > ?")
            args.append(after)
            order = "seq"
        else:
            order = "ts DESC, seq DESC"
            if before is not None:
                where.append("ts <= ? AND (ts < ? OR seq < ?)")  # a range on the ts index
                args += [before[0], before[0], before[1]]
        sql = (f"SELECT {_EVENT_COLUMNS} FROM events {_where(where)} "  # noqa: S608 - values are parameters
               f"ORDER BY {order} LIMIT ?")
        with self._reading() as conn:
            rows = conn.execute(sql, [*args, limit]).fetchall()
        return [_event_row(row) for row in rows]

    def counts(self, *, since: int, until: int, buckets: int = 60, by: str = "source",
               source: str | None = None, event: str | None = None,
               tool: str | None = None, session: str | None = None,
               top: int = 8) -> dict[str, Any]:
        """How many events per time bucket, split by ``by`` (source, tool or event): the
        ``top`` largest series by name, the rest as ``other``. From the per-minute counts,
        or, for one session, from its events."""
        if by not in ("source", "tool", "event"):
            raise ValueError(f"cannot count by {by!r}")
        minute = 60_000
        step = max(minute, -(-(until - since) // max(1, buckets) // minute) * minute)
        start = since // step * step
        n = max(1, -(-(until - start) // step))
        # the per-minute counts hold source with event, and source with tool: a question
        # that crosses event and tool (or asks about one session) counts the events
        if session is not None or (tool is not None and (event is not None or by == "event")
                                   ) or (event is not None and by == "tool"):
            where, args = _filters(source=source, event=event, session=session, tool=tool,
                                   since=start, until=until)
            sql = (f"SELECT (ts - ?) / ?, coalesce({by}, ''), count(*) FROM events "  # noqa: S608 - `by` is checked above
                   f"{_where(where)} GROUP BY 1, 2")
            args = [start, step, *args]
        else:
            table = "counts_by_tool" if by == "tool" or tool is not None else "counts_by_event"
            where = ["minute >= ?", "minute < ?"]
            args = [start // minute, -(-until // minute)]
            for column, value in (("source", source), ("event", event), ("tool", tool)):
                if value is not None:
                    where.append(f"{column} = ?")
                    args.append(value)
            sql = (f"SELECT (minute * 60000 - ?) / ?, {by}, sum(n) FROM {table} "  # noqa: S608 - `by` is checked above
                   f"{_where(where)} GROUP BY 1, 2")
            args = [start, step, *args]
        with self._reading() as conn:
            rows = conn.execute(sql, args).fetchall()
        totals: dict[str, int] = {}
        for _, name, count in rows:
            totals[name] = totals.get(name, 0) + count
        kept = sorted(totals, key=lambda k: (-totals[k], k))[:top]
        series = {name: [0] * n for name in kept}
        for bucket, name, count in rows:
            if 0 <= bucket < n:
                label = name if name in series else "other"
                series.setdefault(label, [0] * n)[bucket] += count
        if "" in series:  # events without the dimension (no tool, say)
            series["(none)"] = series.pop("")
        return {"start": start, "step": step, "buckets": n, "by": by, "series": series}

    def first_ts(self) -> int | None:
        """The time of the oldest event counted (by minute), or None when empty."""
        with self._reading() as conn:
            row = conn.execute("SELECT min(minute) FROM counts_by_event").fetchone()
        return None if row[0] is None else int(row[0]) * 60_000

    def names(self) -> dict[str, list[str]]:
        """The sources, event names and tools seen, sorted: the page's filter choices."""
        out: dict[str, list[str]] = {"source": [], "event": [], "tool": []}
        with self._reading() as conn:
            for kind, value in conn.execute("SELECT kind, value FROM names ORDER BY 1, 2"):
                out.setdefault(kind, []).append(value)
        return out

    def sessions(self, *, since: int | None = None, until: int | None = None,
                 source: str | None = None, project: str | None = None,
                 session: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Agent sessions active in the time range, the most recently active first."""
        where: list[str] = []
        args: list[Any] = []
        for clause, value in (("last_ts >= ?", since), ("first_ts < ?", until),
                              ("source = ?", source), ("project = ?", project),
                              ("session = ?", session)):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = (f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions {_where(where)} "  # noqa: S608 - fixed columns
               "ORDER BY last_ts DESC LIMIT ?")
        with self._reading() as conn:
            rows = conn.execute(sql, [*args, limit]).fetchall()
        return [session_summary(dict(zip(_SESSION_COLUMNS, row, strict=True))) for row in rows]

    def session(self, session: str) -> dict[str, Any] | None:
        """One session: its summary, its timeline and its events (up to
        `MAX_SESSION_EVENTS`, oldest first); None when there is no such session."""
        with self._reading() as conn:
            row = conn.execute(f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions "  # noqa: S608 - fixed columns
                               "WHERE session = ?", (session,)).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE session = ? "  # noqa: S608 - fixed
                "ORDER BY ts, seq LIMIT ?",
                (session, MAX_SESSION_EVENTS)).fetchall()
        events = [_event_row(r) for r in rows]
        summary = session_summary(dict(zip(_SESSION_COLUMNS, row, strict=True)))
        return {"session": summary,
                "timeline": timeline([(e["ts"], e["doc"]) for e in events]),
                "events": events, "truncated": len(events) >= MAX_SESSION_EVENTS}


class _Prepared(NamedTuple):
    """A batch made ready to store: its rows, and what it adds to the counts and names."""

    rows: list[tuple[Any, ...]]
    by_event: dict[tuple[int, str, str], int]
    by_tool: dict[tuple[int, str, str], int]
    names: set[tuple[str, str]]
    timed: list[tuple[int, Facts]]


def _prepare(items: Iterable[tuple[dict[str, Any], str | None]], received: int) -> _Prepared:
    """The rows of events (with their JSON texts where known), and their sums, in one pass
    (this runs for every event stored)."""
    ready = _Prepared([], {}, {}, set(), [])
    rows, by_event, by_tool, names, timed = ready
    for event, text in items:
        f = facts(event)
        name = event.get("event")
        name = name if type(name) is str else str(name)
        ts = _ms(event.get("timestamp"))
        if ts is None:
            ts = received
        rows.append((event["id"], ts, received, name, f.source, f.session, f.tool, f.kind,
                     None if f.ok is None else int(f.ok),
                     text if text is not None else encode(event)))
        minute = ts // 60000
        key = (minute, f.source, name)
        by_event[key] = by_event.get(key, 0) + 1
        key = (minute, f.source, f.tool or "")
        by_tool[key] = by_tool.get(key, 0) + 1
        names.add(("source", f.source))
        names.add(("event", name))
        if f.tool:
            names.add(("tool", f.tool))
        timed.append((ts, f))
    return ready


def _sums(conn: sqlite3.Connection, ready: _Prepared) -> None:
    """What the page reads beside the events: counts, names, session sums."""
    for table, counts in (("counts_by_event", ready.by_event),
                          ("counts_by_tool", ready.by_tool)):
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE "  # noqa: S608 - fixed names
                         "SET n = n + excluded.n", [(*k, c) for k, c in counts.items()])
    conn.executemany("INSERT OR IGNORE INTO names VALUES (?, ?)", sorted(ready.names))
    deltas = session_deltas(ready.timed)
    if deltas:
        conn.executemany(_UPSERT_SESSION, list(deltas.values()))
    conn.execute("UPDATE meta SET value = value + ? WHERE key = 'events'", (len(ready.rows),))


@lru_cache(maxsize=4096)
def _day_ms(day: str) -> int | None:
    return epoch_ms(day + "T00:00:00.000Z")


def _ms(stamp: object) -> int | None:
    """`epoch_ms`, quicker for the form shipper records (a day's start looked up once):
    this runs for every event stored."""
    if type(stamp) is str and len(stamp) == 24 and stamp[23] == "Z" and stamp[19] == ".":
        day = _day_ms(stamp[:10])
        digits = stamp[11:13] + stamp[14:16] + stamp[17:19] + stamp[20:23]
        if day is not None and digits.isascii() and digits.isdigit() and stamp[10] == "T":
            return (day + int(stamp[11:13]) * 3_600_000 + int(stamp[14:16]) * 60_000
                    + int(stamp[17:19]) * 1000 + int(stamp[20:23]))
    return epoch_ms(stamp)


def _filters(**values: Any) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column in ("source", "event", "session", "tool"):
        if values.get(column) is not None:
            where.append(f"{column} = ?")
            args.append(values[column])
    if values.get("since") is not None:
        where.append("ts >= ?")
        args.append(values["since"])
    if values.get("until") is not None:
        where.append("ts < ?")
        args.append(values["until"])
    return where, args


def _where(clauses: list[str]) -> str:
    return "WHERE " + " AND ".join(clauses) if clauses else ""


def _event_row(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, event_id, ts, received, name, source, session, tool, kind, ok, doc = row
    return {"seq": seq, "id": event_id, "ts": ts, "received": received, "event": name,
            "source": source, "session": session, "tool": tool, "kind": kind,
            "ok": None if ok is None else bool(ok), "doc": loads(doc)}
