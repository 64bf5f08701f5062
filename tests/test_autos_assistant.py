"""The Assistant: a conversation that keeps its context, assets and run folder across turns."""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_tools import DELAYS, AgentTools, step

from autoplug import Kernel, UsageError, hookimpl, tool
from autoplug.runs import NotResumableError, RunStore
from autoplug.scripted import ScriptedModel, call


@tool
def population(city: str) -> int:
    """Population of a city.

    city: the city's name
    """
    return {"Oslo": 709000, "Bergen": 291000}[city]


class CityPlugin:
    """A test plugin with one tool."""

    @hookimpl
    def register_tools(self, register):
        register(population)


def assistant(tmp_path, model, **options):
    kernel = Kernel(plugins=[CityPlugin()], builtins=["autoplug_autos"], home=tmp_path)
    return kernel, kernel.autos.get("assistant")(kernel, model=model, **options)


def test_the_assistant_keeps_context_and_assets_across_two_turns(tmp_path):
    step = {"id": "s1", "tool": "population", "args": {"city": "Oslo"}, "output": "oslo_pop"}
    model = ScriptedModel(
        [
            call("act", subtask="population of Oslo", assets=[]),
            call("submit_plan", steps=[step]),
            call("final", answer="About 709,000."),
            call("final", answer="Oslo again: 709,000 (asset oslo_pop)."),
        ]
    )
    kernel, chat = assistant(tmp_path, model)
    first = chat.send("How many people live in Oslo?")
    assert first.status == "succeeded" and first.answer == "About 709,000."
    second = chat.send("And what did you just tell me?")
    assert second.answer.startswith("Oslo again")
    assert second.run_id == first.run_id  # one conversation, one run folder
    prompt = model.requests[3].messages[1].content
    assert "User: How many people live in Oslo?" in prompt
    assert "Assistant: About 709,000." in prompt
    assert "Task: And what did you just tell me?" in prompt
    assert "Existing assets: oslo_pop" in prompt
    ended = chat.close()
    assert ended.status == "succeeded" and ended.usage["llm_calls"] == 4
    with RunStore.open(tmp_path, first.run_id) as store:
        assert [m["role"] for m in store.conversation()] == ["user", "assistant"] * 2
        assert [d["iteration"] for d in store.decisions()] == [1, 2, 3]
        types = [e["type"] for e in store.events()]
        assert store.info()["auto"] == "assistant"
    assert types.count("turn_started") == 2 and types.count("turn_finished") == 2
    assert types[0] == "run_started" and types[-1] == "run_finished"


def test_a_conversation_continues_after_reopening(tmp_path):
    model = ScriptedModel([call("final", answer="Hello, Ada.")])
    kernel, chat = assistant(tmp_path, model)
    run_id = chat.send("My name is Ada.").run_id
    chat.close()

    later = ScriptedModel([call("final", answer="You are Ada.")])
    cls = kernel.autos.get("assistant")
    again = cls.reopen(kernel, run_id, model=later)
    result = again.send("What is my name?")
    again.close()
    assert result.run_id == run_id and result.answer == "You are Ada."
    assert "User: My name is Ada." in later.requests[0].messages[1].content
    with RunStore.open(tmp_path, run_id) as store:
        seqs = [e["seq"] for e in store.events()]
        assert len(store.conversation()) == 4
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.usefixtures("no_delays_left_behind")
def test_an_assistants_first_prompt_lists_existing_assets_sorted(tmp_path):
    kernel = Kernel(plugins=[AgentTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
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


def test_a_failed_assistant_turn_leaves_no_error_text_in_the_next_prompt(tmp_path):
    from autoplug import ModelError

    cassette = tmp_path / "c.jsonl"
    replies = [
        ModelError(f"replay cassette {cassette} has no recorded answer"),
        call("final", answer="answered"),
    ]
    kernel = Kernel(plugins=[AgentTools()], builtins=["autoplug_autos"], home=tmp_path / "home")
    model = ScriptedModel(replies)
    chat = kernel.autos.get("assistant")(kernel, model=model)
    first = chat.send("first")
    assert first.status == "failed" and str(cassette) in first.reason  # the user is told
    assert chat.send("second").answer == "answered"
    chat.close()
    prompt = model.requests[1].messages[1].content
    assert "Assistant: (no answer: failed)" in prompt
    assert str(tmp_path) not in prompt


def test_guards_apply_per_turn(tmp_path):
    (tmp_path / "config.toml").write_text("[limits]\niterations = 2\n")
    model = ScriptedModel(
        [
            call("brainstorm", thoughts="a"),
            call("brainstorm", thoughts="b"),
            call("final", answer="second turn answered"),
        ]
    )
    kernel, chat = assistant(tmp_path, model)
    first = chat.send("think")
    assert first.status == "stopped" and first.reason.startswith("iterations limit reached")
    second = chat.send("answer now")
    assert second.status == "succeeded"
    assert "Assistant: (no answer: stopped: iterations limit" in json.dumps(
        model.requests[2].messages[1].content
    )
    chat.close()


def test_an_empty_message_is_refused(tmp_path):
    _, chat = assistant(tmp_path, ScriptedModel([]))
    with pytest.raises(UsageError, match="message must be a non-empty string"):
        chat.send("   ")


def test_assistant_send_inside_a_running_loop_raises_blocking_call_in_loop(tmp_path):
    from autoplug import BlockingCallInLoop, ScriptedModel
    from autoplug.scripted import call

    (tmp_path / "config.toml").write_text('[memory]\nbackend = "none"\n')
    kernel = Kernel(builtins=["autoplug_autos", "autoplug_files"], home=tmp_path)
    chat = kernel.autos.get("assistant")(kernel, model=ScriptedModel([call("final", answer="hi")]))

    async def inside() -> str:
        with pytest.raises(BlockingCallInLoop) as caught:
            chat.send("hello")
        result = await chat.asend("hello")  # the async twin works there
        await chat.aclose()
        return f"{caught.value} | {result.answer}"

    said = asyncio.run(inside())

    assert said == (
        "Assistant.send() is blocking and was called inside a running event loop; "
        "use 'await assistant.asend(...)' | hi"
    )


def test_reopening_a_runner_run_as_a_conversation_is_refused(tmp_path):
    kernel = Kernel(plugins=[CityPlugin()], builtins=["autoplug_autos"], home=tmp_path)
    run = kernel.run("x", model=ScriptedModel([call("final", answer="y")]))
    with pytest.raises(NotResumableError, match="is not a conversation"):
        kernel.autos.get("assistant").reopen(kernel, run.run_id, model=ScriptedModel([]))


def test_the_assistant_runs_a_single_task_like_a_runner(tmp_path):
    kernel = Kernel(plugins=[CityPlugin()], builtins=["autoplug_autos"], home=tmp_path)
    run = kernel.run("hi", model=ScriptedModel([call("final", answer="hello")]), auto="assistant")
    assert run.status == "succeeded" and run.answer == "hello"
    with RunStore.open(tmp_path, run.run_id) as store:
        assert store.conversation() == [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
        ]
        assert store.info()["status"] == "succeeded"


def test_an_assistant_stores_what_its_steps_observed_but_not_its_own_turns(tmp_path):
    from autoplug.memory import open_memory

    (tmp_path / "config.toml").write_text('[memory]\nbackend = "inprocess"\nembedder = "hashing"\n')
    kernel = Kernel(
        plugins=[CityPlugin()], builtins=["autoplug_autos", "autoplug_memory"], home=tmp_path
    )
    step = {"id": "s1", "tool": "population", "args": {"city": "Oslo"}, "output": "oslo_pop"}
    model = ScriptedModel(
        [
            call("act", subtask="population of Oslo", assets=[]),
            call("submit_plan", steps=[step]),
            call("final", answer="About 709,000."),
            call("final", answer="Still about 709,000."),
        ]
    )
    chat = kernel.autos.get("assistant")(kernel, model=model)
    events = []
    chat.on_event = events.append
    chat.send("How many people live in Oslo?")
    chat.send("How many people live in Oslo, again?")
    chat.close()
    stored = open_memory(kernel).list()
    assert [m.kind for m in stored] == ["observation"]  # no "answer" memory of a turn
    # its own observation is not recalled into its own next turn
    recalled = [e.data for e in events if e.type == "memory_recalled"]
    assert [r["memories"] for r in recalled] == [[], []]
    assert "Relevant memories" not in model.requests[3].messages[1].content


def test_each_message_may_take_its_own_output_schema(tmp_path):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    model = ScriptedModel(
        [
            call("final", answer={"n": "many"}),
            call("final", answer={"n": 709000}),
            call("final", answer="Plain text again."),
        ]
    )
    _, chat = assistant(tmp_path, model)
    first = chat.send("How many people live in Oslo?", output_schema=schema)
    assert first.status == "succeeded" and first.output == {"n": 709000}
    assert "$.answer.n: 'many' is not of type 'integer'" in model.requests[1].messages[-1].content
    second = chat.send("Say it in words.")
    assert second.answer == "Plain text again." and second.output is None
    assert model.requests[2].functions[2].parameters["properties"]["answer"]["type"] == "string"
    # The conversation holds the structured answer as its JSON text.
    assert 'Assistant: {"n": 709000}' in model.requests[2].messages[1].content
    chat.close()


def test_a_bad_per_message_schema_is_refused_before_the_turn(tmp_path):
    model = ScriptedModel([call("final", answer="x")])
    _, chat = assistant(tmp_path, model)
    with pytest.raises(UsageError, match="invalid output schema: schema path /type"):
        chat.send("Hi", output_schema={"type": 7})
    assert model.requests == [] and chat.run_id is None
