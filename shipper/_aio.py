"""Running blocking file work off the event loop, even while the interpreter exits."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def offload(func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run ``func(*args, **kwargs)`` in the loop's default thread pool.

    At interpreter exit no new threads may start (``run_in_executor`` refuses before it
    runs anything); the work is then done right here, blocking, which is what exit wants.
    """
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(None, functools.partial(func, *args, **kwargs))
    except RuntimeError:
        return func(*args, **kwargs)
    return await future
