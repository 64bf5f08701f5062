"""The static agent inside a whole Runner run: the observation, the run folder, the trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent_tools import AgentTools, step

from autoplug import Kernel, hookimpl, tool
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call


@tool
def explode(message: str) -> str:
    """Always fail."""
    raise RuntimeError(message)


@tool
def nested() -> dict:
    """Return nested JSON."""
    return {"cities": [{"name": "Oslo"}, {"name": "Lima"}]}


@tool
def echo(text: str) -> str:
    """Return the text."""
    return text


class RunTools:
    name = "runtools"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        for made in (explode, nested, echo):
            register(made)


PLAN = call(
    "submit_plan",
    steps=[
        {"id": "doc", "tool": "nested", "args": {}, "output": "doc"},
        {
            "id": "second",
            "tool": "echo",
            "args": {"text": {"$asset": "doc", "path": "/cities/1/name"}},
            "output": "city",
        },
        {"id": "boom", "tool": "explode", "args": {"message": "no route"}, "output": "route"},
        {"id": "after", "tool": "echo", "args": {"text": {"$asset": "route"}}, "output": "r2"},
    ],
)


def test_failing_tool_skips_dependents_and_the_run_still_answers(tmp_path: Path) -> None:
    kernel = Kernel(plugins=[RunTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    model = ScriptedModel(
        [call("act", subtask="find the second city", assets=[]), PLAN, call("final", answer="Lima")]
    )
    result = kernel.run("Which is the second city?", model=model, workspace=tmp_path)
    assert result.status == "succeeded" and result.answer == "Lima"

    observation = json.loads(model.requests[2].messages[-1].content)
    assert observation["status"] == "partial"
    assert [a["name"] for a in observation["assets"]] == ["doc", "city"]
    assert observation["assets"][1]["preview"] == "Lima"
    assert observation["failed"][0]["step"] == "boom"
    assert observation["skipped"][0]["reason"] == (
        "needs asset 'route', which step 'boom' did not produce (it failed)"
    )

    folder = tmp_path / "home" / "runs" / result.run_id
    assert AssetStore.load(folder / "assets").get("city").value == "Lima"
    trace = [json.loads(line) for line in (folder / "trace.jsonl").read_text().splitlines()]
    kinds = [e["type"] for e in trace]
    for expected in (
        "plan",
        "step_started",
        "asset_stored",
        "step_finished",
        "step_failed",
        "step_skipped",
    ):
        assert expected in kinds, expected
    assert kinds.count("asset_stored") == 2


def test_an_output_with_an_existing_name_replaces_it_and_the_trace_keeps_both(tmp_path):
    kernel = Kernel(plugins=[AgentTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    replies = [
        call("act", subtask="label hello", assets=[]),
        call("submit_plan", steps=[step("s1", "label", {"text": "hello"}, "out")]),
        call("act", subtask="label it loud", assets=["out"]),
        call(
            "submit_plan",
            steps=[step("s1", "label", {"text": {"$asset": "out"}, "style": "loud"}, "out")],
        ),
        call("final", answer="HELLO"),
    ]
    run = kernel.run("label twice", model=ScriptedModel(replies))
    assert run.status == "succeeded"
    assert [(a["name"], a["preview"]) for a in run.assets] == [("out", "HELLO")]
    trace = kernel.home / "runs" / run.run_id / "trace.jsonl"
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    stored = [e["data"] for e in events if e["type"] == "asset_stored"]
    # Both versions, told apart: the trace is the only record of the replaced one.
    assert [(d["name"], d["preview"]) for d in stored] == [("out", "hello"), ("out", "HELLO")]
    assert len([e for e in events if e["type"] == "step_finished"]) == 2
