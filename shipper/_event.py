"""Events: ids, timestamps and a JSON encoding that never raises.

This module sits on the hook path, so it imports only what Python has loaded anyway (JSON
goes through `shipper._json`, which does not import :mod:`json`). Types from other modules
(``datetime``, ``decimal``, ``uuid``, ...) are recognised through ``sys.modules``: if a
module was never imported, no value of its types can exist.
"""

from __future__ import annotations

import os
import sys
import time

from . import _log
from ._json import encode
from ._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Final, Literal

    from ._config import Settings
    from ._reasons import DropReason

LIBRARY = {"name": "shipper", "version": __version__}
_MAX_DEPTH = 32
_INF = float("inf")
_MAX_REPR = 1024


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 string: 48 bits of Unix milliseconds, version 7, variant 10, 74 random bits.

    The random bits come from ``os.urandom`` (see `_random_bytes`): no generator state to
    share with a forked child or to be reseeded by a program's ``random.seed``.
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    t = "%012x" % (ms & 0xFFFFFFFFFFFF)
    r = _random_bytes().hex()
    return f"{t[:8]}-{t[8:]}-7{r[:3]}-{_VARIANT[r[3]]}{r[4:7]}-{r[7:19]}"


# the variant's hex digit (10xx in binary) from any random one
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_DRAW = 4000  # random bytes drawn at once: 400 ids

# The random bytes drawn and not used yet, as an iterator of 10-byte pieces: replaced whole,
# and ``next`` on it is atomic, so two threads never get the same piece. Emptied in a forked
# child (`_forget_random_bytes`): a child never uses its parent's.
_random_memo: list[Iterator[bytes]] = []


def _random_bytes() -> bytes:
    """10 random bytes from ``os.urandom``, drawn 400 ids' worth at a time: one system call
    (which also releases the interpreter lock, a chance for another thread to take it in the
    middle of a track()) for 400 ids instead of one each."""
    pieces = _random_memo[0] if _random_memo else None
    got = next(pieces, None) if pieces is not None else None
    if got is not None:
        return got
    if not _random_memo:
        os.register_at_fork(after_in_child=_forget_random_bytes)
        _random_memo.append(iter(()))
    block = os.urandom(_DRAW)
    pieces = iter([block[i:i + 10] for i in range(0, _DRAW, 10)])
    _random_memo[0] = pieces
    return next(pieces)


def _forget_random_bytes() -> None:
    if _random_memo:
        _random_memo[0] = iter(())


# The last second formatted, as one (second, text) tuple: replaced whole, never mutated, so
# a thread reads a consistent pair whatever the others do. A memo, nothing more.
_prefix_memo: tuple[int, str] = (-1, "")


def _second_prefix(second: int) -> str:
    """``2026-11-23T07:36:49.`` for a second since the epoch, remembered for the next call."""
    global _prefix_memo  # noqa: PLW0603 - a memo swapped whole is safe across threads
    memo = _prefix_memo
    if memo[0] != second:
        t = time.gmtime(second)
        memo = (second, f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
                        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.")
        _prefix_memo = memo
    return memo[1]


def rfc3339_ms(epoch_s: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC with milliseconds: 2026-11-23T07:36:49.123Z."""
    ms = int(epoch_s * 1000)
    return f"{_second_prefix(ms // 1000)}{ms % 1000:03d}Z"


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise anything
        try:
            return f"<unrepresentable {type(value).__qualname__}>"
        except Exception:  # noqa: BLE001 - even the type name may be hostile
            return "<unrepresentable>"
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "..."


def _is_instance(value: object, module: str, name: str) -> bool:
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls is not None and isinstance(value, cls)


def _timestamp_of(value: object) -> str | None:
    """RFC 3339 text for datetime/date values, None for anything else."""
    dt_mod = sys.modules.get("datetime")
    if dt_mod is None:
        return None
    if isinstance(value, dt_mod.datetime):
        if value.tzinfo is None:
            return str(value.isoformat())
        return str(value.astimezone(dt_mod.timezone.utc).isoformat().replace("+00:00", "Z"))
    if isinstance(value, (dt_mod.date, dt_mod.time)):
        return str(value.isoformat())
    if isinstance(value, dt_mod.timedelta):
        return str(value.total_seconds())
    return None


def _scalar_default(value: object) -> object:
    """Map one non-JSON value to a JSON-able one; containers are returned for further walking.
    Never raises: a value whose own methods raise (``__class__``, ``__getattr__``, ...)
    becomes its bounded repr, and only that value."""
    try:
        return _convert(value)
    except Exception:  # noqa: BLE001 - a hostile object: this value alone is replaced
        return _safe_repr(value)


def _convert(value: object) -> object:
    stamp = _timestamp_of(value)
    if stamp is not None:
        return stamp
    if _is_instance(value, "enum", "Enum"):
        return value.value  # type: ignore[attr-defined]
    if _is_instance(value, "decimal", "Decimal"):
        number = float(value)  # type: ignore[arg-type]
        return number if -_INF < number < _INF else None
    if _is_instance(value, "uuid", "UUID") or _is_instance(value, "pathlib", "PurePath"):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, (set, frozenset)):
        items = list(value)
        try:
            items.sort()
        except Exception:  # noqa: BLE001, S110 - mixed types do not sort; any order will do
            pass
        return items
    dataclasses = sys.modules.get("dataclasses")
    if (
        dataclasses is not None
        and dataclasses.is_dataclass(value)
        and not isinstance(value, type)
    ):
        return {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    pairs = getattr(value, "items", None)
    if callable(pairs) and hasattr(value, "__getitem__"):  # a Mapping, without importing abc
        try:
            return dict(pairs())
        except Exception:  # noqa: BLE001 - an odd mapping-like object: keep its repr
            return _safe_repr(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return _safe_repr(value)


_MAX_INT_BITS = 14_000  # about 4,200 digits: Python refuses to turn longer ints into text


def _key(key: object) -> str:
    """A dict key as JSON text. None is "null" and NaN "NaN" (as json.dumps writes them),
    so the two never collide."""
    try:
        if isinstance(key, str):
            return key
        if key is None or isinstance(key, bool):
            return encode(key)
        if isinstance(key, int):
            return _big_int(key) if key.bit_length() > _MAX_INT_BITS else encode(key)
        if isinstance(key, float):
            return encode(key)  # NaN, Infinity and -Infinity as json.dumps spells them
        converted = _scalar_default(key)
        return converted if isinstance(converted, str) else _safe_repr(key)
    except Exception:  # noqa: BLE001 - a hostile key: this key alone is replaced
        return _safe_repr(key)


def _big_int(value: int) -> str:
    return f"<int of about {int(value.bit_length() * 0.30103) + 1} digits>"


def sanitize(value: object, _depth: int = 0, _seen: frozenset[int] = frozenset()) -> Any:
    """Return a structure ``json.dumps`` encodes without error, whatever ``value`` is.

    NaN and infinities become null, integers too long to write become a marker, cycles and
    over-deep nesting become a marker string, unknown objects become their (bounded) repr.
    Each value is handled on its own: one that cannot be represented replaces itself, never
    its neighbours or the event.
    """
    try:
        return _sanitize(value, _depth, _seen)
    except Exception:  # noqa: BLE001 - a hostile object: this value alone is replaced
        return _safe_repr(value)


def _sanitize(value: object, depth: int, seen: frozenset[int]) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        if type(value) is int and value.bit_length() > _MAX_INT_BITS:
            return _big_int(value)
        if type(value) in (str, bool, int) or value is None:
            return value
        # str/int subclasses (IntEnum, StrEnum) keep their plain value
        return _scalar_default(value) if _is_instance(value, "enum", "Enum") else value
    if isinstance(value, float):
        return value if -_INF < value < _INF else None
    if depth >= _MAX_DEPTH:
        return "<max depth>"
    if id(value) in seen:
        return "<cycle>"
    inner = seen | {id(value)}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in list(value.items()):
            key = _key(k)
            if key in out:  # two keys written alike (1 and "1"): keep both values
                key = f"{key} ({_type_name(k)})"
            out[key] = sanitize(v, depth + 1, inner)
        return out
    if isinstance(value, (list, tuple)):
        return [sanitize(v, depth + 1, inner) for v in value]
    converted = _scalar_default(value)
    if isinstance(converted, str):
        return converted
    return sanitize(converted, depth + 1, inner)


def _type_name(value: object) -> str:
    try:
        return type(value).__name__
    except Exception:  # noqa: BLE001 - even the type name may be hostile
        return "?"


def _fast_default(value: object) -> object:
    converted = _scalar_default(value)
    if isinstance(converted, (dict, list)):
        # walk what a dataclass or set turned into; it may hold NaN or cycles of its own
        return sanitize(converted)
    return converted


def encode_stdlib(value: object) -> bytes:
    """Encode any value as compact JSON bytes with the standard library; never raises."""
    return dumps(value).encode("ascii")


def fast_encoder() -> Callable[[object], bytes]:
    """The encoder a long-running client uses: orjson where it is installed (a dependency on
    CPython), falling back to the standard library for what orjson refuses (cycles, huge
    integers, lone surrogates); plain `encode_stdlib` otherwise (PyPy). Both give the same
    JSON for the same value up to key order and escaping.

    Short-lived processes keep to `encode_stdlib`: importing orjson costs a hook more than it
    saves. Each client chooses its own encoder; nothing here is process-wide.
    """
    fast = _orjson_encoder()
    if fast is None:
        return encode_stdlib

    def encode(value: object) -> bytes:
        try:
            return fast(value)
        except Exception:  # noqa: BLE001 - cycles, huge ints, surrogates: stdlib path
            return encode_stdlib(value)

    return encode


def _orjson_encoder() -> Callable[[object], bytes] | None:
    """orjson's encoder with our options, or None where orjson is not installed."""
    try:
        import orjson
    except ImportError:
        return None
    # no OPT_NON_STR_KEYS: orjson writes None and NaN keys alike ("null"); a dict with keys
    # that are not strings takes the standard library's path, which keeps them apart
    option = orjson.OPT_UTC_Z

    def fast(value: object) -> bytes:
        # orjson's result keeps a ~4 KiB buffer for a 300-byte event; a queue of them would
        # hold ten times the memory it needs, so keep an exact-size copy instead
        return memoryview(orjson.dumps(value, default=_fast_default, option=option)).tobytes()

    return fast


def dumps(value: object) -> str:
    """Encode any value as compact JSON text with the standard library; never raises."""
    try:
        return encode(value, default=_fast_default, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        # NaN somewhere, a cycle, or keys json cannot take: walk the whole value instead
        try:
            return encode(sanitize(value))
        except Exception:  # noqa: BLE001 - last resort: the event survives as a string
            return encode(_safe_repr(value))
    except Exception:  # noqa: BLE001 - a user's object raised from somewhere unexpected
        return encode(sanitize(value))


_FIRST_SECOND = -62_135_596_800.0  # 0001-01-01T00:00:00Z
_LAST_SECOND = 253_402_300_799.0  # 9999-12-31T23:59:59Z


def _stamp_of(timestamp: object) -> str:
    """The event's time as RFC 3339 UTC with milliseconds: the caller's, where it is a time
    that can be written (seconds since the epoch, a datetime or a date, in years 1 to 9999);
    now otherwise."""
    try:
        if timestamp is None:
            pass
        elif isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
            seconds = float(timestamp)  # OverflowError for an integer past the float range
            if _FIRST_SECOND <= seconds <= _LAST_SECOND:  # False for NaN too
                return rfc3339_ms(seconds)
        else:
            given = _seconds_of(timestamp)
            if given is not None and _FIRST_SECOND <= given <= _LAST_SECOND:
                return rfc3339_ms(given)
    except Exception:  # noqa: BLE001, S110 - a hostile or absurd time: the event keeps now
        pass
    return rfc3339_ms(time.time())


def _seconds_of(value: object) -> float | None:
    """Seconds since the epoch of a datetime (a naive one is local time, as Python's own
    ``timestamp()`` reads it) or a date (its midnight UTC); None for anything else."""
    dt_mod = sys.modules.get("datetime")
    if dt_mod is None:
        return None
    if isinstance(value, dt_mod.datetime):
        return float(value.timestamp())
    if isinstance(value, dt_mod.date):
        midnight = dt_mod.datetime.combine(value, dt_mod.time(), tzinfo=dt_mod.timezone.utc)
        return float(midnight.timestamp())
    return None


def _context_of(context: object, defaults: dict[str, object] | None) -> dict[str, object]:
    ctx: dict[str, object] = dict(defaults) if defaults else {}
    try:
        if isinstance(context, dict):
            ctx.update(context)
        elif context is not None:
            ctx["value"] = context
    except Exception:  # noqa: BLE001 - a hostile mapping: its repr stands in
        ctx["value"] = _safe_repr(context)
    ctx["library"] = LIBRARY
    return ctx


def default_context(*, app_name: str | None = None, app_version: str | None = None,
                    include_host: bool = False) -> dict[str, object]:
    """What every event of a process says about where it was recorded: the OS and Python,
    the app where its name or version is set, and only with ``include_host`` the host and
    user names (they identify people)."""
    uname = os.uname()
    version = sys.version_info
    ctx: dict[str, object] = {
        "os": {"name": uname.sysname, "version": uname.release},
        "runtime": {"name": sys.implementation.name,
                    "version": f"{version[0]}.{version[1]}.{version[2]}"},
    }
    app = {k: v for k, v in (("name", app_name), ("version", app_version)) if v}
    if app:
        ctx["app"] = app
    if include_host:
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or _user_name()
        ctx["host"] = {"name": uname.nodename, "user": user}
    return ctx


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return ""


def event_document(
    event: object,
    properties: object = None,
    context: object = None,
    timestamp: object = None,
    *,
    defaults: dict[str, object] | None = None,
    base_properties: dict[str, object] | None = None,
) -> dict[str, Any]:
    """One contract event as a dict, with a new id. Whatever is passed, the event is kept:
    a time that cannot be written becomes now, properties that are not a dict become
    ``{"value": ...}``. ``defaults`` go into the context beneath the caller's own keys, and
    ``base_properties`` (the ``properties`` setting) into the properties beneath the
    event's own."""
    name = event if type(event) is str else _safe_repr(event)
    props: object = properties if properties is not None else {}
    if type(props) is not dict and not isinstance(props, dict):
        props = {"value": props}
    if base_properties:
        try:
            props = {**base_properties, **props}
        except Exception:  # noqa: BLE001 - a hostile mapping: its repr stands in
            props = {**base_properties, "value": _safe_repr(props)}
    # the usual case (no timestamp, no context) without a call
    stamp = rfc3339_ms(time.time()) if timestamp is None else _stamp_of(timestamp)
    if context is None:
        ctx = {"library": LIBRARY, **defaults} if defaults else {"library": LIBRARY}
    else:
        ctx = _context_of(context, defaults)
    return {"id": uuid7(), "event": name, "timestamp": stamp, "properties": props,
            "context": ctx}


def build_event(
    event: object,
    properties: object = None,
    context: object = None,
    timestamp: object = None,
    *,
    encode: Callable[[object], bytes] = encode_stdlib,
) -> tuple[str, bytes]:
    """Build one contract event. Returns its id and its UTF-8 JSON encoding.

    Whatever is passed, the event is kept: a value that cannot be represented is replaced
    by a marker (alone), a time that cannot be written by now.
    """
    doc = event_document(event, properties, context, timestamp)
    return doc["id"], encode(doc)


# Why make_event kept no event (the drop reasons of `Counters` and drops.json)
FILTERED: Final = "filtered"  # before_send returned None: the caller's choice, not a loss

# The calls of Segment's and PostHog's SDKs beside `track`, kept as native events of these
# names; what each carries besides the user (``context.user_id``) is in its properties under
# these keys (docs/protocol.md), so that a receiver that knows nothing of them keeps it all.
IDENTIFY = "$identify"
GROUP = "$group"
ALIAS = "$alias"
TRAITS = "$traits"
GROUP_ID = "$group_id"
GROUP_TYPE = "$group_type"
PREVIOUS_ID = "$previous_id"

# The sinks of the `shipper.testing.capture()` blocks open now. While there is one, every
# recording path gives its events to them (``sink(settings, encoded_event)``) instead of
# queueing, writing or sending them. Only `shipper.testing` changes this list; empty, as it
# is in any program outside a test, it costs each event one truth test.
capture_sinks: list[Callable[[Settings, bytes], None]] = []


def captured(settings: Settings, raw: bytes) -> None:
    """Give an event to every open capture (see `capture_sinks`)."""
    for sink in tuple(capture_sinks):  # a copy: a block may close on another thread
        sink(settings, raw)


def id_text(value: object) -> str | None:
    """A user, group or previous id as the SDKs take it: a non-empty string as it is, a
    number or a UUID as its text; None for anything else (no id: the call is invalid)."""
    if type(value) is str:
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, str)) or _is_instance(value, "uuid", "UUID"):
        text = str(value)
        return text or None
    return None


def make_event(
    event: object,
    properties: object,
    context: object,
    timestamp: object,
    *,
    max_bytes: int,
    user_id: str | None = None,
    user: str | None = None,
    base_properties: dict[str, object] | None = None,
    encode: Callable[[object], bytes] = encode_stdlib,
    defaults: dict[str, object] | None = None,
    before_send: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    first_seen: bool = False,
) -> tuple[str, bytes] | DropReason | Literal["filtered"]:
    """The event every recording path makes: built, given to ``before_send``, encoded and
    size-checked. Returns its id and encoding, or why it was not kept (`TOO_LARGE`,
    `BEFORE_SEND_FAILED`, `FILTERED`), with a warning for the first two (``first_seen``:
    the first of each kind in this process shown on stderr even where logging is not set
    up, see `_log.warning`).

    The user an event was recorded for stays its user whenever it is sent: ``user`` (this
    call's ``user_id``) is kept as ``context.user_id``, over the context's own; without it
    ``user_id`` (the setting) is, unless the caller's context has one. ``base_properties``
    (the ``properties`` setting) go beneath the event's own properties.
    """
    who = user if user is not None else user_id
    if who is not None:
        if isinstance(context, dict):
            if user is not None or "user_id" not in context:
                context = {**context, "user_id": who}
        elif context is None:
            context = {"user_id": who}
    doc = event_document(event, properties, context, timestamp, defaults=defaults,
                         base_properties=base_properties)
    if before_send is not None:
        changed = _before_send(before_send, doc, first_seen)
        if isinstance(changed, str):
            return changed
        doc = changed
    raw = encode(doc)
    if len(raw) > max_bytes:
        from ._reasons import TOO_LARGE  # only when it happens: the hook path spares it

        _log.warning("event %s dropped: %d bytes is over max_event_bytes (%d)",
                     _safe_repr(event), len(raw), max_bytes,
                     first_of=TOO_LARGE if first_seen else None)
        return TOO_LARGE
    return doc["id"], raw


def _before_send(hook: Callable[[dict[str, Any]], dict[str, Any] | None],
                 doc: dict[str, Any], first_seen: bool = False,
                 ) -> dict[str, Any] | DropReason | Literal["filtered"]:
    """The event as ``hook`` changed it, or why it is dropped. The hook gets its own copy
    of the event and of its properties and context (nested values are shared): changing
    them never changes the caller's dicts. An exception, or something that is not an event
    with a string id, drops the event: privacy first, never sent unredacted."""
    offered = {**doc, "properties": dict(doc["properties"]), "context": dict(doc["context"])}
    first_of = "before_send" if first_seen else None  # the kind said once (see _log)
    try:
        changed = hook(offered)
    except Exception as exc:  # noqa: BLE001 - the user's function: any failure drops the event
        from ._reasons import BEFORE_SEND_FAILED

        _log.warning("before_send raised %s; event %s dropped", type(exc).__name__, doc["id"],
                     first_of=first_of)
        return BEFORE_SEND_FAILED
    if changed is None:
        return FILTERED
    if not isinstance(changed, dict) or type(changed.get("id")) is not str:
        from ._reasons import BEFORE_SEND_FAILED

        _log.warning("before_send returned %s, not an event with an id; event %s dropped",
                     type(changed).__name__, doc["id"], first_of=first_of)
        return BEFORE_SEND_FAILED
    return changed
