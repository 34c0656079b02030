"""Delivery policy for a list of events, apart from any I/O: retry, split, bisect, stop.

The vocabulary is `Answer`: what one exchange with a destination came to, in one of five
kinds. Destinations turn their receiver's replies into answers; `deliver` decides what to do
next. ``deliver`` is given a ``post`` coroutine (one exchange) and a ``sleep``; tests pass
fakes for both. Events are ``(id, json_bytes)`` pairs.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ._backoff import retry_delay

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Deadline

Event = tuple[str, bytes]

ACCEPTED = "accepted"    # delivered
TRANSIENT = "transient"  # try again later: 408, 429, 5xx, network errors, timeouts
TOO_LARGE = "too_large"  # split the batch and resend the halves: 413
REFUSED = "refused"      # these events are refused: bisect to find them (400, 422)
CONFIG = "config"        # our configuration is wrong (401, 403, 404): stop, keep everything


class Answer(NamedTuple):
    """What one exchange came to.

    ``row``: for a refusal, the index (in the batch sent) of the event the receiver named as
    refused, where it names one (ClickHouse's "at row N"). ``rejected``: for an acceptance,
    how many events the receiver dropped without naming them (OTLP's partial success).
    """

    kind: str
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""
    row: int | None = None
    rejected: int = 0


@dataclass
class Outcome:
    """What `deliver` did with a list of events: each is delivered, dead or remaining."""

    delivered: list[str] = field(default_factory=list)
    dead: list[tuple[Event, str]] = field(default_factory=list)
    remaining: list[Event] = field(default_factory=list)
    stopped_by: Answer | None = None
    retries: int = 0
    rejected: int = 0  # accepted, but dropped by the receiver without naming them

    def add(self, other: Outcome) -> None:
        """Fold in the outcome of a later batch of the same delivery."""
        self.delivered += other.delivered
        self.dead += other.dead
        self.retries += other.retries
        self.rejected += other.rejected


def chunk_events(events: list[Event], max_count: int, max_bytes: int) -> list[list[Event]]:
    """Split events into batches of at most ``max_count`` events and about ``max_bytes``."""
    batches: list[list[Event]] = []
    current: list[Event] = []
    size = 0
    for item in events:
        cost = len(item[1]) + 1
        if current and (len(current) >= max_count or size + cost > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += cost
    if current:
        batches.append(current)
    return batches


async def _go_on(_answer: Answer) -> bool:
    return True


async def deliver(
    events: list[Event],
    post: Callable[[list[bytes]], Awaitable[Answer]],
    *,
    attempts: int,
    sleep: Callable[[float], Awaitable[None]],
    deadline: Deadline,
    on_failure: Callable[[Answer], Awaitable[bool]] = _go_on,
    rand: Callable[[], float] = random.random,
) -> Outcome:
    """Send ``events`` as one batch, and as its halves where the collector asks for that.

    - transient answers are retried up to ``attempts`` times with backoff (or Retry-After),
      while the deadline allows and ``on_failure`` (the breaker) says go on; then stop;
    - 413 splits the batch in halves; 400/422 bisects down to the refused events, which are
      returned in ``dead``; a single event refused or too large is dead too;
    - a configuration answer (401/403/404) stops at once.

    When stopped, every event not delivered or dead is in ``remaining``, in order.
    """
    out = Outcome()
    stack = [events]
    while stack:
        chunk = stack.pop()
        attempt = 0
        while True:
            answer = await post([raw for _, raw in chunk])
            if answer.kind == ACCEPTED:
                out.delivered.extend(event_id for event_id, _ in chunk)
                out.rejected += answer.rejected
                break
            if answer.kind in (TOO_LARGE, REFUSED):
                row = answer.row if answer.kind == REFUSED else None
                if len(chunk) == 1:
                    out.dead.append((chunk[0], answer.detail))
                elif row is not None and 0 <= row < len(chunk):  # the receiver named it
                    out.dead.append((chunk[row], answer.detail))
                    stack.extend(part for part in (chunk[row + 1:], chunk[:row]) if part)
                else:
                    mid = len(chunk) // 2
                    stack.extend((chunk[mid:], chunk[:mid]))
                break
            attempt += 1
            go_on = await on_failure(answer)
            delay = retry_delay(attempt, answer.retry_after, rand=rand)
            if (answer.kind == CONFIG or not go_on or attempt >= attempts
                    or delay >= deadline.left()):
                out.stopped_by = answer
                out.remaining = chunk + [e for rest in reversed(stack) for e in rest]
                return out
            out.retries += 1
            await sleep(delay)
    return out
