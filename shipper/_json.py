"""JSON for small internal documents: orjson when installed, the standard library otherwise.

Imported lazily on first use, so the hook path pays for whichever it needs only once.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (or RecursionError) on bad input.

    orjson first; what it refuses (integers past 64 bits, say) gets a second opinion
    from the standard library, so both installs accept the same documents.
    """
    try:
        import orjson

        return orjson.loads(data)
    except (ImportError, ValueError):
        import json

        return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes for plain data (dicts of str, numbers, bools, None, lists)."""
    try:
        import orjson
    except ImportError:
        import json

        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
