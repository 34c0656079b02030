"""serve's store: each id once, across reopening too; what is not a store of this version is
refused and left alone; pruning; the sums the page reads."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper._cli._store import SCHEMA_VERSION, Store, StoreError
from shipper._event import rfc3339_ms

T0 = 1_790_000_000.0  # seconds


def event(i: int, name: str = "claude_code.PreToolUse", *, at: float | None = None,
          session: str | None = "s1", **props: Any) -> dict[str, Any]:
    properties = {"hook_event_name": name.rsplit(".", 1)[-1], **props}
    if session is not None:
        properties["session_id"] = session
    return {"id": f"0190{i:028x}", "event": name, "timestamp": rfc3339_ms(at or T0 + i),
            "properties": properties,
            "context": {"library": {"name": "shipper"}, "source": "claude-code"}}


def test_a_duplicate_is_stored_once_even_after_reopening(tmp_path: Path) -> None:
    """An id already stored, sent again in a later batch or after the file is opened
    again, is not stored again; `add` returns only what was new."""
    path = tmp_path / "data" / "events.db"
    store = Store(path)
    assert [e["id"] for e in store.add([event(1), event(2), event(1)])] == [
        event(1)["id"], event(2)["id"]]
    store.close()
    again = Store(path)
    assert [e["id"] for e in again.add([event(2), event(3)])] == [event(3)["id"]]
    assert again.total() == 3
    assert sorted(e["id"] for e in again.events(limit=10)) == [event(i)["id"]
                                                               for i in (1, 2, 3)]
    again.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), max_size=12), max_size=8))
def test_any_batches_store_each_id_once_in_first_arrival_order(batches: list[list[int]],
                                                               ) -> None:
    """Whatever batches arrive, with whatever repeats, the store holds each id once and
    `add` reports each id new exactly the first time it arrives."""
    store = Store(None)
    reported: list[int] = []
    for batch in batches:
        reported += [int(e["id"][4:], 16) for e in store.add([event(i) for i in batch])]
    first_seen = list(dict.fromkeys(i for batch in batches for i in batch))
    assert reported == first_seen
    assert store.total() == len(first_seen)
    store.close()


def test_the_store_file_is_private(tmp_path: Path) -> None:
    """The store is 0600 in a folder made 0700, and a store made readable by others is made
    private again when opened."""
    path = tmp_path / "new" / "events.db"
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("content", "said"), [
    (b"these are someone's notes, not a database\n" * 100, "not a shipper store"),
    (b"SQLite format 3\x00" + b"\xff" * 4000, "not a shipper store, or a damaged one"),
])
def test_a_file_that_is_not_a_store_is_refused_and_left_alone(tmp_path: Path, content: bytes,
                                                              said: str) -> None:
    """A file that is not a store is a clear error naming the file, and not one byte of it
    changes."""
    path = tmp_path / "events.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=said) as caught:
        Store(path)
    assert str(path) in str(caught.value) and "nothing was changed" in str(caught.value)
    assert path.read_bytes() == content


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    """An SQLite database with tables of its own is not taken over."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE mine (x)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="an SQLite database, but not a shipper store"):
        Store(path)
    assert path.read_bytes() == before


def test_a_store_from_a_newer_shipper_is_refused(tmp_path: Path) -> None:
    """A store whose version is newer than this shipper reads says so: upgrade."""
    path = tmp_path / "events.db"
    store = Store(path)
    store.add([event(1)])
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=r"made by a newer shipper.*upgrade shipper"):
        Store(path)
    with sqlite3.connect(path) as conn:  # its events are all still there
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_a_damaged_store_is_refused_not_emptied(tmp_path: Path) -> None:
    """A store whose pages were overwritten is found damaged when opened: a clear error,
    and the file is left as it was for the user to recover."""
    path = tmp_path / "events.db"
    store = Store(path)
    for start in range(0, 3000, 500):
        store.add([event(i, props_blob="x" * 200) for i in range(start, start + 500)])
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, min(len(data), page * 40), page):  # btree pages, not header
        data[offset:offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"damaged|not a shipper store"):
        Store(path)
    assert path.read_bytes() == bytes(data)


def test_reading_a_missing_store_does_not_make_one(tmp_path: Path) -> None:
    """`Store(path, create=False)` (what `shipper events --db` opens) refuses a missing
    file and creates nothing."""
    with pytest.raises(StoreError, match="no store there"):
        Store(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_events_are_filtered_and_paged_newest_first() -> None:
    """Filters combine; pages follow each other by (timestamp, arrival) with no gap or
    repeat; `after` gives what arrived since, in arrival order."""
    store = Store(None)
    store.add([event(i, "claude_code.PreToolUse" if i % 2 else "claude_code.PostToolUse",
                     session=f"s{i % 3}", tool_name="Bash" if i % 5 else "Read")
               for i in range(60)])
    page1 = store.events(limit=25)
    assert [e["ts"] for e in page1] == sorted((e["ts"] for e in page1), reverse=True)
    page2 = store.events(limit=25, before=(page1[-1]["ts"], page1[-1]["seq"]))
    page3 = store.events(limit=25, before=(page2[-1]["ts"], page2[-1]["seq"]))
    ids = [e["id"] for e in page1 + page2 + page3]
    assert len(ids) == len(set(ids)) == 60
    chosen = store.events(event="claude_code.PreToolUse", session="s1", tool="Bash",
                          since=int((T0 + 10) * 1000), limit=100)
    assert chosen and all(e["event"] == "claude_code.PreToolUse" and e["session"] == "s1"
                          and e["tool"] == "Bash" and e["ts"] >= (T0 + 10) * 1000
                          for e in chosen)
    latest = store.latest()
    store.add([event(100), event(101)])
    assert [e["id"] for e in store.events(after=latest)] == [event(100)["id"],
                                                              event(101)["id"]]
    store.close()


def test_counts_names_and_sessions_are_kept_as_events_arrive() -> None:
    """Per-minute counts by source and tool, the names for the filters, and one session's
    sums (tool calls, failures, tokens and cost from its telemetry)."""
    store = Store(None)
    store.add([
        event(0, "claude_code.SessionStart", cwd="~/proj"),
        event(1, "claude_code.UserPromptSubmit", prompt_bytes=12),
        event(2, "claude_code.PreToolUse", tool_name="Bash", tool_use_id="a"),
        event(3, "claude_code.PostToolUseFailure", tool_name="Bash", tool_use_id="a"),
        event(4, "claude_code.SessionEnd"),
    ])
    store.add([{"id": "otlp-1", "event": "claude_code.api_request",
                "timestamp": rfc3339_ms(T0 + 5),
                "properties": {"session.id": "s1", "input_tokens": "1200",
                               "output_tokens": 300, "cost_usd": 0.25, "model": "m"},
                "context": {"source": "claude-code", "otlp": {"service": "claude-code"}}}])
    (session,) = store.sessions()
    assert session["session"] == "s1" and session["project"] == "~/proj"
    assert (session["prompts"], session["tool_calls"], session["failures"]) == (1, 1, 1)
    assert session["started"] and session["ended"]
    assert (session["tokens_in"], session["tokens_out"], session["cost_usd"]) == (1200, 300,
                                                                                   0.25)
    assert session["duration_ms"] == 5000
    assert store.names()["tool"] == ["Bash"]
    counts = store.counts(since=int(T0 * 1000), until=int((T0 + 60) * 1000), by="tool")
    assert sum(counts["series"]["Bash"]) == 2 and sum(counts["series"]["(none)"]) == 4
    detail = store.session("s1")
    assert detail is not None
    tool = next(i for i in detail["timeline"] if i["kind"] == "tool")
    assert (tool["ok"], tool["duration_ms"]) == (False, 1000)
    assert store.session("nope") is None
    store.close()


def test_pruning_removes_old_events_and_keeps_sums_true(tmp_path: Path) -> None:
    """`prune` removes events older than the cutoff, their counts and sessions wholly
    before it; a session that spans the cutoff keeps the sums of what is left."""
    store = Store(tmp_path / "e.db")
    store.add([event(i, session="old") for i in range(10)])
    store.add([event(100 + i, session="spans", at=T0 + 50 + i * 10) for i in range(10)])
    cutoff = int((T0 + 100) * 1000)
    assert store.prune(cutoff) == 10 + 5
    assert store.total() == 5
    assert all(e["ts"] >= cutoff for e in store.events(limit=100))
    (spans,) = store.sessions()
    assert spans["session"] == "spans" and spans["events"] == 5
    assert spans["start"] >= cutoff
    assert store.first_ts() is not None and store.first_ts() >= cutoff - 60_000
    store.close()
