"""The one "never raises" boundary of shipper's public entry points.

A failure of shipper itself (a bug, a hostile value, a broken disk) must never reach the
program that records events: every public entry point is wrapped here instead of in a
hand-written ``try`` block. The failure is logged once, with its traceback, on the
``shipper`` logger; then an optional ``recover`` runs (spill what is in memory, say) and its
result, or else ``fallback``, is returned.

The hook path imports this module (``shipper.track`` is decorated), so it uses neither
functools nor typing at run time.
"""

from __future__ import annotations

import sys

from . import _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


def _parameters(func: Callable[..., object]) -> tuple[str, ...]:
    """The names ``func`` takes as keywords (read from its code: no inspect on the hook
    path)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return ()
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    return tuple(n for n in names if n not in ("self", "cls"))


def _meant_keyword(error: BaseException, parameters: tuple[str, ...]) -> str:
    """`` (did you mean 'user_id'?)`` for a call given a keyword it does not take that is
    close to one it does (Segment's and PostHog's camelCase ``userId`` included), else
    ``""``."""
    text = str(error)
    marker = "unexpected keyword argument '"
    if not isinstance(error, TypeError) or marker not in text:
        return ""
    given = text.split(marker, 1)[1].split("'", 1)[0]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in given).lstrip("_")
    import difflib  # only when a call went wrong

    close = difflib.get_close_matches(snake, parameters, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _recovered(what: str, fallback: object, recover: Callable[..., object] | None,
               catch: type[BaseException], surface: tuple[str, ...] | None, *args: object,
               **kwargs: object) -> Any:
    """``surface``: None, or the names the function takes (to say which one was meant)."""
    try:
        if surface is not None:  # a wrong keyword, say: said once even without logging
            error = sys.exc_info()[1]
            _log.warning("%s failed, nothing recorded: %s: %s%s", what,
                         type(error).__name__, error,
                         _meant_keyword(error, surface) if error else "",
                         first_of=f"failed:{what}")
        _log.exception("%s failed", what)
        if recover is not None:
            return recover(*args, **kwargs)
    except catch:  # the boundary itself must hold
        try:
            _log.exception("%s: recovering from the failure failed too", what)
        except catch:  # not even logging may raise here
            pass
    return fallback


def _named_like(wrapper: Callable[..., object], func: Callable[..., object]) -> None:
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, name, getattr(func, name))
        except AttributeError:
            pass
    wrapper.__wrapped__ = func  # type: ignore[attr-defined]


def never_raises(what: str, fallback: object = None, *,
                 recover: Callable[..., object] | None = None,
                 catch: type[BaseException] = Exception,
                 surface: bool = False) -> Callable[[F], F]:
    """Decorate a function: any ``Exception`` it raises is logged and ``recover(*args,
    **kwargs)`` (given the same arguments) or ``fallback`` is returned instead. Both must be
    of the function's return type. ``catch=BaseException`` also stops ``SystemExit``,
    ``KeyboardInterrupt`` and the like, for the one caller that must survive them all (a
    hook, which must never fail its agent). ``surface``: the first failure of ``what`` in
    this process is also said in one line on stderr where logging is not set up (see
    `_log.warning`): a recording call given a keyword it does not take, say."""

    def decorate(func: F) -> F:
        said = _parameters(func) if surface else None

        def guarded(*args: object, **kwargs: object) -> Any:
            try:
                return func(*args, **kwargs)
            except catch:  # the point of the boundary
                return _recovered(what, fallback, recover, catch, said, *args, **kwargs)

        _named_like(guarded, func)
        return guarded  # type: ignore[return-value]  # same signature as func, by construction

    return decorate


def never_raises_async(what: str, fallback: object = None, *,
                       recover: Callable[..., object] | None = None) -> Callable[[F], F]:
    """`never_raises` for a coroutine function (``recover`` is a plain function)."""

    def decorate(func: F) -> F:
        async def guarded(*args: object, **kwargs: object) -> Any:
            try:
                return await func(*args, **kwargs)
            except Exception:  # noqa: BLE001 - the point of the boundary
                return _recovered(what, fallback, recover, Exception, None, *args, **kwargs)

        _named_like(guarded, func)
        return guarded  # type: ignore[return-value]  # same signature as func, by construction

    return decorate
