"""The destination a configuration names."""

from __future__ import annotations

from .. import _kinds
from ._base import Destination

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._config import Settings


def destination_for(settings: Settings, anonymous_id: str = "") -> Destination:
    """The `Destination` for ``settings`` (``destination``, default ``shipper``).
    ``anonymous_id`` is sent as the user of events recorded without a ``user_id``."""
    kind = settings.destination
    cls: type[Destination]
    if kind == _kinds.CONSOLE:
        from ._console import Console

        kind = settings.console_as if settings.console_as != _kinds.CONSOLE else _kinds.NATIVE
        shown_as = destination_for(settings._replace(destination=kind), anonymous_id)
        return Console(settings, anonymous_id, shown_as=shown_as)
    if kind == _kinds.OTLP:
        from ._otlp import Otlp as cls
    elif kind == _kinds.SEGMENT:
        from ._segment import Segment as cls
    elif kind == _kinds.POSTHOG:
        from ._posthog import PostHog as cls
    elif kind == _kinds.CLICKHOUSE:
        from ._clickhouse import ClickHouse as cls
    elif kind == _kinds.WEBHOOK:
        from ._webhook import Webhook as cls
    else:
        from ._native import Native as cls
    return cls(settings, anonymous_id)
