"""A fleet of machines on one collector, through an outage and its recovery: shipper's real
policy on a simulated clock.

    python bench/fleet.py                        # 100,000 machines, a 10-minute outage
    python bench/fleet.py --machines 10000 --overload timeout --no-plot
    python bench/fleet.py --json bench/results/fleet.json --plot docs/fleet.png

Each machine is one cache (one state.json shared by its processes) with a running client
(`shipper.Shipper`: a tick every ``flush_interval``). What it decides is decided by the
code the product runs, imported, not copied: the gate (`shipper._gate.decide` and
`waits_until`), the breaker and its jittered cooldown (`shipper._breaker`, through the
shared state's transitions `after_probe`, `after_failure`, `after_success`,
`after_strain` of `shipper._cache._state`), the health result's jittered lifetime,
retries (`shipper._backoff.retry_delay`), and the pace of sending (`shipper._pace.Pace`).
What is modelled, not run: the HTTP exchange (the collector below), the engine's loop
(ticks, a batch per tick, the backlog drained back to back; `deliver`'s retries up to
``max_retries``), and the events (counts recorded at a steady rate per machine, delivered
oldest first).

The collector takes ``--capacity`` requests a second (health probes count, and are always
answered while it is up); beyond that it answers 429 (or 503) with Retry-After, or lets
the request time out (``--overload``). Its latency grows with its load (base / (1 - load),
the load smoothed over a few seconds, at most ten times the base).
It is down (connections refused) from ``--outage-start`` for ``--outage`` seconds, and it
falls over again, for ``--relapse`` seconds, if it is offered more than ``--crash-ratio``
times its capacity for ``--crash-after`` seconds in a row.

A machine that is caught up and healthy costs nothing to simulate event by event: its
requests are drawn in bulk, per second, from its rate; it becomes a machine of its own
again as soon as the collector fails or refuses it (this is what makes 100,000 machines
over an hour of simulated time take seconds, not hours).

Printed: the figures against the goals of issue 22; ``--json`` writes them, ``--plot``
draws requests per second against capacity, breaker states and the backlog over time.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from shipper._backoff import retry_delay  # noqa: E402 - the tree's own shipper, first
from shipper._breaker import Breaker  # noqa: E402
from shipper._cache._state import (  # noqa: E402
    Snapshot,
    after_failure,
    after_probe,
    after_strain,
    after_success,
    success_changes,
)
from shipper._config import DEFAULTS  # noqa: E402
from shipper._engine import TICK_BUDGET_S  # noqa: E402
from shipper._gate import PROBE, WAIT, decide, paused_until, waits_until  # noqa: E402
from shipper._pace import START_RATE, Pace, asks_to_wait, shows_strain  # noqa: E402

ACCEPTED, TRANSIENT = "accepted", "transient"
EVENT_BYTES = 300  # an event's size on disk, for max_cache_mb


@dataclass
class Scenario:
    machines: int = 100_000
    services: float = 0.003  # the share of machines that are busy services
    service_rate: float = 5.0  # their median events/s (log-normal, sigma below)
    laptop_rate: float = 0.0025  # the others' median events/s (a developer's hooks)
    rate_sigma: float = 1.0
    capacity: float = 2000.0  # requests/s
    outage_start: float = 120.0
    outage: float = 600.0
    duration: float = 3600.0
    overload: str = "429"  # what the collector does beyond capacity: 429, 503, timeout
    retry_after: float = 2.0  # seconds, on 429/503 beyond capacity
    latency: float = 0.05  # seconds, when idle
    crash_ratio: float = 1.5
    crash_after: int = 5
    relapse: float = 60.0
    seed: int = 22
    settings: dict[str, Any] = field(default_factory=lambda: {
        k: DEFAULTS[k] for k in ("batch_size", "flush_interval", "timeout", "health_ttl",
                                 "breaker_threshold", "breaker_cooldown", "max_retries",
                                 "max_cache_mb")})


class Machine:
    __slots__ = ("answer", "backlog_mark", "batch", "delivered", "drained_at", "due",
                 "lam", "lost", "next_slot", "opened", "pace", "phase", "rate", "retries",
                 "snap", "started", "tick")

    def __init__(self, rate: float, phase: float, tick: float, lam: float) -> None:
        self.rate = rate
        self.phase = phase  # events are recorded at (j - phase) / rate, j = 1, 2, ...
        self.tick = tick  # this client's ticks: tick + k * flush_interval
        self.lam = lam  # requests/s while caught up (bulk)
        self.delivered = 0  # events delivered, oldest first (or pruned)
        self.lost = 0
        self.snap = Snapshot()
        self.pace = Pace()
        self.next_slot = -math.inf
        self.answer: tuple[Any, ...] | None = None  # an answer on its way back
        self.batch = 0  # events of the batch being retried (0: none)
        self.retries = 0
        self.started = 0.0  # when the current delivery began (its budget)
        self.due = -1.0  # the time of its one scheduled wake-up (-1: in bulk)
        self.opened = False  # its breaker opened since the outage began: requests are trials
        self.backlog_mark = -1  # events recorded before the collector came back
        self.drained_at: float | None = None

    def recorded(self, t: float) -> int:
        return int(self.rate * t + self.phase)

    def recorded_at(self, j: int) -> float:
        return (j - self.phase) / self.rate


class Collector:
    """Admission per second of simulated time; what is counted is counted here."""

    def __init__(self, sc: Scenario, seconds: int) -> None:
        self.sc = sc
        n = seconds + 2
        self.offered = [0.0] * n  # every request that reached it (probes included)
        self.accepted = [0.0] * n  # batches taken
        self.refused = [0.0] * n  # 429/503 beyond capacity, or timed out
        self.failed = [0.0] * n  # while down: connection refused
        self.probes = [0.0] * n
        self.trials = [0.0] * n  # requests of machines whose breaker opened
        self.bulk = [0.0] * n  # drawn for caught-up machines
        self.down_until = -1.0
        self.second = -1
        self.used = 0.0  # requests admitted in this second so far (probes included)
        self.bulk_now = 0
        self.latency_now = sc.latency
        self.load = 0.0  # the share of capacity in use, smoothed
        self.over = 0  # consecutive seconds over crash_ratio * capacity
        self.relapses: list[float] = []
        self.recovered = sc.outage_start + sc.outage

    def down(self, t: float) -> bool:
        sc = self.sc
        return sc.outage_start <= t < self.recovered or t < self.down_until

    def start_second(self, s: int, bulk: int) -> None:
        self.second = s
        self.bulk_now = bulk
        self.bulk[s] += bulk
        self.offered[s] += bulk
        last = self.accepted[s - 1] + self.probes[s - 1] if s > 0 else 0.0
        # a queue builds and drains over seconds, not at each second's edge
        self.load = 0.7 * self.load + 0.3 * min(1.0, last / self.sc.capacity)
        self.latency_now = self.sc.latency / (1.0 - min(0.9, self.load))
        self.used = 0.0

    def end_second(self, s: int) -> int:
        """Close second ``s``: how many of its bulk requests were refused."""
        sc = self.sc
        refused_bulk = 0
        if self.down(s + 0.5):
            self.failed[s] += self.bulk_now
        else:
            admitted = min(self.bulk_now, max(0.0, sc.capacity - self.used))
            refused_bulk = int(self.bulk_now - admitted)
            self.accepted[s] += admitted
            self.refused[s] += refused_bulk
        if s >= self.recovered and not self.down(s):
            self.over = self.over + 1 if self.offered[s] > sc.crash_ratio * sc.capacity else 0
            if self.over >= sc.crash_after:
                self.down_until = s + 1 + sc.relapse
                self.relapses.append(s + 1.0)
                self.over = 0
        return refused_bulk

    def request(self, t: float, probe: bool, trial: bool) -> tuple[str, int | None,
                                                                   float | None, str, float]:
        """One request at ``t``: (kind, status, retry_after, detail, latency)."""
        s = int(t)
        sc = self.sc
        self.offered[s] += 1
        if probe:
            self.probes[s] += 1
        if trial:
            self.trials[s] += 1
        if self.down(t):
            self.failed[s] += 1
            return TRANSIENT, None, None, "network error (ConnectError)", 0.001
        used = self.used + self.bulk_now * (t - s)
        self.used += 1
        if probe:
            return ACCEPTED, 200, None, "HTTP 200", self.latency_now
        if used >= sc.capacity:
            self.used -= 1
            self.refused[s] += 1
            if sc.overload == "timeout":
                return TRANSIENT, None, None, "timeout (ReadTimeout)", sc.settings["timeout"]
            status = 503 if sc.overload == "503" else 429
            return TRANSIENT, status, sc.retry_after, f"HTTP {status}", sc.latency
        self.accepted[s] += 1
        return ACCEPTED, 200, None, "HTTP 200", self.latency_now


class Fleet:
    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        st = sc.settings
        self.flush = float(st["flush_interval"])
        self.ttl = float(st["health_ttl"])
        self.threshold = int(st["breaker_threshold"])
        self.cooldown = float(st["breaker_cooldown"])
        self.batch = int(st["batch_size"])
        self.attempts = max(1, int(st["max_retries"]))
        self.cap_events = int(st["max_cache_mb"] * 1024 * 1024 / EVENT_BYTES)
        self.rng = random.Random(sc.seed)
        self.rand = self.rng.random
        self.seconds = int(sc.duration)
        self.collector = Collector(sc, self.seconds)
        n = self.seconds + 2
        self.open_diff = [0] * n
        self.broken_diff = [0] * n  # breakers not closed (open or half-open)
        self.delivered = [0] * n  # events delivered by machines of their own
        self.heap: list[tuple[float, int, int]] = []
        self.seq = 0
        self.bulk: list[int] = []  # machines drawn in bulk, and each one's place in it
        self.place: list[int] = []
        self.bulk_lam = 0.0
        self.longest_wait = 0.0
        self.longest_wait_at = 0.0
        self.wake_ups = 0
        self.machines = self._make_machines()

    # -- the fleet --------------------------------------------------------------------

    def _make_machines(self) -> list[Machine]:
        sc, rng = self.sc, self.rng
        n = sc.machines
        life = self.ttl * 0.75  # the mean lifetime drawn for a health result
        out = []
        for _ in range(n):
            median = sc.service_rate if rng.random() < sc.services else sc.laptop_rate
            rate = median * math.exp(rng.gauss(0.0, sc.rate_sigma))
            # requests/s of a caught-up client: a batch on each tick with an event, and a
            # probe first when its health result has expired since its last send
            p = -math.expm1(-rate * self.flush)  # a tick has an event
            stale = (1.0 - p) ** (life / self.flush)
            lam = p * (1.0 + stale) / self.flush
            out.append(Machine(rate, rng.random(), rng.random() * self.flush, lam))
        self.place = [-1] * n
        for i in range(n):
            self._to_bulk(i, out[i])
        return out

    def _to_bulk(self, i: int, m: Machine) -> None:
        m.due = -1.0
        self.place[i] = len(self.bulk)
        self.bulk.append(i)
        self.bulk_lam += m.lam

    def _from_bulk(self, i: int, m: Machine, now: float) -> None:
        """A caught-up machine becomes one of its own at ``now``: it has delivered what it
        recorded, and holds the healthy result of its last send (refreshed by a success
        at most every few seconds, like `SharedState.record_success`)."""
        k = self.place[i]
        last = self.bulk.pop()
        if last != i:
            self.bulk[k] = last
            self.place[last] = k
        self.place[i] = -1
        self.bulk_lam -= m.lam
        m.delivered = max(m.delivered, m.recorded(now))
        gap = self.rng.expovariate(max(m.lam, 1e-6))  # since its last request
        last_send = max(0.0, now - gap)
        m.snap = after_success(m.snap, last_send, last_send, ttl=self.ttl, rand=self.rand)

    def poisson(self, lam: float) -> int:
        """A Poisson draw: exact below 30, normal above (the bulk of a second's requests)."""
        if lam <= 0.0:
            return 0
        if lam > 30.0:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, product = math.exp(-lam), 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    def schedule(self, i: int, m: Machine, t: float) -> None:
        m.due = t
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, i))

    def next_tick(self, m: Machine, t: float) -> float:
        k = math.ceil((t - m.tick) / self.flush - 1e-9)
        return m.tick + k * self.flush

    def next_event_tick(self, m: Machine, t: float) -> float:
        """The first tick after ``t`` with an event waiting."""
        nxt = m.recorded_at(m.recorded(t) + 1) if m.recorded(t) <= m.delivered else t
        return self.next_tick(m, max(t + 1e-6, nxt))

    # -- breaker bookkeeping, for the plot --------------------------------------------

    def _breaker_changed(self, m: Machine, before: Breaker, now: float) -> None:
        after = m.snap.breaker
        if after is before:
            return
        s = int(now)
        if before.opened_mono is None and after.opened_mono is not None:
            self.broken_diff[s] += 1
        if before.opened_mono is not None and after.opened_mono is None:
            self.broken_diff[s] -= 1
        if after.opened_mono is not None and after.opened_mono != before.opened_mono:
            m.opened = True
            self.open_diff[s] += 1
            end = min(self.seconds + 1, int(after.opened_mono + after.cooldown))
            self.open_diff[end] -= 1

    # -- one machine ------------------------------------------------------------------

    def wake(self, i: int, m: Machine, now: float) -> None:
        self.wake_ups += 1
        if m.answer is not None:
            answer, m.answer = m.answer, None
            if answer[0] == "probe":
                self.probed(i, m, now, answer)
            else:
                self.answered(i, m, now, answer)
            return
        pending = m.recorded(now) - m.delivered
        if pending > self.cap_events:  # max_cache_mb: the oldest go
            m.lost += pending - self.cap_events
            m.delivered += pending - self.cap_events
            pending = self.cap_events
        action = decide(m.snap, now, ttl=self.ttl)
        if action == WAIT:
            until = waits_until(m.snap, now, ttl=self.ttl)
            self.schedule(i, m, self.next_tick(m, until if until is not None
                                               else now + self.ttl))
            return
        if action == PROBE:
            kind, _, _, detail, latency = self.collector.request(now, True, m.opened)
            m.answer = ("probe", kind == ACCEPTED, detail, self.snap_trouble(m))
            self.schedule(i, m, now + latency)
            return
        self.send(i, m, now, pending)

    @staticmethod
    def snap_trouble(m: Machine) -> bool:
        health = m.snap.health
        return m.snap.breaker.opened_mono is not None or (health is not None
                                                          and not health.healthy)

    def probed(self, i: int, m: Machine, now: float, answer: tuple[Any, ...]) -> None:
        _, healthy, detail, trouble = answer
        before = m.snap.breaker
        m.snap = after_probe(m.snap, healthy, detail, now, now, threshold=self.threshold,
                             cooldown=self.cooldown, ttl=self.ttl, rand=self.rand)
        self._breaker_changed(m, before, now)
        if healthy and trouble:  # Courier._recovering
            m.pace = m.pace.recovering()
            m.snap = after_strain(m.snap, START_RATE, None, "recovering", now=now,
                                  rand=self.rand)
        if healthy:
            self.send(i, m, now, m.recorded(now) - m.delivered)
        else:
            self.wake(i, m, now)

    def send(self, i: int, m: Machine, now: float, pending: int) -> None:
        if m.batch == 0:
            if pending <= 0:
                self.idle(i, m, now)
                return
            m.batch = min(pending, m.pace.batch_limit(self.batch))
            m.retries = 0
            m.started = now
        # Courier._take_turn: a pause the collector asked for, then the pace's slot
        slow = m.snap.slowdown
        if slow is not None:
            m.pace = m.pace.resumed(slow.rate, slow.since_mono, now)
        pause = paused_until(m.snap, now)
        start = max(now, m.next_slot, pause if pause is not None else now)
        if start > now + 1e-9:
            self.schedule(i, m, start)
            return
        m.next_slot = now + m.pace.interval
        kind, status, retry_after, detail, latency = self.collector.request(now, False,
                                                                            m.opened)
        m.answer = ("batch", kind, status, retry_after, detail, latency)
        self.schedule(i, m, now + latency)

    def idle(self, i: int, m: Machine, now: float) -> None:
        """Caught up (nothing waiting but this tick's events): back to bulk when healthy
        and unhindered, else the next tick with an event."""
        snap = m.snap
        pace_ok = m.pace.rate is None or m.pace.rate >= 2.0 * m.lam  # it never holds it back
        if (snap.breaker.opened_mono is None and snap.breaker.failures == 0 and pace_ok
                and paused_until(snap, now) is None and not self.collector.down(now)):
            left = m.recorded(now) - m.delivered  # they go with its next tick
            m.delivered += left
            self.drained(m, now + (self.flush if left else 0.0))
            self._to_bulk(i, m)
            return
        self.schedule(i, m, self.next_event_tick(m, now))

    def drained(self, m: Machine, now: float) -> None:
        if m.drained_at is None and 0 <= m.backlog_mark <= m.delivered:
            m.drained_at = now

    def answered(self, i: int, m: Machine, now: float, answer: tuple[Any, ...]) -> None:
        _, kind, status, retry_after, detail, latency = answer
        pace = m.pace
        if kind == ACCEPTED:
            k = m.batch
            first = m.delivered + 1
            wait = now - m.recorded_at(first)
            if wait > self.longest_wait:
                self.longest_wait, self.longest_wait_at = wait, now
            m.delivered += k
            self.delivered[int(now)] += k
            m.batch = 0
            m.pace = pace.accepted(latency)
            if pace.strained(latency):
                m.snap = after_strain(m.snap, m.pace.rate, None, "slow", now=now,
                                      rand=self.rand)
            before = m.snap.breaker
            if success_changes(m.snap, now):
                m.snap = after_success(m.snap, now, now, ttl=self.ttl, rand=self.rand)
            self._breaker_changed(m, before, now)
            self.drained(m, now)
            pending = m.recorded(now) - m.delivered
            if pending >= self.batch:  # a backlog: the drain goes on at once
                self.wake(i, m, now)
            elif pending > m.rate * self.flush + 1:  # the rest goes with the next tick
                self.schedule(i, m, self.next_tick(m, now + 1e-6))
            else:
                self.idle(i, m, now)
            return
        # a transient answer: Courier._observe, then deliver's retry (Courier._on_failure)
        if shows_strain(status, detail):
            m.pace = pace.congested()
            m.snap = after_strain(m.snap, m.pace.rate,
                                  retry_after if asks_to_wait(status, retry_after) else None,
                                  detail, now=now, wall=now, alive=status == 429,
                                  ttl=self.ttl, rand=self.rand)
        go_on = True
        if not (status == 429 and retry_after is not None):
            before = m.snap.breaker
            m.snap = after_failure(m.snap, detail, now, now, threshold=self.threshold,
                                   cooldown=self.cooldown, ttl=self.ttl, rand=self.rand)
            self._breaker_changed(m, before, now)
            go_on = m.snap.breaker.allows(now)
        m.retries += 1
        delay = retry_delay(m.retries, retry_after, rand=self.rand)
        if (not go_on or m.retries >= self.attempts
                or delay >= m.started + TICK_BUDGET_S - now):
            m.batch = 0  # the batch stays on disk; the next tick tries again
            self.schedule(i, m, self.next_tick(m, now + 1e-6))
            return
        self.schedule(i, m, now + delay)

    # -- the run ----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        sc = self.sc
        col = self.collector
        machines = self.machines
        recovered = sc.outage_start + sc.outage
        went_down = False
        marked = False
        s = 0
        col.start_second(0, self.poisson(self.bulk_lam))
        heap = self.heap
        while s < self.seconds:
            boundary = s + 1.0
            while heap and heap[0][0] < boundary:
                t, _, i = heapq.heappop(heap)
                m = machines[i]
                if t != m.due:
                    continue  # a wake-up replaced by another
                self.wake(i, m, t)
            refused = col.end_second(s)
            if refused:
                self._refuse_bulk(refused, boundary)
            s += 1
            if not went_down and col.down(s):  # the outage (or a relapse) begins
                for i in list(self.bulk):
                    m = machines[i]
                    self._from_bulk(i, m, s)
                    self.schedule(i, m, self.next_event_tick(m, s))
                went_down = True
            elif went_down and not col.down(s):
                went_down = False
            if not marked and s >= recovered:
                for m in machines:
                    m.backlog_mark = m.recorded(recovered)
                    if m.due < 0 or m.backlog_mark <= m.delivered:  # nothing owed
                        m.drained_at = float(s)
                marked = True
            col.start_second(s, self.poisson(self.bulk_lam))
        return self.figures()

    def _refuse_bulk(self, n: int, now: float) -> None:
        """``n`` bulk requests were turned away: their machines got the answer."""
        sc = self.sc
        top = max((self.machines[i].lam for i in self.bulk), default=0.0)
        for _ in range(min(n, len(self.bulk))):
            while True:
                i = self.bulk[self.rng.randrange(len(self.bulk))]
                m = self.machines[i]
                if self.rng.random() * top <= m.lam:
                    break
            self._from_bulk(i, m, now)
            m.batch = max(1, m.recorded(now) - m.delivered)
            m.started = now
            if sc.overload == "timeout":
                answer = ("batch", TRANSIENT, None, None, "timeout (ReadTimeout)",
                          sc.settings["timeout"])
            else:
                status = 503 if sc.overload == "503" else 429
                answer = ("batch", TRANSIENT, status, sc.retry_after, f"HTTP {status}",
                          sc.latency)
            m.answer = answer
            self.schedule(i, m, now)

    # -- what happened ----------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        sc, col = self.sc, self.collector
        t0, t1 = int(sc.outage_start), int(sc.outage_start + sc.outage)
        trials = col.trials[t0:t1]
        outage_requests = col.offered[t0:t1]
        after = col.offered[t1:self.seconds]
        machines = self.machines
        owed = [m for m in machines if m.backlog_mark > m.recorded(sc.outage_start)]
        backlog_events = sum(m.backlog_mark - m.recorded(sc.outage_start) for m in owed)
        backlog_requests = sum(math.ceil((m.backlog_mark - m.recorded(sc.outage_start))
                                         / self.batch) for m in owed)
        ideal = backlog_requests / sc.capacity
        normal = sum(col.offered[max(0, t0 - 60):t0]) / max(1, min(60, t0))
        spare = max(sc.capacity - normal, 1.0)
        # each machine owed something must also learn the collector is back: one probe
        achievable = (backlog_requests + len(owed)) / spare
        done = sorted(m.drained_at - t1 for m in owed if m.drained_at is not None)
        not_done = len(owed) - len(done)
        drained_in = done[-1] if done and not_done == 0 else None

        def pct(q: float) -> float | None:
            return round(done[min(len(done) - 1, int(q * len(done)))], 1) if done else None

        mean_trials = sum(trials) / max(1, len(trials))
        return {
            "scenario": {k: v for k, v in asdict(sc).items() if k != "settings"},
            "settings": sc.settings,
            "normal_load_rps": round(normal, 1),
            "outage": {
                "trials_mean_per_s": round(mean_trials, 1),
                "trials_busiest_s": int(max(trials)),
                "trials_busiest_over_mean": round(max(trials) / max(mean_trials, 1e-9), 2),
                "requests_busiest_s": int(max(outage_requests)),
                "requests_total": int(sum(outage_requests)),
            },
            "recovery": {
                "offered_busiest_s": int(max(after)),
                "offered_busiest_over_capacity": round(max(after) / sc.capacity, 3),
                "seconds_over_1_2x_capacity": sum(1 for x in after if x > 1.2 * sc.capacity),
                "refused": int(sum(col.refused[t1:])),
                "relapses": len(col.relapses),
            },
            "machines_owed": len(owed),
            "backlog_events": backlog_events,
            "backlog_requests": backlog_requests,
            "ideal_drain_s": round(ideal, 1),
            "achievable_drain_s": round(achievable, 1),
            "drained_in_s": None if drained_in is None else round(drained_in, 1),
            "drained_over_ideal": None if drained_in is None else round(drained_in / ideal, 2),
            "drained_over_achievable": (None if drained_in is None
                                        else round(drained_in / achievable, 2)),
            "drained_p50_p90_p99_s": [pct(0.5), pct(0.9), pct(0.99)],
            "machines_not_drained": not_done,
            "requests_wasted": {"outage": int(sum(col.failed[t0:t1])),
                                "recovery": int(sum(col.failed[t1:]) + sum(col.refused[t1:]))},
            "longest_wait_s": round(self.longest_wait, 1),
            "events_lost": sum(m.lost for m in machines),
            "wake_ups": self.wake_ups,
        }

    def series(self) -> dict[str, list[float]]:
        col = self.collector
        n = self.seconds
        open_now = list(accumulate(self.open_diff))[:n]
        broken = list(accumulate(self.broken_diff))[:n]
        t1 = self.sc.outage_start + self.sc.outage
        owed = [m for m in self.machines if m.backlog_mark > m.recorded(self.sc.outage_start)]
        done = [0] * (n + 2)
        for m in owed:
            if m.drained_at is not None:
                done[min(n + 1, int(max(m.drained_at, t1)))] += 1
        share = 100.0 / max(1, len(owed))
        return {
            "offered": col.offered[:n], "accepted": col.accepted[:n],
            "probes": col.probes[:n], "trials": col.trials[:n],
            "open": [float(x) for x in open_now],
            "half_open": [float(b - o) for b, o in zip(broken, open_now, strict=True)],
            "drained": [x * share for x in list(accumulate(done))[:n]],
        }


def plot(fleet: Fleet, figures: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = fleet.sc
    ser = fleet.series()
    t = list(range(len(ser["offered"])))
    t0, t1 = sc.outage_start, sc.outage_start + sc.outage
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    a.plot(t, ser["offered"], lw=0.8, label="requests offered (probes included)")
    a.plot(t, ser["accepted"], lw=0.8, label="batches accepted")
    a.plot(t, ser["trials"], lw=0.8, label="trials (after a breaker opened)")
    a.axhline(sc.capacity, color="k", ls="--", lw=0.8, label="capacity")
    a.axhline(1.2 * sc.capacity, color="r", ls=":", lw=0.8, label="1.2 x capacity")
    a.set_ylabel("requests / s")
    a.legend(loc="upper right", fontsize=8)
    a.set_title(f"{sc.machines:,} machines, capacity {sc.capacity:,.0f} requests/s, "
                f"collector down {t0:.0f}-{t1:.0f} s")
    b.plot(t, ser["open"], lw=0.8, label="open")
    b.plot(t, ser["half_open"], lw=0.8, label="half-open (a trial is due)")
    b.set_ylabel("breakers")
    b.legend(loc="upper right", fontsize=8)
    c.plot(t, ser["drained"], lw=0.8)
    c.set_ylabel("% of machines owed events:\noutage backlog delivered")
    c.set_xlabel("simulated seconds")
    for ax in (a, b, c):
        ax.axvspan(t0, t1, color="0.9")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


GOALS = (
    ("outage: busiest second of trials / mean trial rate", "outage.trials_busiest_over_mean",
     "<= 2"),
    ("recovery: busiest second offered / capacity", "recovery.offered_busiest_over_capacity",
     "<= 1.2"),
    ("recovery: collector falls over again", "recovery.relapses", "0"),
    ("time to deliver the outage's backlog / ideal", "drained_over_ideal", "<= 1.5"),
    ("events lost", "events_lost", "0"),
)


def _get(figures: dict[str, Any], dotted: str) -> Any:
    value: Any = figures
    for part in dotted.split("."):
        value = value[part]
    return value


def report(figures: dict[str, Any], seconds: float) -> str:
    lines = ["| goal | simulated | wanted |", "| --- | --- | --- |"]
    for name, key, wanted in GOALS:
        lines.append(f"| {name} | {_get(figures, key)} | {wanted} |")
    lines.append("")
    lines.append(f"backlog at recovery: {figures['backlog_events']:,} events of "
                 f"{figures['machines_owed']:,} machines in {figures['backlog_requests']:,} "
                 f"requests; ideal {figures['ideal_drain_s']} s (with the live load and a "
                 f"probe each: {figures['achievable_drain_s']} s); delivered in "
                 f"{figures['drained_in_s']} s (p50/p90/p99 "
                 f"{figures['drained_p50_p90_p99_s']}); longest wait "
                 f"{figures['longest_wait_s']} s; requests wasted "
                 f"{figures['requests_wasted']}; normal load "
                 f"{figures['normal_load_rps']} requests/s")
    lines.append(f"simulated {figures['scenario']['duration']:.0f} s of "
                 f"{figures['scenario']['machines']:,} machines in {seconds:.1f} s "
                 f"({figures['wake_ups']:,} wake-ups)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    defaults = Scenario()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, value in asdict(defaults).items():
        if name == "settings":
            continue
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a shipper setting, e.g. --set breaker_cooldown=10")
    parser.add_argument("--first-spread", type=float, default=None,
                        help="an experiment: draw the breaker's first cooldown as if the one "
                             "before had been this many times breaker_cooldown (the product "
                             "uses 1: between breaker_cooldown and three times it)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--plot", type=Path, default=HERE.parent / "docs" / "fleet.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    sc = Scenario(**{k: getattr(args, k) for k in asdict(defaults) if k != "settings"})
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in sc.settings:
            parser.error(f"not a setting the simulation uses: {key}")
        sc.settings[key] = type(sc.settings[key])(float(value))
    if args.first_spread is not None:
        import shipper._breaker

        shipper._breaker.FIRST_SPREAD = args.first_spread
    started = time.perf_counter()
    fleet = Fleet(sc)
    figures = fleet.run()
    seconds = time.perf_counter() - started
    figures["run_seconds"] = round(seconds, 1)
    print(report(figures, seconds))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if not args.no_plot:
        plot(fleet, figures, args.plot)
        print(f"plot: {args.plot}")
    return figures


if __name__ == "__main__":
    main()
