"""Events of a run: the JSONL trace, on_event hooks, Kernel.stream, the documented types."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from autoplug import Kernel, NoModelConfigured, hookimpl, tool
from autoplug.events import EVENT_TYPES
from autoplug.runs import RunStore
from autoplug.scripted import ScriptedModel, call


@tool
def lookup(city: str) -> dict:
    """Weather of a city.

    city: the city's name
    """
    if city == "Atlantis":
        raise LookupError("no such city")
    return {"city": city, "temp": 12}


class Observer:
    """A plugin with a tool and an on_event hook recording what it sees."""

    def __init__(self) -> None:
        self.seen: list = []

    @hookimpl
    def register_tools(self, register):
        register(lookup)

    @hookimpl
    def on_event(self, event):
        self.seen.append(event)


class Broken:
    """A plugin whose on_event always raises."""

    @hookimpl
    def on_event(self, event):
        raise RuntimeError("observer bug")


def script() -> list:
    """act -> a plan of a good, a failing and a dependent step -> final."""
    steps = [
        {"id": "s1", "tool": "lookup", "args": {"city": "Oslo"}, "output": "oslo"},
        {"id": "s2", "tool": "lookup", "args": {"city": "Atlantis"}, "output": "atl"},
        {
            "id": "s3",
            "tool": "lookup",
            "args": {"city": {"$asset": "atl", "path": "/city"}},
            "output": "again",
        },
    ]
    return [
        call("act", subtask="weather", assets=[]),
        call("submit_plan", steps=steps),
        call("final", answer="Oslo is 12 C; Atlantis is unknown"),
    ]


def test_trace_holds_every_event_in_order_and_hooks_see_the_same(tmp_path):
    observer = Observer()
    kernel = Kernel(plugins=[observer], builtins=["autoplug_autos"], home=tmp_path)
    run = kernel.run("Weather?", model=ScriptedModel(script()))
    assert run.status == "succeeded"  # a failed step does not fail the run
    with RunStore.open(tmp_path, run.run_id) as store:
        trace = store.events()
    assert [e.to_dict() for e in observer.seen] == trace
    assert [e["seq"] for e in trace] == list(range(1, len(trace) + 1))
    types = [e["type"] for e in trace]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    for expected in (
        "llm_call",
        "decision",
        "plan",
        "step_started",
        "step_finished",
        "step_failed",
        "step_skipped",
        "asset_stored",
        "observation",
        "answer",
    ):
        assert expected in types, expected
    assert types.index("decision") < types.index("plan") < types.index("answer")
    assert all(e["run_id"] == run.run_id for e in trace)
    assert trace[-1]["data"]["status"] == "succeeded"


def test_a_raising_on_event_hook_is_reported_and_the_run_goes_on(tmp_path, capsys):
    kernel = Kernel(plugins=[Observer(), Broken()], builtins=["autoplug_autos"], home=tmp_path)
    run = kernel.run("Weather?", model=ScriptedModel(script()))
    assert run.status == "succeeded"
    assert "on_event failed: RuntimeError: observer bug" in capsys.readouterr().err


def test_kernel_stream_yields_the_events_as_they_happen(tmp_path):
    kernel = Kernel(plugins=[Observer()], builtins=["autoplug_autos"], home=tmp_path)

    async def collect():
        return [event async for event in kernel.stream("Weather?", model=ScriptedModel(script()))]

    events = asyncio.run(collect())
    assert events[0].type == "run_started" and events[-1].type == "run_finished"
    with RunStore.open(tmp_path, events[0].run_id) as store:
        assert [e.to_dict() for e in events] == store.events()


def test_kernel_stream_delivers_a_turn_before_the_next_model_call(tmp_path):
    kernel = Kernel(plugins=[Observer()], builtins=["autoplug_autos"], home=tmp_path)
    model = ScriptedModel(
        [
            call("brainstorm", thoughts="one"),
            call("brainstorm", thoughts="two"),
            call("final", answer="x"),
        ]
    )

    async def requests_seen_at_first_decision():
        async for event in kernel.stream("Think", model=model):
            if event.type == "decision":
                return len(model.requests)

    # live: the consumer sees the first decision while later turns have not been asked yet
    assert asyncio.run(requests_seen_at_first_decision()) == 1


def test_kernel_stream_raises_a_usage_error_of_the_run(tmp_path):
    kernel = Kernel(plugins=[Observer()], builtins=["autoplug_autos"], home=tmp_path)

    async def collect():
        return [event async for event in kernel.stream("Weather?")]

    with pytest.raises(NoModelConfigured, match="no model configured"):
        asyncio.run(collect())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_every_emitted_event_type_is_documented():
    docs = (Path(__file__).parent.parent / "docs" / "events.md").read_text()
    for name in EVENT_TYPES:
        assert re.search(rf"^\| `{name}` \|", docs, re.M), f"{name} missing from docs/events.md"


class SlowModel:
    """Brainstorms forever, taking a little time per reply (like a real model)."""

    model_id = "slow:test"

    async def complete(self, request, *, on_text=None):
        from autoplug import ChatResponse, FunctionCall

        await asyncio.sleep(0.01)
        thoughts = str(len(request.messages))
        return ChatResponse(
            function_calls=(FunctionCall("brainstorm", {"thoughts": thoughts}, "c1"),)
        )


def test_leaving_a_stream_early_cancels_the_run_and_leaves_it_interrupted(tmp_path):
    kernel = Kernel(plugins=[Observer()], builtins=["autoplug_autos"], home=tmp_path)

    async def first_decision():
        stream = kernel.stream("Think", model=SlowModel())
        async for event in stream:
            if event.type == "decision":
                await stream.aclose()
                return event

    event = asyncio.run(first_decision())
    with RunStore.open(tmp_path, event.run_id) as store:
        assert store.info()["status"] == "interrupted"
        trace = store.events()
    assert trace[-1]["type"] == "run_finished"
    assert trace[-1]["data"]["status"] == "interrupted"
    assert [e["type"] for e in trace].count("decision") < 25
