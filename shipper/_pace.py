"""How fast to send to one destination: a pure AIMD policy over requests per second.

Additive increase, multiplicative decrease, as TCP's congestion avoidance and Vector's
adaptive request concurrency do it: each answer the collector gave without strain raises
the rate by `INCREASE` requests/s per second of sending; each sign of strain (429, 503, a
timeout, a latency well above the lowest seen) halves it. Below `START_RATE` the rate
doubles on each success instead (TCP's slow start), so a machine slowed to a crawl comes
back in a few requests, not in minutes.

Normally the pace does not limit anything (``rate`` is None): a machine on a healthy
collector sends as fast as it can. A recovery (the collector back after an outage) starts
limited: `Pace.recovering` is one trial, a batch of `TRIAL_EVENTS` events, then
`START_RATE`. Past `FREE_RATE` the pace stops limiting again.

A `Pace` is immutable; the courier keeps the current one, and the rate a process sets after
strain is shared with the other processes of the machine through the shared state (see
`Pace.resumed`).
"""

from __future__ import annotations

START_RATE = 0.5  # requests/s after a recovery's trial, and the end of slow start
INCREASE = 0.1  # requests/s gained per second of answers taken without strain
DECREASE = 0.5  # the rate is multiplied by this on strain
MIN_RATE = 1.0 / 300.0  # never slower than one request in 5 minutes (the longest cooldown)
FREE_RATE = 50.0  # at this rate the pace stops limiting
TRIAL_EVENTS = 10  # the first batch of a recovery
LATENCY_FACTOR = 3.0  # an answer this many times slower than the fastest seen is strain ...
LATENCY_MARGIN_S = 0.5  # ... when it is also this much slower (a busy host is not strain)
FLOOR_DRIFT = 0.01  # the fastest latency seen creeps up by 1% an answer (routes change)
STRAIN_STATUSES = frozenset({408, 429, 503, 504})  # too many requests, overloaded, too slow


def shows_strain(status: int | None, detail: str) -> bool:
    """Whether a transient answer (its HTTP status, or None with the transport's detail)
    is the collector straining under load, rather than down or failing: 408, 429, 503,
    504, or a request that timed out."""
    return status in STRAIN_STATUSES or (status is None and detail.startswith("timeout"))


def asks_to_wait(status: int | None, retry_after: float | None) -> bool:
    """Whether an answer asks every process of the machine to pause: 429 or 503 with a
    Retry-After."""
    return retry_after is not None and status in (429, 503)


class Pace:
    """An immutable pace: ``rate`` requests/s (None: not limited), whether the next batch
    is a ``trial``, and the lowest latency seen (``floor``, seconds)."""

    __slots__ = ("floor", "rate", "trial")

    def __init__(self, rate: float | None = None, trial: bool = False,
                 floor: float | None = None) -> None:
        self.rate = rate
        self.trial = trial
        self.floor = floor

    def _key(self) -> tuple[float | None, bool, float | None]:
        return (self.rate, self.trial, self.floor)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pace) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Pace(rate={!r}, trial={!r}, floor={!r})".format(*self._key())

    @property
    def interval(self) -> float:
        """Seconds from the start of one request to the start of the next."""
        return 0.0 if self.rate is None else 1.0 / self.rate

    def batch_limit(self, batch_size: int) -> int:
        """Events in the next batch: a trial is small."""
        return min(batch_size, TRIAL_EVENTS) if self.trial else batch_size

    def recovering(self) -> Pace:
        """The pace at the end of an outage: one small trial, then `START_RATE`."""
        return Pace(START_RATE, True, self.floor)

    def strained(self, latency: float) -> bool:
        """Whether an accepted answer that took ``latency`` seconds shows strain."""
        floor = self.floor
        return (floor is not None and latency > floor * LATENCY_FACTOR
                and latency > floor + LATENCY_MARGIN_S)

    def accepted(self, latency: float) -> Pace:
        """After an answer that took the batch in ``latency`` seconds."""
        floor = latency if self.floor is None else min(latency, self.floor * (1 + FLOOR_DRIFT))
        if self.strained(latency):
            return Pace(self.congested().rate, False, floor)
        rate = self.rate
        if rate is not None:
            rate = rate * 2.0 if rate < START_RATE else rate + INCREASE / rate
            if rate >= FREE_RATE:
                rate = None
        return Pace(rate, False, floor)

    def congested(self) -> Pace:
        """After a sign of strain: 429, 503, a timeout."""
        rate = FREE_RATE if self.rate is None else self.rate
        return Pace(max(MIN_RATE, rate * DECREASE), self.trial, self.floor)

    def resumed(self, rate: float, since: float, now: float) -> Pace:
        """This pace, no faster than a rate another process of the machine set at
        monotonic time ``since`` after strain, grown additively since then."""
        elapsed = max(0.0, now - since)
        shared = max(MIN_RATE, rate) + INCREASE * elapsed
        if shared >= FREE_RATE:
            return self
        if self.rate is not None and self.rate <= shared:
            return self
        return Pace(shared, self.trial, self.floor)
