"""When the dynamic agent lets the event loop run between instant turns (autoplug.agents.turns)."""

from __future__ import annotations

import asyncio
import selectors
from pathlib import Path

import pytest

from autoplug import Kernel
from autoplug.agents import turns
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.dynamic import DynamicAgent
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call


def context(tmp_path: Path, model: ScriptedModel, iterations: int = 1000) -> RunContext:
    """A run kept in memory with no sink: nothing but the agent asks for the loop."""
    kernel = Kernel(plugins=[], builtins=False, home=tmp_path)
    ctx = RunContext(
        kernel=kernel,
        model=model,
        run_id=None,
        task="think",
        workspace=tmp_path,
        assets=AssetStore(),
        checkpoint=MemoryCheckpointer(),
    )
    ctx.limits = {
        **ctx.limits,
        "iterations": iterations,
        "llm_calls": iterations,
        "loop_repeats": None,
    }
    return ctx


def thoughts(turns_before_final: int | None):
    """A model that brainstorms a new thought each turn (forever with None), then answers."""

    def reply(request):
        count = sum(1 for m in request.messages if m.role == "assistant")
        if turns_before_final is not None and count >= turns_before_final:
            return call("final", answer="done")
        return call("brainstorm", thoughts=f"thought {count}")

    return ScriptedModel(reply)


async def run_agent(ctx: RunContext):
    return await DynamicAgent(ctx, StaticAgent(ctx)).run()


class CountingSelector(selectors.DefaultSelector):
    """The loop's selector, counting the loop's passes (one ``select`` each)."""

    def __init__(self) -> None:
        super().__init__()
        self.passes = 0

    def select(self, timeout=None):
        self.passes += 1
        return super().select(timeout)


def passes_of_a_run(ctx: RunContext) -> tuple[int, tuple]:
    selector = CountingSelector()
    loop = asyncio.SelectorEventLoop(selector)
    try:
        outcome = loop.run_until_complete(run_agent(ctx))
    finally:
        loop.close()
    return selector.passes, outcome


def test_instant_turns_pass_through_the_loop_only_once_a_slice(tmp_path, monkeypatch):
    monkeypatch.setattr(turns, "TURN_SLICE", 60.0)
    passes, outcome = passes_of_a_run(context(tmp_path, thoughts(50)))
    assert outcome == ("succeeded", "done", None)
    assert passes <= 2  # the run's start and end, not one a turn


def test_instant_turns_pass_through_the_loop_every_turn_with_no_slice(tmp_path, monkeypatch):
    monkeypatch.setattr(turns, "TURN_SLICE", 0.0)
    passes, outcome = passes_of_a_run(context(tmp_path, thoughts(50)))
    assert outcome == ("succeeded", "done", None)
    assert passes >= 50


def test_a_callback_scheduled_in_a_turn_runs_before_the_next_model_call(tmp_path, monkeypatch):
    monkeypatch.setattr(turns, "TURN_SLICE", 60.0)
    ran: list[int] = []

    def reply(request):
        count = sum(1 for m in request.messages if m.role == "assistant")
        # What ran of the callbacks the turns before scheduled, seen from the model.
        assert ran == list(range(count)), (ran, count)
        if count == 5:
            return call("final", answer="done")
        asyncio.get_running_loop().call_soon(ran.append, count)
        return call("brainstorm", thoughts=f"thought {count}")

    outcome = asyncio.run(run_agent(context(tmp_path, ScriptedModel(reply))))
    assert outcome == ("succeeded", "done", None)
    assert ran == [0, 1, 2, 3, 4]


def test_a_cancel_asked_inside_a_turn_stops_the_run_before_the_next_model_call(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(turns, "TURN_SLICE", 60.0)
    model = thoughts(None)
    ctx = context(tmp_path, model)

    def sink(event):  # an observer that cancels the run from inside its turn
        if event.type == "decision":
            asyncio.current_task().cancel()

    ctx.sink = sink
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run_agent(ctx))
    assert len(model.requests) == 1


def test_a_timeout_around_a_run_of_endless_instant_turns_falls_due(tmp_path, monkeypatch):
    monkeypatch.setattr(turns, "TURN_SLICE", 0.002)
    model = thoughts(None)  # never answers: only the timeout can end the run

    async def bounded():
        async with asyncio.timeout(0.05):
            await run_agent(context(tmp_path, model, iterations=20_000))

    with pytest.raises(TimeoutError):
        asyncio.run(bounded())
    assert 0 < len(model.requests) < 20_000
