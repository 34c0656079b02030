"""``paused-until``: the shared state's verdict, in one line a hook can read cheaply.

state.json (see `shipper._cache._state`) says whether the collector is up and whether the
breaker is open; `shipper._gate.decide` turns that into send, probe or wait. A hook only
needs to know whether to start a background sync, and reading state.json would import the
state's reader, the breaker and the gate: a third of what a hook with an endpoint imports.
So whoever writes state.json also writes, beside it, until when `decide` says wait:
``{"boot": "<boot id>", "until": <monotonic seconds>}``, or removes the file when it does
not. The hint is advisory: a sync that is started anyway makes its own decision from
state.json.
"""

from __future__ import annotations

from ._files import read_json, unlink_quietly, write_json
from ._layout import PAUSE_FILE, join

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._health import Snapshot


# The longest a pause may honestly last: the breaker's longest cooldown (300 s,
# `shipper._breaker.MAX_COOLDOWN_S`) plus a health result's longest trust; a Retry-After
# pause (at most 450 s, `shipper._backoff.LONGEST_PAUSE_S`) is shorter. A file that says
# longer was written by a clock that has since jumped, and is not believed.
MAX_PAUSE_S = 300.0 + 3600.0


def write_pause(root: str, snap: Snapshot, now: float, boot: str, *, ttl: float,
                probes: bool) -> None:
    """Keep ``paused-until`` in step with a state just written: the time `decide` stops
    saying wait, or no file when it does not wait now."""
    from .._gate import waits_until

    path = join(root, PAUSE_FILE)
    until = waits_until(snap, now, ttl=ttl, probes=probes)
    if until is None:
        unlink_quietly(path)
    else:
        write_json(path, {"boot": boot, "until": until})


def paused(root: str, boot: str, now: float) -> bool:
    """Whether ``paused-until`` (written in this boot) says delivery waits at ``now``."""
    data = read_json(join(root, PAUSE_FILE))
    until = data.get("until")
    return (data.get("boot") == boot and isinstance(until, float)
            and now < until <= now + MAX_PAUSE_S)
