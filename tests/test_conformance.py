"""Segment and PostHog destinations send what the official SDKs send.

The official SDKs (segment-analytics-python, posthog) are the reference, not a hand-written
fixture: each is pointed at a recording receiver on loopback, shipper at another, for the
same calls; the requests must agree in path, auth header form, body keys, and each item's
keys and JSON types.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from shipper import Shipper

from .conftest import Receiver


@pytest.fixture
def receivers(tmp_path: Path) -> tuple[Path, Path]:
    """Work folders for two receivers of one kind: the official SDK's and shipper's."""
    (tmp_path / "sdk").mkdir()
    (tmp_path / "shipper").mkdir()
    return tmp_path / "sdk", tmp_path / "shipper"


def start(workdir: Path, kind: str) -> Receiver:
    r = Receiver(workdir, kind)
    r.start()
    return r


def json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}[type(value)]


def shape(item: dict[str, Any]) -> dict[str, str]:
    return {key: json_type(value) for key, value in item.items()}


def only_request(r: Receiver) -> tuple[dict[str, Any], dict[str, Any]]:
    requests = [q for q in r.requests() if q["method"] == "POST"]
    assert requests, "nothing was sent"
    items = [i for q in requests for i in json.loads(q["body"])["batch"]]
    first = requests[0]
    return first, {"body": json.loads(first["body"]), "items": items}


def test_segment_items_match_the_official_sdk(receivers: tuple[Path, Path]) -> None:
    """Same path, Basic auth form, body keys, and item keys and types as Segment's SDK, for
    an identified and an anonymous track call."""
    from segment.analytics import Client

    sdk_dir, ours_dir = receivers
    sdk, ours = start(sdk_dir, "segment"), start(ours_dir, "segment")
    try:
        official = Client("wk-123", host=sdk.url, sync_mode=True)
        official.track(user_id="user-42", event="report.generated",
                       properties={"pages": 12, "ok": True})
        official.track(anonymous_id="anon-1", event="cli.run", properties={"n": 1})
        with Shipper(destination="segment", endpoint=ours.url, api_key="wk-123",
                     user_id="user-42") as s:
            s.track("report.generated", {"pages": 12, "ok": True})
        with Shipper(destination="segment", endpoint=ours.url, api_key="wk-123") as s:
            s.track("cli.run", {"n": 1})
        sdk_request, sdk_doc = only_request(sdk)
        our_request, our_doc = only_request(ours)
    finally:
        sdk.stop()
        ours.stop()
    assert our_request["path"] == sdk_request["path"] == "/v1/batch"
    for request in (sdk_request, our_request):
        auth = request["headers"]["authorization"]
        assert auth == "Basic " + base64.b64encode(b"wk-123:").decode()
        assert request["headers"]["content-type"] == "application/json"
    assert set(our_doc["body"]) == set(sdk_doc["body"])
    sdk_items, our_items = sdk_doc["items"], our_doc["items"]
    for mine, theirs in zip(our_items, sdk_items, strict=True):
        assert shape(mine) == shape(theirs)
        assert shape(mine["context"]["library"]) == shape(theirs["context"]["library"])
        assert mine["event"] == theirs["event"] and mine["properties"] == theirs["properties"]
    assert our_items[0]["userId"] == "user-42" and our_items[1]["anonymousId"]


def test_posthog_items_match_the_official_sdk(receivers: tuple[Path, Path]) -> None:
    """Same path, key in the body, body keys, and item keys and types as PostHog's SDK."""
    from posthog import Posthog

    sdk_dir, ours_dir = receivers
    sdk, ours = start(sdk_dir, "posthog"), start(ours_dir, "posthog")
    try:
        official = Posthog("phc_key", host=sdk.url, sync_mode=True)
        official.capture("report.generated", distinct_id="user-42",
                         properties={"pages": 12, "ok": True})
        official.shutdown()
        with Shipper(destination="posthog", endpoint=ours.url, api_key="phc_key",
                     user_id="user-42") as s:
            s.track("report.generated", {"pages": 12, "ok": True})
        sdk_request, sdk_doc = only_request(sdk)
        our_request, our_doc = only_request(ours)
    finally:
        sdk.stop()
        ours.stop()
    assert our_request["path"] == sdk_request["path"] == "/batch/"
    for request, doc in ((sdk_request, sdk_doc), (our_request, our_doc)):
        assert "authorization" not in request["headers"]
        assert doc["body"]["api_key"] == "phc_key"
    assert set(our_doc["body"]) == set(sdk_doc["body"])
    (mine,), (theirs,) = our_doc["items"], sdk_doc["items"]
    assert shape(mine) == shape(theirs)
    assert mine["distinct_id"] == theirs["distinct_id"] == "user-42"
    for key in ("pages", "ok", "$lib", "$lib_version"):
        assert json_type(mine["properties"][key]) == json_type(theirs["properties"][key])


def test_segment_identify_group_and_alias_match_the_official_sdk(
        receivers: tuple[Path, Path]) -> None:
    """identify, group and alias reach a Segment-compatible API as the items Segment's own
    SDK sends for those calls: same types, keys, JSON types and values."""
    from segment.analytics import Client

    sdk_dir, ours_dir = receivers
    sdk, ours = start(sdk_dir, "segment"), start(ours_dir, "segment")
    try:
        official = Client("wk-123", host=sdk.url, sync_mode=True)
        official.identify(user_id="user-42", traits={"email": "ada@example.com", "age": 36})
        official.group(user_id="user-42", group_id="acme", traits={"name": "Acme", "seats": 5})
        official.alias(previous_id="anon-7", user_id="user-42")
        with Shipper(destination="segment", endpoint=ours.url, api_key="wk-123") as s:
            s.identify("user-42", {"email": "ada@example.com", "age": 36})
            s.group("acme", {"name": "Acme", "seats": 5}, user_id="user-42")
            s.alias("user-42", "anon-7")
        _, sdk_doc = only_request(sdk)
        _, our_doc = only_request(ours)
    finally:
        sdk.stop()
        ours.stop()
    sdk_items, our_items = sdk_doc["items"], our_doc["items"]
    assert [i["type"] for i in our_items] == [i["type"] for i in sdk_items] == [
        "identify", "group", "alias"]
    for mine, theirs in zip(our_items, sdk_items, strict=True):
        assert shape(mine) == shape(theirs), mine["type"]
        assert shape(mine["context"]["library"]) == shape(theirs["context"]["library"])
        for key in ("traits", "groupId", "previousId", "userId", "anonymousId"):
            assert mine.get(key) == theirs.get(key), (mine["type"], key)


def test_posthog_identify_group_and_alias_match_the_official_sdk(
        receivers: tuple[Path, Path]) -> None:
    """identify, group and alias reach PostHog as posthog-python sends its person call
    (``set``: the traits in a top-level ``$set``, here named ``$identify``),
    ``group_identify`` (``$groupidentify``) and ``alias`` (``$create_alias``): same keys,
    JSON types and values."""
    from posthog import Posthog

    sdk_dir, ours_dir = receivers
    sdk, ours = start(sdk_dir, "posthog"), start(ours_dir, "posthog")
    try:
        official = Posthog("phc_key", host=sdk.url, sync_mode=True)
        official.set(distinct_id="user-42", properties={"email": "ada@example.com"})
        official.group_identify("company", "acme", {"name": "Acme"}, distinct_id="user-42")
        official.alias(previous_id="anon-7", distinct_id="user-42")
        official.shutdown()
        with Shipper(destination="posthog", endpoint=ours.url, api_key="phc_key") as s:
            s.identify("user-42", {"email": "ada@example.com"})
            s.group("acme", {"name": "Acme"}, user_id="user-42")
            s.alias("user-42", "anon-7")
        _, sdk_doc = only_request(sdk)
        _, our_doc = only_request(ours)
    finally:
        sdk.stop()
        ours.stop()
    sdk_items, our_items = sdk_doc["items"], our_doc["items"]
    assert [i["event"] for i in sdk_items] == ["$set", "$groupidentify", "$create_alias"]
    assert [i["event"] for i in our_items] == ["$identify", "$groupidentify", "$create_alias"]
    for mine, theirs in zip(our_items, sdk_items, strict=True):
        assert shape(mine) == shape(theirs), mine["event"]
        assert mine["distinct_id"] == theirs["distinct_id"], mine["event"]
        assert mine.get("$set") == theirs.get("$set")
        for key, value in theirs["properties"].items():
            if key.startswith("$group") or key in ("distinct_id", "alias"):
                assert mine["properties"][key] == value, (mine["event"], key)
            elif key in ("$lib", "$lib_version"):
                assert json_type(mine["properties"][key]) == json_type(value)
