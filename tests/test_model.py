"""Model-based test of the disk cache: no recorded event is ever silently gone.

A Hypothesis state machine records, claims, delivers (acks), partially delivers, crashes
(a syncer dies holding claims), prunes and corrupts files, and checks after every step that
each recorded id is pending, delivered, dead-lettered, quarantined or counted as dropped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shipper._cache._drops import read_drops
from shipper._cache._prune import prune
from shipper._cache._spool import Claim, Spool, decode_file

pytestmark = pytest.mark.chaos


class CacheMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="shipper-model-"))
        self.spool = Spool(self.root, fsync=False)
        self.spool.ensure()
        self.recorded: set[str] = set()
        self.delivered: set[str] = set()
        self.dead: set[str] = set()
        self.quarantined: set[str] = set()
        self.pruned = 0
        self.claims: list[Claim] = []
        self.counter = 0
        self.clock_ms = 1_000_000_000_000

    def teardown(self) -> None:
        for claim in self.claims:
            claim.release()
        shutil.rmtree(self.root, ignore_errors=True)

    def _ids_in(self, folder: Path) -> set[str]:
        out = set()
        for name in os.listdir(folder):
            try:
                out |= {i for i, _ in decode_file((folder / name).read_bytes())}
            except (OSError, ValueError):
                continue
        return out

    @rule(n=st.integers(min_value=1, max_value=5), age_days=st.integers(min_value=0,
                                                                         max_value=10))
    def record(self, n: int, age_days: int) -> None:
        events = []
        for _ in range(n):
            self.counter += 1
            event_id = f"ev-{self.counter}"
            self.recorded.add(event_id)
            events.append(json.dumps({"id": event_id, "event": "e"}).encode())
        # a distinct millisecond per file keeps the file order (and so the run) repeatable
        self.spool.write(events, written_ms=self.clock_ms - age_days * 86_400_000 + self.counter)

    @rule()
    def claim_one(self) -> None:
        for entry in self.spool.entries():
            claim = self.spool.claim(entry)
            if claim is not None:
                self.claims.append(claim)
                return

    @rule(data=st.data())
    def deliver_claimed(self, data: st.DataObject) -> None:
        if not self.claims:
            return
        claim = self.claims.pop(data.draw(st.integers(0, len(self.claims) - 1)))
        self.delivered |= {i for i, _ in claim.events}
        claim.ack()

    @rule(data=st.data())
    def deliver_part_dead_letter_one(self, data: st.DataObject) -> None:
        if not self.claims:
            return
        claim = self.claims.pop(data.draw(st.integers(0, len(self.claims) - 1)))
        events = claim.events
        k = data.draw(st.integers(0, len(events)))
        self.delivered |= {i for i, _ in events[:k]}
        rest = events[k:]
        if rest and data.draw(st.booleans()):
            refused, rest = rest[0], rest[1:]
            self.spool.dead_letter([refused[1]], "HTTP 400: refused")
            self.dead.add(refused[0])
        claim.keep_only(rest)

    @rule()
    def crash_syncer(self) -> None:
        """A syncer dies: the kernel drops its locks; its files are untouched."""
        for claim in self.claims:
            claim.release()
        self.claims = []

    @rule(max_age=st.integers(1, 8), max_mb=st.sampled_from([0.0005, 0.002, 50.0]))
    def prune_cache(self, max_age: int, max_mb: float) -> None:
        result = prune(self.spool, max_age_days=max_age, max_cache_mb=max_mb,
                       now=self.clock_ms / 1000)
        self.pruned += result.events

    @rule(data=st.data())
    def corrupt_a_file(self, data: st.DataObject) -> None:
        entries = [e for e in self.spool.entries() if not self.spool.is_locked(e.path)]
        if not entries:
            return
        entry = entries[data.draw(st.integers(0, len(entries) - 1))]
        ids = [i for i, _ in decode_file(entry.path.read_bytes())]
        entry.path.write_bytes(entry.path.read_bytes()[:-3])  # the last event is cut short
        self.quarantined.add(ids[-1])  # only it is set aside; the rest stays pending
        self.spool.entries()  # a later reader finds it (it is repaired on claim)
        claim = self.spool.claim(entry)
        assert claim is None

    @invariant()
    def nothing_silently_gone(self) -> None:
        if not hasattr(self, "root"):
            return
        pending = self._ids_in(self.spool.pending)
        dead = self._ids_in(self.spool.dead)
        accounted = pending | self.delivered | dead | self.quarantined
        missing = self.recorded - accounted
        dropped = sum(read_drops(self.root).values())
        assert dropped == self.pruned
        assert len(missing) == self.pruned, (missing, self.pruned)
        assert not (self.delivered & pending)  # a delivered event is never still pending
        assert self.dead <= dead


TestCacheModel = CacheMachine.TestCase
TestCacheModel.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
