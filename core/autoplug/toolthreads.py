"""The threads behind ``acall``: one shared pool for sync tools (:mod:`autoplug.toolpool`),
one watchdog for async ones.

The door's async half lives here too: :func:`first_step` and :class:`Rest` run
an async tool's coroutine under the watchdog, :func:`run_sync` hands a sync tool
to the pool.

Both are process-wide and started on first use. The pool's threads are daemon
threads that nobody joins, so a sync tool past its timeout can be abandoned (a
Python thread cannot be stopped): its thread stays busy, the pool starts another
for the next call, and neither the run nor the process's exit waits for it.

The watchdog notices an async tool that blocks the event loop (``time.sleep``,
blocking I/O) — something no asyncio timer can pre-empt. The door marks the
start and end of each step of an async tool's coroutine on the thread running
it; the watchdog looks at those marks every few hundredths of a second, and a
step still running past the tool's timeout is reported on stderr at once.
"""

from __future__ import annotations

# Imported on the first acall (asyncio is loaded by then), never at kernel start. A
# function's own ``import`` costs a failed attribute look-up (a formatted error) a call.
import asyncio
import sys
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from .toolfaults import async_failure, blocked, cancelled_error, no_exit_sync, tool_failure
from .toolpool import TimeLimit, ToolThreads
from .tools import _failure, _success

if TYPE_CHECKING:
    from .tools import CallContext, Tool, ToolCall, ToolResult


class _Slot:
    """What one thread's async tool is running now: a mark ``(name, limit, since)`` or None."""

    __slots__ = ("mark", "reported", "thread")

    def __init__(self, thread: threading.Thread) -> None:
        self.mark: tuple[str, float, float] | None = None
        self.reported: tuple[str, float, float] | None = None  # the last mark reported
        self.thread = thread


class Watchdog:
    """One daemon thread that reports async tools whose step runs past their timeout.

    A step is marked by :meth:`begin` and unmarked by :meth:`end` (a tuple and
    two clock reads: the door's cost of watching an async tool that returns at once).
    """

    def __init__(self, tick: float = 0.02) -> None:
        self.tick = tick
        self._local = threading.local()
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        # Whether the watchdog may be waiting on _wake: a plain flag read by begin(), which
        # calls Event.is_set() (a Python method) no more. Set before the watchdog clears _wake.
        self._idle = True
        self._thread: threading.Thread | None = None

    def slot(self) -> _Slot:
        """The calling thread's slot (made on first use, and the watchdog started)."""
        found: _Slot | None = getattr(self._local, "slot", None)
        if found is None:
            found = self._local.slot = _Slot(threading.current_thread())
            with self._lock:
                self._slots.append(found)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._watch, name="autoplug-watchdog", daemon=True
                    )
                    self._thread.start()
        return found

    def begin(self, slot: _Slot, name: str, limit: float) -> tuple[str, float, float] | None:
        """Mark a step of tool ``name`` as running on ``slot``'s thread; the mark it replaces."""
        previous = slot.mark
        slot.mark = (name, limit, time.monotonic())
        # Looked at after the mark is set: the watchdog sets the flag, then clears _wake,
        # then looks at the marks again.
        if self._idle:
            self._idle = False
            self._wake.set()
        return previous

    def end(self, slot: _Slot, previous: tuple[str, float, float] | None) -> float:
        """Unmark the step; how long it ran if that was past its limit (reported), else 0."""
        mark = slot.mark
        slot.mark = previous
        if mark is None:
            return 0.0
        took = time.monotonic() - mark[2]
        if took <= mark[1]:
            return 0.0
        if slot.reported is not mark:
            slot.reported = mark
            _report(mark[0], mark[1], took)
        return took

    def _watch(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                slots = list(self._slots)
            busy = False
            for slot in slots:
                mark = slot.mark
                if mark is None:
                    if not slot.thread.is_alive():
                        with self._lock:
                            self._slots.remove(slot)
                    continue
                busy = True
                if now - mark[2] > mark[1] and slot.reported is not mark:
                    slot.reported = mark
                    _report(mark[0], mark[1], now - mark[2])
            if not busy:
                self._idle = True
                self._wake.clear()
                # All the slots now, not the list above: a thread whose first step began
                # while we looked (and did not wake us: we were not idle) is among them.
                if any(slot.mark is not None for slot in self._slots):
                    self._wake.set()  # a step began while we looked


def _report(name: str, limit: float, took: float) -> None:
    print(
        f"autoplug: async tool {name!r} has blocked the event loop for "
        f"{took:.1f} s (past its {limit:g} s timeout); it cannot be "
        "pre-empted: its step fails once the loop is back",
        file=sys.stderr,
        flush=True,
    )


#: The process's pool for sync tools and its watchdog for async ones.
POOL = ToolThreads()
WATCHDOG = Watchdog()


# -- the door's async half -----------------------------------------------------------


def first_step(
    found: Tool, kwargs: Any, limit: float | None, ctx: CallContext | None
) -> ToolResult | Rest:
    """Run an async tool's coroutine up to its first suspension.

    The result when it returned (or raised) without suspending, which arms no
    timer; else a :class:`Rest` to await. Each step is marked on the watchdog
    when the call has a limit, so a step that blocks the loop past it is caught.
    """
    watchdog = WATCHDOG
    slot = watchdog.slot() if limit else None
    try:
        coro = found.func(**kwargs)
        previous = watchdog.begin(slot, found.name, limit) if slot is not None else None
        try:
            pending = coro.send(None)
        finally:
            took = watchdog.end(slot, previous) if slot is not None else 0.0
    except StopIteration as stop:  # it returned without suspending
        result = _success(stop.value)
    except BaseException as exc:
        if isinstance(exc, cancelled_error()):
            task = sys.modules["asyncio"].current_task()
            if task is not None and task.cancelling():
                raise  # the caller's own cancellation: never swallowed
        result = async_failure(found, exc, ctx)
    else:
        return Rest(found, coro, pending, limit, ctx, slot, took)
    return blocked(found, took, limit or 0) if took else result


class Rest:
    """An async tool's coroutine after its first step: awaiting it runs the other steps.

    Its timer (what is left of the limit) is armed now that the tool suspended;
    the task's sends, throws (its cancellation) and close reach the coroutine
    unchanged, and each step is marked on the watchdog.
    """

    __slots__ = ("found", "coro", "pending", "limit", "ctx", "slot", "took")

    def __init__(
        self,
        found: Tool,
        coro: Any,
        pending: Any,
        limit: float | None,
        ctx: CallContext | None,
        slot: Any,
        took: float,
    ) -> None:
        self.found, self.coro, self.pending, self.limit = found, coro, pending, limit
        self.ctx, self.slot, self.took = ctx, slot, took

    async def finish(self) -> ToolResult:
        """The call's result: the tool's value, a timeout, or its failure."""
        found, limit = self.found, self.limit
        try:
            async with asyncio.timeout(limit):
                value = await self
            result = _success(value)
        except TimeoutError:
            result = _failure("timeout", f"tool {found.name!r} timed out after {limit:g} s")
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller's own cancellation: never swallowed
            result = tool_failure(found, exc, self.ctx)  # the tool cancelled itself
        except BaseException as exc:
            result = async_failure(found, exc, self.ctx)
        return blocked(found, self.took, limit or 0) if self.took else result

    def __await__(self) -> Any:
        coro, pending, slot, name, limit = (
            self.coro,
            self.pending,
            self.slot,
            self.found.name,
            self.limit,
        )
        while True:
            throw: BaseException | None = None
            sent = None
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                throw = exc
            previous = WATCHDOG.begin(slot, name, limit) if slot is not None else None
            try:
                pending = coro.send(sent) if throw is None else coro.throw(throw)
            except StopIteration as stop:
                return stop.value
            finally:
                if slot is not None:
                    self.took = max(self.took, WATCHDOG.end(slot, previous))


async def run_sync(found: Tool, kwargs: Any, limit: float | None, ctx: Any) -> ToolResult:
    """Run a sync tool in the shared pool, waiting at most ``limit`` seconds.

    The limit is one of the loop's :class:`~autoplug.toolpool.Deadlines` (one
    timer for all its calls), not ``asyncio.timeout`` nor a timer per call: on
    the path of every call.
    """
    future = POOL.submit(partial(no_exit_sync, found.func, kwargs, True))
    deadlines = None
    if limit is not None:
        deadlines = POOL.deadlines(future.get_loop())
        deadlines.add(future, limit)
    try:
        value = await future
        return _success(value)
    except TimeLimit:
        return _failure(
            "timeout",
            f"tool {found.name!r} timed out after {limit:g} s; its thread was abandoned "
            "(a sync tool cannot be stopped)",
        )
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        return tool_failure(found, asyncio.CancelledError(), ctx)
    except Exception as exc:
        return tool_failure(found, exc, ctx)
    finally:
        if deadlines is not None:
            deadlines.discard(future)


class Later:
    """The rest of a call :meth:`autoplug.registry.ToolRegistry._start` began: a sync tool's thread, or an
    async tool's coroutine after it suspended (``rest``)."""

    __slots__ = ("door", "call", "ctx", "found", "kwargs", "limit", "rest")

    def __init__(
        self,
        door: Any,
        call: ToolCall | None,
        ctx: CallContext | None,
        found: Tool,
        kwargs: Any,
        limit: float | None,
        rest: Any,
    ) -> None:
        self.door, self.call, self.ctx, self.found = door, call, ctx, found
        self.kwargs, self.limit, self.rest = kwargs, limit, rest

    def result(self) -> Any:
        """A coroutine of the call's result, once its tool has finished (or timed out).

        With no hook to tell (``call`` None) it is the tool's own coroutine, not one
        around it: a coroutine less a call.
        """
        if self.call is None:
            if self.rest is not None:
                return self.rest.finish()
            return run_sync(self.found, self.kwargs, self.limit, self.ctx)
        return self._told()

    async def _told(self) -> ToolResult:
        if self.rest is not None:
            result = await self.rest.finish()
        else:
            result = await run_sync(self.found, self.kwargs, self.limit, self.ctx)
        return self.door._after(self.call, result, self.ctx)
