"""The event loop behind the blocking calls (``Kernel.run``): kept between the calls.

``asyncio.run`` makes and closes an event loop for every call — an epoll
descriptor, a socket pair, a signal handler, the default executor's threads —
which was a third of a short run's fixed cost with no folder. The main thread's
blocking calls share one loop instead (an :class:`asyncio.Runner` kept open),
with what ``asyncio.run`` guarantees per call: the run's tasks left behind are
cancelled when it returns, Ctrl-C cancels it the same way, and a call inside a
running loop is refused by the caller; between the calls the thread has no current
loop, as after ``asyncio.run``, and a kept loop closed by someone else is replaced.
A forked child never closes the loop it inherited (its epoll instance is shared with
the parent's). Other threads use ``asyncio.run`` as before (a loop kept for a thread
that ends would never be closed).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Coroutine
from typing import Any

_STATE: dict[str, Any] = {"runner": None, "pid": None, "at_exit": False}


def run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to its end and return its result, as ``asyncio.run`` does."""
    import asyncio

    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(coro)
    runner = _STATE["runner"]
    if _STATE["pid"] != os.getpid():
        _forget_inherited()  # a forked child: the parent's loop is not this process's
        runner = None
    if runner is None or runner.get_loop().is_closed():  # none yet, or closed by others
        runner = _fresh_runner()
    try:
        return runner.run(coro)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        _discard()  # interrupted: the next call starts from a fresh loop
        raise
    finally:
        if _STATE["runner"] is runner:
            _cancel_leftovers(runner.get_loop())
            # As asyncio.run leaves it: no current loop between the calls, so code
            # that asks for one (and may close it) never gets the kept loop.
            import asyncio

            asyncio.set_event_loop(None)


_INHERITED: list[Any] = []


def _forget_inherited() -> None:
    """Drop the loop a forked child inherited, without ever closing it here.

    Its epoll instance and self-pipe are the parent's too: closing the loop (or
    letting it be collected, which closes it) would unregister the parent's
    self-pipe from their shared epoll instance, and the parent's loop would no
    longer wake for results from threads. It is kept referenced and marked closed,
    so neither ``close`` nor its finaliser touches them.
    """
    runner = _STATE["runner"]
    _STATE.update(runner=None, pid=None)
    if runner is not None:
        loop = runner.get_loop()
        loop._closed = True  # noqa: SLF001 (the only way to make close() a no-op)
        _INHERITED.append(runner)


def _fresh_runner() -> Any:
    import asyncio

    _STATE.update(runner=asyncio.Runner(), pid=os.getpid())
    if not _STATE["at_exit"]:
        import atexit

        atexit.register(_discard)
        _STATE["at_exit"] = True
    return _STATE["runner"]


def _cancel_leftovers(loop: Any) -> None:
    """Cancel the tasks a run left behind and let them end (``asyncio.run``'s own rule)."""
    import asyncio

    left = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not left:
        return
    for task in left:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


def _discard() -> None:
    """Close the kept loop (at exit, after an interrupt); a forked child's is only dropped."""
    if _STATE["pid"] != os.getpid():
        _forget_inherited()  # at exit in a forked child: never close the parent's loop
        return
    runner = _STATE["runner"]
    _STATE.update(runner=None, pid=None)
    if runner is None or runner.get_loop().is_closed():
        return
    loop = runner.get_loop()
    try:
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # closing is hygiene: a task that refuses to end must not block exit
        pass
    finally:
        # Not Runner.close(): it would wait for every thread of the default executor,
        # and a sync tool abandoned after its timeout may never end.
        loop.close()
        if threading.current_thread() is threading.main_thread():
            import asyncio

            asyncio.set_event_loop(None)
