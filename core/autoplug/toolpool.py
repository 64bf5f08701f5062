"""The pool of threads that runs sync tools for ``acall`` (see :mod:`autoplug.toolthreads`).

Process-wide, started on first use. Its threads are daemon threads that nobody
joins, so a sync tool past its timeout can be abandoned (a Python thread cannot
be stopped): its thread stays busy, the pool starts another for the next call,
and neither the run nor the process's exit waits for it. A forked child starts
with an empty pool (its parent's threads are not in it).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
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
    waiting to be settled adds its own to them, so the loop is woken once for all.
    """

    def __init__(self, idle_s: float = IDLE_THREAD_S) -> None:
        self.idle_s = idle_s
        self._jobs: queue.SimpleQueue[tuple[Any, Any, Callable[[], Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Threads waiting for a job less the jobs queued: below 0, calls wait for a thread.
        self._idle = 0
        self._alive = 0
        self._started = 0
        self._armed: Any = None  # the loop a look at calls waiting for a thread is due in
        self._done: dict[Any, list[tuple[Any, bool, Any]]] = {}  # loop -> results to settle
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
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._idle -= 1
            short = self._idle < 0
            spawn = short and self._alive < EAGER_THREADS
            if spawn:
                self._spawned()
            # Armed per loop: a loop closed before its look came leaves no one waiting.
            arm = short and not spawn and self._armed is not loop
            if arm:
                self._armed = loop
        self._jobs.put((loop, future, job))
        if spawn:
            self._start()
        elif arm:
            loop.call_later(GROW_AFTER_S, self._grow, loop)
        return future

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
            again = self._idle < 0
            if again:
                self._armed = loop
        self._start()
        if again:
            loop.call_later(GROW_AFTER_S, self._grow, loop)

    def _work(self) -> None:
        while True:
            try:
                loop, future, job = self._jobs.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # more threads wait than jobs: end this one
                        self._idle -= 1
                        self._alive -= 1
                        return
                continue  # a job was queued just now: take it
            try:
                outcome = (True, job())
            except Exception as exc:
                outcome = (False, exc)
            with self._lock:
                self._idle += 1
                waiting = self._done.get(loop)
                if waiting is None:
                    self._done[loop] = [(future, *outcome)]
                else:
                    waiting.append((future, *outcome))  # the loop is woken for them already
            if waiting is None:
                try:
                    loop.call_soon_threadsafe(self._settle, loop)
                except RuntimeError:  # the loop has closed: the tool was abandoned
                    with self._lock:
                        self._done.pop(loop, None)
            del loop, future, job, outcome  # hold nothing of a finished call while idle

    def _settle(self, loop: Any) -> None:
        with self._lock:
            done = self._done.pop(loop, ())
        for future, ok, value in done:
            if future.done():
                continue  # timed out or cancelled: the result is dropped
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


def _forked(ref: weakref.ref[ToolThreads]) -> None:
    """In a forked child: no thread, no queued call, no result of the parent's loops."""
    pool = ref()
    if pool is not None:
        pool._jobs = queue.SimpleQueue()
        pool._lock = threading.Lock()  # another thread may have held it at the fork
        pool._idle = pool._alive = 0
        pool._armed = None
        pool._done = {}
