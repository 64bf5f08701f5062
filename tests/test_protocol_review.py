"""Review of the agents against DESIGN.md "The LLM protocol": deviations found and pinned.

Each test here failed before its fix: errors that pasted a whole asset into a
prompt, asset names listed in the order concurrent steps happened to finish
(so a recorded run did not replay), the planner's asset previews as raw text,
a fill that left an open argument unwritten, and a storage error that put an
absolute path into the report. The last test runs the real ``autoplug run``
with an absolute ``--workspace`` and checks the recorded requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autoplug import ChatRequest, Kernel, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.static import StaticAgent, render_report
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call

DELAYS: dict[str, float] = {}


@pytest.fixture(autouse=True)
def no_delays_left_behind():
    """Each test starts and ends with no tool delays set."""
    DELAYS.clear()
    yield
    DELAYS.clear()


SEEN: list[dict[str, Any]] = []


class ReviewTools:
    """Tools for the review: a large result, a strict consumer, a timed step."""

    name = "review"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        @tool
        def numbers(n: int = 20000) -> list:
            """A long list of numbers.

            n: how many
            """
            return list(range(n))

        @tool
        def count(text: str) -> int:
            """Count the characters of a text.

            text: the text
            """
            return len(text)

        @tool
        def label(text: str, style: str = "plain") -> str:
            """Label a text.

            text: the text
            style: plain or loud
            """
            SEEN.append({"text": text, "style": style})
            return text.upper() if style == "loud" else text

        @tool
        async def wait(name: str) -> str:
            """Wait as long as the test says, then return a text.

            name: which wait
            """
            await asyncio.sleep(DELAYS.get(name, 0.0))
            return f"waited for {name}"

        for each in (numbers, count, label, wait):
            register(each)


def make_ctx(tmp_path: Path, replies: Any, assets: AssetStore | None = None) -> RunContext:
    kernel = Kernel(plugins=[ReviewTools()], home=tmp_path / "home")
    return RunContext(
        kernel=kernel,
        model=ScriptedModel(replies),
        run_id=None,
        task="the task",
        workspace=tmp_path,
        assets=assets if assets is not None else AssetStore(),
        checkpoint=MemoryCheckpointer(),
    )


def step(id_: str, tool_: str, args: dict, output: str, **more: Any) -> dict:
    return {"id": id_, "tool": tool_, "args": args, "output": output, **more}


def act(ctx: RunContext, names: list[str] | None = None) -> dict:
    return asyncio.run(StaticAgent(ctx).run("the subtask", names or [], 1))


# -- errors never paste a large asset whole into a prompt ---------------------------


def test_a_large_asset_that_breaks_a_schema_is_not_pasted_whole_into_the_report(tmp_path):
    plan = call(
        "submit_plan",
        steps=[
            step("a", "numbers", {}, "nums"),
            step("b", "count", {"text": {"$asset": "nums"}}, "chars"),
        ],
    )
    ctx = make_ctx(tmp_path, [plan])
    report = act(ctx)
    (failed,) = report["failed"]
    assert failed["step"] == "b"
    assert failed["error"].startswith("invalid arguments for tool 'count': $.text: [0, 1, 2")
    assert failed["error"].endswith("is not of type 'string'")  # the point of the error survives
    assert "characters cut]" in failed["error"]
    assert len(render_report(report)) < 5000  # the asset is 108,890 characters of JSON


def test_fill_errors_sent_back_are_bounded_and_keep_their_point(tmp_path):
    huge = list(range(5000))
    plan = call(
        "submit_plan",
        steps=[step("c", "count", {"text": {"$fill": "the text to count"}}, "chars")],
    )
    model_replies = [plan, call("count", text=huge), call("count", text="fine")]
    ctx = make_ctx(tmp_path, model_replies)
    report = act(ctx)
    assert report["status"] == "succeeded"
    retry = ctx.model.requests[2]  # the second fill request carries the error
    told = retry.messages[-1].content
    assert told.startswith("invalid arguments for count: $.text: [0, 1, 2")
    assert "is not of type 'string'" in told
    assert len(told) < 1000


def test_a_huge_literal_in_a_plan_gives_a_bounded_plan_error(tmp_path):
    bad = call(
        "submit_plan",
        steps=[step("c", "count", {"text": list(range(5000))}, "chars")],
    )
    ctx = make_ctx(tmp_path, [bad, bad, bad])
    report = act(ctx)
    (error,) = report["plan_errors"]
    assert error.startswith("step 'c' (tool 'count'): argument $.text: [0, 1, 2")
    assert error.endswith("is not of type 'string'")
    assert len(error) < 1000
    assert len(ctx.model.requests[1].messages[-1].content) < 1200


def test_bad_decision_arguments_are_told_back_bounded(tmp_path):
    kernel = Kernel(plugins=[ReviewTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    model = ScriptedModel([call("final", answer=list(range(5000))), call("final", answer="ok")])
    run = kernel.run("the task", model=model)
    assert run.status == "succeeded"
    told = model.requests[1].messages[-1].content
    assert "is not of type 'string'" in told and len(told) < 1000


# -- asset names in prompts do not depend on which concurrent step finished first ----


def _replay_script(request: ChatRequest) -> Any:
    """The model's choices, from what the request offers and how far the run is."""
    offered = {f.name for f in request.functions}
    if "submit_plan" in offered:
        return call(
            "submit_plan",
            steps=[
                step("s1", "wait", {"name": "a"}, "a"),
                step("s2", "wait", {"name": "b"}, "b"),
                step("s3", "label", {"text": {"$fill": "a's text"}}, "la", inputs=["a"]),
                step("s4", "label", {"text": {"$fill": "b's text"}}, "lb", inputs=["b"]),
            ],
        )
    if "label" in offered:
        which = "a" if "Step 's3'" in request.messages[1].content else "b"
        return call("label", text=f"label {which}")
    observed = sum(1 for m in request.messages if m.role == "tool")
    if observed == 0:
        return call("act", subtask="wait for a and b, then label them", assets=[])
    if observed == 1:
        return call("act", subtask="use the missing one", assets=["ghost"])
    return call("final", answer="done")


def test_a_recorded_run_replays_when_concurrent_steps_finish_in_the_other_order(tmp_path):
    kernel = Kernel(
        plugins=[ReviewTools()],
        builtins=["autoplug_autos", "autoplug_models"],
        home=tmp_path / "home",
    )
    cassette = tmp_path / "run.jsonl"
    DELAYS.update(a=0.3, b=0.0)
    recorded = kernel.run(
        "label a and b",
        model=ScriptedModel(_replay_script, model_id="openai:gpt-4o-mini"),
        record=cassette,
    )
    assert recorded.status == "succeeded"
    DELAYS.update(a=0.0, b=0.3)  # now b finishes last: the assets are stored in another order
    replayed = kernel.run("label a and b", model=f"replay:{cassette}")
    assert replayed.status == "succeeded", replayed.reason
    assert replayed.answer == "done"
    rejected = [json.loads(line) for line in cassette.read_text().splitlines()][-1]
    told = rejected["request"]["messages"][-1]["content"]
    assert told == "error: act names unknown assets 'ghost'; existing assets: a, b, la, lb"


def test_an_assistants_first_prompt_lists_existing_assets_sorted(tmp_path):
    kernel = Kernel(plugins=[ReviewTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    DELAYS.update(a=0.3, b=0.0)
    replies = [
        call("act", subtask="wait", assets=[]),
        call(
            "submit_plan",
            steps=[step("s1", "wait", {"name": "a"}, "a"), step("s2", "wait", {"name": "b"}, "b")],
        ),
        call("final", answer="waited"),
        call("final", answer="again"),
    ]
    model = ScriptedModel(replies)
    chat = kernel.autos.get("assistant")(kernel, model=model)
    chat.send("first")
    chat.send("second")
    chat.close()
    assert model.requests[-1].messages[1].content.endswith("Existing assets: a, b")


# -- the planner sees each passed asset as a JSON preview ----------------------------


def test_planner_previews_passed_assets_as_json(tmp_path):
    assets = AssetStore()
    assets.put("notes", "line one\nline two")
    assets.put("data", {"k": [1, 2]})
    ctx = make_ctx(tmp_path, [call("submit_plan", steps=[step("s", "count", {"text": "x"}, "n")])])
    ctx.assets = assets
    act(ctx, ["notes", "data"])
    prompt = ctx.model.requests[0].messages[1].content
    listed = prompt.split("Assets available:\n", 1)[1].splitlines()
    assert listed == [
        '- notes (text, 17 bytes): "line one\\nline two"',
        '- data (json, 13 bytes): {"k": [1, 2]}',
    ]


# -- a fill must write every open argument ------------------------------------------


def test_a_fill_that_leaves_an_open_argument_unwritten_is_told_and_retried(tmp_path):
    SEEN.clear()
    plan = call(
        "submit_plan",
        steps=[
            step("s", "label", {"text": "hello", "style": {"$fill": "plain or loud"}}, "labelled")
        ],
    )
    ctx = make_ctx(tmp_path, [plan, call("label", text="ignored"), call("label", style="loud")])
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
    ctx = make_ctx(tmp_path, [plan] + [call("label", text="x")] * 3)
    report = act(ctx)
    (failed,) = report["failed"]
    assert "did not write the open argument 'style'" in failed["error"]
    assert SEEN == []


# -- a storage failure puts no absolute path (nor the run folder) into the report ------


def test_a_failure_to_store_an_asset_names_no_absolute_path(tmp_path):
    folder = tmp_path / "runs" / "20260101-000000-000000-abcd" / "assets"
    assets = AssetStore(folder)
    shutil.rmtree(folder)  # the run folder vanished under the run
    plan = call("submit_plan", steps=[step("s", "count", {"text": "abc"}, "n")])
    ctx = make_ctx(tmp_path, [plan], assets=assets)
    report = act(ctx)
    (failed,) = report["failed"]
    assert failed["error"].startswith("step 's': could not store asset 'n': ")
    assert str(tmp_path) not in failed["error"]
    assert "abcd" not in failed["error"]


# -- a real `autoplug run` records requests free of paths, run ids and dates ----------


def test_recorded_requests_of_a_real_run_hold_no_paths_run_ids_or_dates(tmp_path):
    workspace = (tmp_path / "ws").resolve()
    workspace.mkdir()
    (workspace / "notes.md").write_text("# notes\nJupiter 139,820 km\n")
    plan = {
        "steps": [
            step("s1", "read_file", {"path": "notes.md"}, "notes"),
            step("s2", "read_file", {"path": "missing.md"}, "missing"),
            step("s3", "list_files", {"path": "../"}, "up"),
            step(
                "s4",
                "write_file",
                {"path": "out.md", "content": {"$fill": "a summary of the notes"}},
                "written",
                inputs=["notes"],
            ),
        ]
    }
    replies = [
        {"call": "act", "arguments": {"subtask": "read the notes", "assets": []}},
        {"call": "submit_plan", "arguments": plan},
        {"call": "write_file", "arguments": {"content": "Jupiter is largest"}},
        {"call": "act", "arguments": {"subtask": "again", "assets": ["notes", "gone"]}},
        {"call": "final", "arguments": {"answer": "Jupiter"}},
    ]
    script = tmp_path / "script.json"
    script.write_text(json.dumps(replies))
    cassette = tmp_path / "run.jsonl"
    home = tmp_path / "home"
    env = {**os.environ, "AUTOPLUG_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-m", "autoplug.cli", "run", "Which planet is largest?"]
        + ["--model", f"scripted:{script}", "--workspace", str(workspace)]
        + ["--record", str(cassette), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    lines = [json.loads(line) for line in cassette.read_text().splitlines()][1:]  # no header
    assert len(lines) == 5
    requests = json.dumps([e["request"] for e in lines])
    assert "has side effects and was not approved" in requests  # the run went where meant
    assert "no file 'missing.md' in the workspace" in requests
    for forbidden in (str(tmp_path), str(home), result["run_id"], time.strftime("%Y-%m-%d")):
        assert forbidden not in requests
    assert not re.search(r"20\d\d-?\d\d-?\d\d[T ]?\d\d:?\d\d", requests)


# -- a failed Assistant turn puts no provider error (with its paths) into the next prompt --


def test_a_failed_assistant_turn_leaves_no_error_text_in_the_next_prompt(tmp_path):
    from autoplug import ModelError

    cassette = tmp_path / "c.jsonl"
    replies = [
        ModelError(f"replay cassette {cassette} has no recorded answer"),
        call("final", answer="answered"),
    ]
    kernel = Kernel(plugins=[ReviewTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    model = ScriptedModel(replies)
    chat = kernel.autos.get("assistant")(kernel, model=model)
    first = chat.send("first")
    assert first.status == "failed" and str(cassette) in first.reason  # the user is told
    assert chat.send("second").answer == "answered"
    chat.close()
    prompt = model.requests[1].messages[1].content
    assert "Assistant: (no answer: failed)" in prompt
    assert str(tmp_path) not in prompt


# -- a later output with an existing name replaces it; the trace keeps both ----------


def test_an_output_with_an_existing_name_replaces_it_and_the_trace_keeps_both(tmp_path):
    kernel = Kernel(plugins=[ReviewTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
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


# -- without function calling, a reply with several calls is several calls ----------


def test_a_text_reply_with_two_calls_is_two_calls_and_the_agent_refuses_both(tmp_path):
    from autoplug.agents.dynamic import DECIDE_FUNCTIONS
    from autoplug_builtins.models.textcalls import parse_text_call

    reply = (
        'First {"function": "brainstorm", "arguments": {"thoughts": "hmm"}}\n'
        'then {"function": "final", "arguments": {"answer": "42"}}'
    )
    text, calls = parse_text_call(reply, DECIDE_FUNCTIONS)
    assert [(c.name, c.arguments, c.id) for c in calls] == [
        ("brainstorm", {"thoughts": "hmm"}, "call_0"),
        ("final", {"answer": "42"}, "call_1"),
    ]
    assert text == "First \nthen"
    # A second object that names no offered function is prose, as before.
    text, calls = parse_text_call(
        '{"function": "final", "arguments": {"answer": "42"}} e.g. {"unit": "km"}',
        DECIDE_FUNCTIONS,
    )
    assert len(calls) == 1 and text == 'e.g. {"unit": "km"}'
