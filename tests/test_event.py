"""The event encoder, ids and timestamps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper._event import build_event, encode_stdlib, fast_encoder, rfc3339_ms, sanitize, uuid7

ENCODERS = [pytest.param(encode_stdlib, id="stdlib")]
if fast_encoder() is not encode_stdlib:  # orjson is installed: as a long-running client does
    ENCODERS.append(pytest.param(fast_encoder(), id="orjson"))

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


class HostileRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_uuid7_has_version_variant_and_time_order() -> None:
    """Ids are UUIDv7 strings whose leading bits sort by creation millisecond."""
    a = uuid7(now_ms=1_000)
    b = uuid7(now_ms=2_000)
    assert UUID7.match(a) and UUID7.match(b)
    assert uuid.UUID(a).version == 7
    assert a < b
    assert int(a.replace("-", "")[:12], 16) == 1_000


def test_a_forked_child_never_reuses_its_parents_random_bits() -> None:
    """Random bits are drawn 400 ids at a time; a forked child draws its own: its next id
    differs from the parent's next one made in the same millisecond."""
    import os

    uuid7()  # the parent holds bits drawn for later ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, uuid7(0).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    assert len(child) == 36 and child != uuid7(0)


def test_threads_never_share_random_bits() -> None:
    """Ids made by many threads at once, in the same millisecond, are all different."""
    import threading

    made: list[list[str]] = []

    def work() -> None:
        made.append([uuid7(0) for _ in range(3000)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in made for i in batch]
    assert len(ids) == len(set(ids)) == 24_000


def test_uuid7_is_unique_within_one_millisecond() -> None:
    """Random bits keep ids distinct even when many share a millisecond."""
    ids = {uuid7(now_ms=5) for _ in range(10_000)}
    assert len(ids) == 10_000


def test_timestamp_is_rfc3339_utc_with_milliseconds() -> None:
    """Timestamps look like 2026-11-23T07:36:49.123Z."""
    assert rfc3339_ms(0.0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339_ms(1_795_000_000.1234) == "2026-11-18T11:06:40.123Z"


def test_build_event_has_contract_shape() -> None:
    """An event carries id, name, timestamp, properties and the library context."""
    event_id, raw = build_event("signup", {"plan": "pro"}, {"app": "x"})
    doc = json.loads(raw)
    assert doc["id"] == event_id and UUID7.match(event_id)
    assert doc["event"] == "signup"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", doc["timestamp"])
    assert doc["properties"] == {"plan": "pro"}
    assert doc["context"]["app"] == "x"
    assert doc["context"]["library"]["name"] == "shipper"


def test_build_event_accepts_datetime_and_epoch_timestamps() -> None:
    """A given timestamp (datetime or epoch seconds) is normalised to UTC."""
    aware = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert json.loads(build_event("e", timestamp=aware)[1])["timestamp"].startswith(
        "2026-01-02T01:04:05.678")
    assert json.loads(build_event("e", timestamp=0)[1])["timestamp"] == "1970-01-01T00:00:00.000Z"


def test_every_given_time_is_written_as_rfc3339_utc_with_milliseconds() -> None:
    """Naive and aware datetimes and dates all become ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    naive = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
    day = dt.date(2026, 1, 2)
    for when, expected in [
        (naive, naive.astimezone(dt.timezone.utc)),  # naive is local time, as Python reads it
        (day, dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)),
    ]:
        stamp = json.loads(build_event("e", timestamp=when)[1])["timestamp"]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", stamp)
        assert stamp == expected.strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{expected.microsecond // 1000:03d}Z"


@pytest.mark.parametrize("dumps", ENCODERS)
def test_awkward_values_become_json(dumps: Callable[[object], bytes]) -> None:
    """datetime, Decimal, UUID, Path, Enum, dataclass, set, bytes and NaN all encode."""
    value = {
        "when": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        "day": dt.date(2026, 1, 1),
        "price": decimal.Decimal("1.50"),
        "id": uuid.UUID(int=1),
        "path": Path("/tmp/x"),
        "pure": PurePosixPath("a/b"),
        "color": Color.RED,
        "point": Point(1, math.nan),
        "tags": {"b", "a"},
        "blob": b"\xff\x00ok",
        "nan": math.nan,
        "inf": -math.inf,
        "bad": HostileRepr(),
        1: "int key",
        (1, 2): "tuple key",
    }
    doc = json.loads(dumps(value))
    assert doc["when"] == "2026-01-01T00:00:00Z"
    assert doc["day"] == "2026-01-01"
    assert doc["price"] == 1.5
    assert doc["id"] == "00000000-0000-0000-0000-000000000001"
    assert doc["path"] == "/tmp/x" and doc["pure"] == "a/b"
    assert doc["color"] == "red"
    assert doc["point"] == {"x": 1, "y": None}
    assert doc["tags"] == ["a", "b"]
    assert doc["blob"] == "\\xff\x00ok"
    assert doc["nan"] is None and doc["inf"] is None
    assert doc["bad"] == "<unrepresentable HostileRepr>"
    assert doc["1"] == "int key"
    assert doc["(1, 2)"] == "tuple key"


@pytest.mark.parametrize("dumps", ENCODERS)
def test_cycles_are_cut_not_followed(dumps: Callable[[object], bytes]) -> None:
    """A self-referencing structure encodes with a marker instead of recursing forever."""
    a: dict[str, object] = {"name": "a"}
    a["self"] = a
    items: list[object] = [1]
    items.append(items)
    doc = json.loads(dumps({"a": a, "items": items}))
    assert doc["a"]["self"] == "<cycle>"
    assert doc["items"] == [1, "<cycle>"]


@pytest.mark.parametrize("dumps", ENCODERS)
def test_deep_nesting_is_bounded(dumps: Callable[[object], bytes]) -> None:
    """Nesting deeper than the limit is cut with a marker, not a RecursionError."""
    value: object = "leaf"
    for _ in range(5000):
        value = [value]
    assert b"<max depth>" in dumps(value)


json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
odd_leaves = st.sampled_from([
    dt.date(2020, 1, 1), decimal.Decimal("NaN"), decimal.Decimal("1e400"), uuid.UUID(int=7),
    Path("p"), Color.RED, Point(1, 2.0), frozenset({1, "a"}),
    dt.timedelta(seconds=3), complex(1, 2), range(3),
]) | st.builds(HostileRepr) | st.builds(object)
values = st.recursive(
    json_leaves | odd_leaves,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text() | st.integers() | st.none() | st.floats(), children, max_size=5)
    | st.tuples(children, children)
    | st.sets(st.integers(), max_size=3),
    max_leaves=40,
)


@pytest.mark.parametrize("dumps", ENCODERS)
@settings(max_examples=300, deadline=None)
@given(value=values)
def test_any_value_encodes_to_valid_json_without_raising(dumps: Callable[[object], bytes],
                                                         value: object) -> None:
    """Whatever a caller passes, each encoder returns valid JSON with no NaN or Infinity."""
    text = dumps(value)
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


@pytest.mark.parametrize("dumps", ENCODERS)
def test_lone_surrogates_and_huge_ints_encode(dumps: Callable[[object], bytes]) -> None:
    """Strings with lone surrogates and integers past 64 bits still encode."""
    doc = json.loads(dumps({"s": "a\udc80b", "big": 2**100}))
    assert doc["big"] == 2**100 and doc["s"].startswith("a")


@settings(max_examples=200, deadline=None)
@given(values, values)
def test_build_event_never_raises(props: object, ctx: object) -> None:
    """build_event yields a parseable event for any properties and context."""
    event_id, raw = build_event("e", props, ctx)  # type: ignore[arg-type]
    assert json.loads(raw)["id"] == event_id


def test_sanitize_keeps_plain_values() -> None:
    """Plain JSON values pass through sanitize unchanged."""
    plain = {"a": [1, 2.5, "x", None, True], "b": {"c": "d"}}
    assert sanitize(plain) == plain
