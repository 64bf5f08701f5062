"""The manager Auto (builtin autoplug_builtins.team): delegate, roles, children, team budgets.

The scripted model stands in only for the model's choices: it answers from the
request (which functions are offered, whose system prompt it is, what was
observed), so concurrent children get their own answers in any order.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoplug import Kernel, Role, hookimpl, tool
from autoplug.runs import RunStore, list_runs, prune_runs
from autoplug.scripted import ScriptedModel, call

CALLS: list[tuple[str, str]] = []


@tool
def design(topic: str) -> dict:
    """Write a design.

    topic: what to design
    """
    CALLS.append(("design", topic))
    return {"modules": ["api", "db"], "topic": topic}


@tool
def build(spec: dict) -> str:
    """Build from a design.

    spec: the design
    """
    CALLS.append(("build", json.dumps(spec, sort_keys=True)))
    return "built " + ",".join(spec["modules"])


@tool(side_effects=True)
def deploy(target: str) -> str:
    """Deploy somewhere.

    target: where
    """
    CALLS.append(("deploy", target))
    return f"deployed to {target}"


@tool
def nap(seconds: float) -> dict:
    """Sleep, then say when.

    seconds: how long
    """
    start = time.monotonic()
    time.sleep(seconds)
    return {"start": start, "end": time.monotonic()}


class TeamPlugin:
    @hookimpl
    def register_tools(self, register):
        for one in (design, build, deploy, nap):
            register(one)

    @hookimpl
    def register_roles(self, register):
        register(Role("architect", "designs the program", "You are the architect.", ["design"]))
        register(Role("backend", "builds from a design", "You are the backend.", ["build"]))
        register(Role("ops", "deploys", "You are ops.", ["deploy"]))
        register(Role("sleeper", "naps", "You are the sleeper.", ["nap"]))


def role_of(request) -> str | None:
    system = request.messages[0].content or ""
    marker = "Your role in the team: "
    return system.split(marker, 1)[1].split(".", 1)[0] if marker in system else None


def seen(request) -> str:
    return " ".join(m.content or "" for m in request.messages)


PLANS = {
    "architect": [{"id": "d", "tool": "design", "args": {"topic": "shop"}, "output": "design"}],
    "backend": [
        {"id": "b", "tool": "build", "args": {"spec": {"$asset": "spec"}}, "output": "code"}
    ],
    "ops": [{"id": "p", "tool": "deploy", "args": {"target": "prod"}, "output": "done"}],
    "sleeper": [{"id": "n", "tool": "nap", "args": {"seconds": 0.3}, "output": "slept"}],
}


def child_reply(request, role: str, plans=PLANS) -> Any:
    names = {f.name for f in request.functions}
    if "submit_plan" in names:
        return call("submit_plan", steps=plans[role])
    if '"subtask"' in (request.messages[-1].content or ""):
        return call("final", answer=f"{role} finished")
    assets = ["spec"] if role == "backend" else []
    return call("act", subtask=f"{role} work", assets=assets)


def team_model(manager_turns, plans=PLANS):
    """Children answer by their role; the manager's replies are ``manager_turns(request)``."""

    def reply(request):
        role = role_of(request)
        if role is not None:
            return child_reply(request, role, plans)
        return manager_turns(request)

    return ScriptedModel(reply)


def kernel_for(home, config: str = "") -> Kernel:
    (home / "config.toml").write_text(config)
    CALLS.clear()
    return Kernel(plugins=[TeamPlugin()], builtins=["autoplug_autos"], home=home)


def delegate(*assignments: tuple[str, str, list[str]]):
    return call(
        "delegate",
        assignments=[{"role": r, "subtask": s, "assets": a} for r, s, a in assignments],
    )


def delegating_manager(*assignments: tuple[str, str, list[str]], answer: str = "ok"):
    """A manager's turns: delegate ``assignments``, then, once told what came back, ``answer``."""

    def manager(request):
        if '"delegated"' in seen(request):
            return call("final", answer=answer)
        return delegate(*assignments)

    return manager


def children_of(home, run_id: str) -> list[dict]:
    """The listed runs whose parent is ``run_id``."""
    return [r for r in list_runs(home) if r["parent"] == run_id]


def observations(home, run_id: str) -> list[Any]:
    with RunStore.open(home, run_id) as store:
        return [
            json.loads(d["observation"])
            for d in store.decisions()
            if d["function"] == "delegate" and not d.get("error")
        ]


def test_delegate_runs_each_assignment_as_a_child_run_with_the_observation_shape(isolated_home):
    kernel = kernel_for(isolated_home)

    manager = delegating_manager(
        ("architect", "design it", []), ("architect", "design again", []), answer="shipped"
    )

    run = kernel.run("Build a shop.", model=team_model(manager), auto="manager")
    assert run.status == "succeeded" and run.answer == "shipped"
    (observed,) = observations(isolated_home, run.run_id)
    assert [e["assignment"] for e in observed["delegated"]] == ["architect.1", "architect.2"]
    first = observed["delegated"][0]
    assert set(first) == {"assignment", "role", "status", "answer", "output", "assets"}
    assert first["role"] == "architect" and first["status"] == "succeeded"
    assert first["answer"] == "architect finished" and first["output"] is None
    assert first["assets"] == [
        {
            "name": "architect.1.design",
            "step": "d",
            "tool": "design",
            "type": "json",
            "size": first["assets"][0]["size"],
            "preview": '{"modules": ["api", "db"], "topic": "shop"}',
        }
    ]
    assert "run_id" not in json.dumps(observed)  # no run ids: a recorded team replays
    names = sorted(a["name"] for a in run.assets)
    assert names == ["architect.1.design", "architect.2.design"]
    # Children are ordinary runs with a parent; the team's usage is the manager's.
    runs = {r["run_id"]: r for r in list_runs(isolated_home)}
    children = [r for r in runs.values() if r["parent"] == run.run_id]
    assert len(children) == 2 and all(c["auto"] == "runner" for c in children)
    assert sorted(c["assignment"] for c in children) == ["architect.1", "architect.2"]
    child_calls = sum(c["usage"]["llm_calls"] for c in children)
    assert child_calls == 6  # each child: decide, plan, decide
    assert run.usage["llm_calls"] == 2 + child_calls


def test_the_manager_prompt_lists_each_role_and_offers_delegate_fourth(isolated_home):
    kernel = kernel_for(isolated_home)
    asked = []

    def manager(request):
        asked.append(request)
        return call("final", answer="nothing to do")

    kernel.run("Plan it.", model=team_model(manager), auto="manager")
    assert [f.name for f in asked[0].functions] == ["brainstorm", "act", "delegate", "final"]
    system = asked[0].messages[0].content
    assert "- architect: designs the program" in system
    assert "- sleeper: naps" in system


def test_an_unknown_role_rejects_the_whole_call_before_any_child_starts(isolated_home):
    kernel = kernel_for(isolated_home)

    def manager(request):
        if "unknown role" in seen(request):
            return call("final", answer="gave up")
        return delegate(("architect", "design it", []), ("architekt", "design too", []))

    run = kernel.run("Build a shop.", model=team_model(manager), auto="manager")
    assert run.status == "succeeded"
    assert [r["run_id"] for r in list_runs(isolated_home)] == [run.run_id]  # no child began
    assert CALLS == []
    with RunStore.open(isolated_home, run.run_id) as store:
        first = store.decisions()[0]
    assert first["function"] == "delegate" and first["iteration"] == 1  # it counted as a turn
    assert "delegate assignment 2 names unknown role 'architekt'" in first["error"]
    assert "did you mean 'architect'?" in first["error"]


def test_a_role_cannot_plan_with_a_tool_outside_its_list(isolated_home):
    kernel = kernel_for(isolated_home)
    plans = {
        **PLANS,
        "architect": [{"id": "x", "tool": "deploy", "args": {"target": "prod"}, "output": "o"}],
    }

    manager = delegating_manager(("architect", "deploy it", []), answer="done")

    events = []
    run = kernel.run(
        "Ship.",
        model=team_model(manager, plans),
        auto="manager",
        approve=True,
        on_event=events.append,
    )
    rejected = [e for e in events if e.type == "plan_rejected"]
    assert rejected and rejected[0].data["team_role"] == "architect"
    assert rejected[0].data["errors"] == [
        "step 'x': tool 'deploy' is not one of role 'architect''s tools (design); "
        "plan with those tools only"
    ]
    assert ("deploy", "prod") not in CALLS
    # The child's catalog holds only its tools: the planner was shown 'design' alone.
    assert run.status == "succeeded"


def test_a_failed_or_stopped_child_is_reported_and_the_manager_goes_on(isolated_home):
    config = "[limits]\nloop_repeats = 2\n"
    kernel = kernel_for(isolated_home, config)
    kernel.roles.add(Role("lost", "has a model that does not exist", "x", model="nope:x"), "t")
    kernel.roles.add(Role("dreamer", "only thinks", "You dream.", tools=[]), "t")

    def reply(request):
        if role_of(request) == "dreamer":
            return call("brainstorm", thoughts="hmm")
        if role_of(request) is None:
            if '"delegated"' in seen(request):
                return call("final", answer="reported")
            return delegate(("lost", "try", []), ("dreamer", "think", []), ("architect", "d", []))
        return child_reply(request, role_of(request))

    run = kernel.run("Go.", model=ScriptedModel(reply), auto="manager")
    assert run.status == "succeeded" and run.answer == "reported"
    (observed,) = observations(isolated_home, run.run_id)
    by_role = {e["role"]: e for e in observed["delegated"]}
    assert by_role["lost"]["status"] == "failed"
    assert by_role["lost"]["answer"] == "(no answer: failed)"
    assert by_role["dreamer"]["status"] == "stopped"
    assert by_role["dreamer"]["answer"].startswith("(no answer: stopped: loop detected")
    assert by_role["architect"]["status"] == "succeeded"


def test_assets_pass_between_children_through_the_manager(isolated_home):
    kernel = kernel_for(isolated_home)
    plans = {**PLANS}
    plans["backend"] = [
        {
            "id": "b",
            "tool": "build",
            "args": {"spec": {"$asset": "architect.1.design"}},
            "output": "code",
        }
    ]

    def child(request, role):
        if role == "backend" and "submit_plan" not in {f.name for f in request.functions}:
            if '"subtask"' not in (request.messages[-1].content or ""):
                return call("act", subtask="build", assets=["architect.1.design"])
        return child_reply(request, role, plans)

    def reply(request):
        role = role_of(request)
        if role is not None:
            return child(request, role)
        text = seen(request)
        if "backend.1.code" in text:
            return call("final", answer="built")
        if "architect.1.design" in text:
            return delegate(("backend", "build the design", ["architect.1.design"]))
        return delegate(("architect", "design it", []))

    run = kernel.run("Build.", model=ScriptedModel(reply), auto="manager")
    assert run.status == "succeeded", run.reason
    assert ("build", '{"modules": ["api", "db"], "topic": "shop"}') in CALLS
    code = {a["name"]: a for a in run.assets}["backend.1.code"]
    assert code["preview"] == "built api,db"
    # The passed asset is not imported back as backend.1.architect.1.design.
    assert sorted(a["name"] for a in run.assets) == ["architect.1.design", "backend.1.code"]


def test_a_team_that_hits_its_llm_calls_budget_inside_a_child_stops(isolated_home):
    kernel = kernel_for(isolated_home, "[limits]\nllm_calls = 3\n")

    manager = delegating_manager(("architect", "design it", []), answer="never")

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    # 1 manager call + 2 child calls reach the cap inside the child (its third call).
    assert run.status == "stopped"
    assert run.reason == "llm_calls limit reached: 3 model calls"
    assert run.usage["llm_calls"] == 3
    (child,) = children_of(isolated_home, run.run_id)
    assert child["status"] == "stopped" and child["usage"]["llm_calls"] == 2
    assert "llm_calls limit reached" in child["reason"]


def test_child_events_reach_the_managers_observers_with_child_run_and_team_role(isolated_home):
    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("architect", "design it", []))

    events = []
    run = kernel.run("Go.", model=team_model(manager), auto="manager", on_event=events.append)
    from_child = [e for e in events if "child_run" in e.data]
    (child,) = children_of(isolated_home, run.run_id)
    assert {e.data["child_run"] for e in from_child} == {child["run_id"]}
    assert {e.data["team_role"] for e in from_child} == {"architect"}
    assert {e.run_id for e in from_child} == {run.run_id}
    types = [e.type for e in from_child]
    assert types[0] == "run_started" and types[-1] == "run_finished" and "step_finished" in types
    # The child's own trace holds its events as they were, without the team keys.
    with RunStore.open(isolated_home, child["run_id"]) as store:
        traced = store.events()
    assert [e["type"] for e in traced] == types
    assert all("child_run" not in e["data"] for e in traced)


def test_an_approver_with_three_arguments_receives_the_request_with_the_role(isolated_home):
    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("ops", "deploy", []))

    asked = []

    def approve(tool, args, request):
        asked.append((tool.name, args, request.step, request.team_role))
        return True

    kernel.run("Go.", model=team_model(manager), auto="manager", approve=approve)
    assert asked == [("deploy", {"target": "prod"}, "p", "ops")]
    assert ("deploy", "prod") in CALLS

    two = []
    kernel.run(
        "Go.", model=team_model(manager), auto="manager", approve=lambda t, a: two.append(t.name)
    )
    assert two == ["deploy"]  # a two-argument approver keeps working (and here refuses)


def test_children_run_concurrently_up_to_limits_children(isolated_home):
    manager = delegating_manager(*[("sleeper", f"nap {i}", []) for i in range(3)], answer="rested")

    spans = {}
    for limit in (3, 1):
        kernel = kernel_for(isolated_home, f"[limits]\nchildren = {limit}\n")
        run = kernel.run("Rest.", model=team_model(manager), auto="manager")
        assert run.status == "succeeded"
        assert sorted(a["name"] for a in run.assets) == [f"sleeper.{k}.slept" for k in (1, 2, 3)]
        stored = []
        for child in children_of(isolated_home, run.run_id):
            from autoplug.assets import AssetStore
            from autoplug.runs import runs_dir

            folder = runs_dir(isolated_home) / child["run_id"] / "assets"
            stored.append(AssetStore.load(folder).get("slept").value)
        stored.sort(key=lambda v: v["start"])
        overlaps = sum(a["end"] > b["start"] for a, b in zip(stored, stored[1:], strict=False))
        spans[limit] = overlaps
    assert spans[3] == 2  # all three naps overlapped
    assert spans[1] == 0  # one child at a time


def test_runs_show_lists_a_managers_children_and_prune_takes_them_with_it(isolated_home):
    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("architect", "design it", []), ("sleeper", "nap", []))

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    from autoplug.cli.runs import show_run

    with RunStore.open(isolated_home, run.run_id) as store:
        shown = show_run(store)
    assert [(c["assignment"], c["team_role"], c["status"]) for c in shown["children"]] == [
        ("architect.1", "architect", "succeeded"),
        ("sleeper.1", "sleeper", "succeeded"),
    ]
    child_id = shown["children"][0]["run_id"]
    with RunStore.open(isolated_home, child_id) as store:
        child = show_run(store)
    assert child["parent"] == run.run_id and child["team_role"] == "architect"
    assert child["children"] == []
    other = kernel.run("Alone.", model=team_model(lambda r: call("final", answer="x")))
    deleted = prune_runs(isolated_home, 0)
    assert set(deleted) == {run.run_id, other.run_id} | {c["run_id"] for c in shown["children"]}
    assert list_runs(isolated_home) == []


def test_resuming_a_child_directly_is_refused_naming_its_manager(isolated_home):
    from autoplug.autos import aresume_run
    from autoplug.runs import NotResumableError

    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("architect", "design it", []))

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    (child,) = children_of(isolated_home, run.run_id)
    with RunStore.open(isolated_home, child["run_id"]) as store:
        store.set_status("interrupted")
    import asyncio

    with pytest.raises(
        NotResumableError, match=f"resume the manager: autoplug resume {run.run_id}"
    ):
        asyncio.run(aresume_run(kernel, child["run_id"]))


def test_the_transcript_lists_a_managers_children_by_reference_after_the_delegate_call(
    isolated_home,
):
    from autoplug.runs import transcript

    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("architect", "design it", []), ("sleeper", "nap", []))

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    with RunStore.open(isolated_home, run.run_id) as store:
        entries = transcript(store)
    assert [e["kind"] for e in entries] == ["model", "child", "child", "model"]
    children = {r["team_role"]: r for r in list_runs(isolated_home) if r["parent"]}
    assert entries[1] == {
        "kind": "child",
        "run_id": children["architect"]["run_id"],
        "team_role": "architect",
        "status": "succeeded",
    }
    assert entries[2]["team_role"] == "sleeper"
    # A child's own transcript carries its role on each model exchange.
    with RunStore.open(isolated_home, children["architect"]["run_id"]) as store:
        own = transcript(store)
    assert {e["team_role"] for e in own if e["kind"] == "model"} == {"architect"}
    assert [e["agent"] for e in own if e["kind"] == "model"] == ["dynamic", "planner", "dynamic"]


def test_the_ui_run_page_lists_a_managers_children_and_a_child_page_its_parent(isolated_home):
    pytest.importorskip("jinja2")
    from autoplug.ui.run_view import build_run_page

    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("architect", "design it", []))

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    page = build_run_page(isolated_home, run.run_id)
    (child,) = children_of(isolated_home, run.run_id)
    assert page.data["children"] == [
        {"run_id": child["run_id"], "team_role": "architect", "status": "succeeded"}
    ]
    child_page = build_run_page(isolated_home, child["run_id"]).data
    assert child_page["children"] == [] and child_page["parent"] == run.run_id


def test_a_role_with_its_own_model_runs_its_children_on_it(isolated_home, tmp_path):
    replies = tmp_path / "architect.json"
    plan = {"steps": PLANS["architect"]}
    replies.write_text(
        json.dumps(
            [
                {"call": "act", "arguments": {"subtask": "design", "assets": []}},
                {"call": "submit_plan", "arguments": plan},
                {"call": "final", "arguments": {"answer": "designed on my own model"}},
            ]
        )
    )
    (isolated_home / "config.toml").write_text("")
    CALLS.clear()
    kernel = Kernel(
        plugins=[TeamPlugin()], builtins=["autoplug_autos", "autoplug_models"], home=isolated_home
    )
    kernel.roles.add(
        Role("solo", "designs alone", "You design.", ["design"], f"scripted:{replies}"), "t"
    )

    manager = delegating_manager(("solo", "design it", []))

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    (observed,) = observations(isolated_home, run.run_id)
    assert observed["delegated"][0]["answer"] == "designed on my own model"
    (child,) = children_of(isolated_home, run.run_id)
    assert child["model"] == f"scripted:{replies}"
    assert run.usage["llm_calls"] == 2 + 3


ROLE_NAMES = st.lists(
    st.sampled_from(["architect", "twin", "architekt", "nobody"]), min_size=1, max_size=3
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(ROLE_NAMES, min_size=1, max_size=4))
def test_assignment_names_count_each_role_and_a_bad_call_starts_no_child(isolated_home, calls):
    for folder in (isolated_home / "runs").glob("*"):  # hypothesis reuses the home
        shutil.rmtree(folder)
    kernel = kernel_for(isolated_home, "[limits]\nloop_repeats = 99\nrejected_replies = 99\n")
    kernel.roles.add(Role("twin", "designs too", "You are the twin.", ["design"]), "t")
    plans = {**PLANS, "twin": PLANS["architect"]}
    turn = {"n": 0}

    def manager(request):
        if turn["n"] == len(calls):
            return call("final", answer="done")
        roles = calls[turn["n"]]
        turn["n"] += 1
        return delegate(*[(r, f"part {k}", []) for k, r in enumerate(roles)])

    run = kernel.run("Go.", model=team_model(manager, plans), auto="manager")
    assert run.status == "succeeded", run.reason
    with RunStore.open(isolated_home, run.run_id) as store:
        records = [d for d in store.decisions() if d["function"] == "delegate"]
    counts: dict[str, int] = {}
    expected_children = 0
    for roles, record in zip(calls, records, strict=True):
        if any(r not in ("architect", "twin") for r in roles):
            assert "names unknown role" in record["error"]
            continue
        names = []
        for r in roles:
            counts[r] = counts.get(r, 0) + 1
            names.append(f"{r}.{counts[r]}")
        observed = json.loads(record["observation"])["delegated"]
        assert [e["assignment"] for e in observed] == names
        assert all(e["status"] == "succeeded" for e in observed)
        expected_children += len(roles)
    children = children_of(isolated_home, run.run_id)
    assert len(children) == expected_children
    assert sorted(c["assignment"] for c in children) == sorted(
        f"{r}.{k}" for r, n in counts.items() for k in range(1, n + 1)
    )


def test_a_role_with_a_broken_output_schema_is_refused_before_any_run_exists(isolated_home):
    from autoplug import UsageError

    kernel = kernel_for(isolated_home)
    kernel.roles.add(Role("odd", "has a bad schema", "x", output_schema={"type": 12}), "t")
    with pytest.raises(
        UsageError, match=r"role .odd. \(plugin t\): invalid output schema: schema path /type"
    ):
        kernel.run("Go.", model=team_model(lambda r: call("final", answer="x")), auto="manager")
    assert list_runs(isolated_home) == []


def test_a_roles_output_schema_shapes_its_childs_answer_and_the_output_entry(isolated_home):
    kernel = kernel_for(isolated_home)
    schema = {"type": "object", "properties": {"files": {"type": "array"}}, "required": ["files"]}
    kernel.roles.add(Role("typed", "answers with data", "You report files.", [], None, schema), "t")

    def reply(request):
        if role_of(request) == "typed":
            return call("final", answer={"files": ["a.py"]})
        if '"delegated"' in seen(request):
            return call("final", answer="ok")
        return delegate(("typed", "list files", []))

    run = kernel.run("Go.", model=ScriptedModel(reply), auto="manager")
    (observed,) = observations(isolated_home, run.run_id)
    entry = observed["delegated"][0]
    assert entry["output"] == {"files": ["a.py"]}
    assert json.loads(entry["answer"]) == {"files": ["a.py"]}


def test_a_team_over_its_max_tokens_budget_stops_inside_a_child(isolated_home):
    manager = delegating_manager(("architect", "design it", []), answer="never")

    events = []
    free = kernel_for(isolated_home).run(
        "Go.", model=team_model(manager), auto="manager", on_event=events.append
    )
    assert free.status == "succeeded"
    calls = [e.data for e in events if e.type == "llm_call"]
    first = calls[0]["input_tokens"] + calls[0]["output_tokens"]  # the manager's first call
    budget = first + 1  # the child's first call goes over it
    kernel = kernel_for(isolated_home, f"[limits]\nmax_tokens = {budget}\n")
    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    assert run.status == "stopped"
    assert run.reason.startswith("max_tokens budget exceeded")
    (child,) = children_of(isolated_home, run.run_id)
    assert child["status"] == "stopped" and child["reason"].startswith("max_tokens budget")
    assert child["usage"]["llm_calls"] == 1
    assert run.usage["total_tokens"] > budget


def test_the_ui_pages_link_a_manager_to_its_children_and_a_child_to_its_manager(isolated_home):
    pytest.importorskip("jinja2")
    httpx = pytest.importorskip("httpx")
    from ui_helpers import UiServer, extra_missing

    if extra_missing() is not None:
        pytest.skip(str(extra_missing()))
    kernel = kernel_for(isolated_home)

    manager = delegating_manager(("architect", "design it", []))

    run = kernel.run("Go.", model=team_model(manager), auto="manager")
    (child,) = children_of(isolated_home, run.run_id)
    with UiServer(isolated_home) as server, httpx.Client(base_url=server.base, timeout=15) as http:
        page = http.get(f"/runs/{run.run_id}").text
        child_page = http.get(f"/runs/{child['run_id']}").text
    assert f'href="/runs/{child["run_id"]}"' in page and "architect" in page
    assert f'href="/runs/{run.run_id}"' in child_page
    assert "assignment architect.1, role architect" in child_page
