"""Running blocking file work off the event loop, even while the interpreter exits."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Offload(Protocol):
    """How a loop runs blocking work: `offload` or `run_here`."""

    def __call__(self, func: Callable[..., T], /, *args: object,
                 **kwargs: object) -> Awaitable[T]: ...


async def offload(func: Callable[..., T], /, *args: object, **kwargs: object) -> T:
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


async def run_here(func: Callable[..., T], /, *args: object, **kwargs: object) -> T:
    """`offload`'s counterpart for a loop on a thread of its own (a `Shipper`'s delivery
    thread, ``shipper sync``): the work runs at once, on this thread. Blocking that loop
    blocks nobody else, and a hop to the thread pool would cost two thread switches and a
    third thread contending for the interpreter lock with the caller, for every read of
    the shared state and every file claimed."""
    return func(*args, **kwargs)
