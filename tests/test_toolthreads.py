"""The pool behind sync tools (autoplug.toolpool, used by autoplug.toolthreads): few threads for a burst of quick
calls, a thread of its own for every call whose tool blocks, results in batches."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

from autoplug import tool
from autoplug.toolpool import EAGER_THREADS, GROW_AFTER_S, ToolThreads
from autoplug.toolthreads import run_sync


def test_a_burst_of_quick_calls_is_served_by_a_few_threads():
    pool = ToolThreads()

    async def burst() -> list:
        return await asyncio.gather(*(pool.submit(lambda i=i: i * 2) for i in range(2000)))

    assert asyncio.run(burst()) == [i * 2 for i in range(2000)]
    # Not a thread each: the eager few, and one more per GROW_AFTER_S while calls waited.
    assert pool.threads_started <= EAGER_THREADS + 8


def test_calls_whose_tools_block_each_get_a_thread_soon():
    pool = ToolThreads()
    count = EAGER_THREADS * 3
    together = threading.Barrier(count, timeout=10)  # none returns until all have started

    async def blocking() -> tuple[list, float]:
        start = time.monotonic()
        done = await asyncio.gather(*(pool.submit(together.wait) for _ in range(count)))
        return done, time.monotonic() - start

    done, took = asyncio.run(blocking())
    assert sorted(done) == list(range(count))
    assert pool.threads_started == count
    assert took < 2.0  # a few GROW_AFTER_S, not the barrier's timeout
    assert GROW_AFTER_S < 0.05


def test_a_failure_and_a_result_come_back_to_their_own_calls():
    pool = ToolThreads()

    def fails() -> None:
        raise ValueError("no")

    async def both() -> list:
        return await asyncio.gather(
            pool.submit(fails), pool.submit(lambda: "yes"), return_exceptions=True
        )

    failed, answered = asyncio.run(both())
    assert isinstance(failed, ValueError) and str(failed) == "no"
    assert answered == "yes"


def test_a_result_after_its_call_timed_out_is_dropped_and_the_pool_goes_on():
    release = threading.Event()

    @tool
    def stuck() -> str:
        """Waits until released."""
        release.wait(10)
        return "late"

    @tool
    def quick() -> str:
        """Answers at once."""
        return "now"

    async def calls() -> tuple:
        late = await run_sync(stuck, {}, 0.05, None)
        release.set()
        await asyncio.sleep(0.05)  # the stuck call's result arrives for a settled future
        return late, await run_sync(quick, {}, 5.0, None)

    late, now = asyncio.run(calls())
    assert late.kind == "timeout" and "timed out after 0.05 s" in late.error
    assert now.ok and now.value == "now"


def test_a_forked_child_runs_sync_tools_in_threads_of_its_own():
    # The parent's pool threads are not in the child: a pool that counted them as
    # idle queued the child's call for no thread (it never ran; a timeout reported it).
    script = """
import asyncio, os
from autoplug import tool
from autoplug.toolthreads import run_sync

@tool
def quick() -> str:
    '''Answers at once.'''
    return "now"

async def once():
    result = await run_sync(quick, {}, 5.0, None)
    return result.value if result.ok else result.error

print("parent", asyncio.run(once()), flush=True)
pid = os.fork()
if pid == 0:
    print("child", asyncio.run(once()), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines() == ["parent now", "child now"], done.stderr


def test_each_sync_call_times_out_at_its_own_limit_under_one_timer():
    release = threading.Event()

    @tool
    def stuck(name: str) -> str:
        """Waits until released.

        name: which call this is
        """
        release.wait(10)
        return name

    @tool
    def quick() -> str:
        """Answers at once."""
        return "now"

    async def calls() -> dict:
        loop = asyncio.get_running_loop()
        started = loop.time()
        took: dict[str, float] = {}

        async def one(name: str, limit: float) -> object:
            result = await run_sync(stuck, {"name": name}, limit, None)
            took[name] = loop.time() - started
            return result

        # A long limit first, then a shorter one: the timer is armed again, earlier.
        results = await asyncio.gather(one("long", 0.6), one("short", 0.15), one("mid", 0.3))
        answered = await run_sync(quick, {}, 0.05, None)  # in time: not failed later
        await asyncio.sleep(0.1)
        release.set()
        return {"results": results, "took": took, "answered": answered}

    found = asyncio.run(calls())
    long, short, mid = found["results"]
    assert [r.kind for r in (long, short, mid)] == ["timeout"] * 3
    assert "after 0.6 s" in long.error and "after 0.15 s" in short.error
    took = found["took"]
    assert 0.15 <= took["short"] < took["mid"] < took["long"]
    assert took["mid"] >= 0.3 and took["long"] >= 0.6
    assert found["answered"].ok and found["answered"].value == "now"


def test_a_call_within_its_limit_is_never_failed_by_the_timer_of_an_earlier_call():
    from autoplug.toolpool import Deadlines, TimeLimit

    async def calls() -> tuple:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop)
        early, settled, late = loop.create_future(), loop.create_future(), loop.create_future()
        deadlines.add(early, 0.05)
        deadlines.add(settled, 0.05)
        deadlines.add(late, 0.5)
        settled.set_result("done in time")
        deadlines.discard(settled)
        await asyncio.sleep(0.15)  # the first timer has fired: only ``early`` was due
        assert early.done() and not late.done()
        with_limit = early.exception()
        await asyncio.sleep(0.5)
        return with_limit, settled.result(), late.exception(), deadlines.due

    early, settled, late, left = asyncio.run(calls())
    assert isinstance(early, TimeLimit) and isinstance(late, TimeLimit)
    assert settled == "done in time" and left == {}


def test_the_pool_forgets_the_loops_that_have_closed():
    pool = ToolThreads()

    async def one() -> object:
        loop = asyncio.get_running_loop()
        pool.deadlines(loop)
        return await pool.submit(lambda: "x")

    for _ in range(5):
        assert asyncio.run(one()) == "x"  # a new loop each time, closed after
    # Only the last loop's entries can be left (each new loop drops the closed ones).
    assert len(pool._results) <= 1 and len(pool._deadlines) <= 1


def test_loops_of_two_threads_get_their_deadlines_while_a_closed_loops_are_dropped():
    # Two threads' loops (each asyncio.run) ask for their Deadlines at the same time, while
    # a closed loop's entry is being dropped: both must get theirs, neither an error.
    pool = ToolThreads()
    both_looking = threading.Barrier(2, timeout=1)  # (under a lock only one looks)

    class ClosedLoop(asyncio.SelectorEventLoop):
        def is_closed(self) -> bool:
            try:
                both_looking.wait()  # both threads are dropping closed loops' entries
            except threading.BrokenBarrierError:
                pass
            return True

    closed = ClosedLoop()
    pool._deadlines[closed] = object()
    errors: list[BaseException] = []
    got: list[object] = []

    def ask() -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            got.append(pool.deadlines(loop).loop is loop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 (the failure is the finding)
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    both_looking.abort()
    asyncio.SelectorEventLoop.close(closed)
    assert errors == [] and got == [True, True]
    assert closed not in pool._deadlines


def test_a_sync_call_without_a_finite_limit_is_answered():
    @tool
    def quick() -> str:
        """Answers at once."""
        return "now"

    async def calls() -> list:
        # No timer can be due at infinity: none is armed, and the next limit arms one.
        unlimited = await run_sync(quick, {}, float("inf"), None)
        limited = await run_sync(quick, {}, 5.0, None)
        return [unlimited, limited]

    assert [(r.ok, r.value) for r in asyncio.run(calls())] == [(True, "now"), (True, "now")]


def test_calls_waiting_for_a_thread_after_a_kept_loop_call_ended_still_get_one():
    from autoplug.blocking import run_coroutine

    pool = ToolThreads()
    release = threading.Event()

    async def leave_calls_waiting() -> object:
        # The eager threads are busy and one call waits: the pool's look for a thread
        # is due in a moment, and the call ends first (its timers are cancelled).
        for _ in range(EAGER_THREADS + 1):
            pool.submit(lambda: release.wait(20))
        return asyncio.get_running_loop()

    async def quick_call() -> tuple[object, object]:
        try:
            answer = await asyncio.wait_for(pool.submit(lambda: "quick"), 5.0)
        except TimeoutError:
            answer = "no thread came"
        return asyncio.get_running_loop(), answer

    try:
        first = run_coroutine(leave_calls_waiting())
        second, answer = run_coroutine(quick_call())
    finally:
        release.set()
    assert second is first  # the kept loop, kept
    assert answer == "quick"


def test_a_step_begun_on_a_new_thread_while_the_watchdog_looked_is_still_reported(monkeypatch):
    # The watchdog looks at the slots it listed at the start of its pass: a thread whose
    # first step begins after that list was made (and while the watchdog was not idle,
    # so the step does not wake it) must still be watched once the pass ends idle.
    from autoplug import toolthreads
    from autoplug.toolthreads import Watchdog

    reports: list[tuple[str, float]] = []
    monkeypatch.setattr(
        toolthreads, "_report", lambda name, limit, took: reports.append((name, limit))
    )

    class PausingLock:
        """A lock whose release by the watchdog's thread waits once, when asked to."""

        def __init__(self) -> None:
            self._lock = threading.Lock()
            self.pause: tuple[threading.Event, threading.Event] | None = None

        def __enter__(self) -> None:
            self._lock.acquire()

        def __exit__(self, *exc_info: object) -> None:
            self._lock.release()
            pause = self.pause
            if pause is not None and threading.current_thread().name == "autoplug-watchdog":
                self.pause = None
                pause[0].set()
                pause[1].wait(5)

    dog = Watchdog(tick=0.01)
    lock = PausingLock()
    dog._lock = lock  # type: ignore[assignment]
    first = dog.slot()  # this thread's; starts the watchdog, which waits to be woken
    listed, go = threading.Event(), threading.Event()
    lock.pause = (listed, go)
    dog.end(first, dog.begin(first, "quick", 5.0))  # wakes the watchdog; over at once
    assert listed.wait(5)  # the watchdog has listed the slots (this thread's only)
    begun, release = threading.Event(), threading.Event()

    def blocks_its_loop() -> None:
        slot = dog.slot()
        previous = dog.begin(slot, "late", 0.05)
        begun.set()
        release.wait(5)  # a step that runs far past its 0.05 s limit
        dog.end(slot, previous)

    thread = threading.Thread(target=blocks_its_loop)
    thread.start()
    assert begun.wait(5)
    go.set()
    deadline = time.monotonic() + 3
    while not reports and time.monotonic() < deadline:
        time.sleep(0.01)
    seen = list(reports)  # before the step ends (its end reports it itself)
    release.set()
    thread.join(5)
    assert ("late", 0.05) in seen  # reported while it blocked
    assert ("quick", 5.0) not in seen
