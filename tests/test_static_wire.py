"""The static agent end to end against the loopback OpenAI-wire server (real HTTP, real provider)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from openai_server import OpenAIServer, Recorded, Reply, providers_toml

from autoplug import Kernel, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore


class WireTools:
    """Tools recording when they ran."""

    name = "wiretools"

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}

    @hookimpl
    def register_tools(self, register: Any) -> None:
        spans = self.spans

        @tool
        async def slow_echo(text: str) -> str:
            """Wait a little and return the text."""
            start = time.perf_counter()
            await asyncio.sleep(0.1)
            spans[text] = (start, time.perf_counter())
            return text

        @tool
        def forecast(city: str, days: int = 1) -> dict:
            """Forecast for a city."""
            return {"city": city, "days": days}

        register(slow_echo)
        register(forecast)


def make_ctx(tmp_path: Path, server: OpenAIServer, **settings: Any) -> tuple[RunContext, WireTools]:
    home = tmp_path / "home"
    home.mkdir()
    settings.setdefault("backoff_s", 0.001)
    (home / "config.toml").write_text(providers_toml("test", server.url, **settings))
    tools = WireTools()
    kernel = Kernel(plugins=[tools], builtins=["autoplug_models"], home=home)
    ctx = RunContext(
        kernel=kernel,
        model=kernel.model("test:m"),
        run_id=None,
        task="the task",
        workspace=tmp_path,
        assets=AssetStore(),
        checkpoint=MemoryCheckpointer(),
    )
    return ctx, tools


def submit(*steps: dict) -> Reply:
    return Reply.chat(tool_calls=[("submit_plan", {"steps": list(steps)})])


def run(ctx: RunContext) -> dict:
    return asyncio.run(StaticAgent(ctx).run("the subtask", [], 1))


def test_plan_of_independent_steps_runs_concurrently_over_the_wire(tmp_path: Path) -> None:
    steps = [
        {"id": f"s{i}", "tool": "slow_echo", "args": {"text": f"t{i}"}, "output": f"o{i}"}
        for i in range(3)
    ]
    with OpenAIServer([submit(*steps)]) as server:
        ctx, tools = make_ctx(tmp_path, server)
        report = run(ctx)
    assert report["status"] == "succeeded"
    (a0, a1), (b0, b1) = tools.spans["t0"], tools.spans["t2"]
    assert a0 < b1 and b0 < a1
    sent = server.requests[0].body
    assert [t["function"]["name"] for t in sent["tools"]] == ["submit_plan"]


def test_unknown_tool_is_repaired_over_the_wire(tmp_path: Path) -> None:
    bad = {"id": "s1", "tool": "forcast", "args": {"city": "Oslo"}, "output": "w"}
    good = {**bad, "tool": "forecast"}
    with OpenAIServer([submit(bad), submit(good)]) as server:
        ctx, _ = make_ctx(tmp_path, server)
        report = run(ctx)
    assert report["status"] == "succeeded"
    last = server.requests[1].body["messages"][-1]
    assert last["role"] == "tool" and last["tool_call_id"] == "call_0"
    assert "unknown tool 'forcast'; did you mean 'forecast'?" in last["content"]


def test_wrong_type_fill_is_repaired_over_the_wire(tmp_path: Path) -> None:
    step = {"id": "f", "tool": "forecast", "args": {"city": {"$fill": "a city"}}, "output": "w"}
    replies = [
        submit(step),
        Reply.chat(tool_calls=[("forecast", {"city": 7})]),
        Reply.chat(tool_calls=[("forecast", {"city": "Oslo"})]),
    ]
    with OpenAIServer(replies) as server:
        ctx, _ = make_ctx(tmp_path, server)
        report = run(ctx)
    assert report["status"] == "succeeded"
    assert ctx.assets.get("w").value == {"city": "Oslo", "days": 1}
    fill = server.requests[2].body
    assert [t["function"]["name"] for t in fill["tools"]] == ["forecast"]
    assert "$.city: 7 is not of type 'string'" in fill["messages"][-1]["content"]


def test_plan_as_json_text_without_function_calling(tmp_path: Path) -> None:
    plan = {"steps": [{"id": "s1", "tool": "forecast", "args": {"city": "Lima"}, "output": "w"}]}

    def reply(recorded: Recorded) -> Reply:
        return Reply.chat(
            text="Here it is:\n" + json.dumps({"function": "submit_plan", "arguments": plan})
        )

    with OpenAIServer(reply) as server:
        ctx, _ = make_ctx(tmp_path, server, function_calling=False)
        report = run(ctx)
    assert report["status"] == "succeeded", report
    assert "tools" not in server.requests[0].body
    assert ctx.assets.get("w").value["city"] == "Lima"
