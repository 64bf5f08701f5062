"""Record and replay cassettes, and the scripted model (Python API and scripted:PATH files)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from agent_tools import DELAYS, AgentTools, step
from homes import memory_home
from hostile_cli import last_error_line, run_autoplug
from openai_server import OpenAIServer, Reply, providers_toml

from autoplug import (
    ChatRequest,
    FunctionCall,
    FunctionSpec,
    Kernel,
    Message,
    ModelError,
    ReplayMismatch,
    ScriptedModel,
    UsageError,
)
from autoplug.llm import request_hash
from autoplug.memory import NewMemory, open_memory
from autoplug.scripted import call

FILL = FunctionSpec(
    "read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}}
)


def ask(text: str, functions=(FILL,), stream: bool = False) -> ChatRequest:
    return ChatRequest(messages=(Message("user", text),), functions=functions, stream=stream)


@pytest.fixture
def kernel(tmp_path):
    return Kernel(builtins=["autoplug_models"], home=tmp_path / "home")


def echo(request: ChatRequest) -> FunctionCall:
    """A scripted reply that depends on the request, so answers can be told apart."""
    return call("read_file", path=request.messages[-1].content + ".md")


def record(kernel, path, requests, replies=echo):
    inner = ScriptedModel(replies, model_id="openai:gpt-4o-mini")
    recorder = kernel.models.recording(inner, path)

    async def all_at_once():
        return await asyncio.gather(*(recorder.complete(r) for r in requests))

    return recorder, asyncio.run(all_at_once())


def test_record_then_replay_concurrent_requests_in_another_order(kernel, tmp_path):
    cassette = tmp_path / "run.jsonl"
    requests = [ask(f"part {i}") for i in range(20)]
    recorder, recorded = record(kernel, cassette, requests)
    assert recorder.model_id == "openai:gpt-4o-mini"  # prices still apply while recording
    head, *lines = cassette.read_text().splitlines()
    assert json.loads(head) == {"cassette_format": 2, "tools": None}  # no run: no catalog
    assert len(lines) == 20
    assert all(json.loads(line)["model"] == "openai:gpt-4o-mini" for line in lines)

    replay = kernel.model(f"replay:{cassette}")

    async def reversed_at_once():
        return await asyncio.gather(*(replay.complete(r) for r in reversed(requests)))

    replayed = list(reversed(asyncio.run(reversed_at_once())))
    assert [r.function_calls for r in replayed] == [r.function_calls for r in recorded]
    assert replayed[7].function_calls[0].arguments == {"path": "part 7.md"}


def test_cassette_line_holds_hash_request_and_response(kernel, tmp_path):
    cassette = tmp_path / "one.jsonl"
    request = ask("notes")
    record(kernel, cassette, [request])
    entry = json.loads(cassette.read_text().splitlines()[1])
    assert entry["hash"] == request_hash("openai:gpt-4o-mini", request)
    assert entry["request"] == request.to_dict()
    assert entry["response"]["function_calls"][0]["arguments"] == {"path": "notes.md"}


def test_identical_requests_replay_in_recorded_order(kernel, tmp_path):
    cassette = tmp_path / "same.jsonl"
    record(kernel, cassette, [ask("again")], ["first"])
    record(kernel, cassette, [ask("again")], ["second"])  # appended, not truncated
    replay = kernel.model(f"replay:{cassette}")
    texts = [asyncio.run(replay.complete(ask("again"))).text for _ in range(2)]
    assert texts == ["first", "second"]
    with pytest.raises(ReplayMismatch, match="all its answers to this request were used"):
        asyncio.run(replay.complete(ask("again")))


def test_unmatched_request_names_cassette_and_last_message(kernel, tmp_path):
    cassette = tmp_path / "c.jsonl"
    record(kernel, cassette, [ask("known")])
    replay = kernel.model(f"replay:{cassette}")
    with pytest.raises(ReplayMismatch) as caught:
        asyncio.run(replay.complete(ask("something never recorded " * 20)))
    message = str(caught.value)
    assert str(cassette) in message
    assert "no recorded answer" in message
    assert "functions: read_file" in message
    assert (
        "nearest recorded request (line 2): message 1 (user) differs: recorded 'known' "
        "but now 'something never recorded" in message
    )
    assert len(message) < 400


def test_different_functions_do_not_match(kernel, tmp_path):
    cassette = tmp_path / "f.jsonl"
    record(kernel, cassette, [ask("x")])
    with pytest.raises(ReplayMismatch):
        asyncio.run(kernel.model(f"replay:{cassette}").complete(ask("x", functions=())))


def test_recorded_model_error_is_replayed(kernel, tmp_path):
    cassette = tmp_path / "err.jsonl"
    with pytest.raises(ModelError):
        record(kernel, cassette, [ask("x")], [ModelError("quota gone", retryable=True)])
    with pytest.raises(ModelError, match="quota gone") as caught:
        asyncio.run(kernel.model(f"replay:{cassette}").complete(ask("x")))
    assert caught.value.retryable is True


def test_http_model_recording_replays_with_streamed_text(tmp_path):
    cassette = tmp_path / "http.jsonl"
    with OpenAIServer([Reply.chat(text="Jupiter.", usage=(40, 2))]) as server:
        (tmp_path / "config.toml").write_text(providers_toml("local", server.url))
        kernel = Kernel(builtins=["autoplug_models"], home=tmp_path)
        recorder = kernel.models.recording(kernel.model("local:m"), cassette)
        asyncio.run(recorder.complete(ask("largest planet?", stream=True)))
    pieces: list[str] = []
    replay = kernel.model(f"replay:{cassette}")
    response = asyncio.run(
        replay.complete(ask("largest planet?", stream=True), on_text=pieces.append)
    )
    assert (response.text, pieces) == ("Jupiter.", ["Jupiter."])
    assert response.usage.input_tokens == 40
    assert replay.model_id == f"replay:{cassette}"


def test_missing_cassette_is_named(kernel, tmp_path):
    with pytest.raises(UsageError, match=r"replay cassette .*nope.jsonl does not exist"):
        kernel.model(f"replay:{tmp_path / 'nope.jsonl'}")


def test_corrupt_cassette_names_file_and_line(kernel, tmp_path):
    cassette = tmp_path / "bad.jsonl"
    record(kernel, cassette, [ask("ok")])
    with cassette.open("a") as handle:
        handle.write("\n{truncated\n")
    with pytest.raises(UsageError, match=r"replay cassette .*bad.jsonl line 4 is not valid JSON"):
        kernel.model(f"replay:{cassette}")


def test_cassette_entry_without_answer_is_rejected(kernel, tmp_path):
    cassette = tmp_path / "half.jsonl"
    cassette.write_text('{"hash": "abc", "model": "m"}\n')
    with pytest.raises(UsageError, match="line 1 has neither 'response' nor 'error'"):
        kernel.model(f"replay:{cassette}")


# -- scripted ------------------------------------------------------------------


def test_scripted_file_jsonl_replies_in_order(kernel, tmp_path):
    script = tmp_path / "script.jsonl"
    script.write_text(
        "\n".join(
            [
                json.dumps({"call": "read_file", "arguments": {"path": "notes.md"}}),
                json.dumps("plain text"),
                json.dumps(
                    {"calls": [{"name": "a", "arguments": {}}, {"name": "b"}], "text": "two"}
                ),
                json.dumps({"call": "read_file", "raw_arguments": "{oops"}),
                json.dumps({"error": "provider down", "retryable": True}),
            ]
        )
    )
    model = kernel.model(f"scripted:{script}")
    assert model.model_id == f"scripted:{script}"
    first = asyncio.run(model.complete(ask("1")))
    assert first.function_calls == (FunctionCall("read_file", {"path": "notes.md"}, id="call_0"),)
    assert asyncio.run(model.complete(ask("2"))).text == "plain text"
    third = asyncio.run(model.complete(ask("3")))
    assert (third.text, [c.name for c in third.function_calls]) == ("two", ["a", "b"])
    fourth = asyncio.run(model.complete(ask("4")))
    assert fourth.function_calls[0].error and fourth.function_calls[0].raw_arguments == "{oops"
    with pytest.raises(ModelError, match="provider down"):
        asyncio.run(model.complete(ask("5")))
    with pytest.raises(ModelError, match="has no reply left for request #6"):
        asyncio.run(model.complete(ask("6")))
    assert [r.messages[-1].content for r in model.requests] == ["1", "2", "3", "4", "5", "6"]


def test_scripted_file_json_array(kernel, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps([{"text": "hi", "usage": {"input_tokens": 5, "output_tokens": 1}}])
    )
    response = asyncio.run(kernel.model(f"scripted:{script}").complete(ask("x")))
    assert (response.text, response.usage.input_tokens) == ("hi", 5)


def test_scripted_file_bad_line_is_named(kernel, tmp_path):
    script = tmp_path / "script.jsonl"
    script.write_text('"ok"\n{"call": "x", "arguments": [1]}\n')
    with pytest.raises(
        UsageError, match=r"script.jsonl line 2: 'arguments' of call 'x' must be an object"
    ):
        kernel.model(f"scripted:{script}")


def test_scripted_file_unknown_key_is_named(kernel, tmp_path):
    script = tmp_path / "script.json"
    script.write_text('[{"txt": "typo"}]')
    with pytest.raises(UsageError, match=r"script.json item 1: unknown key\(s\) txt"):
        kernel.model(f"scripted:{script}")


def test_scripted_file_missing_is_named(kernel, tmp_path):
    with pytest.raises(UsageError, match=r"scripted replies file .*absent.jsonl does not exist"):
        kernel.model(f"scripted:{tmp_path / 'absent.jsonl'}")


def test_scripted_model_streams_text_in_chunks():
    model = ScriptedModel(["abcdefg"], chunk_chars=3)
    pieces: list[str] = []
    asyncio.run(model.complete(ask("x", stream=True), on_text=pieces.append))
    assert pieces == ["abc", "def", "g"]


def test_scripted_model_takes_dict_replies():
    model = ScriptedModel([{"call": "final", "arguments": {"answer": "42"}}])
    response = asyncio.run(model.complete(ask("x")))
    assert response.function_calls == (FunctionCall("final", {"answer": "42"}, id="call_0"),)


# -- the cassette's format and catalog ----------------------------------------------


def test_a_recorded_run_keeps_its_tool_catalog_in_the_header(tmp_path):
    kernel = Kernel(builtins=["autoplug_files", "autoplug_models", "autoplug_autos"], home=tmp_path)
    cassette = tmp_path / "run.jsonl"
    model = ScriptedModel([call("final", answer="done")], model_id="openai:gpt-4o-mini")
    assert kernel.run("Say done.", model=model, record=cassette).status == "succeeded"
    head = json.loads(cassette.read_text().splitlines()[0])
    assert head["cassette_format"] == 2
    assert [t["name"] for t in head["tools"]] == ["list_files", "read_file", "write_file"]
    assert {t["plugin"] for t in head["tools"]} == {"autoplug_files"}
    assert all("parameters" in t and "description" in t for t in head["tools"])


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


@pytest.mark.usefixtures("no_delays_left_behind")
def test_a_recorded_run_replays_when_concurrent_steps_finish_in_the_other_order(tmp_path):
    kernel = Kernel(
        plugins=[AgentTools()],
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


def test_recording_into_a_cassette_of_another_catalog_is_refused(kernel, tmp_path):
    cassette = tmp_path / "c.jsonl"
    record(kernel, cassette, [ask("x")])
    inner = ScriptedModel([call("final", answer="x")], model_id="openai:gpt-4o-mini")
    with pytest.raises(UsageError, match="recorded with another tool catalog; record to a new"):
        kernel.models.recording(inner, cassette, [{"name": "read_file"}])
    legacy = tmp_path / "old.jsonl"
    legacy.write_text(cassette.read_text().splitlines()[1] + "\n")  # format 1: no header
    with pytest.raises(UsageError, match="not an empty file or a cassette of format 2"):
        kernel.models.recording(inner, legacy)


def test_a_headerless_cassette_replays_as_format_1(kernel, tmp_path):
    cassette = tmp_path / "c.jsonl"
    record(kernel, cassette, [ask("x")])
    legacy = tmp_path / "old.jsonl"
    legacy.write_text(cassette.read_text().splitlines()[1] + "\n")
    replay = kernel.model(f"replay:{legacy}")
    assert (replay.format, replay.catalog) == (1, None)
    assert asyncio.run(replay.complete(ask("x"))).function_calls[0].arguments == {"path": "x.md"}


def test_a_cassette_of_a_newer_format_is_refused_naming_the_versions(kernel, tmp_path):
    cassette = tmp_path / "new.jsonl"
    cassette.write_text('{"cassette_format": 3, "tools": null}\n')
    with pytest.raises(UsageError, match="format 3, written by a newer autoplug; .* up to 2"):
        kernel.model(f"replay:{cassette}")


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


TASK = "Which is the largest planet? Check the notes file."


def replay_planets_recording_to(target: Path, cwd: Path):
    """``autoplug run`` replaying the shipped planets cassette, ``--record`` to ``target``."""
    return run_autoplug(
        "run",
        TASK,
        "--model",
        f"replay:{EXAMPLES / 'planets.jsonl'}",
        "--workspace",
        str(EXAMPLES / "workspace"),
        "--record",
        str(target),
        cwd=cwd,
    )


def test_recording_to_a_folder_is_bad_usage_before_the_run_starts(tmp_path, isolated_home):
    folder = tmp_path / "cassettes"
    folder.mkdir()

    proc = replay_planets_recording_to(folder, cwd=tmp_path)

    assert proc.returncode == 2
    assert last_error_line(proc) == (
        f"error: cannot record to {folder}: it is a folder; give a file path such as run.jsonl"
    )
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_recording_to_a_file_still_works(tmp_path):
    cassette = tmp_path / "new" / "run.jsonl"

    proc = replay_planets_recording_to(cassette, cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert "Jupiter" in proc.stdout
    assert len(cassette.read_text().splitlines()) == 4  # the header and three exchanges


def test_replaying_from_a_folder_says_it_is_a_folder(tmp_path):
    proc = run_autoplug("run", TASK, "--model", f"replay:{tmp_path}", cwd=tmp_path)

    assert proc.returncode == 2
    assert (
        last_error_line(proc)
        == f"error: replay cassette {tmp_path} is a folder, not a cassette file"
    )


def test_a_miss_names_the_offered_function_that_differs(kernel, tmp_path):
    cassette = tmp_path / "c.jsonl"
    record(kernel, cassette, [ask("notes")])
    other = FunctionSpec("read_file", "Read a file, now described otherwise.", FILL.parameters)
    write = FunctionSpec("write_file", "Write a file.", FILL.parameters)
    replay = kernel.model(f"replay:{cassette}")
    with pytest.raises(ReplayMismatch) as caught:
        asyncio.run(replay.complete(ask("notes", functions=(other, write))))
    assert (
        "nearest recorded request (line 2): the request offers write_file, not offered in the "
        "recording; function read_file has another description" in str(caught.value)
    )


def test_a_cassette_recorded_in_a_home_with_memories_replays_in_a_fresh_one(tmp_path):
    """Recording never recalls (the prompt stays the same in any home) and never stores."""
    task = "Which is the largest planet?"
    recording_home = memory_home(tmp_path / "a", embedder="hashing")
    kernel = Kernel(builtins=["autoplug_memory"], home=recording_home)
    open_memory(kernel).remember([NewMemory(f"Task: {task}\nAnswer: Jupiter", "answer")])
    (tmp_path / "replies.json").write_text(
        json.dumps([{"call": "final", "arguments": {"answer": "Jupiter, by far."}}])
    )

    def autoplug(home, *args):
        return subprocess.run(
            [sys.executable, "-m", "autoplug.cli", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "AUTOPLUG_HOME": str(home)},
        )

    recorded = autoplug(
        recording_home, "run", task, "--model", "scripted:replies.json", "--record", "c.jsonl"
    )
    assert recorded.returncode == 0, recorded.stderr
    stored = autoplug(recording_home, "memory", "list", "--json")
    assert [m["text"] for m in json.loads(stored.stdout)] == [f"Task: {task}\nAnswer: Jupiter"]
    replayed = autoplug(tmp_path / "fresh", "run", task, "--model", "replay:c.jsonl")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == "Jupiter, by far.\n"
