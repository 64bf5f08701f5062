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
