"""``shipper.testing.capture()``: the events a block recorded, as the destination would get
them, with no network and no disk, for the tests of programs that use shipper."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import shipper
from shipper import AsyncShipper, Shipper
from shipper._event import capture_sinks
from shipper.testing import capture

from .conftest import FakeClock, child_env
from .mockcollector import MockCollector

URL = "http://collector.test"


async def test_every_recording_path_is_captured_and_nothing_leaves(
        cache_dir: Path, clock: FakeClock) -> None:
    """Shipper, AsyncShipper and shipper.track inside the block: every event is in the
    list, in order, with its id; no request is made, no file or folder is written."""
    mock = MockCollector()
    with capture() as events:
        with Shipper(endpoint=URL, transport=mock.transport) as s:
            first = s.track("sync.event", {"n": 1})
        async with AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock,
                                sleep=clock.sleep) as a:
            second = a.identify("user-1", {"plan": "pro"})
            await a.flush()
        third = shipper.track("oneshot.event", endpoint=URL)
    assert [e["id"] for e in events] == [first, second, third]
    assert [e["event"] for e in events] == ["sync.event", "$identify", "oneshot.event"]
    assert events[0]["properties"] == {"n": 1}
    assert mock.requests == []
    assert not cache_dir.exists()
    assert capture_sinks == []


def test_events_are_translated_for_the_configured_destination() -> None:
    """Each event is what its client's destination would receive: a Segment item, a PostHog
    event, an OTLP log record, a ClickHouse row, a native event for a webhook, and for the
    console what it shows (as console_as would send it)."""
    with capture(anonymous_id="anon-1") as events:
        for kind in ("segment", "posthog", "otlp", "clickhouse", "webhook"):
            with Shipper(destination=kind, endpoint=URL) as s:
                s.track("clicked", {"button": "ok"})
        with Shipper(destination="segment", endpoint=URL) as s:
            s.alias("user-1", "anon-1")
        with Shipper(destination="console", console_as="posthog") as s:
            s.identify("user-1", {"plan": "pro"})
    segment, posthog, otlp, clickhouse, webhook, alias, console = events
    assert segment["type"] == "track" and segment["anonymousId"] == "anon-1"
    assert segment["properties"] == {"button": "ok"}
    assert posthog["distinct_id"] == "anon-1" and posthog["properties"]["button"] == "ok"
    assert otlp["eventName"] == "clicked"
    assert clickhouse["event"] == "clicked" and clickhouse["properties"] == '{"button":"ok"}'
    assert webhook["event"] == "clicked" and webhook["properties"] == {"button": "ok"}
    assert alias["type"] == "alias" and alias["previousId"] == "anon-1"
    assert console["event"] == "$identify" and console["$set"] == {"plan": "pro"}


async def test_events_from_threads_and_tasks_started_in_the_block_are_captured() -> None:
    """Recording happens in the call, on the caller's thread: events from other threads
    (plain, pooled) and asyncio tasks all reach the open capture, none lost."""
    s = Shipper(endpoint=URL)
    with capture() as events:
        threads = [threading.Thread(target=lambda i=i: s.track("thread", {"i": i}))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: shipper.track("pool", {"i": i}), range(8)))
        await asyncio.gather(*(asyncio.to_thread(s.track, "to_thread") for _ in range(4)),
                             *(asyncio.create_task(_track_soon(s)) for _ in range(4)))
    s.close()
    names = sorted(e["event"] for e in events)
    assert names == ["pool"] * 8 + ["task"] * 4 + ["thread"] * 8 + ["to_thread"] * 4


async def _track_soon(s: Shipper) -> None:
    await asyncio.sleep(0)
    s.track("task")


def test_nested_blocks_each_get_what_was_recorded_inside_them() -> None:
    """An event recorded in an inner block is in the inner list and in the outer one."""
    with Shipper(endpoint=URL) as s, capture() as outer:
        s.track("before")
        with capture() as inner:
            s.track("inside")
        s.track("after")
    assert [e["event"] for e in outer] == ["before", "inside", "after"]
    assert [e["event"] for e in inner] == ["inside"]


async def test_after_the_block_delivery_is_as_before(clock: FakeClock) -> None:
    """Once the block is closed the same client delivers again, and nothing of the block is
    delivered after it."""
    mock = MockCollector()
    async with AsyncShipper(endpoint=URL, transport=mock.transport, clock=clock,
                            sleep=clock.sleep) as s:
        with capture() as events:
            s.track("captured")
        delivered = s.track("delivered")
        await s.flush()
    assert [e["event"] for e in events] == ["captured"]
    assert mock.ids == [delivered]


def test_before_send_and_limits_apply_and_a_disabled_client_records_nothing() -> None:
    """What before_send drops, an event over the size limit and a disabled client's events
    are not captured: the capture shows what would really be sent."""
    with capture() as events:
        with Shipper(endpoint=URL, before_send=lambda e: None if e["event"] == "x" else e,
                     max_event_bytes=1024) as s:
            s.track("x")
            s.track("big", {"blob": "b" * 4096})
            s.track("kept")
        with Shipper(endpoint=URL, disabled=True) as off:
            off.track("off")
    assert [e["event"] for e in events] == ["kept"]


def test_an_event_the_destination_cannot_translate_is_refused_as_delivery_would(
        tmp_path: Path) -> None:
    """As real delivery does (the call returns the id; that event alone dead-lettered with
    the reason; the rest delivered), an event its destination fails to translate is
    recorded, left out of the list and named in its ``refused``, with the reason; in a
    process of its own: nothing printed, no drops.json or any file written."""
    code = """if True:
        import os, shipper
        from shipper.testing import capture

        def broken(event):
            event["context"] = "not a dict"
            return event

        with capture() as events:
            with shipper.Shipper(destination="posthog", api_key="k", before_send=broken,
                                 endpoint="http://127.0.0.1:9") as s:
                ids = [s.track("bad")]
            ids.append(shipper.track("bad2", destination="posthog", api_key="k",
                                     endpoint="http://127.0.0.1:9", before_send=broken))
            ids.append(shipper.track("good", endpoint="http://127.0.0.1:9"))
        assert all(ids), ids
        assert [e["event"] for e in events] == ["good"] and events[0]["id"] == ids[2]
        assert [r["id"] for r in events.refused] == ids[:2], events.refused
        assert [r["event"] for r in events.refused] == ["bad", "bad2"]
        for refused in events.refused:
            assert refused["destination"] == "posthog"
            assert refused["reason"].startswith("cannot be translated for posthog: "), refused
            assert refused["native"]["context"] == "not a dict"
        print(os.path.exists(os.environ["SHIPPER_CACHE_DIR"]))
    """
    cache = tmp_path / "cache"
    out = subprocess.run([sys.executable, "-c", code], env=child_env(cache),
                         capture_output=True, text=True, timeout=60, check=False)
    assert (out.returncode, out.stdout, out.stderr) == (0, "False\n", "")
    assert not cache.exists()


def test_a_client_made_inside_the_block_starts_no_delivery() -> None:
    """A client entered inside the block starts no thread (nothing to deliver; no disk, no
    network); it delivers as usual when used after the block."""
    before = {t.ident for t in threading.enumerate()}
    with capture(), Shipper(endpoint=URL, transport=httpx.MockTransport(
            lambda r: httpx.Response(200))) as s:
        s.track("e")
        started = [t for t in threading.enumerate()
                   if t.ident not in before and t.name == "shipper"]
        assert started == []


def test_capture_is_shipper_testing_and_costs_a_program_nothing(tmp_path: Path) -> None:
    """`import shipper` makes shipper.testing.capture available; a program that never
    opens a capture does not import the module at all."""
    assert shipper.testing.capture is capture
    code = ("import sys, shipper; shipper.track('x'); "
            "print('shipper.testing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=child_env(tmp_path / "c"),
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
