"""The event loop kept for the main thread's blocking calls (autoplug.blocking)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from autoplug import Kernel, hookimpl, tool
from autoplug.blocking import run_coroutine
from autoplug.scripted import ScriptedModel, call


async def loop_id() -> int:
    return id(asyncio.get_running_loop())


def test_the_main_threads_calls_share_one_loop_and_return_their_results():
    assert run_coroutine(loop_id()) == run_coroutine(loop_id())

    async def answer() -> str:
        return "done"

    assert run_coroutine(answer()) == "done"


def test_a_task_left_behind_is_cancelled_when_the_call_returns():
    seen: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def leave_one() -> asyncio.Task:
        task = asyncio.ensure_future(forever())
        await asyncio.sleep(0)  # it has started
        return task

    task = run_coroutine(leave_one())
    assert seen == ["cancelled"] and task.cancelled()


def test_an_error_of_the_coroutine_is_raised_and_the_loop_kept():
    before = run_coroutine(loop_id())

    async def fail() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        run_coroutine(fail())
    assert run_coroutine(loop_id()) == before


def test_an_interrupt_closes_the_loop_and_the_next_call_gets_a_new_one():
    before = run_coroutine(loop_id())
    kept = []

    async def interrupted() -> None:
        kept.append(asyncio.get_running_loop())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_coroutine(interrupted())
    assert kept[0].is_closed()
    assert run_coroutine(loop_id()) != before


def test_another_thread_gets_a_loop_of_its_own_each_call():
    found: list[int] = []
    worker = threading.Thread(target=lambda: found.append(run_coroutine(loop_id())))
    worker.start()
    worker.join()
    assert found and found[0] != run_coroutine(loop_id())


def test_kernel_run_twice_in_the_main_thread_runs_on_one_loop(tmp_path: Path):
    loops: list[int] = []

    @tool
    async def where() -> str:
        """Say which loop runs this."""
        loops.append(id(asyncio.get_running_loop()))
        return "here"

    class Tools:
        @hookimpl
        def register_tools(self, register):
            register(where)

    kernel = Kernel(plugins=[Tools()], builtins=["autoplug_autos"], home=tmp_path)
    for _ in range(2):
        model = ScriptedModel(
            [
                call("act", subtask="ask", assets=[]),
                call(
                    "submit_plan", steps=[{"id": "w", "tool": "where", "args": {}, "output": "x"}]
                ),
                call("final", answer="done"),
            ]
        )
        result = kernel.run("where?", model=model, persist=False)
        assert result.status == "succeeded" and result.assets[0]["value"] == "here"
    assert len(loops) == 2 and loops[0] == loops[1]


def test_a_forked_childs_call_leaves_the_parents_loop_awake():
    import gc
    import os
    import time

    async def from_a_thread() -> None:
        await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.05)

    run_coroutine(from_a_thread())  # its default executor closes that loop, as asyncio.run
    run_coroutine(loop_id())  # the loop kept at the fork
    pid = os.fork()
    if pid == 0:  # the child: one call on its own loop, then finalise the inherited one
        try:
            import autoplug.blocking as blocking

            inherited = blocking._STATE["runner"].get_loop()
            run_coroutine(from_a_thread())
            inherited.close()  # what its finaliser does, whenever it is collected
            gc.collect()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

    async def bounded() -> None:
        await asyncio.wait_for(from_a_thread(), 3)

    started = time.monotonic()
    run_coroutine(bounded())  # the parent's loop still wakes for a thread's result
    assert time.monotonic() - started < 1


def test_no_current_loop_between_calls_and_a_closed_kept_loop_is_replaced():
    run_coroutine(loop_id())
    with pytest.raises(RuntimeError, match="no current event loop"):
        asyncio.get_event_loop()  # as after asyncio.run: nobody gets the kept loop
    import autoplug.blocking as blocking

    kept = blocking._STATE["runner"].get_loop()
    kept.close()  # closed behind its back (kept referenced: its id cannot be reused)
    assert run_coroutine(loop_id()) != id(kept)


def test_ctrl_c_cancels_the_calls_task_raises_keyboard_interrupt_and_restores_the_handler():
    import os
    import signal

    seen: list[str] = []

    async def long_call() -> None:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")  # the call's task is cancelled, not killed mid-step
            raise

    with pytest.raises(KeyboardInterrupt):
        run_coroutine(long_call())
    assert seen == ["cancelled"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert run_coroutine(loop_id())  # the next call gets a working loop


def test_a_second_ctrl_c_raises_at_once_while_the_task_still_runs():
    import os
    import signal

    async def stubborn() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            os.kill(os.getpid(), signal.SIGINT)  # the second one, while it cleans up
            await asyncio.sleep(30)

    with pytest.raises(KeyboardInterrupt):
        run_coroutine(stubborn())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_applications_own_sigint_handler_is_left_in_place_during_a_call():
    import signal

    def mine(signum, frame):  # pragma: no cover - never called here
        pass

    async def handler_now() -> object:
        return signal.getsignal(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, mine)
    try:
        assert run_coroutine(handler_now()) is mine
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)
    # With the default handler, a call has its own in place while it runs.
    assert run_coroutine(handler_now()) is not signal.default_int_handler


def test_a_context_variable_set_in_one_call_is_not_seen_by_the_next():
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("lean6_probe", default="unset")

    async def set_it() -> str:
        var.set("set by the first call")
        return var.get()

    async def read_it() -> str:
        return var.get()

    assert run_coroutine(set_it()) == "set by the first call"
    assert run_coroutine(read_it()) == "unset"  # each call in a copy, as asyncio.run
    assert var.get() == "unset"


def test_an_async_generator_left_unfinished_is_finalized_when_the_call_returns():
    seen: list[str] = []

    async def numbers():
        try:
            yield 1
            yield 2
        finally:
            seen.append("finalized")

    kept: list[object] = []

    async def take_one() -> int:
        gen = numbers()
        kept.append(gen)  # still referenced: only the loop's shutdown finalizes it
        return await gen.__anext__()

    assert run_coroutine(take_one()) == 1
    assert seen == ["finalized"]  # at the end of the call, as asyncio.run does
    assert run_coroutine(loop_id())  # and the next call runs


def test_a_callback_left_scheduled_by_one_call_never_runs_inside_the_next():
    seen: list[str] = []

    async def leave_callbacks() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(seen.append, "soon")
        loop.call_later(0.02, seen.append, "later")

    async def wait_a_little() -> list[str]:
        await asyncio.sleep(0.1)
        return list(seen)

    run_coroutine(leave_callbacks())
    after_first = list(seen)
    assert run_coroutine(wait_a_little()) == after_first  # nothing of the first ran here
    # As asyncio.run: a ready callback runs while the call shuts down, a timer never.
    assert after_first == ["soon"]


def _set_exception_handler(loop) -> None:
    loop.set_exception_handler(lambda loop, context: None)


def _set_task_factory(loop) -> None:
    loop.set_task_factory(lambda loop, coro, **kw: asyncio.Task(coro, loop=loop, **kw))


def _set_default_executor(loop) -> None:
    from concurrent.futures import ThreadPoolExecutor

    loop.set_default_executor(ThreadPoolExecutor(1))


def _use_default_executor(loop) -> None:
    loop.run_in_executor(None, int)


def _set_debug(loop) -> None:
    loop.set_debug(not loop.get_debug())


def _add_reader(loop) -> None:
    import socket

    left, right = socket.socketpair()
    _KEEP.extend((left, right))
    loop.add_reader(left.fileno(), print, "read")


_KEEP: list[object] = []


def _state(loop) -> tuple:
    return (
        loop.get_exception_handler(),
        loop.get_task_factory(),
        loop._default_executor,
        loop.get_debug(),
        len(loop._selector.get_map()),
    )


@pytest.mark.parametrize(
    "change",
    [
        _set_exception_handler,
        _set_task_factory,
        _set_default_executor,
        _use_default_executor,
        _set_debug,
        _add_reader,
    ],
)
def test_loop_state_set_by_one_call_is_not_seen_by_the_next(change):
    async def state() -> tuple:
        return _state(asyncio.get_running_loop())

    fresh = run_coroutine(state())

    async def change_it() -> tuple:
        loop = asyncio.get_running_loop()
        change(loop)
        await asyncio.sleep(0)
        return _state(loop)

    assert run_coroutine(change_it()) != fresh
    assert run_coroutine(state()) == fresh  # each call starts as asyncio.run's would
    for sock in _KEEP:
        sock.close()
    _KEEP.clear()


def test_kernel_run_twice_each_call_as_fresh_as_asyncio_run(tmp_path: Path):
    finalized: list[str] = []
    handlers: list[object] = []

    async def rows():
        try:
            yield "row"
            yield "another"
        finally:
            finalized.append("rows")

    left: list[object] = []

    @tool
    async def leaves_state() -> str:
        """Read one row, leave the reader open and set a handler of its own."""
        loop = asyncio.get_running_loop()
        handlers.append(loop.get_exception_handler())
        loop.set_exception_handler(lambda loop, context: None)
        gen = rows()
        left.append(gen)
        return await gen.__anext__()

    @tool(timeout=0.2)
    def slow(seconds: float) -> str:
        """Sleep a while.

        seconds: how long
        """
        import time

        time.sleep(seconds)
        return "slept"

    class Tools:
        @hookimpl
        def register_tools(self, register):
            register(leaves_state)
            register(slow)

    kernel = Kernel(plugins=[Tools()], builtins=["autoplug_autos"], home=tmp_path)

    def run(step: dict):
        model = ScriptedModel(
            [
                call("act", subtask="ask", assets=[]),
                call("submit_plan", steps=[{"id": "s", "output": "x", **step}]),
                call("final", answer="done"),
            ]
        )
        return kernel.run("go", model=model, persist=False)

    for _ in range(2):
        result = run({"tool": "leaves_state", "args": {}})
        assert result.status == "succeeded" and result.assets[0]["value"] == "row"
    assert finalized == ["rows", "rows"]  # each call finalized its own generator
    assert handlers == [None, None]  # the handler set in the first call was gone in the second
    # The sync pool's time limit still holds in a later call on the kept loop.
    assert run({"tool": "slow", "args": {"seconds": 0.01}}).assets[0]["value"] == "slept"
    import time

    started = time.monotonic()
    result = run({"tool": "slow", "args": {"seconds": 1.5}})
    assert result.assets == [] and time.monotonic() - started < 1.2  # the step failed at 0.2 s


class _OtherLoop(asyncio.AbstractEventLoop):
    """An event loop of another implementation, as uvloop's: asyncio's public API only,
    none of ``BaseEventLoop``'s own fields (its calls run on a selector loop inside)."""

    def __init__(self) -> None:
        self.inner = asyncio.SelectorEventLoop()

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.inner, name)


for _name in [n for n in vars(asyncio.AbstractEventLoop) if not n.startswith("_")]:
    setattr(
        _OtherLoop,
        _name,
        lambda self, *args, _name=_name, **kwargs: getattr(self.inner, _name)(*args, **kwargs),
    )


def test_a_loop_of_another_implementation_runs_each_call_on_a_fresh_one():
    from autoplug import blocking

    class OtherPolicy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            return _OtherLoop()

    before = asyncio.get_event_loop_policy()
    blocking._discard()  # the next call makes its loop through the policy
    asyncio.set_event_loop_policy(OtherPolicy())
    try:
        first = blocking._fresh_runner().get_loop()
        assert isinstance(first, _OtherLoop)
        # Its leftovers cannot be read: closed after each call, as asyncio.run closes its own.
        assert run_coroutine(loop_id()) == id(first.inner)
        assert first.is_closed()
        assert run_coroutine(loop_id()) not in (id(first.inner), None)
    finally:
        blocking._discard()
        asyncio.set_event_loop_policy(before)
    assert run_coroutine(loop_id()) == run_coroutine(loop_id())  # asyncio's own: kept
