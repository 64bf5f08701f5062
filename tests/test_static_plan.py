"""The static agent's planning: the submit_plan request, the plan checks, bounded repairs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from agent_tools import act, agent_ctx
from hypothesis import given, settings
from hypothesis import strategies as st
from threads import in_busy_threads

from autoplug import Kernel, Tool, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.plan_checks import check_plan, classify_arg
from autoplug.agents.report import render_report
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call


@tool
def fetch(url: str) -> dict:
    """Fetch a page and return its parts."""
    return {"url": url, "title": "T", "links": ["a", "b"]}


@tool
def count_words(text: str, limit: int = 100) -> int:
    """Count the words of a text."""
    return len(text.split())


@tool
def summarize(text: str) -> str:
    """Summarize a text."""
    return text[:10]


class PlanTools:
    """The tools these tests plan with."""

    name = "plantools"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(fetch)
        register(count_words)
        register(summarize)
        register(
            Tool(
                name="strict",
                func=lambda a: a,
                description="A tool that accepts only its parameter.",
                parameters={
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "required": ["a"],
                    "additionalProperties": False,
                },
            )
        )


def make_ctx(tmp_path: Path, replies: Any, **limits: Any) -> tuple[RunContext, ScriptedModel, list]:
    kernel = Kernel(plugins=[PlanTools()], home=tmp_path / "home")
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
    return ctx, model, events


def step(id_: str, tool_: str, args: dict, output: str, **more: Any) -> dict:
    return {"id": id_, "tool": tool_, "args": args, "output": output, **more}


def plan(*steps: dict) -> Any:
    return call("submit_plan", steps=list(steps))


def run(ctx: RunContext, subtask: str = "do it", assets: list[str] | None = None) -> dict:
    return asyncio.run(StaticAgent(ctx).run(subtask, assets or [], 1))


def errors_of(steps: list[dict], available: list[str] | None = None) -> list[str]:
    kernel = Kernel(plugins=[PlanTools()])
    return check_plan(steps, kernel.tools, available or [])[1]


# -- the planning request ------------------------------------------------------------


def test_plan_request_offers_only_submit_plan_and_lists_tools_and_assets(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(tmp_path, [plan(step("s1", "fetch", {"url": "u"}, "page"))])
    ctx.assets.put("notes", {"topic": "jupiter"})
    run(ctx, "read the page", ["notes"])
    (request,) = model.requests
    assert [f.name for f in request.functions] == ["submit_plan"]
    assert request.functions[0].parameters["properties"]["steps"]["items"]["required"] == [
        "id",
        "tool",
        "args",
        "output",
    ]
    system, prompt = request.messages[0].content, request.messages[-1].content
    assert "Subtask: read the page" in prompt
    # The catalog is stable from plan to plan: in the system prompt, before the subtask.
    assert "- count_words: Count the words of a text." in system
    # Parameters as a typed signature: optional with its default, required without.
    assert "  limit?: integer = 100" in system and "  text: string" in system
    assert "count_words" not in prompt
    assert '- notes (json, 20 bytes): {"topic": "jupiter"}' in prompt


def test_planner_previews_passed_assets_as_json(tmp_path):
    assets = AssetStore()
    assets.put("notes", "line one\nline two")
    assets.put("data", {"k": [1, 2]})
    ctx = agent_ctx(tmp_path, [call("submit_plan", steps=[step("s", "count", {"text": "x"}, "n")])])
    ctx.assets = assets
    act(ctx, ["notes", "data"])
    prompt = ctx.model.requests[0].messages[1].content
    listed = prompt.split("Assets available:\n", 1)[1].splitlines()
    assert listed == [
        '- notes (text, 17 bytes): "line one\\nline two"',
        '- data (json, 13 bytes): {"k": [1, 2]}',
    ]


def test_accepted_plan_is_saved_and_emitted(tmp_path: Path) -> None:
    ctx, _, events = make_ctx(tmp_path, [plan(step("s1", "fetch", {"url": "u"}, "page"))])
    run(ctx)
    saved = ctx.checkpoint.saved_plan(1)
    assert saved == {
        "steps": [
            {"id": "s1", "tool": "fetch", "args": {"url": "u"}, "output": "page", "inputs": []}
        ]
    }
    (event,) = [e for e in events if e.type == "plan"]
    assert event.data == {"subtask": "do it", "steps": saved["steps"]}


def test_saved_plan_is_reused_without_a_model_call(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(tmp_path, [])
    ctx.checkpoint.save_plan(1, {"steps": [step("s1", "fetch", {"url": "u"}, "page")]})
    report = run(ctx)
    assert model.requests == []
    assert report["status"] == "succeeded"
    assert ctx.assets.get("page").value["url"] == "u"


def system_of_plan(ctx: RunContext, model: ScriptedModel) -> str:
    """The planner system prompt of one more plan of ``ctx``'s kernel."""
    seen = len(model.requests)
    asyncio.run(StaticAgent(ctx).run("do it", [], seen + 1))  # a new act: planned again
    return model.requests[seen].messages[0].content


@tool
def late(city: str) -> str:
    """A tool registered after the first plan."""
    return city


def test_a_tool_registered_after_the_first_plan_is_in_the_next_catalog(tmp_path: Path) -> None:
    one = plan(step("s1", "fetch", {"url": "u"}, "page"))
    ctx, model, _ = make_ctx(tmp_path, [one, one, one])
    before = system_of_plan(ctx, model)
    assert "- late:" not in before
    ctx.kernel.tools.add(late, "later")
    after = system_of_plan(ctx, model)
    assert "- late: A tool registered after the first plan.\n  city: string" in after
    assert (
        after.replace("- late: A tool registered after the first plan.\n  city: string\n", "")
        == before
    )
    ctx.kernel.tools.remove_plugin("later")
    assert system_of_plan(ctx, model) == before


def test_a_plugin_listing_its_tools_again_shows_the_new_listing(tmp_path: Path) -> None:
    # What an MCP server's tools/list_changed does: the plugin's tools removed and added anew.
    ctx, model, _ = make_ctx(tmp_path, [plan(step("s1", "fetch", {"url": "u"}, "page"))] * 3)
    listed = Tool(name="lookup", func=lambda q: q, description="First listing.")
    ctx.kernel.tools.add(listed, "server")
    assert "- lookup: First listing.\n  (no arguments)" in system_of_plan(ctx, model)
    ctx.kernel.tools.remove_plugin("server")
    relisted = Tool(
        name="lookup",
        func=lambda q: q,
        description="Second listing.",
        parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    )
    ctx.kernel.tools.add(relisted, "server")
    system = system_of_plan(ctx, model)
    assert "- lookup: Second listing.\n  q: string" in system and "First listing" not in system
    # A registered tool given a new description or flag is written again, too.
    ctx.kernel.tools.get("lookup").side_effects = True
    assert "- lookup: Second listing. [side effects: needs approval]" in system_of_plan(ctx, model)


def test_each_shown_field_set_on_a_registered_tool_writes_the_catalog_again(
    tmp_path: Path,
) -> None:
    # The catalog's key reads every field the catalog shows: each change is seen.
    ctx, model, _ = make_ctx(tmp_path, [plan(step("s1", "fetch", {"url": "u"}, "page"))] * 5)
    listed = Tool(name="lookup", func=lambda q: q, description="First.")
    ctx.kernel.tools.add(listed, "server")
    assert "- lookup: First.\n  (no arguments)" in system_of_plan(ctx, model)
    registered = ctx.kernel.tools.get("lookup")
    registered.description = "Second."
    assert "- lookup: Second.\n  (no arguments)" in system_of_plan(ctx, model)
    registered.parameters = {"type": "object", "properties": {"q": {"type": "string"}}}
    assert "- lookup: Second.\n  q?: string" in system_of_plan(ctx, model)
    registered.unusable = "its schema cannot validate"
    assert "- lookup:" not in system_of_plan(ctx, model)


def test_a_tool_that_loses_its_bare_name_is_offered_by_its_qualified_name(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(tmp_path, [plan(step("s1", "fetch", {"url": "u"}, "page"))] * 2)
    assert "- summarize: Summarize a text." in system_of_plan(ctx, model)
    # A plugin whose name sorts first takes the bare name ("aaa" before "plantools").
    ctx.kernel.tools.add(Tool(name="summarize", func=lambda: 1, description="Another."), "aaa")
    system = system_of_plan(ctx, model)
    assert "- summarize: Another." in system
    assert "- plantools__summarize: Summarize a text." in system


def test_the_catalog_is_written_once_per_tool_set_and_equals_a_fresh_one(tmp_path: Path) -> None:
    from autoplug.agents import planner

    kernel = Kernel(plugins=[PlanTools()], home=tmp_path / "home")
    first = planner.tool_catalog(kernel.tools)
    assert planner.tool_catalog(kernel.tools) is first  # kept, not written again
    entries = sorted((kernel.tools.model_name(t), t) for t in kernel.tools.all())
    assert first == planner._write_catalog(entries)
    # Another kernel with the same plugin has its own tool objects: written for it.
    other = Kernel(plugins=[PlanTools()], home=tmp_path / "other")
    assert planner.tool_catalog(other.tools) == first
    assert planner.planner_system(kernel.tools) is planner.planner_system(kernel.tools)


def test_the_catalog_after_any_change_to_the_tools_equals_one_written_fresh(
    tmp_path: Path,
) -> None:
    # tool_catalog answers from the catalog it wrote last when nothing shown changed:
    # after every change (a field set to an equal new value or another, a tool added,
    # replaced or removed, another registry between), what it answers is what writing
    # the catalog from scratch gives.
    import random

    from autoplug.agents import planner

    def fresh(tools: Any) -> str:
        offered = [t for t in tools.all() if t.unusable is None]
        return planner._write_catalog(sorted((tools.model_name(t), t) for t in offered))

    one, two = Kernel(plugins=[], home=tmp_path / "one"), Kernel(plugins=[], home=tmp_path / "two")
    draw = random.Random(7)
    for number in range(4):
        one.tools.add(Tool(name=f"t{number}", func=lambda: 1, description="Same."), "p")
    two.tools.add(Tool(name="other", func=lambda: 1, description="Elsewhere."), "q")
    for _ in range(300):
        tools = one.tools if draw.random() < 0.8 else two.tools
        registered = tools.all()
        chosen = draw.choice(registered) if registered else None
        change = draw.randrange(8) if registered else 5
        if change == 0:
            chosen.description = "".join(["Sa", "me."])  # equal, a new object
        elif change == 1:
            chosen.description = draw.choice(["Same.", "Another.", ""])
        elif change == 2:
            chosen.parameters = {"type": "object", "properties": {"q": {"type": "string"}}}
        elif change == 3:
            chosen.side_effects = not chosen.side_effects
        elif change == 4:
            chosen.unusable = draw.choice([None, "its schema cannot validate"])
        elif change == 5:
            made = Tool(name=f"n{draw.randrange(6)}", func=lambda: 1)
            plugin = f"p{draw.randrange(3)}"
            if tools.get(f"{plugin}__{made.name}") is None:  # a new tool, or another plugin's
                tools.add(made, plugin)
        elif change == 6:
            tools.remove_plugin(chosen.plugin)  # all of its tools
        assert planner.tool_catalog(tools) == fresh(tools)
        assert planner.tool_catalog(tools) == fresh(tools)  # asked again, unchanged


#: What the catalog property test does to the tools between two catalogs.
CATALOG_CHANGES = st.sampled_from(
    [
        "equal description",
        "other description",
        "new schema",
        "flip side effects",
        "unusable",
        "usable",
        "add",
        "remove plugin",
        "replace",
        "a tool made elsewhere",
        "other registry",
        "restricted",
        "timeout",
    ]
)


@settings(max_examples=60, deadline=None)
@given(changes=st.lists(st.tuples(CATALOG_CHANGES, st.integers(0, 7)), max_size=25))
def test_the_catalog_answered_again_always_equals_one_written_fresh(
    changes: list[tuple[str, int]],
) -> None:
    # tool_catalog answers the catalog it answered last while the tools' edition is the
    # same; every change a Tool's fields or a registry can take makes a new one.
    import dataclasses

    from autoplug.agents import planner
    from autoplug.registry import ToolRegistry

    def fresh(tools: Any) -> str:
        offered = [t for t in tools.all() if t.unusable is None]
        return planner._write_catalog(sorted((tools.model_name(t), t) for t in offered))

    one, two = ToolRegistry(), ToolRegistry()
    for number in range(3):
        one.add(Tool(name=f"t{number}", func=lambda: 1, description="Same."), "p")
    two.add(Tool(name="t0", func=lambda: 1, description="Elsewhere."), "q")
    tools = one
    for change, pick in changes:
        registered = tools.all()
        chosen = registered[pick % len(registered)] if registered else None
        if chosen is None or change == "add":
            plugin = f"p{pick % 3}"
            if tools.get(f"{plugin}__n{pick}") is None:
                tools.add(Tool(name=f"n{pick}", func=lambda: 1), plugin)
        elif change == "equal description":
            chosen.description = "".join(["Sa", "me."])  # equal, a new object
        elif change == "other description":
            chosen.description = f"Another {pick}."
        elif change == "new schema":
            chosen.parameters = {"type": "object", "properties": {f"q{pick}": {"type": "string"}}}
        elif change == "flip side effects":
            chosen.side_effects = not chosen.side_effects
        elif change == "unusable":
            chosen.unusable = "its schema cannot validate"
        elif change == "usable":
            chosen.unusable = None
        elif change == "remove plugin":
            tools.remove_plugin(str(chosen.plugin))  # all of its tools
        elif change == "replace":  # the plugin's tool registered again, a new object
            tools.remove_plugin(str(chosen.plugin))
            tools.add(dataclasses.replace(chosen, description=f"Again {pick}."), str(chosen.plugin))
        elif change == "a tool made elsewhere":
            Tool(name="elsewhere", func=lambda: 1)
        elif change == "other registry":
            tools = two if tools is one else one
        elif change == "restricted":
            tools = tools.restricted([t.qualified_name for t in registered[: pick % 4]])
        else:
            chosen.timeout = float(pick + 1)  # not shown: the same catalog
        assert planner.tool_catalog(tools) == fresh(tools)
        assert planner.tool_catalog(tools) == fresh(tools)  # asked again, unchanged


def test_the_catalog_of_tools_registered_in_another_order_is_the_same(tmp_path: Path) -> None:
    # The key is taken from the registry's tools as stored (not sorted); the text is sorted.
    from autoplug.agents import planner

    tools = [Tool(name=n, func=lambda: 1, description=f"Tool {n}.") for n in ("b", "a", "c")]
    one, two = Kernel(plugins=[], home=tmp_path / "one"), Kernel(plugins=[], home=tmp_path / "two")
    for made in tools:
        one.tools.add(made, "p")
    for made in reversed(tools):
        two.tools.add(made, "p")
    assert planner.tool_catalog(one.tools) == planner.tool_catalog(two.tools)
    assert planner.tool_catalog(one.tools).splitlines()[0::2] == [
        "- a: Tool a.",
        "- b: Tool b.",
        "- c: Tool c.",
    ]


def test_a_registry_with_its_own_listing_is_catalogued_from_it(tmp_path: Path) -> None:
    from autoplug.agents import planner
    from autoplug.registry import ToolRegistry

    class Listed(ToolRegistry):
        def all(self):  # a registry that offers only some of its tools
            return [t for t in super().all() if t.name != "hidden"]

    listed = Listed(home=tmp_path)
    for name in ("shown", "hidden"):
        listed.add(Tool(name=name, func=lambda: 1, description=f"The {name} one."), "p")
    assert planner.tool_catalog(listed) == "- shown: The shown one.\n  (no arguments)"


def test_the_kept_catalogs_are_bounded(tmp_path: Path) -> None:
    from autoplug.agents import planner

    kernel = Kernel(plugins=[], home=tmp_path)
    for number in range(planner.CATALOGS_KEPT + 10):
        kernel.tools.add(Tool(name=f"t{number}", func=lambda: 1), f"p{number}")
        assert f"- t{number}: (no description)" in planner.tool_catalog(kernel.tools)
    assert len(planner._catalogs) <= planner.CATALOGS_KEPT


# -- repairs -------------------------------------------------------------------------


def test_unknown_tool_is_repaired_with_the_close_name(tmp_path: Path) -> None:
    ctx, model, events = make_ctx(
        tmp_path,
        [
            plan(step("s1", "fetchh", {"url": "u"}, "page")),
            plan(step("s1", "fetch", {"url": "u"}, "page")),
        ],
    )
    report = run(ctx)
    assert report["status"] == "succeeded"
    second = model.requests[1]
    answer = second.messages[-1]
    assert answer.role == "tool" and answer.call_id == "call_0"
    assert "step 's1': unknown tool 'fetchh'; did you mean 'fetch'?" in answer.content
    (rejected,) = [e for e in events if e.type == "plan_rejected"]
    assert rejected.data["attempt"] == 1
    assert rejected.data["errors"] == ["step 's1': unknown tool 'fetchh'; did you mean 'fetch'?"]


def test_repairs_exhausted_fail_the_subtask_with_plan_errors(tmp_path: Path) -> None:
    bad = plan(step("s1", "nope", {}, "x"))
    ctx, model, _ = make_ctx(tmp_path, [bad, bad, bad], plan_repairs=2)
    report = run(ctx)
    assert len(model.requests) == 3
    assert report == {
        "subtask": "do it",
        "status": "failed",
        "assets": [],
        "failed": [],
        "skipped": [],
        "plan_errors": ["step 's1': unknown tool 'nope'"],
    }
    assert json.loads(render_report(report)) == report


def test_a_huge_literal_in_a_plan_gives_a_bounded_plan_error(tmp_path):
    bad = call(
        "submit_plan",
        steps=[step("c", "count", {"text": list(range(5000))}, "chars")],
    )
    ctx = agent_ctx(tmp_path, [bad, bad, bad])
    report = act(ctx)
    (error,) = report["plan_errors"]
    assert error.startswith("step 'c' (tool 'count'): argument $.text: [0, 1, 2")
    assert error.endswith("is not of type 'string'")
    assert len(error) < 1000
    assert len(ctx.model.requests[1].messages[-1].content) < 1200


def test_plan_repairs_zero_means_one_attempt(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(tmp_path, [plan(step("s1", "nope", {}, "x"))], plan_repairs=0)
    assert run(ctx)["status"] == "failed"
    assert len(model.requests) == 1


def test_reply_without_a_call_is_answered_as_a_user_message(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(
        tmp_path, ["I would fetch it.", plan(step("s1", "fetch", {"url": "u"}, "p"))]
    )
    assert run(ctx)["status"] == "succeeded"
    answer = model.requests[1].messages[-1]
    assert answer.role == "user"
    assert "your reply called no function; call submit_plan exactly once" in answer.content


def test_reply_with_several_calls_is_an_error(tmp_path: Path) -> None:
    one = plan(step("s1", "fetch", {"url": "u"}, "p"))
    ctx, model, _ = make_ctx(tmp_path, [[one, one], one])
    run(ctx)
    answers = model.requests[1].messages[-2:]
    assert [m.role for m in answers] == ["tool", "tool"]
    assert "made 2 calls" in answers[0].content


def test_arguments_that_are_not_json_are_an_error(tmp_path: Path) -> None:
    from autoplug import FunctionCall

    broken = FunctionCall("submit_plan", {}, raw_arguments="{steps: [", error="Expecting value")
    ctx, model, _ = make_ctx(tmp_path, [broken, plan(step("s1", "fetch", {"url": "u"}, "p"))])
    run(ctx)
    assert "are not a JSON object: Expecting value" in model.requests[1].messages[-1].content


def test_steps_of_the_wrong_shape_are_named(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(
        tmp_path,
        [call("submit_plan", steps=[{"id": "s1", "tool": "fetch", "args": {}}]), plan()],
        plan_repairs=1,
    )
    report = run(ctx)
    assert "submit_plan arguments $.steps[0]: 'output' is a required property" in (
        model.requests[1].messages[-1].content
    )
    assert report["plan_errors"] == ["submit_plan arguments $.steps: [] should be non-empty"]


def test_act_passing_an_unknown_asset_fails_without_a_model_call(tmp_path: Path) -> None:
    ctx, model, _ = make_ctx(tmp_path, [])
    report = run(ctx, assets=["ghost"])
    assert model.requests == []
    assert report["plan_errors"] == [
        "act passed asset 'ghost', which does not exist (existing assets: none)"
    ]


# -- the checks ----------------------------------------------------------------------


def test_valid_plan_has_no_errors() -> None:
    steps = [
        step("s1", "fetch", {"url": "u"}, "page"),
        step("s2", "count_words", {"text": {"$asset": "page", "path": "/title"}}, "n"),
    ]
    assert errors_of(steps) == []


def test_cycle_is_rejected_naming_its_steps() -> None:
    steps = [
        step("a", "summarize", {"text": {"$asset": "from_b"}}, "from_a"),
        step("b", "summarize", {"text": {"$asset": "from_a"}}, "from_b"),
    ]
    assert errors_of(steps) == [
        "steps form a cycle: 'b' -> 'a' -> 'b' (each needs an asset the one before it produces)"
    ]


def test_reading_its_own_output_is_rejected() -> None:
    steps = [step("a", "summarize", {"text": {"$asset": "out"}}, "out")]
    assert errors_of(steps) == [
        "step 'a' reads asset 'out', which only it produces (its own output)"
    ]


def test_reading_a_passed_asset_it_replaces_is_allowed() -> None:
    steps = [step("a", "summarize", {"text": {"$asset": "notes"}}, "notes")]
    assert errors_of(steps, ["notes"]) == []


def test_duplicate_outputs_are_rejected() -> None:
    steps = [step("a", "fetch", {"url": "1"}, "page"), step("b", "fetch", {"url": "2"}, "page")]
    assert errors_of(steps) == [
        "steps 'a' and 'b' both output asset 'page'; each step needs its own output name"
    ]


def test_duplicate_step_ids_are_rejected() -> None:
    steps = [step("a", "fetch", {"url": "1"}, "p1"), step("a", "fetch", {"url": "2"}, "p2")]
    assert errors_of(steps) == ["duplicate step id 'a' (steps 1 and 2); each step needs its own id"]


def test_undefined_asset_is_rejected_naming_what_was_passed() -> None:
    steps = [step("a", "summarize", {"text": {"$asset": "missing"}}, "s")]
    assert errors_of(steps, ["notes"]) == [
        "step 'a' reads asset 'missing', which no step produces and act did not pass "
        "(passed assets: 'notes')"
    ]


def test_undefined_asset_in_inputs_is_rejected() -> None:
    steps = [step("a", "summarize", {"text": {"$fill": "a summary"}}, "s", inputs=["nothing"])]
    assert errors_of(steps) == [
        "step 'a' reads asset 'nothing', which no step produces and act did not pass "
        "(passed assets: none)"
    ]


def test_schema_breaking_literal_is_rejected() -> None:
    steps = [step("a", "count_words", {"text": "x", "limit": "ten"}, "n")]
    assert errors_of(steps) == [
        "step 'a' (tool 'count_words'): argument $.limit: 'ten' is not of type 'integer'"
    ]


def test_missing_required_literal_is_rejected() -> None:
    assert errors_of([step("a", "count_words", {}, "n")]) == [
        "step 'a' (tool 'count_words'): argument $: 'text' is a required property"
    ]


def test_open_and_referenced_arguments_count_as_present() -> None:
    steps = [
        step("a", "fetch", {"url": {"$fill": "the page's address"}}, "page"),
        step("b", "count_words", {"text": {"$asset": "page", "path": "/title"}}, "n"),
    ]
    assert errors_of(steps) == []


def test_open_argument_that_is_no_parameter_is_rejected() -> None:
    steps = [step("a", "strict", {"a": "x", "b": {"$fill": "more"}}, "o")]
    assert errors_of(steps) == [
        "step 'a' (tool 'strict'): argument 'b' is not a parameter of the tool (parameters: a)"
    ]


def test_malformed_markers_are_rejected() -> None:
    steps = [
        step("a", "summarize", {"text": {"$asset": "", "path": "/x"}}, "o1"),
        step("b", "summarize", {"text": {"$fill": ""}}, "o2"),
        step("c", "summarize", {"text": {"$asset": "o1", "path": "x"}}, "o3"),
    ]
    errors = errors_of(steps)
    assert errors[0].startswith("step 'a': argument 'text': {\"$asset\": ...} takes a non-empty")
    assert errors[1].startswith("step 'b': argument 'text': {\"$fill\": ...} takes one non-empty")
    assert errors[2] == (
        "step 'c': argument 'text': \"path\" 'x' is not a JSON pointer: it must start with \"/\""
    )


def test_markers_are_recognised_only_as_a_whole_top_level_value() -> None:
    assert classify_arg({"$asset": "a"}) == ("asset", ("a", ""))
    assert classify_arg({"$fill": "x"}) == ("fill", "x")
    assert classify_arg([{"$asset": "a"}]) == ("literal", [{"$asset": "a"}])
    assert classify_arg({"nested": {"$fill": "x"}}) == ("literal", {"nested": {"$fill": "x"}})


def test_several_errors_are_all_reported() -> None:
    steps = [
        step("a", "fech", {"url": "u"}, "p"),
        step("b", "count_words", {"text": 3}, "p"),
    ]
    errors = errors_of(steps)
    assert errors == [
        "step 'a': unknown tool 'fech'; did you mean 'fetch'?",
        "step 'b' (tool 'count_words'): argument $.text: 3 is not of type 'string'",
        "steps 'a' and 'b' both output asset 'p'; each step needs its own output name",
    ]


@pytest.mark.parametrize("name", ["plantools.fetch", "plantools__fetch"])
def test_qualified_tool_names_are_accepted(name: str) -> None:
    assert errors_of([step("a", name, {"url": "u"}, "p")]) == []


# -- hostile plans (issue 10) ---------------------------------------------------------

from autoplug.agents.plan_checks import structure_errors  # noqa: E402


def chain(n: int) -> list[dict]:
    """A valid chain of ``n`` steps, each reading the one before, listed consumer-first."""
    steps = [step("s0", "fetch", {"url": "u"}, "a0")]
    steps += [
        step(f"s{i}", "summarize", {"text": {"$asset": f"a{i - 1}"}}, f"a{i}") for i in range(1, n)
    ]
    return list(reversed(steps))


def test_a_valid_thousand_step_chain_listed_consumer_first_is_accepted() -> None:
    assert errors_of(chain(1000)) == []


def test_a_cycle_through_a_long_chain_is_found_without_recursion() -> None:
    steps = chain(3000)
    steps[-1] = step("s0", "summarize", {"text": {"$asset": "a2999"}}, "a0")
    (error,) = errors_of(steps)
    assert error.startswith("steps form a cycle: 's0' -> 's1' -> 's2'")
    assert len(error) <= 2000 and "characters cut" in error  # bounded for the prompt


def test_a_plan_literal_nested_two_thousand_deep_is_a_plan_error() -> None:
    literal: list = []
    for _ in range(2000):
        literal = [literal]
    steps = [step("s1", "summarize", {"text": literal}, "out")]
    assert errors_of(steps) == [
        "step 's1': argument 'text': the value is nested deeper than 100 levels"
    ]
    assert structure_errors({"steps": [{"id": "s", "args": literal}]}) == [
        "submit_plan arguments: nested deeper than 100 levels"
    ]


def test_a_huge_tool_name_is_quoted_bounded() -> None:
    (error,) = errors_of([step("s1", "x" * 5_000_000, {}, "out")])
    assert error.startswith("step 's1': unknown tool 'xxx") and len(error) <= 2000


def test_an_unusable_tool_in_a_plan_is_a_plan_error(tmp_path: Path) -> None:
    broken = Tool(
        name="broken",
        func=lambda **kw: kw,
        parameters={"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}},
    )

    class Broken:
        @hookimpl
        def register_tools(self, register: Any) -> None:
            register(broken)

    kernel = Kernel(plugins=[Broken()], home=tmp_path)
    _, errors = check_plan([step("s1", "broken", {"a": 1}, "out")], kernel.tools, [])
    assert errors == [
        "step 's1': tool 'broken' is unusable: schema path /properties/a/$ref: "
        "cannot resolve '#/nowhere'"
    ]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)
step_values = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["s1", "s2", "s3"]),
        "tool": st.sampled_from(["fetch", "summarize", "strict", "nope"]),
        "args": st.dictionaries(
            st.sampled_from(["url", "text", "a", "limit"]),
            json_values
            | st.fixed_dictionaries({"$asset": st.sampled_from(["o1", "o2", "o3", "zz"])})
            | st.fixed_dictionaries({"$fill": st.text(max_size=5)}),
            max_size=3,
        ),
        "output": st.sampled_from(["o1", "o2", "o3"]),
    },
    optional={"inputs": st.lists(st.sampled_from(["o1", "o2", "zz"]), max_size=2)},
)
PLAN_KERNEL = Kernel(plugins=[PlanTools()])


@settings(max_examples=80, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({"steps": st.lists(step_values, max_size=5)})))
def test_plan_checks_always_return_errors_or_a_plan(arguments: Any) -> None:
    errors = structure_errors(arguments)
    assert all(isinstance(e, str) and len(e) <= 2000 for e in errors)
    if not errors:
        analysis, errors = check_plan(arguments["steps"], PLAN_KERNEL.tools, ["o3"])
        assert all(isinstance(e, str) and len(e) <= 2000 for e in errors)
        if not errors:
            assert len(analysis.normalized()) == len(arguments["steps"])
            json.dumps(analysis.normalized())


plan_like = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "steps": st.lists(
                step_values | st.dictionaries(st.text(max_size=6), json_values), max_size=4
            )
        },
        optional={"extra": json_values},
    ),
    st.fixed_dictionaries(
        {
            "steps": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.text(max_size=3),
                        "tool": json_values,
                        "args": json_values,
                        "output": st.text(max_size=3) | json_values,
                    },
                    optional={"inputs": st.lists(st.text(max_size=2) | json_values, max_size=3)},
                ),
                max_size=3,
            )
        }
    ),
)


@settings(max_examples=150, deadline=None)
@given(plan_like)
def test_the_quick_plan_check_accepts_only_what_the_plan_schema_accepts(arguments: Any) -> None:
    from jsonschema import Draft202012Validator

    from autoplug.agents.plan_checks import PLAN_SCHEMA, _plan_fits

    valid = Draft202012Validator(PLAN_SCHEMA).is_valid(arguments)
    if _plan_fits(arguments):
        assert valid
    assert (structure_errors(arguments) == []) == valid


def test_a_step_with_asset_arguments_excuses_only_the_open_required_ones() -> None:
    nested = Tool(
        name="nested",
        func=lambda **kw: kw,
        parameters={
            "type": "object",
            "properties": {
                "rows": {"type": "array", "items": {"type": "object"}},
                "limit": {"type": "integer", "minimum": 1},
                "title": {"type": "string"},
            },
            "required": ["rows", "limit", "title"],
        },
    )

    class Nested:
        @hookimpl
        def register_tools(self, register: Any) -> None:
            register(nested)

    kernel = Kernel(plugins=[Nested()])
    ok = [step("s1", "nested", {"rows": {"$asset": "in"}, "limit": 2, "title": "t"}, "out")]
    assert check_plan(ok, kernel.tools, ["in"])[1] == []
    bad = [step("s1", "nested", {"rows": {"$asset": "in"}, "limit": 0}, "out")]
    assert check_plan(bad, kernel.tools, ["in"])[1] == [
        "step 's1' (tool 'nested'): argument $: 'title' is a required property",
        "step 's1' (tool 'nested'): argument $.limit: 0 is less than the minimum of 1",
    ]


def test_the_checked_steps_have_every_field_a_step_info_has() -> None:
    # check_plan builds its StepInfo without the dataclass __init__ (issue 14): a field
    # added to StepInfo must be set there too.
    from dataclasses import fields

    from autoplug.agents.plan_checks import StepInfo, _step_info

    made = _step_info("s1", "echo", {"text": "x"}, "out", ["a", "a"])
    assert set(vars(made)) == {f.name for f in fields(StepInfo)}
    assert made == StepInfo(
        id="s1", tool_name="echo", args={"text": "x"}, output="out", inputs=["a"]
    )
    other = _step_info("s2", "echo", {}, "o", [])
    other.refs["k"] = ("a", "")
    assert made.refs == {}  # fresh containers for each step


def test_the_structure_check_walks_a_value_unless_its_caller_walked_it() -> None:
    # make_plan passes walked=True only for RunContext.complete's replies, whose calls
    # usable_response walked; every other caller gets the walk.
    bad = {"steps": [{"id": "s", "tool": "t", "args": {"x": "\ud800"}, "output": "o"}]}
    assert structure_errors(bad) == [
        "submit_plan arguments: a string holds a lone surrogate (such as \\ud800), which is not text"
    ]
    good = {"steps": [{"id": "s", "tool": "t", "args": {"x": 1}, "output": "o"}]}
    assert structure_errors(good) == structure_errors(good, walked=True) == []
    assert structure_errors({"steps": []}, walked=True)  # the schema is still checked


report_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), report_values, max_size=6))
def test_a_report_is_written_as_json_dumps_writes_it(report: dict) -> None:
    assert render_report(report) == json.dumps(report, ensure_ascii=False, separators=(",", ":"))


def test_a_report_holding_a_cycle_is_refused_as_json_dumps_refuses_it() -> None:
    report: dict = {"subtask": "x"}
    report["assets"] = [report]
    with pytest.raises(ValueError, match="Circular reference detected"):
        render_report(report)


odd_strings = st.text(max_size=8) | st.sampled_from(["\ud800", 'q"\\\n\x00\x7f', "\u2028é", "…"])
fields = odd_strings | st.none() | st.integers() | st.booleans() | st.floats() | st.just([1])


def entries(keys: tuple[str, ...]):
    plain = st.fixed_dictionaries({k: odd_strings | st.none() | st.integers() for k in keys})
    odd = st.fixed_dictionaries({k: fields for k in keys})
    return st.lists(plain | odd | odd_strings, max_size=3)


report_shaped = st.fixed_dictionaries(
    {
        "subtask": odd_strings,
        "status": st.sampled_from(["succeeded", "partial", "failed"]),
        "assets": entries(("name", "step", "tool", "type", "size", "preview")),
        "failed": entries(("step", "tool", "error")),
        "skipped": entries(("step", "tool", "reason")),
        "plan_errors": st.lists(odd_strings | st.integers(), max_size=3),
    }
)


@settings(max_examples=300)
@given(report_shaped)
def test_a_report_of_build_report_s_shape_is_written_as_json_dumps_writes_it(report) -> None:
    # Every odd value a report's fields might hold (surrogates, control characters, floats).
    assert render_report(report) == json.dumps(report, ensure_ascii=False, separators=(",", ":"))


# -- the one-step plan's direct path (issue 14) ---------------------------------------

from autoplug.agents.onestep import one_step_plan  # noqa: E402
from autoplug.safejson import value_problem  # noqa: E402

unusable = Tool(
    name="broken",
    func=lambda **kw: kw,
    parameters={"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}},
)


class WithBroken(PlanTools):
    name = "withbroken"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        super().register_tools(register)
        register(unusable)


ONE_STEP_KERNEL = Kernel(plugins=[WithBroken()])
odd_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**20_000, -(2**14_100), 2**63, 10**4300, -(10**4300), 10**4300 - 1])
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["\ud800", "é", "", "x" * 40])
)
one_step_like = st.fixed_dictionaries(
    {
        "steps": st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.sampled_from(["s1", "", "\udc00", "é"]) | st.text(max_size=3),
                    "tool": st.sampled_from(
                        ["fetch", "count_words", "strict", "broken", "nope", "plantools__fetch"]
                    )
                    | json_values,
                    "args": st.dictionaries(
                        st.sampled_from(["url", "text", "a", "limit", "\ud800", "zz"]),
                        odd_scalars
                        | json_values
                        | st.fixed_dictionaries({"$asset": st.sampled_from(["o1", "zz"])})
                        | st.fixed_dictionaries({"$fill": st.text(max_size=5)}),
                        max_size=3,
                    )
                    | json_values,
                    "output": st.sampled_from(["o1", "", "\udc00"]) | json_values,
                },
                optional={"inputs": st.lists(st.sampled_from(["o1", "zz"]), max_size=2)},
            ),
            min_size=1,
            max_size=2,
        )
    },
    optional={"more": json_values},
)


ascii_text = st.text(st.characters(max_codepoint=127), min_size=1, max_size=6)
# Near the common plan: mostly accepted, each field sometimes off by one thing.
tool_args = {
    "fetch": {"url": ascii_text},
    "plantools__fetch": {"url": ascii_text},
    "count_words": {"text": ascii_text, "limit": st.integers(-3, 3)},
    "strict": {"a": ascii_text},
}


def _plain_step(name: str):
    args = st.fixed_dictionaries(tool_args[name]) | st.fixed_dictionaries(
        {k: v | odd_scalars for k, v in tool_args[name].items()},
        optional={"zz": odd_scalars},
    )
    ident = st.sampled_from(["s1", "s"]) | ascii_text | st.sampled_from(["é", "\ud800"])
    output = st.sampled_from(["out"]) | ascii_text | st.sampled_from(["é"])
    return st.tuples(args, ident, output).map(lambda t: {"steps": [step(t[1], name, *t[::2])]})


plain_one_step = st.sampled_from(sorted(tool_args)).flatmap(_plain_step)


@settings(max_examples=400, deadline=None)
@given(st.one_of(plain_one_step, plain_one_step, one_step_like, plan_like))
def test_a_plan_taken_by_the_one_step_path_gets_the_general_checks_verdict(arguments) -> None:
    tools = ONE_STEP_KERNEL.tools
    for walked in (False, True):
        if walked and value_problem(arguments) is not None:
            continue  # walked: usable_response found the reply's arguments usable
        found = one_step_plan(arguments, tools, walked=walked)
        if found is None:
            continue  # not sure: the general checks answer (their own tests)
        assert structure_errors(arguments) == []
        analysis, errors = check_plan(arguments["steps"], tools, [])
        assert errors == []
        assert found == analysis and found.normalized() == analysis.normalized()
        assert found.steps[0].tool is analysis.steps[0].tool


@pytest.mark.parametrize(
    "args",
    [
        {"url": "u"},
        {"text": "some words", "limit": 3},
        {"text": "t", "limit": True},  # a bool is no integer to the schema: not sure
    ],
)
def test_a_plain_one_step_plan_takes_the_direct_path_when_the_schema_accepts_it(args) -> None:
    tool_ = "fetch" if "url" in args else "count_words"
    arguments = {"steps": [step("s1", tool_, args, "out")]}
    found = one_step_plan(arguments, ONE_STEP_KERNEL.tools)
    analysis, errors = check_plan(arguments["steps"], ONE_STEP_KERNEL.tools, [])
    if args.get("limit") is True:
        assert found is None and errors  # the general check writes the violation
        return
    assert errors == [] and found == analysis


@pytest.mark.parametrize(
    "the_step",
    [
        step("s1", "nope", {"url": "u"}, "out"),  # unknown tool: close names are written there
        step("s1", "broken", {"a": 1}, "out"),  # unusable
        step("s1", "strict", {"b": "x"}, "out"),  # breaks the schema
        step("s1", "fetch", {"url": {"$asset": "x"}}, "out"),  # a reference
        step("s1", "fetch", {"url": "u"}, "out", inputs=["x"]),  # reads an asset
        step("s1", "fetch", {"url": "\ud800"}, "out"),  # not text
        step("\ud800", "fetch", {"url": "u"}, "out"),
        step("s1", "fetch", {"url": 2**20_000}, "out"),
    ],
)
def test_a_one_step_plan_the_direct_path_is_unsure_of_goes_to_the_general_checks(
    the_step,
) -> None:
    assert one_step_plan({"steps": [the_step]}, ONE_STEP_KERNEL.tools) is None


def test_the_one_step_path_s_plan_holds_its_own_arguments(tmp_path: Path) -> None:
    # The checkpoint, the plan event and the executor read the analysis; the reply's
    # dict is the model's: changing it later must not change the plan that ran.
    args = {"url": "u"}
    found = one_step_plan({"steps": [step("s1", "fetch", args, "out")]}, ONE_STEP_KERNEL.tools)
    assert found is not None
    args["url"] = "changed"
    assert found.normalized() == [
        {"id": "s1", "tool": "fetch", "args": {"url": "u"}, "output": "out", "inputs": []}
    ]


def test_an_act_of_one_plain_step_runs_and_reports_as_before(tmp_path: Path) -> None:
    ctx, model, events = make_ctx(tmp_path, [plan(step("s1", "fetch", {"url": "u"}, "page"))])
    report = run(ctx)
    assert report["status"] == "succeeded" and [a["name"] for a in report["assets"]] == ["page"]
    (planned,) = [e for e in events if e.type == "plan"]
    assert planned.data["steps"] == [
        {"id": "s1", "tool": "fetch", "args": {"url": "u"}, "output": "page", "inputs": []}
    ]
    assert ctx.checkpoint.saved_plan(1) == {"steps": planned.data["steps"]}


class Picky(Tool):
    """A tool with its own dialect's check (as an MCP tool has): never the direct path's."""

    def violations(self, args: Any) -> list[tuple[str, str]]:
        return [] if args == {"q": "ok"} else [("$", "picky")]


class WideTools:
    """Tools of every kind a one-step plan may name: a clash, side effects, odd schemas."""

    name = "wide"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        def plain(**kw: Any) -> Any:
            return kw

        register(Tool(name="fetch", func=plain, parameters={"type": "object"}))  # a clash
        register(
            Tool(
                name="write",
                func=plain,
                side_effects=True,
                parameters={
                    "type": "object",
                    "properties": {"path": {"type": "string", "minLength": 2}},
                    "required": ["path"],
                    "additionalProperties": False,
                },
            )
        )
        odd = {
            "oneof": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "dated": {"type": "string", "format": "date"},
            "pattern": {"type": "string", "pattern": "^a+$"},
        }
        for name, prop in odd.items():
            register(
                Tool(
                    name=name,
                    func=plain,
                    parameters={
                        "type": "object",
                        "properties": {"x": prop},
                        "required": ["x"],
                        "additionalProperties": False,
                    },
                )
            )
        register(
            Tool(
                name="tags",
                func=plain,
                parameters={
                    "type": "object",
                    "properties": {
                        "n": {"type": "integer"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["tags"],
                    "additionalProperties": False,
                },
            )
        )
        register(Picky(name="picky", func=plain, parameters={"type": "object"}))


WIDE_KERNEL = Kernel(plugins=[WithBroken(), WideTools()])
# Each tool's name in every spelling, with arguments its schema accepts.
wide_good = {
    "fetch": {},
    "withbroken__fetch": {"url": "u"},
    "withbroken.fetch": {"url": "u"},
    "wide__fetch": {"url": "u"},
    "write": {"path": "aa"},
    "wide.write": {"path": "ok"},
    "oneof": {"x": "a"},
    "dated": {"x": "2024-01-01"},
    "pattern": {"x": "aa"},
    "tags": {"tags": []},
    "picky": {"q": "ok"},
    "count_words": {"text": "a", "limit": 2},
    "broken": {"a": "a"},
    "nope": {},
}
wide_values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["", "a", "aa", "ok", "2024-01-01", "not a date", "u", 2**63, -0.0, 1.0])
)
odd_args = st.dictionaries(
    st.sampled_from(["url", "x", "path", "n", "tags", "q", "text", "limit"]),
    wide_values,
    max_size=3,
)
wide_step = st.sampled_from(sorted(wide_good)).flatmap(
    lambda name: st.fixed_dictionaries(
        {
            "id": st.sampled_from(["s1", "é"]),
            "tool": st.just(name),
            "args": st.just(wide_good[name]) | odd_args,
            "output": st.sampled_from(["out", "doc"]),
        }
    )
)


@settings(max_examples=500, deadline=None)
@given(wide_step, st.lists(st.sampled_from(["doc", "out", "x"]), max_size=2))
def test_a_one_step_plan_of_any_tool_kind_gets_the_general_checks_verdict(the_step, available):
    # Clashing names (bare, qualified, dotted), side effects, formats and oneOf, an
    # array parameter, a tool with its own check, assets passed with act.
    arguments = {"steps": [the_step]}
    tools = WIDE_KERNEL.tools
    found = one_step_plan(arguments, tools)
    analysis, errors = check_plan(arguments["steps"], tools, available)
    if found is not None:
        assert structure_errors(arguments) == [] and errors == []
        assert found == analysis and found.normalized() == analysis.normalized()
        assert found.steps[0].tool is analysis.steps[0].tool
        assert found.steps[0].model_name == analysis.steps[0].model_name


@pytest.mark.slow  # seconds of threads switching as often as they can
def test_the_planner_s_prompt_is_written_for_many_kernels_planning_in_threads_at_once() -> None:
    # A process holding more kernels than the planner keeps catalogs of (a service with
    # a kernel per tenant), planning from several threads: each miss evicts the oldest
    # catalog while other threads do the same, and no plan may fail for it.
    from autoplug.agents.planner import CATALOGS_KEPT, planner_system, tool_catalog

    kernels = [Kernel(plugins=[PlanTools()]) for _ in range(CATALOGS_KEPT + 6)]
    expected = tool_catalog(kernels[0].tools)
    failures: list[str] = []

    def planning(n: int) -> None:
        try:
            for i in range(8000):
                kernel = kernels[(i + n * 13) % len(kernels)]
                if not planner_system(kernel.tools, f"\nRole {i % 80}").endswith(expected):
                    failures.append("another catalog")
        except Exception as exc:  # what make_plan, and so the act, would have failed with
            failures.append(repr(exc))

    in_busy_threads(planning, 8)
    assert failures == []


class Tagging(ScriptedModel):
    """A model plugin that writes into the messages it is sent (a provider's own note)."""

    async def complete(self, request: Any, *, on_text: Any = None) -> Any:
        request.messages[0].extra.setdefault(self.model_id, {})["seen"] = len(self.requests)
        return await super().complete(request, on_text=on_text)


def test_a_model_that_writes_into_its_planning_request_does_not_change_later_plans_prompts(
    tmp_path: Path,
) -> None:
    # The planner's system message is one object for every plan of a catalog: what a
    # model (or any reader of the request) writes into it must not reach the next
    # plan, another run, or another model's prompt.
    the_plan = plan(step("s1", "fetch", {"url": "u"}, "page"))
    ctx, _, _ = make_ctx(tmp_path, [])
    tagging = ctx.model = Tagging([the_plan, the_plan])
    assert run(ctx)["status"] == "succeeded"
    other, model, _ = make_ctx(tmp_path / "other", [the_plan])
    assert run(other)["status"] == "succeeded"
    (sent,) = model.requests
    assert sent.messages[0].to_dict() == {"role": "system", "content": sent.messages[0].content}
    assert len(tagging.requests) == 1


@pytest.mark.parametrize("digits", [4300, 4301])
def test_an_integer_literal_of_4301_digits_is_refused_with_the_bits_of_one_of_4300(digits):
    # 10**4300 (4,301 digits) has as many bits as the largest 4,300-digit int.
    value = 10**4300 - 1 if digits == 4300 else 10**4300
    errors = errors_of([step("s1", "count_words", {"text": "a", "limit": value}, "x")])
    if digits == 4300:
        assert errors == []
    else:
        assert errors == [
            "step 's1': argument 'limit': the value is an integer of more than 4300 digits"
        ]
