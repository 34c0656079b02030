"""Whatever a caller passes, the event is kept: a value that cannot be written replaces
itself alone, a time that cannot be written becomes now, keys written alike stay apart."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

import shipper
from shipper import Shipper
from shipper._event import build_event, fast_encoder

from .conftest import (
    Collector,
    pending_events,
)

pytestmark = pytest.mark.chaos


def test_one_unrepresentable_value_spoils_only_itself(collector: Collector,
                                                      cache_dir: Path) -> None:
    """A property that cannot be written (an integer of 5,000 digits) becomes a marker; the
    event and the events spilled beside it are delivered whole."""
    with Shipper(shutdown_timeout=0.2) as s:  # no endpoint: kept for the first sync
        ids = [s.track("good", {"i": i}) for i in range(10)]
        bad = s.track("bad", {"n": 10**5000, "ok": 1})
    assert pending_events(cache_dir) == 11
    shipper.sync(60, endpoint=collector.url)
    received = {e["id"]: e for e in collector.events()}
    assert set(received) == {*ids, bad}
    assert received[bad]["properties"] == {"n": "<int of about 5001 digits>", "ok": 1}


class Hostile:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("no attributes here")

    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        raise RuntimeError("no class either")


@pytest.mark.parametrize("timestamp", [1e20, 10**400, -1e30, float("nan"), "hostile"],
                         ids=["1e20", "10**400", "-1e30", "nan", "hostile"])
def test_a_bad_timestamp_keeps_the_event(timestamp: object) -> None:
    """A time that cannot be written is replaced by now; the event is kept."""
    if timestamp == "hostile":
        timestamp = Hostile()
    before = time.time()
    _, raw = build_event("e", {"x": 1}, timestamp=timestamp)
    doc = json.loads(raw)
    assert doc["properties"] == {"x": 1}
    assert doc["timestamp"] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before - 1))


def test_hostile_values_and_colliding_keys_spoil_nothing_else() -> None:
    """An object whose attributes or class raise becomes its repr; None and NaN keys stay
    apart; 1 and "1" both keep their values."""
    for encode in (None, fast_encoder()):
        kwargs = {} if encode is None else {"encode": encode}
        _, raw = build_event("e", {"h": Hostile(), None: 1, math.nan: 2, 1: "a", "1": "b",
                                   "ok": True}, **kwargs)
        props = json.loads(raw)["properties"]
        assert props["ok"] is True and isinstance(props["h"], str)
        assert props["null"] == 1 and props["NaN"] == 2
        assert sorted(v for k, v in props.items() if k.startswith("1")) == ["a", "b"]
