"""The pool of threads that runs sync tools for ``acall`` (see :mod:`autoplug.toolthreads`).

Process-wide, started on first use. Its threads are daemon threads that nobody
joins, so a sync tool past its timeout can be abandoned (a Python thread cannot
be stopped): its thread stays busy, the pool starts another for the next call,
and neither the run nor the process's exit waits for it. A forked child starts
with an empty pool (its parent's threads are not in it).
"""

from __future__ import annotations

# Imported with autoplug.toolthreads, on the first acall (never at kernel start).
import asyncio
import os
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

#: How long an idle pool thread waits for work before it ends, in seconds.
IDLE_THREAD_S = 60.0
#: Threads the pool starts at once when a call finds none idle; past them it waits
#: :data:`GROW_AFTER_S` for a busy one to finish before it starts another.
EAGER_THREADS = 4
#: How long a call waits for a busy thread, past :data:`EAGER_THREADS`, before the pool grows.
GROW_AFTER_S = 0.002


class ToolThreads:
    """A pool of daemon threads that grows when all its threads are busy and shrinks when idle.

    Not ``concurrent.futures.ThreadPoolExecutor`` (its threads are joined at
    interpreter exit, so an abandoned tool would hold the process) and not a
    thread per call (starting a thread costs more than handing work to one).

    A burst of quick calls (a thousand runs at once) is not given a thread each:
    up to :data:`EAGER_THREADS` start at once; past them, while calls wait, one
    more starts every :data:`GROW_AFTER_S`. Every thread more contends for the
    interpreter's lock with the event loop's thread, which then waits for it at
    each system call. Calls whose tools block (or were abandoned) so still get
    threads of their own, a few milliseconds later.

    Results go back to their loop in batches: a thread whose loop has results
    waiting to be settled adds its own to them, so the loop is woken once for all
    (a thread-safe deque a loop and a flag saying a wake-up is due: no lock).
    A call's time limit is one of its loop's :class:`Deadlines`, not a timer of its own.
    """

    def __init__(self, idle_s: float = IDLE_THREAD_S) -> None:
        self.idle_s = idle_s
        self._jobs: queue.SimpleQueue[tuple[Any, Any, Callable[[], Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Threads waiting for a job less the jobs queued: below 0, calls wait for a thread.
        self._idle = 0
        self._alive = 0
        self._started = 0
        # (loop, timer) of the look at calls waiting for a thread that is due, or None.
        self._armed: Any = None
        self._results: dict[Any, _Results] = {}  # loop -> its results to settle
        self._deadlines: dict[Any, Deadlines] = {}  # loop -> its calls' time limits
        if hasattr(os, "register_at_fork"):
            # A forked child has none of these threads: counted as idle, they would
            # take no call of the child's (it would wait forever, or time out).
            mine = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forked(mine))

    @property
    def threads_started(self) -> int:
        """How many threads the pool has started so far (reuse keeps this small)."""
        return self._started

    def submit(self, job: Callable[[], Any]) -> Any:
        """An asyncio future of ``job()`` run in a pool thread; the running loop gets the result.

        The future is settled in the loop's thread; a result that comes after the
        future was cancelled (a timeout) is dropped.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        results = self._results.get(loop)
        if results is None:
            results = self._results_of(loop)
        with self._lock:
            self._idle -= 1
            short = self._idle < 0
            spawn = short and self._alive < EAGER_THREADS
            if spawn:
                self._spawned()
            # Armed per loop: a loop closed before its look came leaves no one waiting,
            # nor does a timer cancelled (a kept loop's call ended before it came).
            armed = self._armed
            arm = (
                short
                and not spawn
                and (armed is None or armed[0] is not loop or armed[1].cancelled())
            )
            if arm:
                self._armed = (loop, loop.call_later(GROW_AFTER_S, self._grow, loop))
        self._jobs.put((results, future, job))
        if spawn:
            self._start()
        return future

    def deadlines(self, loop: Any) -> Deadlines:
        """The time limits of ``loop``'s calls (made on first use)."""
        found = self._deadlines.get(loop)
        if found is None:
            # Under the lock: each thread's loops ask here, and dropping the closed loops'
            # entries while another thread adds or drops one fails mid-iteration.
            with self._lock:
                found = self._deadlines.get(loop)
                if found is None:
                    _forget_closed(self._deadlines)
                    found = self._deadlines[loop] = Deadlines(loop)
        return found

    def _results_of(self, loop: Any) -> _Results:
        with self._lock:
            found = self._results.get(loop)
            if found is None:
                _forget_closed(self._results)
                found = self._results[loop] = _Results(loop)
        return found

    def _spawned(self) -> None:
        """Count a thread about to start (under the lock): it will wait for a job."""
        self._idle += 1
        self._alive += 1
        self._started += 1

    def _start(self) -> None:
        thread = threading.Thread(target=self._work, name=f"autoplug-tool-{self._started}")
        thread.daemon = True
        thread.start()

    def _grow(self, loop: Any) -> None:
        """Calls found no thread a moment ago: start one if they still have none, and
        look again a moment later while calls still wait."""
        with self._lock:
            self._armed = None
            if self._idle >= 0:
                return  # threads came free and took them
            self._spawned()
            if self._idle < 0:
                self._armed = (loop, loop.call_later(GROW_AFTER_S, self._grow, loop))
        self._start()

    def _work(self) -> None:
        while True:
            try:
                results, future, job = self._jobs.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # more threads wait than jobs: end this one
                        self._idle -= 1
                        self._alive -= 1
                        return
                continue  # a job was queued just now: take it
            try:
                outcome = (future, True, job())
            except Exception as exc:
                outcome = (future, False, exc)
            with self._lock:
                self._idle += 1
            results.add(outcome)
            del results, future, job, outcome  # hold nothing of a finished call while idle


class _Results:
    """One loop's results from pool threads, settled in the loop's thread in batches.

    A thread appends its result, then wakes the loop only when no wake-up is due
    yet; the loop clears the flag before it takes the results, so a result added
    while it settles is either taken now or wakes it again (at worst a wake-up
    with nothing left to settle).
    """

    __slots__ = ("loop", "waiting", "due")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.waiting: deque[tuple[Any, bool, Any]] = deque()
        self.due = False

    def add(self, outcome: tuple[Any, bool, Any]) -> None:
        """Hand ``(future, ok, value)`` to the loop (from a pool thread)."""
        self.waiting.append(outcome)
        if self.due:
            return  # the loop is woken for them already
        self.due = True
        try:
            self.loop.call_soon_threadsafe(self.settle)
        except RuntimeError:  # the loop has closed: the tool was abandoned
            self.waiting.clear()

    def settle(self) -> None:
        """Settle the waiting futures (in the loop's thread)."""
        self.due = False
        waiting = self.waiting
        while waiting:
            future, ok, value = waiting.popleft()
            if future.done():
                continue  # timed out or cancelled: the result is dropped
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


class Deadlines:
    """The time limits of one loop's sync calls, kept by one timer (the earliest due).

    A timer per call (``call_later`` and its cancel) was about a seventh of a sync
    call's hop. Here a call adds its future and when it is due; the timer is armed
    again only for a deadline earlier than the armed one, so calls of one limit
    in a row arm it once. When it fires, every call past due fails with
    :class:`TimeLimit` and it is armed for the earliest left.
    """

    __slots__ = ("loop", "due", "timer", "at")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.due: dict[Any, float] = {}
        self.timer: Any = None
        self.at = float("inf")

    def add(self, future: Any, limit: float) -> None:
        """Fail ``future`` with :class:`TimeLimit` if it is not done in ``limit`` seconds."""
        when = self.loop.time() + limit
        self.due[future] = when
        # Armed again too when its timer was cancelled (the kept loop's call ended);
        # none is armed for a limit at infinity (when < self.at is then never true).
        timer = self.timer
        if when < self.at or (timer is not None and timer.cancelled()):
            if timer is not None:
                timer.cancel()
            self.at = when
            self.timer = self.loop.call_at(when, self._fire)

    def discard(self, future: Any) -> None:
        """``future`` is done: no limit applies to it any more."""
        self.due.pop(future, None)

    def _fire(self) -> None:
        self.timer, self.at = None, float("inf")
        now = self.loop.time()
        later = float("inf")
        for future, when in list(self.due.items()):
            if when <= now:
                del self.due[future]
                if not future.done():
                    future.set_exception(TimeLimit())
            elif when < later:
                later = when
        if later < self.at:
            self.at = later
            self.timer = self.loop.call_at(later, self._fire)


class TimeLimit(Exception):
    """A sync call ran past its limit (set on its future by its loop's :class:`Deadlines`)."""


def _forget_closed(by_loop: dict[Any, Any]) -> None:
    """Drop the entries of loops that have closed (a thread's ``asyncio.run`` each call)."""
    for loop in [loop for loop in by_loop if loop.is_closed()]:
        del by_loop[loop]


def _forked(ref: weakref.ref[ToolThreads]) -> None:
    """In a forked child: no thread, no queued call, no result of the parent's loops."""
    pool = ref()
    if pool is not None:
        pool._jobs = queue.SimpleQueue()
        pool._lock = threading.Lock()  # another thread may have held it at the fork
        pool._idle = pool._alive = 0
        pool._armed = None
        pool._results = {}
        pool._deadlines = {}
