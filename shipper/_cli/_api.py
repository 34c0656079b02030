"""``shipper serve``'s JSON API: what the page and ``shipper events|sessions`` read.

``answer(store, path, query)`` maps a GET to ``(status, payload)``; the HTTP handler does
the rest. Every list takes the same filters: ``source``, ``event``, ``session``, ``tool``,
and a time range ``since``/``until`` (a duration back from now such as ``15m``, ``2h``,
``7d``; milliseconds since the epoch; or an RFC 3339 time).

- ``/api/events``: newest first (``limit``, at most 1000; ``before=TS:SEQ`` for the next
  page), or with ``after=SEQ`` those that arrived since (the live feed).
- ``/api/sessions``: agent sessions, the most recently active first (by source, session,
  ``project`` and time); ``/api/sessions/ID``: one, with its timeline and events.
- ``/api/counts``: events per time bucket by ``source``, ``tool`` or ``event``.
- ``/api/names``: the sources, event names and tools seen; the count and the newest arrival.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from ._store import Store

MAX_LIMIT = 1000
MAX_BUCKETS = 500
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class BadRequest(ValueError):
    """A query the API answers 400 to, saying why."""


def duration_s(text: str) -> float | None:
    """Seconds in ``30s``, ``15m``, ``2h``, ``7d``, ``1w``, ``1.5h``, ``250ms``; None when
    ``text`` is not such a duration."""
    text = text.strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            number = text[: -len(unit)]
            try:
                value = float(number)
            except ValueError:
                return None
            return value * _UNITS[unit] if value >= 0 and value == value else None  # noqa: PLR0124
    return None


def parse_time(text: str, now_ms: int | None = None) -> int:
    """A point in time as milliseconds since the epoch: a duration back from now
    (``15m``), milliseconds since the epoch, or an RFC 3339 / ISO 8601 time (UTC where it
    names no zone). Raises `BadRequest`."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    text = text.strip()
    seconds = duration_s(text)
    if seconds is not None:
        return now - int(seconds * 1000)
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z"))
                                      else text)
    except ValueError:
        raise BadRequest(f"{text!r} is not a time: give a duration back from now (15m, 2h, "
                         "7d), milliseconds since the epoch, or an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values and values[-1] != "" else None


def _int(query: dict[str, list[str]], key: str, default: int, low: int, high: int) -> int:
    text = _one(query, key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{key} must be a whole number") from None
    if not low <= value <= high:
        raise BadRequest(f"{key} must be from {low} to {high}")
    return value


def filters(query: dict[str, list[str]], now_ms: int) -> dict[str, Any]:
    """The filters every list takes, read from a query string."""
    out: dict[str, Any] = {k: _one(query, k) for k in ("source", "event", "session", "tool")}
    for key in ("since", "until"):
        text = _one(query, key)
        out[key] = parse_time(text, now_ms) if text is not None else None
    return out


def answer(store: Store, path: str, query: dict[str, list[str]],
           now_ms: int | None = None) -> tuple[int, dict[str, Any]]:
    """The status and JSON payload for ``GET path?query``."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        if path == "/api/events":
            return 200, _events(store, query, now)
        if path == "/api/sessions":
            found = filters(query, now)
            sessions = store.sessions(since=found["since"], until=found["until"],
                                      source=found["source"], project=_one(query, "project"),
                                      session=found["session"],
                                      limit=_int(query, "limit", 100, 1, MAX_LIMIT))
            return 200, {"sessions": sessions, "now": now}
        if path.startswith("/api/sessions/"):
            one = store.session(path[len("/api/sessions/"):])
            if one is None:
                return 404, {"error": "no such session"}
            return 200, one
        if path == "/api/counts":
            return 200, _counts(store, query, now)
        if path == "/api/names":
            return 200, {**store.names(), "total": store.total(), "latest": store.latest(),
                         "first": store.first_ts(), "now": now}
    except BadRequest as exc:
        return 400, {"error": str(exc)}
    return 404, {"error": "not found"}


def _events(store: Store, query: dict[str, list[str]], now: int) -> dict[str, Any]:
    found = filters(query, now)
    limit = _int(query, "limit", 100, 1, MAX_LIMIT)
    after_text = _one(query, "after")
    before_text = _one(query, "before")
    before = None
    if before_text is not None:
        ts, sep, seq = before_text.partition(":")
        if not (sep and ts.isascii() and seq.isascii() and ts.lstrip("-").isdigit()
                and seq.isdigit()):
            raise BadRequest("before must be TS:SEQ, as `next` gives it")
        before = (int(ts), int(seq))
    after = _int(query, "after", 0, 0, 1 << 62) if after_text is not None else None
    latest = store.latest()  # before the query: an event arriving meanwhile is not skipped
    events = store.events(**found, before=before, after=after, limit=limit)
    following = None
    if after is None and len(events) == limit:
        following = f"{events[-1]['ts']}:{events[-1]['seq']}"
    return {"events": events, "latest": latest, "next": following, "now": now}


def _counts(store: Store, query: dict[str, list[str]], now: int) -> dict[str, Any]:
    found = filters(query, now)
    until = found["until"] if found["until"] is not None else now
    since = found["since"]
    if since is None:
        since = store.first_ts() or until - 3_600_000
    if since >= until:
        raise BadRequest("since must be before until")
    by = _one(query, "by") or "source"
    if by not in ("source", "tool", "event"):
        raise BadRequest("by must be source, tool or event")
    return store.counts(since=since, until=until, by=by,
                        buckets=_int(query, "buckets", 60, 1, MAX_BUCKETS),
                        source=found["source"], event=found["event"], tool=found["tool"],
                        session=found["session"])
