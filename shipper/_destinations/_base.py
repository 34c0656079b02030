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

import calendar
import json
import math
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from .._backoff import parse_retry_after
from .._deliver import ACCEPTED, CONFIG, REFUSED, TOO_LARGE, TRANSIENT, Answer
from .._event import ALIAS, GROUP, GROUP_ID, GROUP_TYPE, IDENTIFY, PREVIOUS_ID, TRAITS
from .._json import loads
from .._kinds import (
    DEFAULT_HEALTH_PATH,
    MAX_BATCH_EVENTS,
    MAX_REQUEST_BYTES,
    path_advice,
    with_path,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._config import Settings

GZIP_OVER = 1024  # bytes of body past which a request is compressed
_SECRET_WORDS = ("authorization", "key", "token", "secret", "password", "cookie")
GZIP_LEVEL = 1  # chosen by measurement: see docs/performance.md
_DETAIL_CHARS = 200


class Request(NamedTuple):
    """One HTTP request, described: the transport sends it as it is. ``size`` is the body's
    length before compression, which a receiver's request limit applies to."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes = b""
    size: int = 0


class Unsendable(ValueError):
    """An event this destination cannot represent (a timestamp out of its range, say):
    refused before anything is sent, like a refusal by the receiver."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


MAX_REASON = 300  # characters of a translation failure kept as a dead letter's reason


def untranslatable(kind: str, failure: Exception) -> str:
    """Why an event is refused that the destination failed to translate or encode (a
    ``before_send`` that made its context a string, say): the dead letter's reason."""
    if isinstance(failure, Unsendable):
        return failure.reason
    return f"cannot be translated for {kind}: {type(failure).__name__}: {failure}"


def _as_is(text: str) -> str:
    return text


class Reply(NamedTuple):
    """What the receiver answered. ``headers`` is case-insensitive where it comes from
    httpx. ``redact`` hides the configuration's secrets in what is quoted of it (the
    transport sets it: a receiver may quote the request back)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    redact: Callable[[str], str] = _as_is

    def text(self, limit: int = _DETAIL_CHARS) -> str:
        """The start of the body as text, for a log line or a dead letter's reason: secrets
        hidden first, then cut (a secret cut in two would no longer be found)."""
        return self.excerpt(self.body[: limit * 16].decode("utf-8", "replace"), limit)

    def excerpt(self, text: str, limit: int = _DETAIL_CHARS) -> str:
        """``text`` (something read from this reply) with secrets hidden, then cut."""
        return self.redact(text)[:limit].strip()


def secret_header(name: str) -> bool:
    """Whether a header may hold a credential (shown as ``<hidden>`` in debug output,
    whole: it may be encoded, as HTTP Basic is)."""
    name = name.lower()
    return any(word in name for word in _SECRET_WORDS)


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


def _dumps_stdlib(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_encoder() -> Callable[[object], bytes]:
    """Compact JSON for what a destination builds from parsed events (plain data only):
    orjson where it is installed, the standard library otherwise."""
    try:
        import orjson
    except ImportError:
        return _dumps_stdlib

    def dumps(value: object) -> bytes:
        try:
            return orjson.dumps(value)
        except TypeError:  # an integer past 64 bits, parsed from an event: stdlib it is
            return _dumps_stdlib(value)

    return dumps


# a run of 19 digits, found fast: every digit becomes "0", then a plain substring search
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN = b"0" * 19


def parse_events(events: list[bytes]) -> list[dict[str, Any]]:
    """The native events of a batch, parsed (the cache only ever holds JSON objects).

    The whole batch in one parse (orjson where it is loaded), but the standard library for
    a batch with a number of 19 digits or more: orjson reads integers past 64 bits as
    floats, which would change them. An event that does not parse becomes ``{"value":
    <its text>}`` rather than spoiling the batch.
    """
    joined = b"[" + b",".join(events) + b"]"
    try:
        if _NINETEEN in joined.translate(_DIGITS_AS_ZERO):
            docs = json.loads(joined)
        else:
            docs = loads(joined)
    except (ValueError, RecursionError):
        docs = [_parse_one(raw) for raw in events]
    return [doc if type(doc) is dict else {"value": doc} for doc in docs]


def _parse_one(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace")


def split_context(doc: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """An event's user id (``context.user_id``, stamped when it was recorded with a
    ``user_id`` setting) and the rest of its context, without the library."""
    context = doc.get("context")
    if type(context) is not dict:
        return None, {}
    if len(context) == 1 and "library" in context:  # the usual case, at once
        return None, {}
    rest = {k: v for k, v in context.items() if k not in {"library", "user_id"}}
    user = context.get("user_id")
    return (None if user is None or user == "" else str(user)), rest


def call_fields(doc: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """What an event is for a destination with calls besides ``track`` (Segment, PostHog):
    the call (``"identify"``, ``"group"``, ``"alias"``, or ``"track"``), what it carries
    (``traits``, ``group_id``, ``group_type``, ``previous_id``: the event's properties of
    those `shipper._event` names) and the rest of its properties."""
    properties = doc.get("properties")
    if type(properties) is not dict:
        properties = {}
    call = _CALLS.get(doc.get("event"))  # type: ignore[arg-type]
    if call is None:
        return "track", {}, properties
    fields, rest = {}, {}
    for key, value in properties.items():
        name = _CALL_FIELDS.get(key)
        if name is None:
            rest[key] = value
        else:
            fields[name] = value
    traits = fields.get("traits")
    fields["traits"] = traits if type(traits) is dict else {}
    for name in ("group_id", "group_type", "previous_id"):
        value = fields.get(name)
        fields[name] = None if value is None or value == "" else str(value)
    return call, fields, rest


_CALLS = {IDENTIFY: "identify", GROUP: "group", ALIAS: "alias"}
_CALL_FIELDS = {TRAITS: "traits", GROUP_ID: "group_id", GROUP_TYPE: "group_type",
                PREVIOUS_ID: "previous_id"}

_seconds_memo: dict[str, int] = {}  # "2026-11-23T07:36:49" -> seconds: a batch shares few


def epoch_ms(stamp: object) -> int | None:
    """Milliseconds since the epoch for an event's timestamp (RFC 3339, as recorded), or
    None when it is not a readable time. A time without a zone is taken as UTC."""
    if not isinstance(stamp, str):
        return None
    text = stamp.strip()
    if len(text) == 24 and text[-1] == "Z" and text[19] == ".":  # the form we record
        prefix = text[:19]
        try:
            seconds = _seconds_memo.get(prefix)
            if seconds is None:
                seconds = calendar.timegm((int(text[:4]), int(text[5:7]), int(text[8:10]),
                                           int(text[11:13]), int(text[14:16]),
                                           int(text[17:19])))
                if len(_seconds_memo) > 4096:
                    _seconds_memo.clear()
                _seconds_memo[prefix] = seconds
            return seconds * 1000 + int(text[20:23])
        except ValueError:
            return None
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    value = when.timestamp()
    return math.floor(value * 1000) if math.isfinite(value) else None


def answer_for_status(reply: Reply, *, not_found: str) -> Answer:
    """The wire protocol's reading of an HTTP status, which most receivers share.

    2xx accepted; 408, 429 and 5xx transient (honouring Retry-After); 413 too large;
    401, 403, 404, 405, 407 and redirects (3xx, never followed) configuration errors
    (``not_found`` says what a 404 means for this destination): they say nothing about the
    events, which stay on disk; 400, 422 and any other 4xx refuse the events.
    """
    status = reply.status
    if 200 <= status < 300:
        return Answer(ACCEPTED, status)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return Answer(TRANSIENT, status, retry_after, f"HTTP {status}")
    if status == 413:
        return Answer(TOO_LARGE, status, None, "HTTP 413")
    if 300 <= status < 400:
        where = reply.headers.get("location") or "elsewhere"
        return Answer(CONFIG, status, None, f"HTTP {status}: the endpoint redirects to "
                                            f"{where}; set endpoint to the final URL")
    if status in (401, 403, 404, 405, 407):
        what = {401: "the API key was refused", 403: "the API key is not allowed to send",
                404: not_found, 405: "this URL does not take POST (check the endpoint)",
                407: "a proxy asks for credentials"}[status]
        return Answer(CONFIG, status, None, f"HTTP {status}: {what}")
    return Answer(REFUSED, status, None, f"HTTP {status}: {reply.text()}")


class Destination:
    """A kind of receiver, for one endpoint. Subclasses set `kind` and implement
    `batch_request`; the rest has defaults that suit most receivers.

    ``anonymous_id`` is the id sent as the user where an event has no user id: random, made
    once per cache (see `_cache._identity`), never derived from the machine or the user.
    """

    kind = ""

    def __init__(self, settings: Settings, anonymous_id: str = "") -> None:
        self.settings = settings
        self.anonymous_id = anonymous_id
        self.base_url = settings.base_url or ""
        self.dumps = json_encoder()

    @property
    def max_request_bytes(self) -> int | None:
        """A request body (before compression) larger than this is split before sending."""
        return MAX_REQUEST_BYTES.get(self.kind)

    @property
    def max_batch_events(self) -> int | None:
        return MAX_BATCH_EVENTS.get(self.kind)

    @property
    def health_url(self) -> str | None:
        """What a health probe GETs (any 2xx is healthy); None: this destination has none
        and the breaker alone gates sending."""
        path = self.settings.health_path
        if path is None:
            path = DEFAULT_HEALTH_PATH.get(self.kind)
        return with_path(self.base_url, path) if path else None

    def client_headers(self) -> dict[str, str]:
        """Headers sent with every request, the probe included: the ``headers`` setting and
        the destination's authentication."""
        return dict(self.settings.headers)

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        """The request that delivers ``events`` (native JSON, one each), sent at ``sent_at``
        (seconds since the epoch). Raises `Unsendable` for an event it cannot represent."""
        raise NotImplementedError

    def translate(self, events: list[bytes], sent_at: float) -> list[Any]:
        """Each of ``events`` as this destination sends it (its item of a batch, its row,
        its log record), parsed: what `shipper.testing.capture()` shows. As they are for a
        destination that sends native events. Raises `Unsendable` as `batch_request`."""
        return parse_events(events)

    def json_request(self, url: str, value: object, headers: dict[str, str] | None = None,
                     ) -> Request:
        """A POST of ``value`` as JSON, gzipped when large."""
        body = self.dumps(value)
        head = {"Content-Type": "application/json", **(headers or {})}
        return Request("POST", url, head, compressed(body, head), len(body))

    def read_reply(self, reply: Reply) -> Answer:
        """What the receiver's reply to a batch means for delivery."""
        return answer_for_status(reply, not_found=self.not_found("the endpoint has no such "
                                                                 "path (check the endpoint URL)"))

    def not_found(self, usual: str) -> str:
        """What a 404 to a batch means: ``usual``, or that the endpoint already ends with
        the path this destination adds (the commonest cause)."""
        return path_advice(self.kind, self.settings.endpoint) or usual

    def setup_requests(self) -> list[Request]:
        """Requests to make once, before the first batch (creating a table, say)."""
        return []

    def answer_here(self, request: Request) -> Reply | None:
        """The reply of a destination that is its own receiver (the console), made with no
        network; None: the transport sends the request."""
        return None
