"""shipper: offline-first, fire-and-forget event shipping.

Importing this package costs next to nothing and has no side effects: every name loads on
first use, so a hook that only records an event never imports httpx, asyncio or typing.
"""

from __future__ import annotations

from ._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._client import AsyncShipper, Shipper
    from ._config import Settings, load_settings
    from ._decorator import graceful_tracking
    from ._engine import FlushResult
    from ._errors import ConfigError, ShipperError
    from ._oneshot import track
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

_WHERE = {
    "AsyncShipper": "._client",
    "ConfigError": "._errors",
    "FlushResult": "._engine",
    "Settings": "._config",
    "Shipper": "._client",
    "ShipperError": "._errors",
    "SyncResult": "._sync",
    "graceful_tracking": "._decorator",
    "load_settings": "._config",
    "sync": "._sync",
    "track": "._oneshot",
}


def __getattr__(name: str) -> Any:
    if name == "testing":  # the submodule: `shipper.testing.capture()` after `import shipper`
        testing = __import__("testing", globals(), None, ["capture"], 1)
        globals()[name] = testing
        return testing
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'shipper' has no attribute {name!r}")
    # __import__, not importlib.import_module: importing importlib (and warnings with it)
    # would be a tenth of a short-lived script's `track()`
    value = getattr(__import__(module[1:], globals(), None, [name], 1), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
