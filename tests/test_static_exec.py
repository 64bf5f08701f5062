"""The static agent's execution: dependency order, concurrency, assets, failures, checkpoints."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from agent_tools import act, agent_ctx

from autoplug import Kernel, hookimpl, tool
from autoplug.agents.context import GuardStop, MemoryCheckpointer, RunContext
from autoplug.agents.executor import AssetReferenceError, resolve_pointer
from autoplug.agents.static import StaticAgent, render_report
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call


class Lab:
    """Test tools that record when and how often they ran."""

    name = "lab"

    def __init__(self) -> None:
        self.intervals: dict[str, tuple[float, float]] = {}
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.counting = threading.Lock()  # sync tools count from their worker threads

    @hookimpl
    def register_tools(self, register: Any) -> None:
        lab = self

        @tool
        async def wait(label: str, seconds: float = 0.05) -> str:
            """Wait a while, then return the label."""
            lab.calls["wait"] += 1
            lab.in_flight += 1
            lab.max_in_flight = max(lab.max_in_flight, lab.in_flight)
            start = time.perf_counter()
            try:
                await asyncio.sleep(seconds)
            finally:
                lab.in_flight -= 1
            lab.intervals[label] = (start, time.perf_counter())
            return label

        @tool
        def explode(message: str) -> str:
            """Always fail."""
            lab.calls["explode"] += 1
            raise RuntimeError(message)

        @tool
        def nested() -> dict:
            """Return nested JSON."""
            lab.calls["nested"] += 1
            return {"a": {"b": [10, {"c": "deep"}]}, "x/y": 1, "t~": 2}

        @tool
        def echo(text: str) -> str:
            """Return the text."""
            lab.calls["echo"] += 1
            return text

        @tool
        def add(a: int, b: int) -> int:
            """Add two integers."""
            lab.calls["add"] += 1
            return a + b

        @tool(side_effects=True)
        def write_note(text: str) -> str:
            """Write a note (a side effect)."""
            lab.calls["write_note"] += 1
            return f"wrote {text}"

        @tool
        def snooze(label: str, seconds: float = 0.05) -> str:
            """Sleep in its worker thread a while, then return the label (a sync tool)."""
            lab.calls["snooze"] += 1
            with lab.counting:
                lab.in_flight += 1
                lab.max_in_flight = max(lab.max_in_flight, lab.in_flight)
            start = time.perf_counter()
            try:
                time.sleep(seconds)
            finally:
                with lab.counting:
                    lab.in_flight -= 1
            lab.intervals[label] = (start, time.perf_counter())
            return label

        for made in (wait, explode, nested, echo, add, write_note, snooze):
            register(made)


def make_ctx(
    tmp_path: Path,
    replies: Any,
    *,
    approve: Any = False,
    checkpoint: Any = None,
    assets: Any = None,
    **limits: Any,
) -> tuple[RunContext, Lab, list]:
    lab = Lab()
    kernel = Kernel(plugins=[lab], home=tmp_path / "home")
    events: list = []
    ctx = RunContext(
        kernel=kernel,
        model=ScriptedModel(replies),
        run_id="run-1",
        task="the task",
        workspace=tmp_path,
        assets=assets if assets is not None else AssetStore(),
        approve=approve if callable(approve) else (lambda tool, args: approve),
        checkpoint=checkpoint or MemoryCheckpointer(),
        sink=events.append,
        limits={**kernel.config.limits, **limits},
    )
    return ctx, lab, events


def step(id_: str, tool_: str, args: dict, output: str, **more: Any) -> dict:
    return {"id": id_, "tool": tool_, "args": args, "output": output, **more}


def plan(*steps: dict) -> Any:
    return call("submit_plan", steps=list(steps))


def run(ctx: RunContext, act_no: int = 1) -> dict:
    return asyncio.run(StaticAgent(ctx).run("the subtask", [], act_no))


def types(events: list) -> list[str]:
    return [e.type for e in events]


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# -- concurrency ---------------------------------------------------------------------


def test_independent_steps_run_concurrently(tmp_path: Path) -> None:
    steps = [step(f"s{i}", "wait", {"label": f"w{i}", "seconds": 0.1}, f"o{i}") for i in range(3)]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)], concurrency=4)
    report = run(ctx)
    assert report["status"] == "succeeded"
    spans = lab.intervals
    assert overlaps(spans["w0"], spans["w1"]) and overlaps(spans["w1"], spans["w2"])
    assert overlaps(spans["w0"], spans["w2"])


def test_dependent_step_starts_after_its_input_exists(tmp_path: Path) -> None:
    steps = [
        step("first", "wait", {"label": "a", "seconds": 0.05}, "a_out"),
        step("second", "wait", {"label": {"$asset": "a_out"}, "seconds": 0.01}, "b_out"),
    ]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)])
    run(ctx)
    # "second" ran with the label "a" that "first" produced.
    assert ctx.assets.get("b_out").value == "a"
    assert lab.calls["wait"] == 2


def test_concurrency_limit_is_respected(tmp_path: Path) -> None:
    steps = [step(f"s{i}", "wait", {"label": f"w{i}", "seconds": 0.03}, f"o{i}") for i in range(6)]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)], concurrency=2)
    assert run(ctx)["status"] == "succeeded"
    assert lab.max_in_flight == 2
    assert lab.calls["wait"] == 6


def test_concurrency_one_runs_steps_one_at_a_time(tmp_path: Path) -> None:
    steps = [step(f"s{i}", "wait", {"label": f"w{i}", "seconds": 0.02}, f"o{i}") for i in range(3)]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)], concurrency=1)
    run(ctx)
    assert lab.max_in_flight == 1
    assert not overlaps(lab.intervals["w0"], lab.intervals["w1"])


# -- assets and pointers -------------------------------------------------------------


def test_asset_pointers_into_nested_json_resolve(tmp_path: Path) -> None:
    steps = [
        step("n", "nested", {}, "doc"),
        step("e1", "echo", {"text": {"$asset": "doc", "path": "/a/b/1/c"}}, "deep"),
        step("e2", "add", {"a": {"$asset": "doc", "path": "/a/b/0"}, "b": 1}, "eleven"),
        step("e3", "add", {"a": {"$asset": "doc", "path": "/x~1y"}, "b": 0}, "slash"),
        step("e4", "add", {"a": {"$asset": "doc", "path": "/t~0"}, "b": 0}, "tilde"),
    ]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)])
    report = run(ctx)
    assert report["status"] == "succeeded", report
    assert ctx.assets.get("deep").value == "deep"
    assert ctx.assets.get("eleven").value == 11
    assert ctx.assets.get("slash").value == 1
    assert ctx.assets.get("tilde").value == 2
    assert lab.calls["nested"] == 1


def test_bad_pointer_fails_the_step_with_a_clear_error(tmp_path: Path) -> None:
    steps = [
        step("n", "nested", {}, "doc"),
        step("e", "echo", {"text": {"$asset": "doc", "path": "/a/b/7"}}, "bad"),
    ]
    ctx, _, events = make_ctx(tmp_path, [plan(*steps)])
    report = run(ctx)
    assert report["status"] == "partial"
    assert report["failed"] == [
        {
            "step": "e",
            "tool": "echo",
            "error": "step 'e' argument 'text': asset 'doc' has nothing at '/a/b/7': "
            "index 7 at /a/b is out of range (the array has 2 items)",
        }
    ]
    (failed,) = [e for e in events if e.type == "step_failed"]
    assert failed.data["kind"] == "asset"


@pytest.mark.parametrize(
    ("pointer", "message"),
    [
        ("/a/zz", "no key 'zz' at /a (keys: 'b')"),
        ("/a/b/01", "'01' at /a/b is not an array index"),
        ("/a/b/0/x", "/a/b/0 holds a number, not an object or array, so it has no 'x'"),
        ("a", "'a' is not a JSON pointer: it must start with \"/\""),
    ],
)
def test_resolve_pointer_errors_say_where_the_walk_stopped(pointer: str, message: str) -> None:
    with pytest.raises(AssetReferenceError) as raised:
        resolve_pointer({"a": {"b": [1]}}, pointer)
    assert str(raised.value) == message


def test_resolve_pointer_empty_is_the_whole_document() -> None:
    assert resolve_pointer([1], "") == [1]
    assert resolve_pointer({"": 5}, "/") == 5


def test_pointer_into_a_text_asset_is_an_error(tmp_path: Path) -> None:
    steps = [
        step("e", "echo", {"text": "hi"}, "t"),
        step("f", "echo", {"text": {"$asset": "t", "path": "/0"}}, "u"),
    ]
    ctx, _, _ = make_ctx(tmp_path, [plan(*steps)])
    report = run(ctx)
    assert report["failed"][0]["error"] == (
        "step 'f' argument 'text': asset 't' is text; a path '/0' needs a JSON asset"
    )


def test_results_are_stored_as_assets_and_reported(tmp_path: Path) -> None:
    ctx, _, events = make_ctx(tmp_path, [plan(step("s1", "nested", {}, "doc"))])
    ctx.assets.put("older", "from an earlier act")
    report = run(ctx)
    (listed,) = report["assets"]
    assert listed["name"] == "doc" and listed["step"] == "s1" and listed["tool"] == "nested"
    assert listed["type"] == "json" and listed["preview"].startswith('{"a": {"b": [10')
    stored = [e for e in events if e.type == "asset_stored"]
    assert stored[0].data == {
        "name": "doc",
        "step": "s1",
        "tool": "nested",
        "type": "json",
        "size": listed["size"],
        "preview": listed["preview"],
    }
    assert types(events) == ["llm_call", "plan", "step_started", "asset_stored", "step_finished"]


def test_a_report_of_many_assets_previews_each_one_shorter(tmp_path: Path) -> None:
    from autoplug.agents.report import REPORT_PREVIEW_CHARS, REPORT_PREVIEW_MIN, preview_chars

    assert preview_chars(1) == preview_chars(6) == REPORT_PREVIEW_CHARS
    assert preview_chars(12) == 250 and preview_chars(1000) == REPORT_PREVIEW_MIN
    steps = [step(f"s{i}", "echo", {"text": "x" * 1000}, f"o{i}") for i in range(12)]
    report = run(make_ctx(tmp_path, [plan(*steps)])[0])
    previews = [a["preview"] for a in report["assets"]]
    assert len(previews) == 12 and all(len(p) == 251 and p.endswith("…") for p in previews)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autoplug.agents.executor import StepOutcome  # noqa: E402

#: Outcomes of a plan's steps: a status, an asset name (stored or not), an error.
step_outcomes = st.lists(
    st.builds(
        StepOutcome,
        step=st.sampled_from(["s1", "s2", "\ud800"]),
        tool=st.sampled_from(["echo", "plugin__echo"]),
        status=st.sampled_from(["succeeded", "succeeded", "failed", "skipped"]),
        asset=st.sampled_from(["a", "b", "missing", None]),
        error=st.one_of(st.none(), st.text(max_size=30), st.just("e" * 5000)),
        kind=st.sampled_from([None, "tool_error"]),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    outcomes=step_outcomes,
    values=st.lists(
        st.one_of(
            st.integers(),
            st.text(max_size=20),
            st.sampled_from(["x" * 450, "y" * 5000, "\u00e9" * 499]),  # around the cuts
            st.lists(st.integers(), min_size=100, max_size=300),
        ),
        min_size=2,
        max_size=2,
    ),
    plan_errors=st.one_of(st.none(), st.just([]), st.lists(st.text(max_size=10), max_size=2)),
)
def test_a_report_of_one_succeeded_step_is_the_general_report(
    outcomes: list[Any], values: list[Any], plan_errors: list[str] | None
) -> None:
    # build_report makes the common report (one step that succeeded) without the general
    # pass over the outcomes: it must be what the general pass makes, for any outcomes.
    from autoplug.agents.report import _report, build_report

    assets = AssetStore()
    for name, value in zip(["a", "b"], values, strict=True):
        assets.put(name, value, step="s1", tool="echo")
    report = build_report("the subtask", outcomes, assets, plan_errors)
    assert report == _report("the subtask", outcomes, assets, plan_errors)
    assert render_report(report) == render_report(
        _report("the subtask", outcomes, assets, plan_errors)
    )


def test_report_preview_of_a_large_asset_is_bounded(tmp_path: Path) -> None:
    ctx, _, _ = make_ctx(tmp_path, [plan(step("s1", "echo", {"text": "x" * 5000}, "big"))])
    report = run(ctx)
    assert report["assets"][0]["size"] == 5000
    assert len(report["assets"][0]["preview"]) <= 501


def test_assets_are_written_to_the_store_folder(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets")
    ctx, _, _ = make_ctx(tmp_path, [plan(step("s1", "nested", {}, "doc"))], assets=store)
    run(ctx)
    assert AssetStore.load(tmp_path / "assets").get("doc").value["a"]["b"][0] == 10


# -- failures ------------------------------------------------------------------------


def test_failing_tool_skips_its_dependents_and_others_still_run(tmp_path: Path) -> None:
    steps = [
        step("boom", "explode", {"message": "disk on fire"}, "x"),
        step("needs_x", "echo", {"text": {"$asset": "x"}}, "y"),
        step("needs_y", "echo", {"text": {"$asset": "y"}}, "z"),
        step("free", "echo", {"text": "fine"}, "w"),
    ]
    ctx, lab, events = make_ctx(tmp_path, [plan(*steps)])
    report = run(ctx)
    assert report["status"] == "partial"
    assert [a["name"] for a in report["assets"]] == ["w"]
    assert report["failed"] == [
        {
            "step": "boom",
            "tool": "explode",
            "error": "tool 'explode' failed: RuntimeError: disk on fire",
        }
    ]
    assert report["skipped"] == [
        {
            "step": "needs_x",
            "tool": "echo",
            "reason": "needs asset 'x', which step 'boom' did not produce (it failed)",
        },
        {
            "step": "needs_y",
            "tool": "echo",
            "reason": "needs asset 'y', which step 'needs_x' did not produce (it skipped)",
        },
    ]
    assert lab.calls["echo"] == 1
    assert ctx.checkpoint.finished_step(1, "needs_y")["status"] == "skipped"
    assert types(events).count("step_skipped") == 2


def test_all_steps_failing_is_a_failed_report(tmp_path: Path) -> None:
    ctx, _, _ = make_ctx(tmp_path, [plan(step("boom", "explode", {"message": "no"}, "x"))])
    report = run(ctx)
    assert report["status"] == "failed" and report["plan_errors"] == []


def test_timeout_from_tool_timeout_s_is_a_failed_step(tmp_path: Path) -> None:
    steps = [
        step("slow", "wait", {"label": "slow", "seconds": 5}, "a"),
        step("quick", "echo", {"text": "ok"}, "b"),
    ]
    ctx, _, events = make_ctx(tmp_path, [plan(*steps)], tool_timeout_s=0.05)
    report = run(ctx)
    assert report["failed"] == [
        {"step": "slow", "tool": "wait", "error": "tool 'wait' timed out after 0.05 s"}
    ]
    assert ctx.checkpoint.finished_step(1, "slow") == {
        "status": "failed",
        "asset": None,
        "error": "tool 'wait' timed out after 0.05 s",
        "kind": "timeout",
    }
    assert report["assets"][0]["name"] == "b"


def test_invalid_arguments_after_resolution_fail_the_step(tmp_path: Path) -> None:
    steps = [
        step("e", "echo", {"text": "5"}, "five"),
        step("a", "add", {"a": {"$asset": "five"}, "b": 1}, "six"),
    ]
    ctx, _, events = make_ctx(tmp_path, [plan(*steps)])
    report = run(ctx)
    assert report["failed"][0]["error"] == (
        "invalid arguments for tool 'add': $.a: '5' is not of type 'integer'"
    )


def test_a_large_asset_that_breaks_a_schema_is_not_pasted_whole_into_the_report(tmp_path):
    plan = call(
        "submit_plan",
        steps=[
            step("a", "numbers", {}, "nums"),
            step("b", "count", {"text": {"$asset": "nums"}}, "chars"),
        ],
    )
    ctx = agent_ctx(tmp_path, [plan])
    report = act(ctx)
    (failed,) = report["failed"]
    assert failed["step"] == "b"
    assert failed["error"].startswith("invalid arguments for tool 'count': $.text: [0, 1, 2")
    assert failed["error"].endswith("is not of type 'string'")  # the point of the error survives
    assert "characters cut]" in failed["error"]
    assert len(render_report(report)) < 5000  # the asset is 108,890 characters of JSON


# -- approval ------------------------------------------------------------------------


def test_side_effect_tool_is_refused_without_approval(tmp_path: Path) -> None:
    ctx, lab, events = make_ctx(tmp_path, [plan(step("w", "write_note", {"text": "hi"}, "r"))])
    report = run(ctx)
    assert lab.calls["write_note"] == 0
    assert report["failed"] == [
        {
            "step": "w",
            "tool": "write_note",
            "error": "tool 'write_note' has side effects and was not approved",
        }
    ]
    (asked,) = [e for e in events if e.type == "approval_asked"]
    assert asked.data == {
        "step": "w",
        "tool": "write_note",
        "args": {"text": "hi"},
        "approved": False,
    }


def test_side_effect_tool_runs_when_approved(tmp_path: Path) -> None:
    seen: list = []

    async def approve(tool_: Any, args: dict) -> bool:
        seen.append((tool_.name, args))
        return True

    ctx, lab, _ = make_ctx(
        tmp_path, [plan(step("w", "write_note", {"text": "hi"}, "r"))], approve=approve
    )
    report = run(ctx)
    assert report["status"] == "succeeded"
    assert ctx.assets.get("r").value == "wrote hi"
    assert seen == [("write_note", {"text": "hi"})]


def test_tool_without_side_effects_asks_no_approval(tmp_path: Path) -> None:
    ctx, _, events = make_ctx(tmp_path, [plan(step("e", "echo", {"text": "x"}, "o"))])
    run(ctx)
    assert "approval_asked" not in types(events)


# -- checkpoints ---------------------------------------------------------------------


def test_finished_step_is_not_run_again(tmp_path: Path) -> None:
    steps = [
        step("a", "add", {"a": 1, "b": 2}, "three"),
        step("b", "add", {"a": {"$asset": "three"}, "b": 4}, "seven"),
    ]
    checkpoint = MemoryCheckpointer()
    checkpoint.save_plan(1, {"steps": steps})
    checkpoint.save_step(
        1, "a", {"status": "succeeded", "asset": "three", "error": None, "kind": None}
    )
    store = AssetStore()
    store.put("three", 3, step="a", tool="add")
    ctx, lab, events = make_ctx(tmp_path, [], checkpoint=checkpoint, assets=store)
    report = run(ctx)
    assert lab.calls["add"] == 1  # only step b ran
    assert ctx.assets.get("seven").value == 7
    assert [a["name"] for a in report["assets"]] == ["three", "seven"]
    resumed = [e for e in events if e.type == "step_finished" and e.data.get("resumed")]
    assert [e.data["step"] for e in resumed] == ["a"]


def test_finished_step_whose_asset_was_lost_runs_again(tmp_path: Path) -> None:
    checkpoint = MemoryCheckpointer()
    checkpoint.save_plan(1, {"steps": [step("a", "add", {"a": 1, "b": 2}, "three")]})
    checkpoint.save_step(
        1, "a", {"status": "succeeded", "asset": "three", "error": None, "kind": None}
    )
    ctx, lab, _ = make_ctx(tmp_path, [], checkpoint=checkpoint)
    run(ctx)
    assert lab.calls["add"] == 1


def test_a_side_effect_step_whose_asset_was_lost_is_not_rerun_and_its_dependents_fail(
    tmp_path: Path,
) -> None:
    steps = [
        step("w", "write_note", {"text": "hi"}, "note"),
        step("e", "echo", {"text": {"$asset": "note"}}, "copy"),
        step("free", "add", {"a": 1, "b": 2}, "three"),
    ]
    checkpoint = MemoryCheckpointer()
    checkpoint.save_plan(1, {"steps": steps})
    checkpoint.save_step(
        1, "w", {"status": "succeeded", "asset": "note", "error": None, "kind": None}
    )
    ctx, lab, events = make_ctx(tmp_path, [], checkpoint=checkpoint, approve=True)
    report = run(ctx)
    assert (lab.calls["write_note"], lab.calls["echo"], lab.calls["add"]) == (0, 0, 1)
    failed = {f["step"]: f["error"] for f in report["failed"]}
    assert set(failed) == {"w", "e"}
    assert failed["w"].startswith("asset lost: asset 'note' of step 'w' is gone")
    assert "has side effects, so the step is not run again" in failed["w"]
    assert failed["e"] == "asset lost: needs asset 'note' of step 'w', whose file is gone"
    kinds = {e.data["step"]: e.data["kind"] for e in events if e.type == "step_failed"}
    assert kinds == {"w": "asset_lost", "e": "asset_lost"}


def test_checkpointed_failure_is_reported_not_rerun(tmp_path: Path) -> None:
    checkpoint = MemoryCheckpointer()
    checkpoint.save_plan(1, {"steps": [step("boom", "explode", {"message": "m"}, "x")]})
    record = {"status": "failed", "asset": None, "error": "it broke", "kind": "tool_error"}
    checkpoint.save_step(1, "boom", record)
    ctx, lab, _ = make_ctx(tmp_path, [], checkpoint=checkpoint)
    report = run(ctx)
    assert lab.calls["explode"] == 0
    assert report["failed"] == [{"step": "boom", "tool": "explode", "error": "it broke"}]


def test_refused_step_runs_when_resumed_with_approval(tmp_path: Path) -> None:
    steps = [
        step("w", "write_note", {"text": "hi"}, "r"),
        step("e", "echo", {"text": {"$asset": "r"}}, "copy"),
    ]
    checkpoint = MemoryCheckpointer()
    checkpoint.save_plan(1, {"steps": steps})
    refused = "tool 'write_note' has side effects and was not approved"
    checkpoint.save_step(
        1, "w", {"status": "failed", "asset": None, "error": refused, "kind": "refused"}
    )
    checkpoint.save_step(
        1, "e", {"status": "skipped", "asset": None, "error": "needs r", "kind": None}
    )
    ctx, lab, _ = make_ctx(tmp_path, [], checkpoint=checkpoint, approve=True)
    report = run(ctx)
    assert report["status"] == "succeeded"
    assert lab.calls["write_note"] == 1
    assert ctx.assets.get("copy").value == "wrote hi"
    assert checkpoint.finished_step(1, "e")["status"] == "succeeded"


def test_every_finished_step_is_checkpointed(tmp_path: Path) -> None:
    steps = [step("ok", "echo", {"text": "x"}, "o")]
    ctx, _, _ = make_ctx(tmp_path, [plan(*steps)])
    run(ctx, act_no=3)
    assert ctx.checkpoint.saved_plan(3)["steps"][0]["id"] == "ok"
    assert ctx.checkpoint.finished_step(3, "ok") == {
        "status": "succeeded",
        "asset": "o",
        "error": None,
        "kind": None,
    }


# -- guards --------------------------------------------------------------------------


def test_guard_stop_passes_through(tmp_path: Path) -> None:
    ctx, _, _ = make_ctx(tmp_path, [plan(step("e", "echo", {"text": "x"}, "o"))], llm_calls=0)
    with pytest.raises(GuardStop, match="llm_calls limit reached"):
        run(ctx)


# -- values that cannot be stored or rendered (issue 10) --------------------------


class Unprintable:
    """An object that is not JSON and whose __str__ raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class Hostile:
    """Tools whose results cannot be stored as they are."""

    name = "hostile"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        @tool
        def deep() -> list:
            """A result nested 3,000 deep."""
            value: list = []
            for _ in range(3000):
                value = [value]
            return value

        @tool
        def huge() -> dict:
            """A result with an integer of 5,000 digits."""
            return {"n": 10**5000}

        @tool
        def unprintable() -> Any:
            """A result with no JSON form and a broken __str__."""
            return Unprintable()

        @tool
        def many(n: int) -> int:
            """Return n."""
            return n

        for made in (deep, huge, unprintable, many):
            register(made)


def hostile_ctx(tmp_path: Path, replies: Any, folder: bool) -> RunContext:
    kernel = Kernel(plugins=[Hostile()], home=tmp_path / "home")
    return RunContext(
        kernel=kernel,
        model=ScriptedModel(replies),
        run_id="run-1",
        task="the task",
        workspace=tmp_path,
        assets=AssetStore(tmp_path / "assets" if folder else None),
        limits=dict(kernel.config.limits),
    )


@pytest.mark.parametrize("folder", [True, False], ids=["on_disk", "in_memory"])
def test_a_result_that_cannot_be_stored_fails_its_step_with_a_reason(
    tmp_path: Path, folder: bool
) -> None:
    steps = [
        step("d", "deep", {}, "deep_out"),
        step("h", "huge", {}, "huge_out"),
        step("u", "unprintable", {}, "u_out"),
        step("ok", "many", {"n": 1}, "fine"),
    ]
    report = run_with(hostile_ctx(tmp_path, [plan(*steps)], folder))
    assert report["status"] == "partial"
    assert [a["name"] for a in report["assets"]] == ["fine"]
    errors = {f["step"]: f["error"] for f in report["failed"]}
    assert errors == {
        "d": "step 'd': could not store asset 'deep_out': "
        "the value cannot be stored: it is nested deeper than 100 levels",
        "h": "step 'h': could not store asset 'huge_out': "
        "the value cannot be stored: it is an integer of more than 4300 digits",
        "u": "step 'u': could not store asset 'u_out': the value cannot be stored: it is not "
        "JSON and its str() raised RuntimeError: no text for you",
    }


def test_a_failure_to_store_an_asset_names_no_absolute_path(tmp_path):
    folder = tmp_path / "runs" / "20260101-000000-000000-abcd" / "assets"
    folder.parent.mkdir(parents=True)
    assets = AssetStore(folder)
    shutil.rmtree(folder.parent)  # the run folder vanished under the run
    plan = call("submit_plan", steps=[step("s", "count", {"text": "abc"}, "n")])
    ctx = agent_ctx(tmp_path, [plan], assets=assets)
    report = act(ctx)
    (failed,) = report["failed"]
    assert failed["error"].startswith("step 's': could not store asset 'n': ")
    assert str(tmp_path) not in failed["error"]
    assert "abcd" not in failed["error"]


def test_the_report_lists_at_most_fifty_assets_then_counts_the_rest(tmp_path: Path) -> None:
    steps = [step(f"s{i}", "many", {"n": i}, f"a{i}") for i in range(120)]
    steps += [step(f"f{i}", "deep", {}, f"b{i}") for i in range(60)]
    ctx = hostile_ctx(tmp_path, [call("submit_plan", steps=steps)], False)
    ctx.limits["concurrency"] = 8
    report = run_with(ctx)
    assert len(report["assets"]) == 51 and report["assets"][-1] == "…and 70 more"
    assert len(report["failed"]) == 51 and report["failed"][-1] == "…and 10 more"


def run_with(ctx: RunContext) -> dict:
    return asyncio.run(StaticAgent(ctx).run("the subtask", [], 1))


# -- steps run inline (issue 14) ---------------------------------------------------

import contextvars  # noqa: E402

_seen_by_step: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


class Instant:
    """Async tools that answer without suspending, and one that sets a context variable."""

    name = "instant"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        @tool
        async def now(i: int) -> int:
            """Return i at once."""
            return i

        @tool
        async def mark(label: str) -> str:
            """Set a context variable; return what it held before."""
            before = _seen_by_step.get()
            _seen_by_step.set(label)
            return before

        register(now)
        register(mark)


def counting_tasks(coro: Any) -> tuple[Any, int]:
    """Run ``coro`` in a fresh loop; its result and how many tasks were made besides it."""
    made = []

    def factory(loop: Any, inner: Any, **kwargs: Any) -> Any:
        made.append(inner)
        return asyncio.Task(inner, loop=loop, **kwargs)

    async def main() -> tuple[Any, int]:
        asyncio.get_running_loop().set_task_factory(factory)
        result = await coro
        return result, len(made)  # not the tasks asyncio.run makes to shut down

    return asyncio.run(main())


def test_steps_whose_tools_answer_at_once_run_without_a_task_each(tmp_path: Path) -> None:
    steps = [step(f"s{i}", "now", {"i": i}, f"o{i}") for i in range(10)]
    steps.append(step("last", "now", {"i": {"$asset": "o9"}}, "o10"))
    ctx, _, events = make_ctx(tmp_path, [plan(*steps)])
    ctx.kernel = Kernel(plugins=[Instant()], home=tmp_path / "home2")
    report, tasks = counting_tasks(StaticAgent(ctx).run("the subtask", [], 1))
    assert report["status"] == "succeeded"
    assert tasks == 0  # eleven steps, each finished where it started
    assert [a["preview"] for a in report["assets"]] == [str(i) for i in range(10)] + ["9"]
    started = [e.data["step"] for e in events if e.type == "step_started"]
    assert started == [s["id"] for s in steps]


def test_a_step_that_suspends_goes_on_where_it_started_and_later_steps_keep_their_order(
    tmp_path: Path,
) -> None:
    steps = [
        step("first", "wait", {"label": "first", "seconds": 0.05}, "a"),
        step("second", "echo", {"text": "b"}, "b"),
        step("third", "wait", {"label": "third", "seconds": 0.05}, "c"),
    ]
    ctx, lab, events = make_ctx(tmp_path, [plan(*steps)], concurrency=1)
    report, tasks = counting_tasks(StaticAgent(ctx).run("the subtask", [], 1))
    assert report["status"] == "succeeded"
    assert tasks == 2  # the two after it; the first goes on in the task it started in
    started = [e.data["step"] for e in events if e.type == "step_started"]
    assert started == ["first", "second", "third"]
    assert lab.max_in_flight == 1  # concurrency = 1 still holds for the inline first step
    assert not overlaps(lab.intervals["first"], lab.intervals["third"])


def test_a_suspended_inline_step_holds_one_slot_of_a_semaphore_made_while_it_waits(
    tmp_path: Path,
) -> None:
    steps = [step("first", "wait", {"label": "first", "seconds": 0.15}, "a")]
    steps += [step(n, "wait", {"label": n, "seconds": 0.05}, n) for n in ("b", "c", "d")]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)], concurrency=2)
    report, tasks = counting_tasks(StaticAgent(ctx).run("the subtask", [], 1))
    assert report["status"] == "succeeded" and tasks == 3
    assert lab.max_in_flight == 2  # the first step's slot and one task's, never three
    # A first step that ends early gives its slot back: two of the others then overlap.
    steps[0] = step("first", "wait", {"label": "first", "seconds": 0.01}, "a")
    steps[1:] = [step(n, "wait", {"label": n, "seconds": 0.15}, n) for n in ("b", "c", "d")]
    ctx, lab, _ = make_ctx(tmp_path / "again", [plan(*steps)], concurrency=2)
    assert run(ctx)["status"] == "succeeded"
    later = [lab.intervals[n] for n in ("b", "c", "d")]
    assert any(overlaps(x, y) for x in later for y in later if x is not y)


def test_a_step_run_inline_keeps_its_context_variables_to_itself(tmp_path: Path) -> None:
    steps = [step("one", "mark", {"label": "one"}, "a"), step("two", "mark", {"label": "two"}, "b")]
    ctx, _, _ = make_ctx(tmp_path, [plan(*steps)])
    ctx.kernel = Kernel(plugins=[Instant()], home=tmp_path / "home2")
    report = run(ctx)
    assert [a["preview"] for a in report["assets"]] == ["unset", "unset"]  # neither saw the other's
    assert _seen_by_step.get() == "unset"


def test_a_step_listed_before_the_step_it_reads_waits_for_it(tmp_path: Path) -> None:
    steps = [
        step("last", "now", {"i": {"$asset": "mid"}}, "out"),
        step("middle", "now", {"i": {"$asset": "first"}}, "mid"),
        step("first", "now", {"i": 7}, "first"),
        step("alone", "now", {"i": 1}, "one"),
    ]
    ctx, _, events = make_ctx(tmp_path, [plan(*steps)])
    ctx.kernel = Kernel(plugins=[Instant()], home=tmp_path / "home2")
    report = run(ctx)
    assert report["status"] == "succeeded"
    assert ctx.assets.get("out").value == 7
    finished = [e.data["step"] for e in events if e.type == "step_finished"]
    assert finished.index("first") < finished.index("middle") < finished.index("last")


class Scoped:
    """Async tools that enter task-bound scopes before their first await."""

    name = "scoped"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        @tool
        async def bounded(seconds: float) -> str:
            """Wait under its own asyncio.timeout of 0.05 s."""
            task = asyncio.current_task()
            _seen_by_step.set("bounded")
            try:
                async with asyncio.timeout(0.05):
                    await asyncio.sleep(seconds)
            except TimeoutError:
                return f"own timeout, same task {asyncio.current_task() is task}, {_seen_by_step.get()}"
            return "in time"

        @tool
        async def grouped() -> int:
            """Run two children in a TaskGroup."""
            async with asyncio.TaskGroup() as group:
                first = group.create_task(asyncio.sleep(0.01, result=1))
                second = group.create_task(asyncio.sleep(0.02, result=2))
            return first.result() + second.result()

        register(bounded)
        register(grouped)


def test_a_tool_s_own_timer_and_task_group_work_in_a_step_that_started_inline(
    tmp_path: Path,
) -> None:
    steps = [
        step("slow", "bounded", {"seconds": 5}, "a"),
        step("group", "grouped", {}, "b"),
        step("quick", "bounded", {"seconds": 0}, "c"),
    ]
    ctx, _, _ = make_ctx(tmp_path, [plan(*steps)])
    ctx.kernel = Kernel(plugins=[Scoped()], home=tmp_path / "home2")
    started = time.monotonic()
    report = run(ctx)
    assert report["status"] == "succeeded", report
    values = {a["name"]: ctx.assets.get(a["name"]).value for a in report["assets"]}
    assert values == {"a": "own timeout, same task True, bounded", "b": 3, "c": "in time"}
    assert time.monotonic() - started < 3  # its timer fired for it, not for the run


def test_a_guard_in_a_later_step_stops_a_step_that_started_inline(tmp_path: Path) -> None:
    steps = [
        step("slow", "wait", {"label": "slow", "seconds": 5}, "a"),
        step("fill", "echo", {"text": {"$fill": "any text"}}, "b"),
    ]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)], llm_calls=1)  # the plan is the one call
    started = time.monotonic()
    with pytest.raises(GuardStop, match="llm_calls limit reached"):
        run(ctx)
    assert time.monotonic() - started < 3  # not after the first step's five seconds
    assert lab.in_flight == 0  # the first step was stopped, not left running


def test_a_guard_in_the_pass_where_an_inline_step_ends_stops_the_run_with_the_guard(
    tmp_path: Path,
) -> None:
    # The inline step yields once and ends in the loop pass in which the later step's
    # model call hits the guard: the guard, not a cancellation, must come out.
    steps = [
        step("nap", "wait", {"label": "nap", "seconds": 0}, "a"),
        step("fill", "echo", {"text": {"$fill": "any text"}}, "b"),
    ]
    ctx, _, _ = make_ctx(tmp_path, [plan(*steps)], llm_calls=1)  # the plan is the one call
    with pytest.raises(GuardStop, match="llm_calls limit reached"):
        run(ctx)


# -- sync steps run in the run's task ------------------------------------------------


def test_a_chain_of_sync_steps_runs_in_the_run_s_task_with_no_task_each(tmp_path: Path) -> None:
    steps = [step("s0", "echo", {"text": "x"}, "o0")]
    steps += [
        step(f"s{i}", "echo", {"text": {"$asset": f"o{i - 1}"}}, f"o{i}") for i in range(1, 8)
    ]
    ctx, lab, events = make_ctx(tmp_path, [plan(*steps)])
    report, tasks = counting_tasks(StaticAgent(ctx).run("the subtask", [], 1))
    assert report["status"] == "succeeded"
    assert tasks == 0  # each step waited for its worker thread in the run's own task
    assert lab.calls["echo"] == 8 and ctx.assets.get("o7").value == "x"
    order = [(e.type, e.data["step"]) for e in events if e.type.startswith("step_")]
    assert order == [(t, s["id"]) for s in steps for t in ("step_started", "step_finished")]


def test_a_sync_step_s_independent_later_step_runs_while_it_is_in_flight(tmp_path: Path) -> None:
    steps = [
        step("first", "snooze", {"label": "first", "seconds": 0.2}, "a"),
        step("after", "echo", {"text": {"$asset": "a"}}, "b"),
        step("alone", "wait", {"label": "alone", "seconds": 0.05}, "c"),
    ]
    ctx, lab, events = make_ctx(tmp_path, [plan(*steps)], concurrency=4)
    report = run(ctx)
    assert report["status"] == "succeeded"
    assert overlaps(lab.intervals["first"], lab.intervals["alone"])
    assert ctx.assets.get("b").value == "first"
    started = [e.data["step"] for e in events if e.type == "step_started"]
    assert started == ["first", "alone", "after"]


def test_sync_steps_run_inline_keep_the_concurrency_limit(tmp_path: Path) -> None:
    steps = [step("s0", "snooze", {"label": "w0", "seconds": 0.05}, "o0")]
    steps += [step(f"s{i}", "snooze", {"label": f"w{i}", "seconds": 0.05}, f"o{i}") for i in (1, 2)]
    ctx, lab, _ = make_ctx(tmp_path, [plan(*steps)], concurrency=1)
    assert run(ctx)["status"] == "succeeded"
    assert lab.max_in_flight == 1
    assert not overlaps(lab.intervals["w0"], lab.intervals["w1"])
    assert not overlaps(lab.intervals["w1"], lab.intervals["w2"])


def test_a_sync_step_run_inline_past_its_timeout_fails_and_the_chain_skips_on(
    tmp_path: Path,
) -> None:
    steps = [
        step("slow", "snooze", {"label": "slow", "seconds": 3}, "a"),
        step("next", "echo", {"text": {"$asset": "a"}}, "b"),
    ]
    ctx, _, events = make_ctx(tmp_path, [plan(*steps)], tool_timeout_s=0.1)
    started = time.monotonic()
    report = run(ctx)
    assert time.monotonic() - started < 2  # its thread was abandoned, not waited for
    failed = [e.data for e in events if e.type == "step_failed"]
    assert failed and failed[0]["kind"] == "timeout" and failed[0]["abandoned"] is True
    assert [e.data["step"] for e in events if e.type == "step_skipped"] == ["next"]
    assert report["status"] == "failed"


def test_cancelling_a_run_whose_inline_sync_step_is_in_flight_does_not_wait_for_it(
    tmp_path: Path,
) -> None:
    steps = [
        step("slow", "snooze", {"label": "slow", "seconds": 3}, "a"),
        step("next", "echo", {"text": {"$asset": "a"}}, "b"),
    ]
    ctx, lab, events = make_ctx(tmp_path, [plan(*steps)])

    async def main() -> None:
        await asyncio.wait_for(StaticAgent(ctx).run("the subtask", [], 1), 0.2)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert time.monotonic() - started < 2
    assert [e.data["step"] for e in events if e.type == "step_started"] == ["slow"]
    assert lab.calls["echo"] == 0


def test_a_sync_step_s_end_and_the_next_step_s_start_reach_the_trace_in_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoplug.runs.journal import AppendHandles

    trace_writes: list[list[dict]] = []
    original = AppendHandles.append

    def counting(self: Any, path: str, data: bytes) -> Any:
        if path.endswith("trace.jsonl"):
            trace_writes.append([json.loads(line) for line in data.splitlines()])
        return original(self, path, data)

    monkeypatch.setattr(AppendHandles, "append", counting)
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    kernel = Kernel(plugins=[Lab()], builtins=["autoplug_autos"], home=home)
    steps = [step("s0", "echo", {"text": "x"}, "o0")]
    steps += [step(f"s{i}", "echo", {"text": {"$asset": f"o{i - 1}"}}, f"o{i}") for i in (1, 2)]
    model = ScriptedModel(
        [call("act", subtask="do", assets=[]), plan(*steps), call("final", answer="done")]
    )
    result = kernel.run("the task", model=model)
    assert result.status == "succeeded"
    where = {}
    for n, lines in enumerate(trace_writes):
        for line in lines:
            if line["type"] in ("step_started", "step_finished"):
                where[(line["type"], line["data"]["step"])] = n
    for before, after in (("s0", "s1"), ("s1", "s2")):
        assert where[("step_finished", before)] == where[("step_started", after)]
    seqs = [line["seq"] for lines in trace_writes for line in lines]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))  # the trace keeps its order
