"""The event loop behind the blocking calls (``Kernel.run``): kept between the calls.

``asyncio.run`` makes and closes an event loop for every call — an epoll
descriptor, a socket pair, a signal handler, the default executor's threads —
which was a third of a short run's fixed cost with no folder. The main thread's
blocking calls share one loop instead (kept open by :class:`KeptLoop`),
with what ``asyncio.run`` guarantees per call: the run's tasks left behind are
cancelled when it returns, Ctrl-C cancels it the same way, and a call inside a
running loop is refused by the caller; between the calls the thread has no current
loop, as after ``asyncio.run``, and a kept loop closed by someone else is replaced.
A forked child never closes the loop it inherited (its epoll instance is shared with
the parent's). Other threads use ``asyncio.run`` as before (a loop kept for a thread
that ends would never be closed).

The kept loop is run by :class:`KeptLoop`, not ``asyncio.Runner.run``: the
Runner installs and restores its Ctrl-C handler through the ``signal`` module,
which converts every handler to ``signal.Handlers`` and, failing for the
Runner's ``functools.partial``, formats the repr of the run's task — ~56 µs of a
blocking run's ~0.5 ms. :class:`KeptLoop` installs the same handler through
``_signal`` (no conversion) and keeps the Runner's rules: the first Ctrl-C
cancels the call's task and ends it with ``KeyboardInterrupt``, a second one
raises ``KeyboardInterrupt`` at once, a handler the application installed is
left alone, and each call's task runs in a fresh copy of the caller's context
(as ``asyncio.run``'s did).

Each call ends as ``asyncio.run`` ends, observably: the tasks it left are
cancelled, the timers it left are cancelled (a closed loop never runs them), and
when it left the loop other than a fresh one is — a callback ready to run, an
unfinished async generator, an exception handler, a task factory, a default
executor, debug mode changed, a file descriptor watched, a signal handler — the
loop is shut down and closed as ``asyncio.run`` closes its own (the callbacks run,
the generators are finalized, the default executor's threads are waited for) and
the next call gets a fresh one. A run of autoplug's own leaves none of these, so
the loop is kept.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Coroutine
from typing import Any

_STATE: dict[str, Any] = {"runner": None, "pid": None, "at_exit": False}


class KeptLoop:
    """The main thread's kept event loop and one call's Ctrl-C handling (``asyncio.Runner``'s).

    ``get_loop`` and ``run`` as ``asyncio.Runner`` has them; the loop is made at once.
    """

    __slots__ = ("_loop", "_task", "_interrupts", "_made")

    def __init__(self) -> None:
        import asyncio

        self._loop = loop = asyncio.new_event_loop()
        self._task: Any = None
        self._interrupts = 0
        # What a fresh loop has: debug mode and slow-callback limit, watched descriptors;
        # None for a loop of another implementation (uvloop's), whose fields are unknown.
        self._made = _fresh_state(loop) if isinstance(loop, asyncio.BaseEventLoop) else None

    def get_loop(self) -> Any:
        """The kept loop."""
        return self._loop

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` to its end in the kept loop, Ctrl-C cancelling it."""
        import _signal
        import asyncio
        import contextvars

        if not asyncio.iscoroutine(coro):
            raise ValueError(f"a coroutine was expected, got {coro!r}")
        if asyncio._get_running_loop() is not None:
            raise RuntimeError("the kept loop cannot run inside a running event loop")
        loop = self._loop
        asyncio.set_event_loop(loop)
        task = loop.create_task(coro, context=contextvars.copy_context())
        handler = None
        # As asyncio.Runner: only when nobody (the application) installed a handler of its own.
        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            handler = self._on_sigint
            try:
                _signal.signal(_signal.SIGINT, handler)
            except ValueError:  # not the main interpreter's main thread
                handler = None
        self._task, self._interrupts = task, 0
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            uncancel = getattr(task, "uncancel", None)  # a task factory's task may lack it
            if self._interrupts > 0 and uncancel is not None and uncancel() == 0:
                raise KeyboardInterrupt() from None
            raise
        finally:
            self._task = None
            if handler is not None and _signal.getsignal(_signal.SIGINT) == handler:
                _signal.signal(_signal.SIGINT, _signal.default_int_handler)

    def left_as_made(self) -> bool:
        """Whether the loop is as fresh as when it was made, its timers cancelled first.

        Reads the loop's own fields (``BaseEventLoop``'s): the timers and ready
        callbacks a call left have no public accessor. A loop of another
        implementation (an event loop policy's, such as uvloop's) is never as made:
        each call's is closed, as ``asyncio.run`` closes its own.
        """
        if self._made is None:
            return False
        loop = self._loop
        for timer in loop._scheduled:
            timer.cancel()  # what closing the loop does to them: they never run
        return (
            not loop._ready
            and not loop._asyncgens
            and loop._exception_handler is None
            and loop._task_factory is None
            and loop._default_executor is None
            and not getattr(loop, "_signal_handlers", None)
            and _fresh_state(loop) == self._made
        )

    def _on_sigint(self, signum: int, frame: Any) -> None:
        """Ctrl-C: cancel the call's task the first time, raise KeyboardInterrupt after."""
        self._interrupts += 1
        task = self._task
        if self._interrupts == 1 and task is not None and not task.done():
            task.cancel()
            # Wake the loop if it is blocked in select() with a long timeout.
            self._loop.call_soon_threadsafe(_nothing)
            return
        raise KeyboardInterrupt()


def _fresh_state(loop: Any) -> Any:
    """What of a ``BaseEventLoop``'s state a call may change and a fresh one has, or None
    (a loop without a selector)."""
    selector = getattr(loop, "_selector", None)
    if selector is None:
        return None
    return (loop.get_debug(), loop.slow_callback_duration, len(selector.get_map()))


def _nothing() -> None:
    """A callback that only wakes the loop."""


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
            if not runner.left_as_made():
                _discard(wait=True)  # closed as asyncio.run closes its loop
            # As asyncio.run leaves it: no current loop between the calls, so code
            # that asks for one (and may close it) never gets the kept loop.
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


def _fresh_runner() -> KeptLoop:
    _STATE.update(runner=KeptLoop(), pid=os.getpid())
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


def _discard(wait: bool = False) -> None:
    """Close the kept loop (at exit, after an interrupt); a forked child's is only dropped.

    ``wait``: shut the default executor down first, waiting for its threads, as
    ``asyncio.run`` does (for a call that left the loop changed; an interrupted
    call or the process's exit does not wait).
    """
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
        if wait:
            loop.run_until_complete(loop.shutdown_default_executor())
    except Exception:  # closing is hygiene: a task that refuses to end must not block exit
        pass
    finally:
        # Without ``wait``, not Runner.close(): it would wait for every thread of the
        # default executor, and a job abandoned by an interrupted call may never end.
        loop.close()
        if threading.current_thread() is threading.main_thread():
            import asyncio

            asyncio.set_event_loop(None)
