"""Whole runs against the loopback OpenAI-wire server, through a ``[providers.NAME]`` config."""

from __future__ import annotations

import json
from pathlib import Path

from openai_server import OpenAIServer, Reply, providers_toml

from autoplug import Kernel

NOTES = "Jupiter is the largest planet."

PLAN = {
    "steps": [
        {"id": "s1", "tool": "read_file", "args": {"path": "notes.txt"}, "output": "notes"},
        {"id": "s2", "tool": "list_files", "args": {}, "output": "listing"},
    ]
}


def kernel_for(home: Path, url: str, **settings) -> Kernel:
    (home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n' + providers_toml("local", url, **settings)
    )
    return Kernel(builtins=["autoplug_autos", "autoplug_models", "autoplug_files"], home=home)


def offered(request) -> list[str]:
    return [t["function"]["name"] for t in request.body.get("tools", [])]


def test_a_full_run_over_the_openai_wire(tmp_path):
    (tmp_path / "notes.txt").write_text(NOTES)
    home = tmp_path / "home"
    home.mkdir()
    replies = [
        Reply.chat(tool_calls=[("brainstorm", {"thoughts": "read the notes"})]),
        Reply.chat(tool_calls=[("act", {"subtask": "read the notes", "assets": []})]),
        Reply.chat(tool_calls=[("submit_plan", PLAN)]),
        Reply.chat(tool_calls=[("final", {"answer": "Jupiter"})]),
    ]
    with OpenAIServer(replies) as server:
        kernel = kernel_for(home, server.url)
        run = kernel.run("Which is the largest planet?", model="local:m", workspace=tmp_path)
    assert run.status == "succeeded" and run.answer == "Jupiter"
    assert {a["name"] for a in run.assets} == {"notes", "listing"}
    assert run.usage["llm_calls"] == 4 and run.usage["input_tokens"] == 4 * 11
    requests = server.requests
    assert offered(requests[0]) == ["brainstorm", "act", "final"]
    assert offered(requests[2]) == ["submit_plan"]
    # The act's report answers the act's tool call by its id.
    answer = requests[3].body["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_0"
    report = json.loads(answer["content"])
    assert report["status"] == "succeeded"
    assert NOTES in {a["preview"] for a in report["assets"]}


def test_a_model_without_function_calling_answers_in_json_text(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    replies = [
        Reply.chat(
            text='I will think.\n```json\n{"function": "brainstorm", "arguments": {"thoughts": "ok"}}\n```'
        ),
        Reply.chat(text="Plain prose, no call."),
        Reply.chat(text='{"function": "final", "arguments": {"answer": "done"}}'),
    ]
    with OpenAIServer(replies) as server:
        kernel = kernel_for(home, server.url, function_calling=False)
        run = kernel.run("x", model="local:m", workspace=tmp_path)
    assert run.status == "succeeded" and run.answer == "done"
    assert "tools" not in server.requests[0].body
    told = server.requests[2].body["messages"][-1]["content"]
    assert "exactly one function call" in told


def test_a_provider_error_fails_the_run_with_its_message(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with OpenAIServer([Reply.error(401, "invalid api key")]) as server:
        kernel = kernel_for(home, server.url)
        run = kernel.run("x", model="local:m", workspace=tmp_path)
    assert run.status == "failed"
    assert "invalid api key" in run.reason


# -- hostile replies over the wire (issue 10) -----------------------------------------

import pytest  # noqa: E402

HOSTILE = {
    "huge_int": '{"answer": ' + "9" * 5000 + "}",
    "deep": '{"answer": ' + "[" * 1500 + "]" * 1500 + "}",
    "surrogate": '{"answer": "\\ud800"}',
}


@pytest.mark.parametrize("arguments", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_native_call_arguments_are_a_rejected_turn(tmp_path, arguments):
    home = tmp_path / "home"
    home.mkdir()
    replies = [
        Reply.chat(tool_calls=[("final", arguments)]),
        Reply.chat(tool_calls=[("act", {"subtask": "read the notes", "assets": []})]),
        Reply.chat(tool_calls=[("submit_plan", '{"steps": ' + arguments + "}")]),
        Reply.chat(tool_calls=[("submit_plan", PLAN)]),
        Reply.chat(tool_calls=[("final", {"answer": "Jupiter"})]),
    ]
    (tmp_path / "notes.txt").write_text(NOTES)
    with OpenAIServer(replies) as server:
        kernel = kernel_for(home, server.url)
        run = kernel.run("Which is the largest planet?", model="local:m", workspace=tmp_path)
    assert run.status == "succeeded" and run.answer == "Jupiter"
    told = server.requests[1].body["messages"][-1]
    assert told["role"] == "tool" and "are not valid JSON" in told["content"]
    planner_told = server.requests[3].body["messages"][-1]["content"]
    assert "are not valid JSON" in planner_told


@pytest.mark.parametrize("arguments", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_text_mode_replies_are_a_rejected_turn(tmp_path, arguments):
    home = tmp_path / "home"
    home.mkdir()
    replies = [
        Reply.chat(text='{"function": "final", "arguments": ' + arguments + "}"),
        Reply.chat(text='{"function": "final", "arguments": {"answer": "done"}}'),
    ]
    with OpenAIServer(replies) as server:
        kernel = kernel_for(home, server.url, function_calling=False)
        run = kernel.run("x", model="local:m", workspace=tmp_path)
    assert run.status == "succeeded" and run.answer == "done"
    told = server.requests[1].body["messages"][-1]["content"]
    assert "not one valid JSON object" in told


def test_a_model_that_only_writes_text_stops_after_rejected_replies(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    replies = [Reply.chat(text="Hello! How can I help?") for _ in range(5)]
    with OpenAIServer(replies) as server:
        kernel = kernel_for(home, server.url)
        run = kernel.run("x", model="local:m", workspace=tmp_path)
        assert len(server.requests) == 3
    assert run.status == "stopped"
    assert "set function_calling = false under [providers.local]" in run.reason


# -- the compact catalog: a planner that knows only the prompt still fills a nested schema --

from signature_reader import example, parse_signature  # noqa: E402
from test_signatures import NESTED  # noqa: E402

from autoplug import Tool, hookimpl  # noqa: E402


class ReportTools:
    """One tool with a nested schema; it keeps every call's arguments."""

    name = "reporttools"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    @hookimpl
    def register_tools(self, register) -> None:
        def write_report(**arguments):
            self.calls.append(arguments)
            return {"written": arguments["title"]}

        register(
            Tool(
                name="write_report",
                func=write_report,
                description="Write a report of titled sections.",
                parameters=NESTED,
            )
        )


def catalog_entry(system: str, name: str) -> str:
    """The argument lines under ``- NAME:`` in the planner's system prompt."""
    lines = system.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"- {name}: "))
    entry = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        entry.append(line)
    return "\n".join(entry)


def test_a_planner_reading_only_the_compact_catalog_fills_a_nested_schema(tmp_path):
    tools = ReportTools()
    home = tmp_path / "home"
    home.mkdir()

    def choose(request):
        offered = [t["function"]["name"] for t in request.body.get("tools", [])]
        messages = request.body["messages"]
        if offered == ["submit_plan"]:
            # Everything this "planner" knows of the tool is the catalog text.
            args = example(parse_signature(catalog_entry(messages[0]["content"], "write_report")))
            step = {"id": "s1", "tool": "write_report", "args": args, "output": "report"}
            return Reply.chat(tool_calls=[("submit_plan", {"steps": [step]})])
        if any(m["role"] == "tool" for m in messages):
            return Reply.chat(tool_calls=[("final", {"answer": "written"})])
        return Reply.chat(tool_calls=[("act", {"subtask": "write the report", "assets": []})])

    with OpenAIServer(choose) as server:
        (home / "config.toml").write_text(
            '[memory]\nbackend = "none"\n' + providers_toml("local", server.url)
        )
        kernel = Kernel(plugins=[tools], builtins=["autoplug_autos", "autoplug_models"], home=home)
        run = kernel.run("Write a report.", model="local:m", workspace=tmp_path)
        requests = server.requests
    assert run.status == "succeeded" and run.answer == "written"
    assert run.usage["llm_calls"] == 3  # act, plan, final: no repair was needed
    (arguments,) = tools.calls
    assert set(arguments) == {"title", "sections"}
    assert arguments["sections"][0]["level"] in (1, 2, 3)
    assert set(arguments["sections"][0]) == {"heading", "level", "author"}
    system = requests[1].body["messages"][0]["content"]
    assert '"properties"' not in system  # the schema as a signature, not as JSON
