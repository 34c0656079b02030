"""Delivery policy: retry, split on 413, bisect on 400, stop on configuration errors."""

from __future__ import annotations

import json

from shipper._clock import Deadline
from shipper._deliver import (
    ACCEPTED,
    CONFIG,
    MAX_REFUSALS,
    REFUSED,
    TOO_LARGE,
    TRANSIENT,
    Answer,
    Event,
    deliver,
    first_batch,
)
from shipper._destinations._base import Reply, answer_for_status
from shipper._destinations._native import batch_body

from .conftest import FakeClock


def events(n: int, bad: set[int] | None = None) -> list[Event]:
    out = []
    for i in range(n):
        doc = {"id": f"id-{i}", "event": "e", "properties": {"refuse": i in (bad or set())}}
        out.append((f"id-{i}", json.dumps(doc).encode()))
    return out


class Collector:
    """A scripted post(): answers from a list, then applies rules to each batch."""

    def __init__(self, script: list[Answer] | None = None, max_events: int | None = None):
        self.script = list(script or [])
        self.max_events = max_events
        self.batches: list[list[str]] = []
        self.accepted: list[list[str]] = []

    async def post(self, raw: list[bytes]) -> Answer:
        docs = [json.loads(r) for r in raw]
        self.batches.append([d["id"] for d in docs])
        if self.script:
            return self.script.pop(0)
        if self.max_events is not None and len(docs) > self.max_events:
            return Answer(TOO_LARGE, 413)
        if any(d["properties"]["refuse"] for d in docs):
            return Answer(REFUSED, 400, detail="HTTP 400: bad event")
        self.accepted.append([d["id"] for d in docs])
        return Answer(ACCEPTED, 200)


async def run(c: Collector, evs: list[Event], clock: FakeClock, *, attempts: int = 3,
              budget: float = 1e9, on_failure: object = None):  # type: ignore[no-untyped-def]
    kw = {} if on_failure is None else {"on_failure": on_failure}
    return await deliver(evs, c.post, attempts=attempts, sleep=clock.sleep,
                         deadline=Deadline.after(clock, budget), rand=lambda: 1.0, **kw)


async def test_accepted_batch_is_one_request(clock: FakeClock) -> None:
    """A healthy collector gets the whole batch in one request."""
    c = Collector()
    out = await run(c, events(10), clock)
    assert out.delivered == [f"id-{i}" for i in range(10)]
    assert len(c.batches) == 1 and out.remaining == [] and out.stopped_by is None


async def test_transient_errors_retry_with_backoff_then_succeed(clock: FakeClock) -> None:
    """503 then 429 are retried after backoff waits, and the batch then goes through."""
    c = Collector([Answer(TRANSIENT, 503), Answer(TRANSIENT, 429)])
    out = await run(c, events(3), clock)
    assert len(out.delivered) == 3 and out.retries == 2
    assert clock.slept == [0.5, 1.0]


async def test_retry_after_is_honoured(clock: FakeClock) -> None:
    """A Retry-After hint replaces the computed backoff: the wait is at least the hint
    (and, with the jitter at its top, RETRY_AFTER_SPREAD longer)."""
    from shipper._backoff import RETRY_AFTER_SPREAD

    c = Collector([Answer(TRANSIENT, 429, retry_after=7.0)])
    await run(c, events(1), clock)
    assert clock.slept == [7.0 * (1 + RETRY_AFTER_SPREAD)]


async def test_exhausted_retries_return_everything_remaining(clock: FakeClock) -> None:
    """After max attempts the batch comes back whole, in order, for spilling."""
    c = Collector([Answer(TRANSIENT, 500)] * 5)
    evs = events(4)
    out = await run(c, evs, clock, attempts=3)
    assert out.delivered == [] and out.remaining == evs
    assert out.stopped_by is not None and out.stopped_by.status == 500
    assert len(c.batches) == 3


async def test_no_wait_longer_than_the_time_left(clock: FakeClock) -> None:
    """A retry that would outlast the deadline stops instead of sleeping."""
    c = Collector([Answer(TRANSIENT, 503, retry_after=60.0)])
    out = await run(c, events(2), clock, budget=5.0)
    assert clock.slept == [] and len(out.remaining) == 2


async def test_breaker_opening_stops_retries(clock: FakeClock) -> None:
    """When on_failure says the breaker opened, delivery stops at once."""
    c = Collector([Answer(TRANSIENT, 503)] * 5)
    async def breaker_opened(answer: Answer) -> bool:
        return False

    out = await run(c, events(2), clock, on_failure=breaker_opened)
    assert len(c.batches) == 1 and len(out.remaining) == 2


async def test_413_splits_until_batches_fit(clock: FakeClock) -> None:
    """A batch too large is halved and resent until each half is accepted."""
    c = Collector(max_events=3)
    out = await run(c, events(10), clock)
    assert sorted(out.delivered) == sorted(f"id-{i}" for i in range(10))
    assert sorted(len(b) for b in c.accepted) == [2, 2, 3, 3]  # 10 -> 5 + 5 -> 2 + 3 each
    assert [len(b) for b in c.batches if len(b) > 3] == [10, 5, 5]  # each refused, then halved
    assert out.dead == []


async def test_400_bisects_to_the_refused_events(clock: FakeClock) -> None:
    """Only the refused events are dead-lettered; all others are delivered."""
    c = Collector()
    out = await run(c, events(16, bad={3, 11}), clock)
    assert sorted(e[0] for e, _ in out.dead) == ["id-11", "id-3"]
    assert len(out.delivered) == 14
    assert len(c.batches) < 16  # bisection, not one request per event


async def test_single_event_too_large_is_dead_lettered(clock: FakeClock) -> None:
    """An event the collector calls too large even alone goes to the dead letter."""
    c = Collector(max_events=0)
    out = await run(c, events(1), clock)
    assert [e[0] for e, _ in out.dead] == ["id-0"]


async def test_config_error_stops_and_keeps_everything(clock: FakeClock) -> None:
    """401 keeps every event (nothing dropped) and stops without retrying."""
    c = Collector([Answer(CONFIG, 401, detail="HTTP 401")])
    evs = events(5)
    out = await run(c, evs, clock)
    assert out.remaining == evs and out.dead == [] and len(c.batches) == 1


async def test_stop_midway_keeps_unsent_halves(clock: FakeClock) -> None:
    """When a split half fails for good, the halves not yet sent are returned too."""
    c = Collector([Answer(TOO_LARGE, 413), Answer(ACCEPTED, 200)] + [Answer(TRANSIENT, 503)] * 3)
    evs = events(8)
    out = await run(c, evs, clock)
    assert out.delivered == [f"id-{i}" for i in range(4)]
    assert out.remaining == evs[4:]


def classify(status: int) -> Answer:
    return answer_for_status(Reply(status, {}), not_found="no such path")


def test_classify_follows_the_wire_protocol() -> None:
    """Each status maps to the contract's outcome."""
    assert classify(202).kind == ACCEPTED
    for status in (408, 429, 500, 502, 503, 504):
        assert classify(status).kind == TRANSIENT
    assert classify(413).kind == TOO_LARGE
    assert classify(400).kind == REFUSED and classify(422).kind == REFUSED
    for status in (401, 403, 404, 405, 407, 301, 302, 307, 308):
        assert classify(status).kind == CONFIG


def test_a_redirect_keeps_the_events_and_says_where_it_points() -> None:
    """A 3xx (never followed) is the endpoint's fault, not the events': a configuration
    answer naming the Location, so a one-event batch is not dead-lettered."""
    answer = answer_for_status(Reply(301, {"location": "https://collector.example/v1/batch"}),
                               not_found="no such path")
    assert answer.kind == CONFIG and "https://collector.example/v1/batch" in answer.detail


def chunk_events(evs: list[Event], max_count: int, max_bytes: int) -> list[list[Event]]:
    """The batches a delivery takes one after another."""
    batches = []
    while evs:
        taken = first_batch(evs, max_count, max_bytes)
        batches.append(evs[:taken])
        evs = evs[taken:]
    return batches


def test_chunking_respects_count_and_bytes() -> None:
    """Batches hold at most batch_size events and about batch_bytes."""
    evs = events(25)
    assert [len(b) for b in chunk_events(evs, 10, 10**9)] == [10, 10, 5]
    size = len(evs[0][1]) + 1
    assert all(len(b) <= 3 for b in chunk_events(evs, 100, 3 * size))
    assert first_batch(evs, 0, 10**9) == first_batch(evs, 100, 0) == 1  # never none


def test_batch_body_embeds_events_verbatim() -> None:
    """The body is the contract's envelope around the events' own bytes."""
    body = json.loads(batch_body([b'{"id":"a"}', b'{"id":"b"}'], sent_at=0))
    assert body == {"batch": [{"id": "a"}, {"id": "b"}], "sent_at": "1970-01-01T00:00:00.000Z"}


async def test_a_receiver_refusing_everything_is_blamed_not_the_events(clock: FakeClock) -> None:
    """When nothing of a batch is accepted and more than one event is refused, the events
    are kept (not dead) and the delivery stops with a configuration answer."""
    c = Collector([Answer(REFUSED, 400, detail="HTTP 400: no")] * 100)
    failures: list[Answer] = []

    async def on_failure(answer: Answer) -> bool:
        failures.append(answer)
        return True

    evs = events(8)
    out = await run(c, evs, clock, on_failure=on_failure)
    assert out.dead == [] and out.remaining == evs and out.delivered == []
    assert out.stopped_by is not None and out.stopped_by.kind == CONFIG
    assert failures == [out.stopped_by]


async def test_bisection_is_bounded(clock: FakeClock) -> None:
    """However many events are refused among good ones, a delivery spends at most
    MAX_REFUSALS refused requests; what it did not resolve waits, nothing is lost."""
    c = Collector()
    evs = events(500, bad=set(range(0, 500, 7)))
    out = await run(c, evs, clock)
    refused_requests = len(c.batches) - len(c.accepted)
    assert refused_requests <= MAX_REFUSALS + 1
    settled = set(out.delivered) | {e[0] for e, _ in out.dead} | {e[0] for e in out.remaining}
    assert settled == {e[0] for e in evs} and out.remaining
    assert all(int(i.split("-")[1]) % 7 == 0 for (i, _), _ in out.dead)


async def test_a_named_row_is_refused_without_bisecting(clock: FakeClock) -> None:
    """A receiver that names the refused row (ClickHouse) spares the bisection: that event
    is dead, the rest is sent again at once."""
    c = Collector([Answer(REFUSED, 500, detail="at row 3", row=2)])
    out = await run(c, events(6), clock)
    assert [e[0] for e, _ in out.dead] == ["id-2"]
    assert sorted(out.delivered) == ["id-0", "id-1", "id-3", "id-4", "id-5"]
    assert len(c.batches) == 3
