"""The courier: health gate, breaker bookkeeping and delivery of memory or disk batches.

It joins the pieces that do I/O (the HTTP client, the spool, the shared state) to the pure
policy in `_deliver`, `_gate` and `_pace`, for one destination. Both the running clients and
``shipper sync`` use it. Every file operation (the shared state's lock included) runs in a
worker thread: the caller's event loop never blocks on a disk or on another process.

Every request waits for its turn: the end of a pause the collector asked for (Retry-After,
kept in the shared state, so it holds for every process of the machine) and the slot the
pace gives it (`_pace.Pace`: not limited normally; after an outage one small trial, then a
rate that grows while the collector keeps up and halves when it shows strain).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import httpx

from . import _log
from ._aio import Offload, offload
from ._cache._drops import add_drops
from ._cache._spool import Claim, Entry, ResourceShortage, Spool
from ._cache._state import SharedState
from ._deliver import (
    ACCEPTED,
    CONFIG,
    REFUSED,
    TOO_LARGE,
    TRANSIENT,
    Answer,
    Event,
    Outcome,
    deliver,
    first_batch,
)
from ._destinations._base import MAX_REASON, Unsendable, untranslatable
from ._gate import PROBE, SEND, decide, paused_until
from ._kinds import path_advice
from ._pace import START_RATE, Pace, asks_to_wait, shows_strain
from ._reasons import REFUSED_UNWRITABLE, REJECTED_BY_RECEIVER
from ._transport import ABSENT, probe, send

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Clock, Deadline
    from ._config import Settings
    from ._destinations._base import Destination
    from ._health import Snapshot

Sleep = Callable[[float], Awaitable[None]]

_DRAIN_IN_FLIGHT = 2  # groups of cache files on their way at once, where the pace allows
MAX_FILE_FAILURES = 3  # a pending file whose delivery failed this often goes to quarantine


@dataclass
class DrainResult:
    delivered: int = 0
    dead_lettered: int = 0
    files: int = 0
    stopped_by: str | None = None
    retries: int = 0
    failed_files: int = 0  # files whose delivery raised (a bug of ours), left for later


@dataclass
class _Files:
    """What one drain knows of the pending files: those to leave alone (held by another
    drain, or failing), those to try one by one (their group failed), and how many files in
    a row failed on their own."""

    skip: set[str] = field(default_factory=set)
    alone: set[str] = field(default_factory=set)
    failed_in_a_row: int = 0
    #: the pending files as last listed, oldest first: listed again only once none of them
    #: can be claimed (listing a large backlog for every group cost a drain a fifth of its
    #: time)
    listing: list[Entry] | None = None


class _GroupResult(NamedTuple):
    """What delivering one group of claimed files came to: its outcome, or the failure of
    ours that interrupted it."""

    claims: list[Claim]
    outcome: Outcome
    failure: Exception | None


@dataclass
class GateResult:
    open: bool
    why: str = ""
    probed: bool = False
    until: float | None = None  # closed by a pause the collector asked for: when it ends


class Courier:
    def __init__(
        self,
        settings: Settings,
        destination: Destination,
        spool: Spool,
        client: httpx.AsyncClient,
        *,
        clock: Clock,
        sleep: Sleep,
        rand: Callable[[], float] = random.random,
        offload: Offload = offload,
        give_way: Callable[[], None] | None = None,
    ) -> None:
        """``offload``: how blocking work (the shared state, the cache files) runs: in the
        thread pool, or at once where the loop has a thread of its own (`_aio.run_here`).
        ``give_way``: called between the slices of a batch's work (built; sent; answered):
        a client with a delivery thread of its own stands aside there for a recording
        caller."""
        self.settings = settings
        self.destination = destination
        self.spool = spool
        self.client = client
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.state = SharedState(spool.home, clock, threshold=settings.breaker_threshold,
                                 cooldown=settings.breaker_cooldown, ensure=spool.ensure,
                                 ttl=settings.health_ttl,
                                 probes=settings.health_path_or_default is not None,
                                 rand=rand)
        self.pace = Pace()
        self.give_way: Callable[[], None] = give_way or _nothing
        self.offload: Offload = offload
        self._next_slot = float("-inf")  # monotonic time the pace lets the next request go
        self._pause_until = float("-inf")  # the last pause seen in the shared state
        self._auth_logged = False
        self._absent_logged = False
        self._prepared = False  # the destination's setup (ClickHouse's table) is done
        self._setup_refusal_logged = False
        limit = destination.max_batch_events
        self.batch_count = min(settings.batch_size, limit or settings.batch_size)
        # each claimed file holds a descriptor until it is settled: leave most of them to
        # the program and to the connections that deliver the batch
        self.max_claimed_files = _claimable_files()
        request_limit = destination.max_request_bytes
        # batches are cut on native sizes; leave room for what translation adds
        self.batch_bytes = min(settings.batch_bytes, int(request_limit * 0.75)
                               if request_limit else settings.batch_bytes)

    async def gate(self, *, force: bool = False) -> GateResult:
        """May we send now? Probes the health endpoint when the shared result is stale."""
        if self.settings.destination_identity is None:
            return GateResult(False, "no endpoint")
        health_url = self.destination.health_url
        snap = await self.offload(self.state.read)
        now = self.clock.monotonic()
        action = decide(snap, now, ttl=self.settings.health_ttl,
                        force=force, probes=health_url is not None)
        until = paused_until(snap, now)
        if until is not None:
            self._pause_until = until
            reason = snap.pause.reason if snap.pause is not None else ""
            return GateResult(False, f"the collector asked to wait {until - now:.0f} s "
                                     f"({reason or 'Retry-After'})", until=until)
        if action == SEND:
            await self._recovering(snap)
            return GateResult(True)
        if action != PROBE or health_url is None:
            return GateResult(False, snap.breaker.reason or "service unavailable")
        turn = self.state.probe_turn(blocking=force)
        mine = await self.offload(turn.__enter__)
        try:
            if not mine:
                return GateResult(False, "another process is probing")
            if not force:  # someone may have probed while we waited for the turn
                snap = await self.offload(self.state.read)
                action = decide(snap, self.clock.monotonic(), ttl=self.settings.health_ttl)
                if action != PROBE:
                    return GateResult(action == SEND, "probed by another process")
            verdict, detail = await probe(self.client, self.destination)
            if verdict == ABSENT:  # no health endpoint there: the breaker alone gates
                if not self._absent_logged:
                    self._absent_logged = True
                    advice = path_advice(self.destination.kind, self.settings.endpoint)
                    _log.warning("%s; delivering without a probe (%s)", detail, advice or
                                 'set health_path = "" to skip it')
                verdict = True
            healthy = bool(verdict)
            await self.offload(self.state.record_probe, healthy, detail)
            if healthy:
                await self._recovering(snap)
            return GateResult(healthy, detail, probed=True)
        finally:
            await self.offload(turn.__exit__, None, None, None)

    async def _recovering(self, snap: Snapshot) -> None:
        """The gate opened: if it was shut by an outage (the breaker opened, or the last
        health result was bad), delivery starts again with one small trial and a low pace,
        for this process and, through the shared state, the others of the machine."""
        health = snap.health
        if snap.breaker.opened_mono is None and (health is None or health.healthy):
            return
        self.pace = self.pace.recovering()
        await self.offload(self.state.record_strain, START_RATE, None, "recovering")

    def next_batch_count(self) -> int:
        """Events in the next batch: a recovery's trial is small."""
        return self.pace.batch_limit(self.batch_count)

    def waits_for(self) -> float:
        """Seconds until this process may send its next request (0 when it may now), as far
        as it knows: its pace, and the last pause it saw in the shared state."""
        return max(0.0, max(self._next_slot, self._pause_until) - self.clock.monotonic())

    async def _take_turn(self, deadline: Deadline) -> str | None:
        """Wait for this request's turn: the slot the pace gives it (taken now, so that
        batches sent side by side keep the pace) and the end of a pause the collector asked
        for (looked at again after each wait: another process may have been told to wait
        meanwhile). The reason, without waiting, when that turn comes after the deadline."""
        snap = await self.offload(self.state.read)
        now = self.clock.monotonic()
        slowdown = snap.slowdown
        if slowdown is not None:
            self.pace = self.pace.resumed(slowdown.rate, slowdown.since_mono, now)
        mine = max(self._next_slot, now)
        self._next_slot = mine + self.pace.interval
        for _ in range(3):
            pause = paused_until(snap, now)
            self._pause_until = pause if pause is not None else float("-inf")
            start = max(mine, self._pause_until)
            if start - now > deadline.left():
                self._next_slot = min(self._next_slot, mine)  # the slot is given back
                if pause is not None and pause >= mine:
                    return f"the collector asked to wait {pause - now:.0f} s"
                return f"paced: the next request may go in {start - now:.1f} s"
            if start <= now:
                return None
            await self.sleep(start - now)
            snap = await self.offload(self.state.read)
            now = self.clock.monotonic()
        return None

    async def _observe(self, answer: Answer, latency: float) -> None:
        """Adjust the pace to an answer that took ``latency`` seconds; share a slowdown,
        and a pause the collector asked for, with the other processes of the machine."""
        if answer.local:
            return
        pace = self.pace
        if answer.kind == ACCEPTED:
            self.pace = pace.accepted(latency)
            strained = pace.strained(latency)
            retry_after = None
        elif answer.kind == TRANSIENT and shows_strain(answer.status, answer.detail):
            self.pace = pace.congested()
            strained = True
            retry_after = answer.retry_after if asks_to_wait(answer.status,
                                                             answer.retry_after) else None
        else:
            return
        if pace.interval != self.pace.interval:  # the next slot keeps to the new pace
            self._next_slot += self.pace.interval - pace.interval
        if strained:
            why = answer.detail if answer.kind != ACCEPTED else f"slow answer ({latency:.1f} s)"
            snap = await self.offload(partial(self.state.record_strain, alive=answer.status == 429),
                                 self.pace.rate, retry_after, why)
            until = paused_until(snap, self.clock.monotonic()) if snap else None
            if until is not None:
                self._pause_until = until

    def _limit(self, deadline: Deadline) -> float:
        # never wait past the caller's deadline (a flush at close), whatever timeout says
        return max(0.05, min(self.settings.timeout, deadline.left()))

    async def _prepare(self, deadline: Deadline) -> Answer | None:
        """Run the destination's setup (once, and again after a configuration answer);
        the answer that stopped it (the receiver could not be reached), or None when it is
        done. A setup the receiver refuses (a ClickHouse user without the right to create
        tables, whose table exists) is no failure: the batch is sent, and only its own
        answer counts."""
        for request in self.destination.setup_requests():
            answer = await send(self.client, self.destination, request, self._limit(deadline))
            if answer.kind == ACCEPTED:
                continue
            if answer.status is None:  # not reached: the batch would not get there either
                return answer
            if not self._setup_refusal_logged:
                self._setup_refusal_logged = True
                _log.warning("the receiver refused %s's setup (%s); sending anyway",
                             self.destination.kind, answer.detail)
        self._prepared = True
        return None

    async def _on_failure(self, answer: Answer) -> bool:
        """Record a failed exchange in the shared breaker; False when it is now open.

        A 429 with Retry-After is the collector, up, asking for a pause (recorded when the
        answer came, see `_observe`): not a failure of the breaker. An answer made here
        (the request's turn comes after the deadline) changes nothing and stops."""
        if answer.local:
            return False
        if answer.status == 429 and answer.retry_after is not None:
            return True
        if answer.kind == CONFIG:
            self._prepared = False  # a table dropped, say: set up again before the next try
        breaker = await self.offload(self.state.record_failure, answer.detail,
                                trip=answer.kind == CONFIG)
        if answer.kind == CONFIG and not self._auth_logged:
            self._auth_logged = True
            _log.warning("the collector refused delivery (%s); events stay on disk",
                         answer.detail)
        return breaker is None or breaker.allows(self.clock.monotonic())

    async def _post(self, raw: list[bytes], deadline: Deadline) -> Answer:
        """One exchange for a batch: translate it, check the receiver's size limit, send."""
        destination = self.destination
        try:
            request = destination.batch_request(raw, self.clock.time())
        except Unsendable as exc:
            return Answer(REFUSED, None, None, self.settings.redact(exc.reason), exc.index,
                          local=True)
        except Exception as exc:  # noqa: BLE001 - one event's fault must cost only that event
            return self._untranslatable(raw, exc)
        limit = destination.max_request_bytes
        if limit is not None and request.size > limit:
            return Answer(TOO_LARGE, None, None, f"{request.size} bytes is over the "
                                                 f"{destination.kind} limit of {limit}")
        self.give_way()
        return await send(self.client, destination, request, self._limit(deadline))

    def _untranslatable(self, raw: list[bytes], failure: Exception) -> Answer:
        """A batch the destination failed to translate or encode (a ``before_send`` that
        made a context a string, properties nested past what protobuf takes): a refusal,
        made here, of the first event that fails on its own, so that it alone is
        dead-lettered with the reason; with none failing alone, of the batch (bisected)."""
        kind = self.destination.kind
        why = untranslatable(kind, failure)
        row = None
        for index in range(len(raw)) if len(raw) > 1 else ():
            try:
                self.destination.batch_request(raw[index:index + 1], self.clock.time())
            except Exception as exc:  # noqa: BLE001 - looking for the event that fails
                why = untranslatable(kind, exc)
                row = index
                break
        return Answer(REFUSED, None, None, self.settings.redact(why)[:MAX_REASON],
                      0 if len(raw) == 1 else row, local=True)

    async def send(self, events: list[Event], deadline: Deadline) -> Outcome:
        """Deliver one batch with retries; dead-letter refused events; update the breaker."""
        if not self._prepared:
            failed = await self._prepare(deadline)
            if failed is not None:
                await self._on_failure(failed)
                return Outcome(remaining=list(events), stopped_by=failed)

        async def post(raw: list[bytes]) -> Answer:
            late = await self._take_turn(deadline)
            if late is not None:
                return Answer(TRANSIENT, None, None, late, local=True)
            started = self.clock.monotonic()
            answer = await self._post(raw, deadline)
            self.give_way()
            await self._observe(answer, self.clock.monotonic() - started)
            return answer

        outcome = await deliver(events, post, attempts=max(1, self.settings.max_retries),
                                sleep=self.sleep, deadline=deadline, on_failure=self._on_failure,
                                rand=self.rand)
        if outcome.delivered:
            await self.offload(self.state.record_success)
        if outcome.dead:
            await self.offload(self._dead_letter, outcome.dead)
        if outcome.rejected:
            await self.offload(add_drops, self.spool.root,
                               {REJECTED_BY_RECEIVER: outcome.rejected})
            _log.warning("the receiver accepted a batch but rejected %d event(s) in it",
                         outcome.rejected)
        return outcome

    def _dead_letter(self, dead: list[tuple[Event, str]]) -> None:
        by_reason: dict[str, list[bytes]] = {}
        for (_, raw), reason in dead:
            by_reason.setdefault(reason, []).append(raw)
        for reason, events in by_reason.items():
            try:
                path = self.spool.dead_letter(events, reason)
                _log.warning("%d event(s) refused by the collector (%s) kept in %s",
                             len(events), reason, path)
            except OSError as exc:
                add_drops(self.spool.root, {REFUSED_UNWRITABLE: len(events)})
                _log.warning("%d refused event(s) lost: cannot write dead letter: %s",
                             len(events), exc.strerror)

    def _claim_group(self, files: _Files) -> list[Claim]:
        """Claim pending files, oldest first, up to one batch's worth; a file in
        ``files.alone`` makes a group of its own, one in ``files.skip`` is passed over. The
        files are those of the last listing; when none of them is left to claim, the
        folder is listed again. Raises `ResourceShortage` (with nothing claimed) when the
        cache cannot be read now."""
        if files.listing is not None:
            claims = self._claim_from(files.listing, files.skip, files.alone)
            if claims:
                return claims
        files.listing = self.spool.entries()
        return self._claim_from(files.listing, files.skip, files.alone)

    def _claim_from(self, entries: list[Entry], skip: set[str],
                    alone: set[str]) -> list[Claim]:
        while entries and str(entries[0].path) in skip:  # claimed before: done with
            del entries[0]
        claims: list[Claim] = []
        count = size = 0
        for entry in entries:
            path = str(entry.path)
            if path in skip:
                continue
            solo = path in alone
            if claims and (solo or count + entry.count > self.batch_count
                           or len(claims) >= self.max_claimed_files):
                break
            try:
                claim = self.spool.claim(entry)
            except ResourceShortage:
                if claims:
                    break  # deliver what is claimed; the next group meets it again
                raise
            if claim is None:
                skip.add(path)
                continue
            claims.append(claim)
            count += len(claim.events)
            size += claim.size
            if solo or count >= self.batch_count or size >= self.batch_bytes:
                break
        return claims

    async def drain(
        self,
        deadline: Deadline,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> DrainResult:
        """Deliver pending files until none is left, delivery stops, or time runs out.

        The caller has passed the gate. Files are claimed with a lock, so several drains
        (in this and other processes) share the work without sending a file twice.

        A failure of ours while a group of files is delivered (an exception: a bug) never
        blocks the files behind it: the group's files are tried again one by one, a file
        that fails alone is counted in the destination's failures and left for later (after
        `MAX_FILE_FAILURES` failures it goes to quarantine), and the drain goes on; it stops
        only when `MAX_FILE_FAILURES` files in a row fail alone (then the fault is not the
        files').
        """
        result = DrainResult()
        files = _Files()
        in_flight: deque[asyncio.Task[_GroupResult]] = deque()
        stopping = False  # delivery stopped: claim nothing more
        exhausted = False  # nothing was left to claim, the last time we looked
        try:
            while True:
                # up to two groups on their way while the pace does not limit: the next is
                # claimed, read and sent while the receiver reads the last one
                limit = _DRAIN_IN_FLIGHT if self.pace.rate is None else 1
                if (not stopping and not exhausted and not deadline.expired
                        and len(in_flight) < limit):
                    try:
                        claims = await self.offload(self._claim_group, files)
                    except ResourceShortage as exc:
                        # out of descriptors or memory: nothing is wrong with the files
                        _log.warning("cannot read the disk cache now (%s); delivery stops "
                                     "until later", exc.strerror)
                        result.stopped_by = f"cannot read the disk cache now: {exc.strerror}"
                        stopping = True
                        claims = []
                    if claims:
                        files.skip.update(str(claim.entry.path) for claim in claims)
                        in_flight.append(asyncio.ensure_future(self._deliver_group(claims,
                                                                                   deadline)))
                        continue
                    exhausted = True  # finish what is on its way, then look again
                if not in_flight:
                    break
                done = await in_flight.popleft()
                exhausted = False  # its files may be back, to be tried one by one
                if await self._account(done, files, result, progress):
                    stopping = True
        finally:
            for task in in_flight:  # cancelled: each settles what it had claimed
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
        return result

    async def _deliver_group(self, claims: list[Claim], deadline: Deadline) -> _GroupResult:
        """Send the events of claimed files, batch by batch (a recovery's trial is smaller
        than the rest), then settle the files: what was delivered or dead-lettered goes."""
        events = [e for c in claims for e in c.events]
        outcome = Outcome(remaining=events)
        failure: Exception | None = None
        try:
            rest = events
            while rest:
                taken = first_batch(rest, self.next_batch_count(), self.batch_bytes)
                batch, rest = rest[:taken], rest[taken:]
                got = await self.send(batch, deadline)
                outcome.add(got)
                if got.stopped_by is not None:
                    outcome.stopped_by = got.stopped_by
                    break
        except Exception as exc:  # noqa: BLE001 - a bug of ours: isolate it, go on
            failure = exc
        finally:
            await self.offload(_settle, claims, outcome)
        return _GroupResult(claims, outcome, failure)

    async def _account(self, done: _GroupResult, files: _Files, result: DrainResult,
                       progress: Callable[[int], None] | None) -> bool:
        """Count a delivered group in ``result``; True when the drain must stop."""
        claims, outcome, failure = done
        result.delivered += len(outcome.delivered)
        result.dead_lettered += len(outcome.dead)
        result.retries += outcome.retries
        result.files += len(claims)
        if progress is not None:
            progress(len(outcome.delivered) + len(outcome.dead))
        if failure is not None:
            await self._failed(claims, failure, files, result)
            if files.failed_in_a_row >= MAX_FILE_FAILURES:
                result.stopped_by = (f"delivery failed on {files.failed_in_a_row} files "
                                     f"in a row ({type(failure).__name__}); see the "
                                     "shipper log")
                return True
            return False
        files.failed_in_a_row = 0
        if outcome.stopped_by is not None:
            result.stopped_by = result.stopped_by or outcome.stopped_by.detail
            return True
        return False

    async def _failed(self, claims: list[Claim], failure: Exception, files: _Files,
                      result: DrainResult) -> None:
        """A group's delivery raised: try its files one by one, or (a file alone) count the
        failure against it and skip it for the rest of this drain."""
        paths = [str(claim.entry.path) for claim in claims]
        if len(claims) > 1:
            _log.warning("delivering %d cache files failed (%s: %s); trying them one by one",
                         len(claims), type(failure).__name__, failure)
            files.skip.difference_update(paths)  # claimed again, each alone
            files.alone.update(paths)
            return
        _log.logger().error("delivering cache file %s failed", claims[0].entry.name,
                            exc_info=failure)
        files.skip.update(paths)
        files.failed_in_a_row += 1
        result.failed_files += 1
        await self.offload(self.spool.delivery_failed, claims[0].entry,
                      f"{type(failure).__name__}: {failure}", MAX_FILE_FAILURES)


def _nothing() -> None:
    return None


def _claimable_files() -> int:
    """How many cache files one batch may hold open: a quarter of the descriptor limit."""
    import resource

    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 64
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(8, min(1024, soft // 4))


def _settle(claims: list[Claim], outcome: Outcome) -> None:
    """Remove what was delivered or dead-lettered; keep the rest for a later sync."""
    done = set(outcome.delivered)
    done.update(event_id for (event_id, _), _ in outcome.dead)
    for claim in claims:
        try:
            claim.keep_only([e for e in claim.events if e[0] not in done])
        except OSError as exc:
            _log.warning("cannot update cache file %s: %s", claim.entry.name, exc.strerror)
            claim.release()
