"""Filling: ``$fill`` arguments written by the model when the step runs, with bounded retries."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from agent_tools import SEEN, act, agent_ctx

from autoplug import ChatRequest, Kernel, hookimpl, tool
from autoplug.agents.context import GuardStop, MemoryCheckpointer, RunContext
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call


class FillTools:
    """Tools whose arguments the model fills in."""

    name = "filltools"

    def __init__(self) -> None:
        self.seen: list[dict] = []

    @hookimpl
    def register_tools(self, register: Any) -> None:
        seen = self.seen

        @tool
        def forecast(city: str, days: int = 1) -> dict:
            """Forecast for a city.

            city: the city's name
            days: how many days ahead
            """
            seen.append({"city": city, "days": days})
            return {"city": city, "days": days, "temp": 21}

        @tool
        def page() -> dict:
            """Return a page."""
            return {"title": "Weather in Oslo", "body": "The city of Oslo. " * 1000}

        register(forecast)
        register(page)


def make_ctx(
    tmp_path: Path, replies: Any, **limits: Any
) -> tuple[RunContext, ScriptedModel, FillTools, list]:
    tools = FillTools()
    kernel = Kernel(plugins=[tools], home=tmp_path / "home")
    model = ScriptedModel(replies)
    events: list = []
    ctx = RunContext(
        kernel=kernel,
        model=model,
        run_id=None,
        task="the task",
        workspace=tmp_path,
        assets=AssetStore(),
        checkpoint=MemoryCheckpointer(),
        sink=events.append,
        limits={**kernel.config.limits, **limits},
    )
    return ctx, model, tools, events


def step(id_: str, tool_: str, args: dict, output: str, **more: Any) -> dict:
    return {"id": id_, "tool": tool_, "args": args, "output": output, **more}


def plan(*steps: dict) -> Any:
    return call("submit_plan", steps=list(steps))


def run(ctx: RunContext) -> dict:
    return asyncio.run(StaticAgent(ctx).run("weather for the page's city", [], 1))


PAGE_THEN_FORECAST = plan(
    step("p", "page", {}, "the_page"),
    step(
        "f",
        "forecast",
        {"city": {"$fill": "the city the page is about"}, "days": 2},
        "weather",
        inputs=["the_page"],
    ),
)


def test_fill_request_offers_only_the_step_tool_with_its_prompt(tmp_path: Path) -> None:
    ctx, model, tools, _ = make_ctx(tmp_path, [PAGE_THEN_FORECAST, call("forecast", city="Oslo")])
    report = run(ctx)
    assert report["status"] == "succeeded"
    assert tools.seen == [{"city": "Oslo", "days": 2}]
    fill = model.requests[1]
    (offered,) = fill.functions
    assert offered.name == "forecast"
    assert offered.parameters["properties"]["days"]["type"] == "integer"
    prompt = fill.messages[-1].content
    assert "Subtask: weather for the page's city" in prompt
    assert "calls forecast: Forecast for a city." in prompt
    assert "- city: the city the page is about" in prompt
    assert "Arguments already set:\n- days: 2" in prompt
    assert "- the_page (json, " in prompt and '"title": "Weather in Oslo"' in prompt


def test_fill_prompt_bounds_large_assets(tmp_path: Path) -> None:
    ctx, model, _, _ = make_ctx(tmp_path, [PAGE_THEN_FORECAST, call("forecast", city="Oslo")])
    run(ctx)
    prompt = model.requests[1].messages[-1].content
    size = ctx.assets.get("the_page").size
    assert size > 15000
    assert len(prompt) < 6000
    assert "characters in all)" in prompt


def test_wrong_type_fill_is_repaired_with_the_validation_error(tmp_path: Path) -> None:
    ctx, model, tools, events = make_ctx(
        tmp_path, [PAGE_THEN_FORECAST, call("forecast", city=42), call("forecast", city="Oslo")]
    )
    report = run(ctx)
    assert report["status"] == "succeeded"
    retry = model.requests[2].messages
    assert retry[-1].role == "tool"
    assert "invalid arguments for forecast: $.city: 42 is not of type 'string'" in retry[-1].content
    fills = [e.data for e in events if e.type == "fill"]
    assert fills == [
        {
            "step": "f",
            "tool": "forecast",
            "arguments": {"city": 42},
            "attempt": 1,
            "errors": ["invalid arguments for forecast: $.city: 42 is not of type 'string'"],
        },
        {
            "step": "f",
            "tool": "forecast",
            "arguments": {"city": "Oslo"},
            "attempt": 2,
            "errors": [],
        },
    ]
    assert tools.seen == [{"city": "Oslo", "days": 2}]


def test_fills_exhausted_fail_the_step(tmp_path: Path) -> None:
    bad = call("forecast", city=42)
    ctx, model, tools, events = make_ctx(tmp_path, [PAGE_THEN_FORECAST, bad, bad], fill_retries=1)
    report = run(ctx)
    assert report["status"] == "partial"
    assert report["failed"] == [
        {
            "step": "f",
            "tool": "forecast",
            "error": "could not fill the arguments of step 'f' after 2 attempts: "
            "invalid arguments for forecast: $.city: 42 is not of type 'string'",
        }
    ]
    assert tools.seen == []
    assert [e.data["kind"] for e in events if e.type == "step_failed"] == ["fill"]


def test_fill_errors_sent_back_are_bounded_and_keep_their_point(tmp_path):
    huge = list(range(5000))
    plan = call(
        "submit_plan",
        steps=[step("c", "count", {"text": {"$fill": "the text to count"}}, "chars")],
    )
    model_replies = [plan, call("count", text=huge), call("count", text="fine")]
    ctx = agent_ctx(tmp_path, model_replies)
    report = act(ctx)
    assert report["status"] == "succeeded"
    retry = ctx.model.requests[2]  # the second fill request carries the error
    told = retry.messages[-1].content
    assert told.startswith("invalid arguments for count: $.text: [0, 1, 2")
    assert "is not of type 'string'" in told
    assert len(told) < 1000


def test_only_open_keys_are_taken_from_the_fill(tmp_path: Path) -> None:
    ctx, _, tools, _ = make_ctx(
        tmp_path, [PAGE_THEN_FORECAST, call("forecast", city="Oslo", days=99)]
    )
    run(ctx)
    assert tools.seen == [{"city": "Oslo", "days": 2}]


def test_a_fill_that_leaves_an_open_argument_unwritten_is_told_and_retried(tmp_path):
    SEEN.clear()
    plan = call(
        "submit_plan",
        steps=[
            step("s", "label", {"text": "hello", "style": {"$fill": "plain or loud"}}, "labelled")
        ],
    )
    ctx = agent_ctx(tmp_path, [plan, call("label", text="ignored"), call("label", style="loud")])
    report = act(ctx)
    assert report["status"] == "succeeded"
    assert SEEN == [{"text": "hello", "style": "loud"}]
    told = ctx.model.requests[2].messages[-1].content
    assert told.startswith("your label call did not write the open argument 'style'")


def test_a_fill_that_never_writes_an_open_argument_fails_the_step(tmp_path):
    SEEN.clear()
    plan = call(
        "submit_plan",
        steps=[step("s", "label", {"text": "hi", "style": {"$fill": "plain or loud"}}, "out")],
    )
    ctx = agent_ctx(tmp_path, [plan] + [call("label", text="x")] * 3)
    report = act(ctx)
    (failed,) = report["failed"]
    assert "did not write the open argument 'style'" in failed["error"]
    assert SEEN == []


def test_fill_calling_another_function_is_told_which_to_call(tmp_path: Path) -> None:
    ctx, model, _, _ = make_ctx(
        tmp_path, [PAGE_THEN_FORECAST, call("final", answer="x"), call("forecast", city="Oslo")]
    )
    assert run(ctx)["status"] == "succeeded"
    assert "your reply called 'final', which is not offered; call forecast" in (
        model.requests[2].messages[-1].content
    )


def test_concurrent_fills_each_get_their_own_answer(tmp_path: Path) -> None:
    cities = ["Oslo", "Lima", "Pune"]
    steps = [
        step(f"f{i}", "forecast", {"city": {"$fill": f"city number {i}"}}, f"w{i}")
        for i in range(3)
    ]

    def reply(request: ChatRequest) -> Any:
        if request.functions[0].name == "submit_plan":
            return plan(*steps)
        prompt = request.messages[-1].content
        index = int(prompt.split("city number ")[1][0])
        return call("forecast", city=cities[index])

    ctx, _, tools, _ = make_ctx(tmp_path, reply)
    report = run(ctx)
    assert report["status"] == "succeeded"
    assert [ctx.assets.get(f"w{i}").value["city"] for i in range(3)] == cities
    assert sorted(s["city"] for s in tools.seen) == sorted(cities)


def test_guard_reached_during_fills_stops_the_whole_act(tmp_path: Path) -> None:
    steps = [
        step(f"f{i}", "forecast", {"city": {"$fill": f"city number {i}"}}, f"w{i}")
        for i in range(3)
    ]

    def reply(request: ChatRequest) -> Any:
        if request.functions[0].name == "submit_plan":
            return plan(*steps)
        return call("forecast", city="Oslo")

    ctx, model, tools, _ = make_ctx(tmp_path, reply, llm_calls=2, concurrency=1)
    with pytest.raises(GuardStop, match="llm_calls limit reached: 2"):
        run(ctx)
    assert len(model.requests) == 2
    assert len(tools.seen) == 1
