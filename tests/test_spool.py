"""The disk cache: atomic files, claims, acks, quarantine, pruning, permissions."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper._cache._drops import read_drops
from shipper._cache._files import encode_file
from shipper._cache._prune import prune
from shipper._cache._spool import CorruptFile, Spool, decode_file, salvage_file
from shipper._event import uuid7


def ev(i: int, **extra: object) -> bytes:
    return json.dumps({"id": f"id-{i}", "event": "e", **extra}).encode()


event_docs = st.lists(
    st.fixed_dictionaries({"id": st.text(min_size=1), "event": st.text(),
                           "properties": st.dictionaries(st.text(), st.text() | st.integers())}),
    min_size=0, max_size=20)


ids = st.one_of(st.builds(uuid7), st.text(min_size=1),
               st.text(min_size=36, max_size=36), st.just('0192"\\' + "x" * 31))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ids, st.booleans(), st.booleans()), max_size=20))
def test_a_checksummed_file_reads_the_ids_a_parse_would(
        cases: list[tuple[str, bool, bool]]) -> None:
    """A file a client spilled (its header keeps the events' checksum) is read without
    parsing each event: the ids are those a parse of each line gives, whatever the ids are
    and wherever they stand in the event."""
    raw = []
    for event_id, id_first, ascii_only in cases:
        doc = {"id": event_id, "event": "e"} if id_first else {"event": "e", "id": event_id}
        raw.append(json.dumps(doc, ensure_ascii=ascii_only).encode())
    from shipper._cache._files import file_parts
    from shipper._cache._spool import events_crc

    data = b"".join(file_parts(raw, crc32=events_crc(raw)))
    events, bad, problem = salvage_file(data)
    assert (bad, problem) == ([], "")
    assert events == [(json.loads(r)["id"], r) for r in raw]


def test_a_line_changed_after_it_was_written_is_set_aside(tmp_path: Path) -> None:
    """A spilled file whose bytes changed on disk (the checksum no longer matches) is read
    line by line: a line that is no longer JSON goes to quarantine, the rest is claimed."""
    spool = Spool(tmp_path)
    path = spool.write([ev(1), ev(2), ev(3)])
    assert b'"crc32":' in path.read_bytes().split(b"\n", 1)[0]
    path.write_bytes(path.read_bytes().replace(b'"id-2", "event": "e"}',
                                               b'"id-2", "event": "e"!'))
    (entry,) = spool.entries()
    assert spool.claim(entry) is None  # repaired: the readable events in a whole file
    assert len(os.listdir(spool.quarantine)) == 1
    (left,) = spool.entries()
    claim = spool.claim(left)
    assert claim is not None and [i for i, _ in claim.events] == ["id-1", "id-3"]
    claim.release()


@settings(max_examples=200, deadline=None)
@given(event_docs)
def test_file_format_round_trips(docs: list[dict[str, object]]) -> None:
    """Whatever events are written, decoding gives back the same ids and bytes."""
    raw = [json.dumps(d).encode() for d in docs]
    decoded = decode_file(encode_file(raw))
    assert [r for _, r in decoded] == raw
    assert [i for i, _ in decoded] == [d["id"] for d in docs]


@settings(max_examples=200, deadline=None)
@given(event_docs.filter(bool), st.data())
def test_any_truncation_is_detected(docs: list[dict[str, object]], data: st.DataObject) -> None:
    """A file cut short anywhere is rejected as corrupt, never half-read."""
    whole = encode_file([json.dumps(d).encode() for d in docs])
    cut = data.draw(st.integers(min_value=0, max_value=len(whole) - 1))
    with pytest.raises(CorruptFile):
        decode_file(whole[:cut])


def test_write_is_private_and_atomic(tmp_path: Path) -> None:
    """The folder is 0700, files 0600, and no temp file is left behind."""
    old = os.umask(0)
    try:
        spool = Spool(tmp_path / "c")
        path = spool.write([ev(1)])
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(spool.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(spool.tmp) == []


def test_existing_loose_folder_is_tightened(tmp_path: Path) -> None:
    """A cache folder created elsewhere with 0755 is made 0700."""
    root = tmp_path / "c"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    Spool(root).ensure()
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700


def test_cache_path_through_a_regular_file_is_an_oserror(tmp_path: Path) -> None:
    """A cache path below a regular file fails with OSError (the caller counts the loss)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        Spool(blocker / "cache").write([ev(1)])


def test_claim_ack_removes_the_file(tmp_path: Path) -> None:
    """A claimed and acknowledged file is gone."""
    spool = Spool(tmp_path)
    spool.write([ev(1), ev(2)])
    (entry,) = spool.entries()
    assert entry.count == 2
    claim = spool.claim(entry)
    assert claim is not None and [i for i, _ in claim.events] == ["id-1", "id-2"]
    claim.ack()
    assert spool.entries() == []


def test_a_claimed_file_cannot_be_claimed_twice(tmp_path: Path) -> None:
    """While one claim holds a file, a second claim (another syncer) gets None."""
    spool = Spool(tmp_path)
    spool.write([ev(1)])
    (entry,) = spool.entries()
    first = spool.claim(entry)
    assert first is not None
    assert Spool(tmp_path).claim(entry) is None
    first.release()
    again = spool.claim(entry)
    assert again is not None
    again.release()


def test_ack_then_late_claim_sees_nothing(tmp_path: Path) -> None:
    """A syncer that opened the file before another acked it does not resend it."""
    spool = Spool(tmp_path)
    spool.write([ev(1)])
    (entry,) = spool.entries()
    claim = spool.claim(entry)
    assert claim is not None
    claim.ack()
    assert spool.claim(entry) is None


def test_keep_only_rewrites_the_rest(tmp_path: Path) -> None:
    """After partial delivery only the undelivered events stay on disk, same age."""
    spool = Spool(tmp_path)
    spool.write([ev(1), ev(2), ev(3)], written_ms=1234)
    (entry,) = spool.entries()
    claim = spool.claim(entry)
    assert claim is not None
    claim.keep_only([e for e in claim.events if e[0] != "id-2"])
    (left,) = spool.entries()
    assert left.count == 2 and left.written_ms == 1234
    again = spool.claim(left)
    assert again is not None and [i for i, _ in again.events] == ["id-1", "id-3"]
    again.release()


@pytest.mark.parametrize("content", [b"", b"garbage", b'{"shipper":9,"n":0}\n', b"\xff\xfe\x00",
                                     b'{"shipper":1,"n":1}\n"not an event"\n'])
def test_corrupt_files_are_quarantined_and_do_not_block(tmp_path: Path, content: bytes) -> None:
    """A bad file moves to quarantine; the good file next to it is still claimed."""
    spool = Spool(tmp_path)
    spool.ensure()
    (spool.pending / "0000000000001-1-aaaaaaaa-2.json").write_bytes(content)
    spool.write([ev(1)])
    claims = [spool.claim(e) for e in spool.entries()]
    good = [c for c in claims if c is not None]
    assert len(good) == 1 and good[0].events[0][0] == "id-1"
    assert len(os.listdir(spool.quarantine)) == 1
    good[0].release()


@pytest.mark.parametrize(("content", "aside"), [
    (b'{"shipper":1,"n":3}\n{"id":"a"}\n"<unrepresentable dict>"\n{"id":"b"}\n', 1),
    (b'{"shipper":1,"n":2}\n{"id":"a"}\n{"id":"b"}\n{"id":"trun', 1),
    (b'{"shipper":1,"n":3}\n{"id":"a"}\n{"id":"b"}\n', 0),
])
def test_unreadable_lines_are_set_aside_and_the_rest_delivered(tmp_path: Path, content: bytes,
                                                               aside: int) -> None:
    """A file with a line that is not an event (or cut short, or missing events): the
    readable events are claimed; the bad lines alone go to quarantine; once settled, the
    file is replaced by a whole one."""
    spool = Spool(tmp_path)
    spool.ensure()
    (spool.pending / "0000000000001-1-aaaaaaaa-3.json").write_bytes(content)
    (entry,) = spool.entries()
    assert spool.claim(entry) is None  # repaired: a whole file holds the readable events
    assert len(os.listdir(spool.quarantine)) == aside
    (left,) = spool.entries()
    assert left.written_ms == 1 and left.count == 2
    claim = spool.claim(left)
    assert claim is not None and [i for i, _ in claim.events] == ["a", "b"]
    claim.release()


def test_foreign_file_names_are_quarantined(tmp_path: Path) -> None:
    """Files that are not ours by name are moved aside, not parsed or deleted."""
    spool = Spool(tmp_path)
    spool.ensure()
    (spool.pending / "notes.txt").write_text("hello")
    assert spool.entries() == []
    assert os.listdir(spool.quarantine)[0].endswith("notes.txt")


def test_dead_letter_keeps_events_and_reason(tmp_path: Path) -> None:
    """Refused events are kept with the collector's reason, outside the pending set."""
    spool = Spool(tmp_path)
    path = spool.dead_letter([ev(1)], "HTTP 400: nope")
    header = json.loads(path.read_bytes().split(b"\n")[0])
    assert header["reason"] == "HTTP 400: nope"
    assert spool.entries() == [] and spool.folder_count(spool.dead) == (1, 1)


def test_prune_by_age_counts_drops(tmp_path: Path) -> None:
    """Files older than max_age_days are removed and counted as max_age."""
    spool = Spool(tmp_path)
    now = time.time()
    spool.write([ev(1), ev(2)], written_ms=int((now - 10 * 86400) * 1000))
    spool.write([ev(3)], written_ms=int(now * 1000))
    result = prune(spool, max_age_days=7, max_cache_mb=50, now=now)
    assert result.by_reason == {"max_age": 2}
    assert [e.count for e in spool.entries()] == [1]
    assert read_drops(tmp_path) == {"max_age": 2}


def test_prune_by_size_drops_oldest_first_and_stops_at_the_limit(tmp_path: Path) -> None:
    """Past max_cache_mb the oldest events go first, until the cache fits, and no further:
    the file the limit falls in loses only its oldest events."""
    spool = Spool(tmp_path)
    big = [ev(i, pad="x" * 5000) for i in range(20)]  # ~100 KB per file
    for n in range(5):
        spool.write(big, written_ms=1_000_000 + n)
    size = sum(e.path.stat().st_size for e in spool.entries())
    cap = size * 0.5
    result = prune(spool, max_age_days=1e9, max_cache_mb=cap / 1024 / 1024, now=1_000.0)
    left = spool.entries()
    kept = sum(e.path.stat().st_size for e in left)
    assert cap - 5100 < kept <= cap  # within one event of the limit
    assert [e.written_ms for e in left] == [1_000_002, 1_000_003, 1_000_004]
    assert result.by_reason == {"max_cache": 100 - sum(e.count for e in left)}
    assert next(i for i, _ in decode_file(left[0].path.read_bytes())) == "id-11"  # oldest gone


def test_prune_dry_run_changes_nothing(tmp_path: Path) -> None:
    """A dry run reports what it would remove and removes nothing."""
    spool = Spool(tmp_path)
    spool.write([ev(1)], written_ms=0)
    result = prune(spool, max_age_days=1, max_cache_mb=50, dry_run=True)
    assert result.events == 1 and len(spool.entries()) == 1
    assert read_drops(tmp_path) == {}


def test_prune_skips_files_being_delivered(tmp_path: Path) -> None:
    """A file held by a syncer is not pruned under it."""
    spool = Spool(tmp_path)
    spool.write([ev(1)], written_ms=0)
    claim = spool.claim(spool.entries()[0])
    assert claim is not None
    assert prune(spool, max_age_days=1, max_cache_mb=50).events == 0
    claim.release()


def test_stale_temp_files_are_cleaned(tmp_path: Path) -> None:
    """Temp files of writers that died mid-write are removed after an hour."""
    spool = Spool(tmp_path)
    spool.ensure()
    stale = spool.tmp / "x.json.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    assert spool.clean_tmp() == 1 and not stale.exists()


def test_symlinked_cache_owned_by_us_is_followed(tmp_path: Path) -> None:
    """A cache path that is our own symlink to our own folder works."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    Spool(link).write([ev(1)])
    assert len(os.listdir(real / "pending")) == 1
