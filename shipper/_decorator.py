"""``@graceful_tracking``: a tracking function that can never break its caller."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import _log

F = TypeVar("F", bound=Callable[..., Any])


class _Failures:
    """How many calls each wrapped function swallowed (see `graceful_tracking.failures`)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


def _wrap(func: F, fallback: Any, failures: _Failures) -> F:
    name = getattr(func, "__qualname__", repr(func))

    def report() -> None:
        failures.add(name)
        _log.exception("tracking function %s raised; returning the fallback", name)

    import inspect  # here, not at import: the hook path imports this package

    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                async for item in func(*args, **kwargs):
                    yield item
            except Exception:  # noqa: BLE001 - the point of the decorator: the rest is lost
                report()

        async_gen_wrapper.failures = failures  # type: ignore[attr-defined]
        return async_gen_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return (yield from func(*args, **kwargs))
            except Exception:  # noqa: BLE001 - the point of the decorator: the rest is lost
                report()
                return fallback

        gen_wrapper.failures = failures  # type: ignore[attr-defined]
        return gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except Exception:  # noqa: BLE001 - the point of the decorator
                report()
                return fallback

        async_wrapper.failures = failures  # type: ignore[attr-defined]
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the point of the decorator
            report()
            return fallback

    wrapper.failures = failures  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@overload
def graceful_tracking(func: F, /) -> F: ...
@overload
def graceful_tracking(*, fallback: Any = None) -> Callable[[F], F]: ...


def graceful_tracking(func: F | None = None, /, *, fallback: Any = None) -> Any:
    """Make a (sync or async) tracking function safe: an exception it raises is logged on
    the ``shipper`` logger, counted in ``wrapped.failures.counts``, and replaced by
    ``fallback``. Use bare (``@graceful_tracking``) or with ``fallback=``.

    Generator and async-generator functions are protected too: an exception raised while
    they are iterated ends the iteration (the generator's return value is ``fallback``)
    instead of reaching the loop that iterates them."""
    if func is not None:
        return _wrap(func, None, _Failures())

    def decorate(inner: F) -> F:
        return _wrap(inner, fallback, _Failures())

    return decorate
