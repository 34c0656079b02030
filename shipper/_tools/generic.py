"""Any JSON object, from any program: ``shipper hook --source generic --event NAME``.

Privacy does not depend on naming the source right: an unknown ``--source`` is read as
this one, which keeps what cannot be content (numbers, booleans, short strings under names
that hold names and ids) and sends every other value as its size, unless content is opted
in.
"""

from __future__ import annotations

from ._mapping import META_CHARS, cap

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._mapping import Fields

NAME = "generic"
TITLE = "any program"
ORDER = 1000
PREFIX = "generic"
ALIASES = ()
RECORDS = "numbers, booleans, names and ids of any JSON object; other values as sizes"

# strings kept without opt-in: names and ids, not what a user wrote
_META = frozenset({"event", "hook_event_name", "type", "source", "status", "reason",
                   "trigger", "model", "tool_name", "name", "session_id"})


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    """With content opted in, all of it (capped); without, numbers, booleans, and short
    strings under names that hold names and ids (``event``, ``session_id``,
    ``tool_name``, any ``*_id``...); every other value is sent as its size only."""
    name = payload.get("event") or payload.get("hook_event_name")
    event_name = name if isinstance(name, str) and name else "hook"
    if fields.include:
        fields.data.update((key, cap(value)) for key, value in payload.items())
        return event_name
    for key, value in payload.items():
        if not isinstance(key, str):
            continue
        plain = value is None or isinstance(value, (bool, int, float))
        meta_string = (isinstance(value, str) and len(value) <= META_CHARS
                       and (key in _META or key.endswith("_id")))
        if plain or meta_string:
            fields.meta(key, value)
        else:
            fields.content(key, value)
    return event_name
