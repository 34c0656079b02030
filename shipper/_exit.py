"""What becomes of a client's events when its process ends.

- At interpreter exit, each client is closed (delivered within ``shutdown_timeout``, the
  rest spilled), before the interpreter stops accepting new threads.
- On SIGTERM, which kills a process without running exit handlers (``multiprocessing.Pool``
  ends its workers this way), what is in memory is spilled to disk first, then the process
  ends as SIGTERM would have ended it. This is done only where SIGTERM still has Python's
  default disposition when a client is created in the main thread: a program that chose
  what SIGTERM does keeps its choice (and should close its clients in its handler).
- A forked child starts with SIGTERM at its default again: the parent's clients are not
  the child's (their memory stays the parent's to deliver), so it has nothing to spill,
  and a fork worker that SIGTERM ends (``Pool.terminate``) must die at once. A Python
  handler left in an idle child would only delay that, and a signal that a thread other
  than the main one took would never run it: the child could then hang in a blocking call.

The clients are held weakly: a client that is garbage-collected is forgotten here.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref

from . import _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType
    from typing import Any

    from ._engine import Engine

# The engines to spill on SIGTERM, and whether our handler is the one installed. Process
# state by nature (a signal handler is process-wide); `forget_sigterm` resets it.
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_handler_installed = False
_fork_hook_registered = False
# The live clients, each restarted afresh in a forked child by one process-wide hook.
_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_clients_hook_registered = False


def restart_after_fork(client: Any) -> None:
    """In a forked child, call ``client._forked()`` (its queue, thread, task and loop are
    the parent's), while the client lives: one hook for every client of the process."""
    global _clients_hook_registered  # noqa: PLW0603 - per process, by nature
    _clients.add(client)
    if not _clients_hook_registered:
        os.register_at_fork(after_in_child=_restart_clients)
        _clients_hook_registered = True


def _restart_clients() -> None:
    for client in list(_clients):
        client._forked()


def close_at_exit(close: Callable[[], object], owner: object) -> bool:
    """Call ``close`` when the interpreter exits, while ``owner`` is alive, before threads
    are joined and thread pools shut down (``threading._register_atexit``, which
    concurrent.futures uses for the same reason); plain atexit where that is missing.

    False when the interpreter is already exiting (called from an exit handler): then no
    thread must be started, for nothing would stop it in time."""
    ref = weakref.ref(owner)

    def at_exit() -> None:
        if ref() is not None:
            close()

    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(at_exit)
        except RuntimeError:  # the interpreter is shutting down
            return False
        return True
    atexit.register(at_exit)
    return True


def spill_on_sigterm(engine: Engine) -> None:
    """Spill ``engine``'s memory if SIGTERM ends the process (see the module doc)."""
    global _handler_installed, _fork_hook_registered  # noqa: PLW0603 - per process, by nature
    _engines.add(engine)
    if _handler_installed or threading.current_thread() is not threading.main_thread():
        return
    import signal

    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # the program chose what SIGTERM does
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main interpreter, say
        return
    _handler_installed = True
    _watch_for_a_missed_sigterm()
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_forget_in_child)
        _fork_hook_registered = True


# The pipe that Python's C-level signal handler writes each signal's number to (set_wakeup_fd),
# where that was free for us to take: [read end, write end].
_wakeup: list[int] = []
_POKE_S = 0.05  # how long after a SIGTERM the main thread is nudged, if it has not ended


def _watch_for_a_missed_sigterm() -> None:
    """Make sure our SIGTERM handler runs even when the main thread was about to block.

    CPython runs a Python signal handler in the main thread, between bytecodes. A SIGTERM
    that lands after a blocking call checked for signals and before it blocked (the gap in
    `multiprocessing`'s semaphores, where an idle ``Pool`` worker waits) leaves the handler
    unrun, and ``Pool.terminate`` waits for that worker for ever. So the C handler also
    writes the signal's number to a pipe (``signal.set_wakeup_fd``, where the program uses
    none), and a thread watching it interrupts the main thread again a moment later: the
    blocked call returns, the handler runs, the events are spilled and the process ends as
    SIGTERM ends it. Where the main thread handles it first, the process is gone by then.

    Only in a process that ``multiprocessing`` started, where this race hangs its parent:
    the wakeup descriptor is the process's, and a program's event loop (trio's, asyncio's)
    may want it for itself."""
    import signal
    import sys

    if _wakeup or not _in_a_worker_process(sys.modules.get("multiprocessing")):
        return
    read, write = os.pipe()
    try:
        os.set_blocking(write, False)
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except (ValueError, OSError):  # unavailable here
        previous = write
    if previous != -1:  # the program watches signals itself (asyncio's handlers, say)
        if previous != write:
            signal.set_wakeup_fd(previous)  # theirs stays; our handler alone, as before
        os.close(read)
        os.close(write)
        return
    _wakeup[:] = [read, write]
    watcher = threading.Thread(target=_nudge_on_sigterm, args=(read,), daemon=True,
                               name="shipper-sigterm")
    try:
        start_without_sigterm(watcher)
    except RuntimeError:  # no thread can start (exiting): the handler alone, as before
        _stop_watching()


def _in_a_worker_process(multiprocessing: Any) -> bool:
    """Whether this process was started by ``multiprocessing`` (a Pool worker, say)."""
    try:
        return multiprocessing is not None and multiprocessing.parent_process() is not None
    except Exception:  # noqa: BLE001 - an odd multiprocessing: no watcher, as before
        return False


def _nudge_on_sigterm(read: int) -> None:
    import signal
    import time

    main = threading.main_thread().ident
    while True:
        try:
            received = os.read(read, 64)
        except OSError:
            return
        if not received:  # the write end was closed: no longer watching
            os.close(read)
            return
        while signal.SIGTERM in received and main is not None:
            time.sleep(_POKE_S)
            if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
                break  # handled (or the program took SIGTERM over)
            signal.pthread_kill(main, signal.SIGTERM)


def _stop_watching() -> None:
    """Give the wakeup descriptor back (main thread only), and close our pipe."""
    if not _wakeup:
        return
    import signal

    write = _wakeup[1]
    try:
        current = signal.set_wakeup_fd(-1)
        if current != write:  # not ours any more: put theirs back
            signal.set_wakeup_fd(current)
    except ValueError:  # not the main thread: leave it; the watcher ignores what comes
        return
    _wakeup.clear()
    os.close(write)  # the watcher reads the end of its pipe, closes it and stops


def _forget_watcher_in_child() -> None:
    """In a forked child: the pipe came along, its watcher thread did not."""
    if _wakeup:
        import signal

        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        for fd in _wakeup:
            os.close(fd)
        _wakeup.clear()


def _forget_in_child() -> None:
    """After a fork, in the child: the parent's clients are not ours (see the module doc);
    nor is its watcher thread, which did not come along."""
    _engines.clear()
    _forget_watcher_in_child()
    forget_sigterm()


def release_sigterm(engine: Engine) -> None:
    """``engine`` is closed: nothing of it to spill. With no client left open, SIGTERM gets
    its default back (a Python handler delays a process's death until its main thread
    runs Python again: no reason to pay that with nothing to save)."""
    _engines.discard(engine)
    if not _engines:
        forget_sigterm()


def start_without_sigterm(thread: threading.Thread) -> None:
    """Start one of shipper's threads with SIGTERM blocked from its first instruction (a
    thread inherits the mask of the one that starts it, and so do the threads it starts,
    such as an event loop's executor): SIGTERM then always goes to a thread that can run
    Python's handler. Raises what ``thread.start()`` raises."""
    import signal

    try:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    except (AttributeError, OSError, ValueError):  # no POSIX threads' masks here
        thread.start()
        return
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    import signal

    for engine in list(_engines):
        engine.spill_all_quietly()
    forget_sigterm()
    os.kill(os.getpid(), signal.SIGTERM)  # now with the default disposition: the end


def forget_sigterm() -> None:
    """Put SIGTERM back to the default where our handler is installed."""
    global _handler_installed  # noqa: PLW0603 - see spill_on_sigterm
    if not _handler_installed:
        return
    import signal

    try:
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # not the main thread: ours stays, spilling nothing
        _log.debug("cannot restore SIGTERM's default handler from this thread")
        return
    _handler_installed = False
    _stop_watching()
