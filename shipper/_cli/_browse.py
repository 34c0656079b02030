"""``shipper events`` and ``shipper sessions``: what a local ``shipper serve`` received, on
the terminal. Asked of the serve at the configured endpoint (its ``/api/...``, with the API
key), or read straight from a store file (``--db``): the same answers either way.

Tables for people (every value cleaned of control characters: an event's name cannot move
the cursor or recolour the terminal), JSON Lines with ``--json``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from . import _api
from ._store import Store, StoreError

FOLLOW_POLL_S = 1.0


class Unreachable(Exception):
    """Neither a serve nor a store could be asked; the message says why and what to do."""


Ask = Callable[[str, dict[str, Any]], dict[str, Any]]


def local(path: Path) -> tuple[Ask, Callable[[], None]]:
    """Ask a store file directly; and how to close it. `Unreachable` when it cannot be
    read."""
    try:
        store = Store(path, create=False)
    except StoreError as exc:
        raise Unreachable(str(exc)) from None

    def ask(route: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: [str(v)] for k, v in params.items() if v is not None}
        status, payload = _api.answer(store, route, query)
        if status != 200:
            raise Unreachable(str(payload.get("error", f"status {status}")))
        return payload

    return ask, store.close


def remote(base_url: str, api_key: str | None, timeout: float) -> tuple[Ask, Callable[[], None]]:
    """Ask the serve at ``base_url``; and how to close the connection."""
    import httpx

    from .._kinds import public_url

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout,
                          follow_redirects=False)
    shown = public_url(base_url)

    def ask(route: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = client.get(route, params={k: v for k, v in params.items()
                                               if v is not None})
        except httpx.HTTPError as exc:
            raise Unreachable(f"no shipper serve answers at {shown} ({type(exc).__name__}): "
                              "start one with `shipper serve`, or read a store file with "
                              "--db FILE") from None
        if answer.status_code in (401, 403):
            raise Unreachable(f"{shown} refused the API key (HTTP {answer.status_code}): "
                              "set api_key to the serve's key")
        if answer.status_code == 404:
            raise Unreachable(f"{shown} is not a shipper serve with a store (no {route})")
        try:
            payload: dict[str, Any] = answer.json()
        except ValueError:
            payload = {}
        if answer.status_code != 200:
            raise Unreachable(f"{shown} answered HTTP {answer.status_code}: "
                              f"{payload.get('error', '')}".rstrip(": "))
        return payload

    return ask, client.close


# -- output -------------------------------------------------------------------------------


def clean(value: object) -> str:
    """``value`` as one line of plain text: control characters (escape sequences, line
    breaks) become ``?``."""
    text = "" if value is None else str(value)
    return "".join(c if c.isprintable() else "?" for c in text)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _local_time(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _table(rows: list[list[str]], header: list[str] | None, caps: list[int],
           out: TextIO, *, natural: bool = True) -> None:
    """Columns as wide as their widest cell (at most ``caps``; exactly ``caps`` when not
    ``natural``, so that lines printed later line up), narrowed to fit a terminal."""
    lines = [[clean(cell) for cell in row] for row in ([header] if header else []) + rows]
    widths = ([min(cap, max(len(line[i]) for line in lines)) for i, cap in enumerate(caps)]
              if natural and lines else list(caps))
    columns = shutil.get_terminal_size((120, 24)).columns if _is_terminal(out) else None
    while columns and sum(widths) + 2 * (len(widths) - 1) > columns and max(widths) > 8:
        widths[widths.index(max(widths))] -= 1
    for line in lines:
        cells = [_fit(cell, w).ljust(w) for cell, w in zip(line, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _outcome(ok: object) -> str:
    return "ok" if ok is True else "FAILED" if ok is False else ""


def _event_cells(e: dict[str, Any]) -> list[str]:
    return [_local_time(e["ts"]), e["source"], e["event"], e.get("session") or "",
            e.get("tool") or "", _outcome(e.get("ok"))]


_EVENT_HEADER = ["time", "source", "event", "session", "tool", "outcome"]
_EVENT_WIDTHS = [19, 12, 60, 36, 14, 7]


def _json_line(value: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")


def events(ask: Ask, params: dict[str, Any], out: TextIO, *, as_json: bool, follow: bool,
           sleep: Callable[[float], None] = time.sleep) -> int:
    """``shipper events``: newest first; with ``follow``, the latest in time order, then
    what arrives, until interrupted."""
    page = ask("/api/events", params)
    found = page["events"]
    if follow:
        found = found[::-1]
    if as_json:
        for e in found:
            _json_line(e, out)
    elif found:
        _table([_event_cells(e) for e in found], _EVENT_HEADER, _EVENT_WIDTHS, out,
               natural=not follow)
    elif not follow:
        out.write("no events match\n")
    if not follow:
        return 0
    out.flush()
    cursor = page["latest"]
    try:
        while True:
            sleep(FOLLOW_POLL_S)
            page = ask("/api/events", {**params, "after": cursor, "limit": 1000})
            for e in page["events"]:
                if as_json:
                    _json_line(e, out)
                else:
                    _table([_event_cells(e)], None, _EVENT_WIDTHS, out, natural=False)
            seen = page["events"][-1]["seq"] if page["events"] else cursor
            cursor = seen if len(page["events"]) == 1000 else max(page["latest"], seen)
            out.flush()
    except KeyboardInterrupt:
        return 0


def _duration(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"


def sessions(ask: Ask, params: dict[str, Any], out: TextIO, *, as_json: bool) -> int:
    """``shipper sessions``: agent sessions, the most recently active first."""
    found = ask("/api/sessions", params)["sessions"]
    if as_json:
        for s in found:
            _json_line(s, out)
        return 0
    if not found:
        out.write("no agent sessions in this time range\n")
        return 0
    rows = []
    for s in found:
        cost = f"${s['cost_usd']:.2f}" if s.get("cost_usd") else ""
        tokens = f"{s['tokens_in']}/{s['tokens_out']}" if s.get("tokens_in") else ""
        rows.append([_local_time(s["start"]), _duration(s["duration_ms"])
                     + ("" if s["ended"] else "+"), s.get("source") or "",
                     s["session"], s.get("project") or "", str(s["prompts"]),
                     str(s["tool_calls"]), str(s["failures"]) if s["failures"] else "",
                     tokens, cost])
    _table(rows, ["start", "length", "agent", "session", "project", "prompts", "tools",
                  "failures", "tokens in/out", "cost"],
           [19, 10, 12, 36, 40, 7, 5, 8, 13, 8], out)
    return 0
