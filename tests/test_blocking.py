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

    run_coroutine(from_a_thread())
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
