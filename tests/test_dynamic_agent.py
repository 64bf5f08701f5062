"""The dynamic agent end to end with the scripted model: decisions, errors given back, guards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_tools import AgentTools

from autoplug import ConfigError, Kernel, ModelError, UsageError, hookimpl, tool
from autoplug.runs import RunStore
from autoplug.scripted import ScriptedModel, call

CALLS: list[str] = []


@tool
def lookup(city: str) -> dict:
    """Weather of a city.

    city: the city's name
    """
    CALLS.append(city)
    return {"city": city, "temp": 12, "sky": "cloudy"}


class WeatherPlugin:
    """A test plugin with one tool."""

    @hookimpl
    def register_tools(self, register):
        register(lookup)


def kernel_with(tmp_path: Path, limits: dict | None = None) -> Kernel:
    """An isolated kernel: the test tool and the Runner; optional [limits]."""
    if limits:
        lines = ["[limits]"] + [f"{k} = {v}" for k, v in limits.items()]
        (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")
    return Kernel(plugins=[WeatherPlugin()], builtins=["autoplug_autos"], home=tmp_path)


def plan(*cities: str) -> object:
    """A submit_plan reply looking up each city into asset w_<city>."""
    steps = [
        {"id": f"s{i}", "tool": "lookup", "args": {"city": c}, "output": f"w_{c}"}
        for i, c in enumerate(cities, 1)
    ]
    return call("submit_plan", steps=steps)


def last_message(request) -> dict:
    return request.messages[-1].to_dict()


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def test_full_run_acts_plans_runs_steps_and_answers(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel(
        [
            call("act", subtask="weather in Oslo and Bergen", assets=[]),
            plan("Oslo", "Bergen"),
            call("final", answer="Oslo 12 C, Bergen 12 C"),
        ]
    )
    run = kernel.run("How warm are Oslo and Bergen?", model=model)
    assert run.status == "succeeded"
    assert run.answer == "Oslo 12 C, Bergen 12 C"
    assert run.reason is None
    assert sorted(a["name"] for a in run.assets) == ["w_Bergen", "w_Oslo"]
    assert sorted(CALLS) == ["Bergen", "Oslo"]
    # The act's observation, answering its call, is the static agent's report.
    observation = last_message(model.requests[2])
    assert observation["role"] == "tool" and observation["call_id"] == "call_0"
    report = json.loads(observation["content"])
    assert report["status"] == "succeeded"
    assert {a["name"] for a in report["assets"]} == {"w_Oslo", "w_Bergen"}
    assert "cloudy" in report["assets"][0]["preview"]
    # Offered exactly the three functions, each turn.
    assert [f.name for f in model.requests[0].functions] == ["brainstorm", "act", "final"]
    with RunStore.open(tmp_path, run.run_id) as store:
        assert [d["function"] for d in store.decisions()] == ["act", "final"]
        assert store.info()["status"] == "succeeded"


def test_first_prompt_holds_task_tools_and_existing_assets(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel([call("final", answer="ok")])
    kernel.run("Is it raining in Oslo?", model=model)
    system, user = model.requests[0].messages
    assert "lookup: Weather of a city." in system.content
    assert "Task: Is it raining in Oslo?" in user.content
    assert "Existing assets: none" in user.content
    assert str(tmp_path) not in system.content + user.content  # no paths: replayable


def test_brainstorm_turns_are_acknowledged_and_the_run_continues(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel(
        [
            call("brainstorm", thoughts="I should check the weather"),
            call("brainstorm", thoughts="Oslo first"),
            call("final", answer="mild"),
        ]
    )
    run = kernel.run("Weather?", model=model)
    assert run.status == "succeeded" and run.answer == "mild"
    ack = last_message(model.requests[1])
    assert ack["role"] == "tool" and "Decide the next turn" in ack["content"]
    assert len(model.requests) == 3


def test_text_instead_of_a_call_is_answered_with_the_error_and_the_run_recovers(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel(["I think it is mild.", call("final", answer="mild")])
    events = []
    run = kernel.run("Weather?", model=model, on_event=events.append)
    assert run.status == "succeeded" and run.answer == "mild"
    told = last_message(model.requests[1])
    assert told["role"] == "user"
    assert "exactly one function call" in told["content"]
    assert [e.type for e in events].count("decision_rejected") == 1


def test_several_calls_in_one_reply_are_each_answered_with_the_error(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel(
        [
            [call("brainstorm", thoughts="x"), call("final", answer="too early")],
            call("final", answer="right"),
        ]
    )
    run = kernel.run("Weather?", model=model)
    assert run.answer == "right"
    answers = [m.to_dict() for m in model.requests[1].messages[-2:]]
    assert [a["call_id"] for a in answers] == ["call_0", "call_1"]
    assert all("made 2 calls (brainstorm, final)" in a["content"] for a in answers)


def test_unknown_function_and_invalid_arguments_are_told_to_the_model(tmp_path):
    kernel = kernel_with(tmp_path, {"rejected_replies": 4})  # three rejections in a row
    model = ScriptedModel(
        [
            call("lookup", city="Oslo"),
            call("act", subtask="weather"),
            call("act", subtask="weather", assets=["nothing_here"]),
            call("final", answer="done"),
        ]
    )
    run = kernel.run("Weather?", model=model)
    assert run.status == "succeeded"
    assert "unknown function 'lookup'" in last_message(model.requests[1])["content"]
    invalid = last_message(model.requests[2])["content"]
    assert "invalid arguments for 'act'" in invalid and "'assets' is a required property" in invalid
    unknown = last_message(model.requests[3])["content"]
    assert "unknown assets 'nothing_here'" in unknown
    assert CALLS == []  # nothing ran


def test_bad_decision_arguments_are_told_back_bounded(tmp_path):
    kernel = Kernel(plugins=[AgentTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    model = ScriptedModel([call("final", answer=list(range(5000))), call("final", answer="ok")])
    run = kernel.run("the task", model=model)
    assert run.status == "succeeded"
    told = model.requests[1].messages[-1].content
    assert "is not of type 'string'" in told and len(told) < 1000


def test_loop_guard_stops_a_repeated_decision_even_when_not_in_a_row(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel(
        [
            call("act", subtask="weather in Oslo", assets=[]),
            plan("Oslo"),
            call("brainstorm", thoughts="again?"),
            call("act", subtask="weather in Oslo", assets=[]),
            plan("Oslo"),
            call("act", subtask="weather in Oslo", assets=[]),
            call("final", answer="never reached"),
        ]
    )
    run = kernel.run("Weather?", model=model)
    assert run.status == "stopped"
    assert run.reason.startswith("loop detected: act ")
    assert '"subtask": "weather in Oslo"' in run.reason and "3 times" in run.reason
    assert CALLS == ["Oslo", "Oslo"]  # the third act was not carried out
    assert len(model.requests) == 6


def test_loop_guard_counts_canonical_arguments(tmp_path):
    kernel = kernel_with(tmp_path, {"loop_repeats": 2})
    model = ScriptedModel(
        [
            call("act", subtask="w", assets=[]),
            plan("Oslo"),
            # Same arguments in another key order: the same decision.
            call("act", assets=[], subtask="w"),
        ]
    )
    run = kernel.run("Weather?", model=model)
    assert run.status == "stopped" and "decided 2 times (loop_repeats = 2)" in run.reason


def test_iteration_cap_stops_the_run(tmp_path):
    kernel = kernel_with(tmp_path, {"iterations": 3})
    model = ScriptedModel(lambda request: call("brainstorm", thoughts=str(len(request.messages))))
    run = kernel.run("Think forever", model=model)
    assert run.status == "stopped"
    assert run.reason.startswith("iterations limit reached: 3 turns")
    assert len(model.requests) == 3


def test_llm_call_cap_stops_the_run(tmp_path):
    kernel = kernel_with(tmp_path, {"llm_calls": 2})
    model = ScriptedModel(lambda request: call("brainstorm", thoughts=str(len(request.messages))))
    run = kernel.run("Think forever", model=model)
    assert run.status == "stopped"
    assert run.reason == "llm_calls limit reached: 2 model calls"
    assert run.usage["llm_calls"] == 2


def test_token_budget_stops_the_run(tmp_path):
    kernel = kernel_with(tmp_path, {"max_tokens": 900})
    model = ScriptedModel(lambda request: call("brainstorm", thoughts=str(len(request.messages))))
    run = kernel.run("Think forever", model=model)
    assert run.status == "stopped"
    assert run.reason.startswith("max_tokens budget exceeded:")
    assert run.usage["total_tokens"] > 900


def test_usd_budget_stops_a_priced_model(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[limits]\nmax_usd = 0.001\n[prices."scripted:test"]\ninput_per_mtok = 1000\n'
    )
    kernel = Kernel(plugins=[WeatherPlugin()], builtins=["autoplug_autos"], home=tmp_path)
    model = ScriptedModel(lambda request: call("brainstorm", thoughts=str(len(request.messages))))
    run = kernel.run("Think forever", model=model)
    assert run.status == "stopped" and run.reason.startswith("max_usd budget exceeded")
    assert run.usage["usd"] > 0.001


def test_a_model_error_fails_the_run_with_the_error(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel([ModelError("401 bad key for http://127.0.0.1")])
    run = kernel.run("Weather?", model=model)
    assert run.status == "failed"
    assert run.reason == "model error: 401 bad key for http://127.0.0.1"
    with RunStore.open(tmp_path, run.run_id) as store:
        assert store.info()["reason"] == run.reason


def test_an_empty_task_is_refused(tmp_path):
    kernel = kernel_with(tmp_path)
    with pytest.raises(UsageError, match="task must be a non-empty string"):
        kernel.run("  ", model=ScriptedModel([]))


# -- hostile replies and rejected replies (issue 10) ------------------------------


def test_rejected_replies_in_a_row_stop_the_run_suggesting_text_mode(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel(lambda request: "I would rather chat.", model_id="local:tiny")
    run = kernel.run("Weather?", model=model)
    assert run.status == "stopped"
    assert run.reason == (
        "rejected_replies limit reached: 3 replies in a row had no valid function call "
        "(rejected_replies = 3); if model local:tiny cannot call functions natively, "
        "set function_calling = false under [providers.local]"
    )
    assert len(model.requests) == 3


def test_a_valid_call_resets_the_rejected_replies_count(tmp_path):
    kernel = kernel_with(tmp_path, {"rejected_replies": 2})
    model = ScriptedModel(
        ["text", call("brainstorm", thoughts="ok"), "text", call("final", answer="done")]
    )
    run = kernel.run("Weather?", model=model)
    assert run.status == "succeeded" and run.answer == "done"


def test_rejected_replies_below_one_is_a_config_error_naming_the_key(tmp_path):
    # DESIGN: counts are >= 1; a guard is never silently turned off by a config value.
    with pytest.raises(ConfigError, match=r"\[limits\] rejected_replies"):
        kernel_with(tmp_path, {"rejected_replies": 0, "iterations": 5})


def hostile_values() -> list:
    deep: dict = {}
    for _ in range(3000):
        deep = {"a": deep}
    return [deep, 10**5000, "\ud800"]


@pytest.mark.parametrize("value", hostile_values(), ids=["deep", "huge_int", "surrogate"])
def test_hostile_arguments_from_a_model_object_are_a_rejected_turn(tmp_path, value):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel([call("final", answer=value), call("final", answer="fine")])
    run = kernel.run("Weather?", model=model)
    assert run.status == "succeeded" and run.answer == "fine"
    told = last_message(model.requests[1])
    assert told["role"] == "tool"
    assert "the arguments are not usable JSON" in told["content"]


@pytest.mark.parametrize("value", hostile_values(), ids=["deep", "huge_int", "surrogate"])
def test_hostile_plan_and_fill_arguments_are_answered_not_crashed(tmp_path, value):
    kernel = kernel_with(tmp_path)
    fill_step = {"id": "s1", "tool": "lookup", "args": {"city": {"$fill": "a city"}}, "output": "w"}
    model = ScriptedModel(
        [
            call("act", subtask="weather", assets=[]),
            call(
                "submit_plan",
                steps=[{"id": "s1", "tool": "lookup", "args": {"city": value}, "output": "w"}],
            ),
            call("submit_plan", steps=[fill_step]),
            call("lookup", city=value),
            call("lookup", city="Oslo"),
            call("final", answer="mild"),
        ]
    )
    run = kernel.run("Weather?", model=model)
    assert run.status == "succeeded" and run.answer == "mild"
    assert "not usable JSON" in last_message(model.requests[2])["content"]  # the planner
    assert "not usable JSON" in last_message(model.requests[4])["content"]  # the fill
    assert CALLS == ["Oslo"]


def test_a_lone_surrogate_in_reply_text_is_stored_as_a_replacement_character(tmp_path):
    kernel = kernel_with(tmp_path)
    model = ScriptedModel([("thinking \ud800", [call("final", answer="ok")])])
    run = kernel.run("Weather?", model=model)
    assert run.status == "succeeded"
    (record,) = RunStore.open(tmp_path, run.run_id).decisions()
    assert record["messages"][0]["content"] == "thinking \ufffd"


def test_a_refusal_is_answered_like_a_reply_with_no_call(tmp_path):
    from autoplug import ChatResponse

    kernel = kernel_with(tmp_path)
    model = ScriptedModel(
        [ChatResponse(refusal="I can't help with that."), call("final", answer="sunny")]
    )
    events = []
    run = kernel.run("Weather?", model=model, on_event=events.append)
    assert run.status == "succeeded" and run.answer == "sunny"
    refused, answer = model.requests[1].messages[-2:]
    assert (refused.role, refused.content) == ("assistant", "I can't help with that.")
    assert answer.role == "user" and "your reply was a refusal with no call" in answer.content
    rejected = [e for e in events if e.type == "decision_rejected"]
    assert len(rejected) == 1 and rejected[0].data["iteration"] == 1


def test_extra_functions_of_one_name_are_checked_against_each_agents_own_schema(tmp_path):
    import asyncio

    from autoplug import FunctionSpec
    from autoplug.agents.context import MemoryCheckpointer, RunContext
    from autoplug.agents.dynamic import DynamicAgent
    from autoplug.agents.static import StaticAgent
    from autoplug.assets import AssetStore

    class Pick:
        """An extra function whose schema allows only some choices."""

        def __init__(self, allowed: list[str]) -> None:
            schema = {
                "type": "object",
                "properties": {"choice": {"enum": allowed}},
                "required": ["choice"],
            }
            self.spec = FunctionSpec("pick", "Pick one.", schema)

        def problem(self, arguments):
            return None

        async def run(self, arguments):
            return json.dumps({"picked": arguments["choice"]})

    kernel = kernel_with(tmp_path)

    def observation(allowed: list[str], choice: str) -> str:
        model = ScriptedModel([call("pick", choice=choice), call("final", answer="done")])
        ctx = RunContext(
            kernel=kernel,
            model=model,
            run_id=None,
            task="pick",
            workspace=tmp_path,
            assets=AssetStore(),
            checkpoint=MemoryCheckpointer(),
            limits=dict(kernel.config.limits),
        )
        asyncio.run(DynamicAgent(ctx, StaticAgent(ctx), extra=[Pick(allowed)]).run())
        return last_message(model.requests[1])["content"]

    assert json.loads(observation(["a"], "a")) == {"picked": "a"}
    assert json.loads(observation(["b"], "b")) == {"picked": "b"}
    assert "invalid arguments for 'pick'" in observation(["a"], "b")
