"""The destination a configuration names."""

from __future__ import annotations

from ._base import Destination
from ._native import Native

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._config import Settings


def destination_for(settings: Settings) -> Destination:
    """The `Destination` for ``settings``."""
    return Native(settings)
