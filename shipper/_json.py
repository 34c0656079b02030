"""JSON for small internal documents: orjson when something already loaded it (a long-running
client), the standard library otherwise (short-lived processes: importing orjson costs them
more than it saves).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (or RecursionError) on bad input.

    orjson first; what it refuses (integers past 64 bits, say) gets a second opinion
    from the standard library, so both installs accept the same documents.
    """
    orjson = sys.modules.get("orjson")
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    import json

    return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes for plain data (dicts of str, numbers, bools, None, lists)."""
    orjson = sys.modules.get("orjson")
    if orjson is None:
        import json

        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    data: bytes = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return data
