"""shipper: offline-first, fire-and-forget event shipping.

Importing this package is cheap and has no side effects: the clients (which need httpx and
asyncio) load on first use, so a hook that only calls `shipper.track` never imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import Settings, load_settings
from ._decorator import graceful_tracking
from ._errors import ConfigError, ShipperError
from ._oneshot import track
from ._version import __version__

if TYPE_CHECKING:
    from ._client import AsyncShipper, Shipper
    from ._engine import FlushResult
    from ._sync import SyncResult, sync

__all__ = [
    "AsyncShipper",
    "ConfigError",
    "FlushResult",
    "Settings",
    "Shipper",
    "ShipperError",
    "SyncResult",
    "__version__",
    "graceful_tracking",
    "load_settings",
    "sync",
    "track",
]

_LAZY = {
    "AsyncShipper": "._client",
    "Shipper": "._client",
    "FlushResult": "._engine",
    "SyncResult": "._sync",
    "sync": "._sync",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shipper' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
