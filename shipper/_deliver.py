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
from typing import Final, Literal, NamedTuple

from ._backoff import retry_delay

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._clock import Deadline

Event = tuple[str, bytes]

Kind = Literal["accepted", "transient", "too_large", "refused", "config"]
ACCEPTED: Final = "accepted"    # delivered
TRANSIENT: Final = "transient"  # try again later: 408, 429, 5xx, network errors, timeouts
TOO_LARGE: Final = "too_large"  # split the batch and resend the halves: 413
REFUSED: Final = "refused"      # these events are refused: bisect to find them (400, 422)
CONFIG: Final = "config"        # our configuration is wrong (401, 403, 404): stop, keep all


class Answer(NamedTuple):
    """What one exchange came to.

    ``row``: for a refusal, the index (in the batch sent) of the event the receiver named as
    refused, where it names one (ClickHouse's "at row N"). ``rejected``: for an acceptance,
    how many events the receiver dropped without naming them (OTLP's partial success).
    ``local``: a refusal made here, not by the receiver: the event cannot be translated or
    encoded for this destination (nothing was sent).
    """

    kind: Kind
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""
    row: int | None = None
    rejected: int = 0
    local: bool = False


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


def first_batch(events: list[Event], max_count: int, max_bytes: int) -> int:
    """How many of ``events`` the next batch takes: at most ``max_count``, about
    ``max_bytes`` (each event costs its bytes and a line break), never fewer than one."""
    most = max(max_count, 1)
    size = 0
    for taken, item in enumerate(events[:most]):
        size += len(item[1]) + 1
        if taken and size > max_bytes:
            return taken
    return min(len(events), most)


async def _go_on(_answer: Answer) -> bool:
    return True


MAX_REFUSALS = 64  # refused requests one delivery may spend bisecting a batch


def _split(chunk: list[Event], answer: Answer) -> tuple[Event | None, list[list[Event]]]:
    """A refused or too large chunk: the event known to be refused (a single event, or the
    row the receiver named) and the parts to send again, in order."""
    row = answer.row if answer.kind == REFUSED else None
    if len(chunk) == 1:
        return chunk[0], []
    if row is not None and 0 <= row < len(chunk):
        return chunk[row], [part for part in (chunk[:row], chunk[row + 1:]) if part]
    mid = len(chunk) // 2
    return None, [chunk[:mid], chunk[mid:]]


def _refuses_everything(answer: Answer, refused: int) -> Answer:
    return Answer(CONFIG, answer.status, None,
                  f"the receiver refused all {refused} events of the batch and its halves "
                  f"({answer.detail}): its configuration or schema is wrong, not the events; "
                  "they are kept")


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

    A receiver that refuses everything is not taken at its word: when nothing of the batch
    was accepted and more than one event was refused, the fault is the receiver's (its
    schema, its configuration), so nothing is dead-lettered: the delivery stops with a
    configuration answer, which opens the breaker. Refusals made here (``local``: an event
    that cannot be translated for the destination) are the events' own fault: they are
    dead-lettered whatever the rest does, and cost no request. Bisection is bounded too:
    after `MAX_REFUSALS` refused requests the rest is kept for a later delivery.

    When stopped, every event not delivered or dead is in ``remaining``, in order.
    """
    out = Outcome()
    stack = [events]  # chunks still to send; the last is sent next
    refusals = 0
    last_refusal: Answer | None = None  # the receiver's last refusal
    refused_by_receiver: set[str] = set()

    async def exchange(chunk: list[Event]) -> Answer:
        """One chunk, retried while its answers are transient and retrying is allowed."""
        attempt = 0
        while True:
            answer = await post([raw for _, raw in chunk])
            if answer.kind in (ACCEPTED, TOO_LARGE, REFUSED):
                return answer
            attempt += 1
            go_on = await on_failure(answer)
            delay = retry_delay(attempt, answer.retry_after, rand=rand)
            if (answer.kind == CONFIG or not go_on or attempt >= attempts
                    or delay >= deadline.left()):
                return answer
            out.retries += 1
            await sleep(delay)

    while stack:
        chunk = stack.pop()
        answer = await exchange(chunk)
        if answer.kind == ACCEPTED:
            out.delivered.extend(event_id for event_id, _ in chunk)
            out.rejected += min(answer.rejected, len(chunk))  # never more than it was sent
            continue
        if answer.kind not in (TOO_LARGE, REFUSED):  # a failure that stops delivery
            stack.append(chunk)
            out.stopped_by = answer
            break
        if not answer.local:  # the receiver's refusal, not one made here
            last_refusal = answer
            refusals += answer.kind == REFUSED
            if answer.kind == REFUSED and refusals > MAX_REFUSALS and len(chunk) > 1:
                stack.append(chunk)
                out.stopped_by = answer._replace(
                    detail=f"stopped bisecting after {MAX_REFUSALS} refusals "
                           f"({answer.detail}); the rest waits")
                await on_failure(out.stopped_by)
                break
        refused, parts = _split(chunk, answer)
        if refused is not None:
            out.dead.append((refused, answer.detail))
            if not answer.local:
                refused_by_receiver.add(refused[0])
        stack.extend(reversed(parts))  # the first part is sent next
    left = {event_id for rest in stack for event_id, _ in rest}
    if not out.delivered and len(refused_by_receiver) > 1 and last_refusal is not None:
        # the receiver refused all it was sent: its fault, not the events'; they are kept
        left |= refused_by_receiver
        out.dead = [dead for dead in out.dead if dead[0][0] not in refused_by_receiver]
        out.stopped_by = _refuses_everything(last_refusal, len(left))
        await on_failure(out.stopped_by)
    out.remaining = [event for event in events if event[0] in left]
    return out
