"""Who did it, per call: ``user_id`` on track, and identify, group and alias, kept as native
events of their own names and sent as each destination's own kind of call (the official
SDKs' requests are compared in test_conformance.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import shipper
from shipper import AsyncShipper, Settings, Shipper
from shipper._destinations._base import Unsendable
from shipper._destinations._otlp import Otlp
from shipper._destinations._posthog import PostHog
from shipper._destinations._segment import Segment

from .conftest import FakeClock, events_on_disk
from .mockcollector import MockCollector

URL = "http://collector.test"


def received(mock: MockCollector) -> list[dict[str, Any]]:
    """Every event the mock collector accepted, in order."""
    events: list[dict[str, Any]] = []

    def keep(batch: list[dict[str, Any]]) -> None:
        events.extend(batch)

    mock.on_batch = keep  # type: ignore[assignment]  # returns None: accepted
    return events


def client(mock: MockCollector, clock: FakeClock, **kw: Any) -> AsyncShipper:
    return AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock,
                        sleep=clock.sleep, **kw)


async def test_user_id_on_track_overrides_the_setting_for_that_event(clock: FakeClock) -> None:
    """track(user_id=...) is that event's user, over the user_id setting and over a user_id
    in its context; events without it keep the setting's."""
    mock = MockCollector()
    events = received(mock)
    async with client(mock, clock, user_id="configured") as s:
        s.track("a")
        s.track("b", user_id="user-2")
        s.track("c", context={"user_id": "ctx"}, user_id=42)
        s.track("d", context={"user_id": "ctx"})
        await s.flush()
    assert [e["context"]["user_id"] for e in events] == ["configured", "user-2", "42", "ctx"]


def test_shipper_track_takes_a_user_id(cache_dir: Path) -> None:
    """shipper.track(user_id=...) keeps the user in the event on disk (a UUID as its text)."""
    who = uuid.UUID(int=7)
    assert shipper.track("cli.run", user_id=who) is not None
    (event,) = events_on_disk(cache_dir)
    assert event["context"]["user_id"] == str(who)


async def test_identify_group_and_alias_are_native_events_of_those_names(
        clock: FakeClock) -> None:
    """Each call is one native event ($identify, $group, $alias): the user in
    context.user_id, what the call carries in its properties under $-names."""
    mock = MockCollector()
    events = received(mock)
    async with client(mock, clock, user_id="configured") as s:
        ids = [s.identify("user-1", {"email": "ada@example.com"}),
               s.group("acme", {"seats": 5}, group_type="company"),
               s.group(99, user_id="user-1"),
               s.alias("user-1", "anon-7")]
        await s.flush()
    assert [e["id"] for e in events] == ids
    identify, group, group2, alias = events
    assert identify["event"] == "$identify"
    assert identify["properties"] == {"$traits": {"email": "ada@example.com"}}
    assert identify["context"]["user_id"] == "user-1"
    assert group["event"] == "$group" and group["context"]["user_id"] == "configured"
    assert group["properties"] == {"$group_id": "acme", "$traits": {"seats": 5},
                                   "$group_type": "company"}
    assert group2["properties"] == {"$group_id": "99", "$traits": {}}
    assert group2["context"]["user_id"] == "user-1"
    assert alias["event"] == "$alias" and alias["context"]["user_id"] == "user-1"
    assert alias["properties"] == {"$previous_id": "anon-7"}


@pytest.mark.parametrize("call", [
    lambda s: s.identify(""),
    lambda s: s.identify(None),
    lambda s: s.identify("u", ["not", "a", "dict"]),
    lambda s: s.group(None),
    lambda s: s.group("g", user_id={"id": 1}),
    lambda s: s.alias("u", ""),
    lambda s: s.alias(True, "p"),
    lambda s: s.track("e", user_id=""),
])
def test_a_call_without_a_real_id_is_dropped_and_counted(call: Any) -> None:
    """A call whose id is no id (empty, None, a bool, a dict) or whose traits are no dict
    returns None, raises nothing, sends nothing, and is counted as invalid."""
    with Shipper(endpoint=URL) as s:
        assert call(s) is None
        assert s.stats()["dropped"] == {"invalid": 1}
        assert s.stats()["tracked"] == 0


def test_calls_after_close_go_to_disk(cache_dir: Path) -> None:
    """identify, group and alias after close are kept on disk, like track."""
    s = Shipper(endpoint=URL, start_sync=lambda *a: None)
    s.close()
    assert s.identify("u", {"a": 1}) is not None
    assert s.group("g") is not None
    assert s.alias("u", "p") is not None
    names = sorted(e["event"] for e in events_on_disk(cache_dir))
    assert names == ["$alias", "$group", "$identify"]


def native(event: str, properties: dict[str, Any], user: str | None = None) -> bytes:
    context: dict[str, Any] = {"library": {"name": "shipper", "version": "0"}}
    if user is not None:
        context["user_id"] = user
    return json.dumps({"id": "01a20756-0ae3-7c1a-9f2d-3b1e5a6c7d8e", "event": event,
                       "timestamp": "2026-11-23T07:36:49.123Z", "properties": properties,
                       "context": context}).encode()


def test_otlp_sends_the_calls_as_events_of_their_names() -> None:
    """OTLP has no identify: the events go as log records named $identify, $group and
    $alias, the traits as a kvlist attribute and the user as user.id."""
    otlp = Otlp(Settings(destination="otlp", endpoint=URL))
    records = otlp.translate([native("$identify", {"$traits": {"plan": "pro"}}, "u1"),
                              native("$group", {"$group_id": "g"}),
                              native("$alias", {"$previous_id": "p"}, "u1")], 0.0)
    assert [r["eventName"] for r in records] == ["$identify", "$group", "$alias"]
    attrs = {a["key"]: a["value"] for a in records[0]["attributes"]}
    assert attrs["user.id"] == {"stringValue": "u1"}
    assert attrs["$traits"] == {"kvlistValue": {"values": [
        {"key": "plan", "value": {"stringValue": "pro"}}]}}


@pytest.mark.parametrize("kind", [Segment, PostHog])
@pytest.mark.parametrize("raw", [
    native("$alias", {"$previous_id": "p"}),          # no user
    native("$alias", {}, "u"),                        # no previous id
    native("$group", {"$traits": {}}, "u"),           # no group id
    native("$identify", {"$traits": {}}),             # no user
])
def test_a_call_event_a_destination_cannot_send_is_refused_alone(kind: Any, raw: bytes) -> None:
    """A $-event missing what its call needs (one written by hand, say) cannot be sent as
    that call: it is refused by itself (Unsendable names it), never sent as something else."""
    destination = kind(Settings(destination=kind.kind, endpoint=URL), "anon")
    with pytest.raises(Unsendable) as refused:
        destination.translate([native("ok", {}), raw], 0.0)
    assert refused.value.index == 1


def test_the_other_properties_of_a_call_go_where_each_destination_keeps_them() -> None:
    """Properties beside what a call carries (the properties setting) reach PostHog with
    the event, as posthog-python's super properties do; Segment's identify has no place for
    them and its traits stay the caller's."""
    raw = native("$identify", {"$traits": {"plan": "pro"}, "env": "prod"}, "u1")
    (item,) = PostHog(Settings(destination="posthog", endpoint=URL), "a").translate([raw], 0)
    assert item["$set"] == {"plan": "pro"} and item["properties"]["env"] == "prod"
    (item,) = Segment(Settings(destination="segment", endpoint=URL), "a").translate([raw], 0)
    assert item["traits"] == {"plan": "pro"} and "properties" not in item
