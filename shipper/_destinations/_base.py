"""The seam between the delivery engine and the receivers it delivers to.

A destination is pure, like the interface of an httpx transport without the I/O: it says
where a batch goes and how it is written (`Destination.batch_request`), how a reply is read
(`Destination.read_reply`), what to probe for health (`Destination.health_url`), and what
must be done once before the first batch (`Destination.setup_requests`). `_transport` does
the I/O; the engine and the courier never know which destination is behind it.

Events reach a destination as the bytes of their native JSON encoding (see the wire
protocol), the same bytes that are kept on disk; each destination translates them when a
batch is sent.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, NamedTuple

from .._backoff import parse_retry_after
from .._deliver import ACCEPTED, CONFIG, REFUSED, TOO_LARGE, TRANSIENT, Answer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._config import Settings

GZIP_OVER = 1024  # bytes of body past which a request is compressed
GZIP_LEVEL = 1  # chosen by measurement: see docs/performance.md
_DETAIL_CHARS = 200


class Request(NamedTuple):
    """One HTTP request, described: the transport sends it as it is."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes = b""


class Reply(NamedTuple):
    """What the receiver answered. ``headers`` is case-insensitive where it comes from
    httpx."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    def text(self, limit: int = _DETAIL_CHARS) -> str:
        """The start of the body as text, for a log line or a dead letter's reason."""
        return self.body[: limit * 4].decode("utf-8", "replace")[:limit].strip()


def gzip(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def compressed(body: bytes, headers: dict[str, str]) -> bytes:
    """``body`` gzipped (and ``Content-Encoding`` set in ``headers``) when it is over
    `GZIP_OVER` bytes; as it is otherwise."""
    if len(body) <= GZIP_OVER:
        return body
    headers["Content-Encoding"] = "gzip"
    return gzip(body)


def answer_for_status(reply: Reply, *, not_found: str) -> Answer:
    """The wire protocol's reading of an HTTP status, which most receivers share.

    2xx accepted; 408, 429 and 5xx transient (honouring Retry-After); 413 too large;
    401, 403, 404 and 407 configuration errors (``not_found`` says what a 404 means for this
    destination); 400, 422 and any other 4xx refuse the events.
    """
    status = reply.status
    if 200 <= status < 300:
        return Answer(ACCEPTED, status)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return Answer(TRANSIENT, status, retry_after, f"HTTP {status}")
    if status == 413:
        return Answer(TOO_LARGE, status, None, "HTTP 413")
    if status in (401, 403, 404, 407):
        what = {401: "the API key was refused", 403: "the API key is not allowed to send",
                404: not_found, 407: "a proxy asks for credentials"}[status]
        return Answer(CONFIG, status, None, f"HTTP {status}: {what}")
    return Answer(REFUSED, status, None, f"HTTP {status}: {reply.text()}")


class Destination:
    """A kind of receiver, for one endpoint. Subclasses set `kind` and implement
    `batch_request`; the rest has defaults that suit most receivers."""

    kind = ""
    #: an event larger than this (as native JSON) is dropped when recorded; None: no limit
    max_event_bytes: int | None = None
    #: a batch whose translated body is larger than this is split before it is sent
    max_request_bytes: int | None = None

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = settings.base_url or ""

    @property
    def health_url(self) -> str | None:
        """What a health probe GETs (any 2xx is healthy); None: this destination has none
        and the breaker alone gates sending."""
        path = self.settings.health_path
        return self.base_url + path if path else None

    def client_headers(self) -> dict[str, str]:
        """Headers sent with every request, the probe included (authentication)."""
        return {}

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        """The request that delivers ``events`` (native JSON, one each), sent at ``sent_at``
        (seconds since the epoch)."""
        raise NotImplementedError

    def read_reply(self, reply: Reply) -> Answer:
        """What the receiver's reply to a batch means for delivery."""
        return answer_for_status(reply, not_found="the endpoint has no such path "
                                                  "(check the endpoint URL)")

    def setup_requests(self) -> list[Request]:
        """Requests to make once, before the first batch (creating a table, say)."""
        return []
