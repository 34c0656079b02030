"""JSON without importing :mod:`json`.

``import json`` imports :mod:`re` (and with it :mod:`enum`, :mod:`functools` and
:mod:`collections`), which costs a hook process more than everything else it does. The
standard library's own C accelerators in :mod:`_json` need none of that, so this module
drives them directly: the same scanner and encoder that ``json.loads`` and ``json.dumps``
use, with the same results. Where ``_json`` lacks them (PyPy, say) it falls back to
:mod:`json`. orjson is used when something already loaded it (a long-running client).

The scanner and encoders are built on first use and cached: they hold no state between
calls (the scanner's memo is cleared after each document).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_WHITESPACE = " \t\n\r"
_INF = float("inf")
_CONSTANTS = {"NaN": float("nan"), "Infinity": _INF, "-Infinity": -_INF}


class _Context:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scanner: list[Callable[[str, int], tuple[Any, int]] | None] = []
_encoders: dict[tuple[object, bool, bool], Callable[[object, int], Any]] = {}


def _scan() -> Callable[[str, int], tuple[Any, int]] | None:
    if not _scanner:
        try:
            from _json import make_scanner

            _scanner.append(make_scanner(_Context()))  # type: ignore[arg-type]  # duck-typed
        except (ImportError, TypeError):  # pragma: no cover - no C accelerator
            _scanner.append(None)
    return _scanner[0]


def _skip_space(text: str, index: int) -> int:
    end = len(text)
    while index < end and text[index] in _WHITESPACE:
        index += 1
    return index


def _decode(text: str) -> Any:
    """``json.loads(text)`` through the C scanner."""
    scan = _scan()
    if scan is None:  # pragma: no cover - no C accelerator
        import json

        return json.loads(text)
    start = _skip_space(text, 0)
    try:
        value, end = scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"Expecting value: char {stop.value}") from None
    except SystemError:
        # Python 3.10 and 3.11: the C scanner reports most syntax errors through
        # json.decoder.JSONDecodeError, which it looks up in sys.modules without importing
        # it; where json was never imported, it fails with a SystemError instead. Only bad
        # input gets here, so the standard library may say what is wrong (a ValueError).
        import json

        return json.loads(text)
    end = _skip_space(text, end)
    if end != len(text):
        raise ValueError(f"Extra data: char {end}")
    return value


def loads(data: bytes | str) -> Any:
    """Parse JSON as ``json.loads`` does; raises ValueError (or RecursionError) on bad input.

    orjson first when it is loaded; what it refuses (integers past 64 bits, say) gets a
    second opinion from the standard library's parser, so both installs accept the same
    documents.
    """
    orjson = sys.modules.get("orjson")
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    if isinstance(data, str):
        return _decode(data)
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:  # UTF-16 or -32, which json.loads detects
        import json

        return json.loads(data)
    return _decode(text[1:] if text.startswith("\ufeff") else text)


def encode(value: object, *, default: Callable[[object], object] | None = None,
           allow_nan: bool = True, sort_keys: bool = False) -> str:
    """``json.dumps(value, separators=(",", ":"), ...)`` (ASCII-only output) through the C
    encoder. Raises as ``json.dumps`` does: ValueError for NaN when not ``allow_nan``,
    TypeError for what neither JSON nor ``default`` can take, RecursionError for cycles (they
    are not looked for)."""
    key = (default, allow_nan, sort_keys)
    encoder = _encoders.get(key)
    if encoder is None:
        encoder = _make_encoder(default, allow_nan, sort_keys)
        if len(_encoders) < 8:
            _encoders[key] = encoder
    return "".join(encoder(value, 0))


def _make_encoder(default: Callable[[object], object] | None, allow_nan: bool,
                  sort_keys: bool) -> Callable[[object, int], Any]:
    def refuse(value: object) -> object:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    try:
        from _json import encode_basestring_ascii, make_encoder

        made: Callable[[object, int], Any] = make_encoder(
            None, default or refuse, encode_basestring_ascii, None, ":", ",", sort_keys,
            False, allow_nan)
        return made
    except (ImportError, TypeError):  # pragma: no cover - no C accelerator
        import json

        def fallback(value: object, _level: int) -> Any:
            return (json.dumps(value, separators=(",", ":"), default=default,
                               allow_nan=allow_nan, sort_keys=sort_keys),)

        return fallback


def dumps(value: Any) -> bytes:
    """Compact JSON bytes for plain data (dicts of str, numbers, bools, None, lists), keys
    sorted."""
    orjson = sys.modules.get("orjson")
    if orjson is None:
        return encode(value, sort_keys=True).encode()
    data: bytes = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return data
