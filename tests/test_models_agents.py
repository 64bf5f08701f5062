"""The model providers driving real runs of the agents: loopback, text calls, record and replay."""

from __future__ import annotations

import json

import pytest
from openai_server import OpenAIServer, Recorded, Reply, providers_toml

from autoplug import Kernel

PLAN = [{"id": "read", "tool": "read_file", "args": {"path": "notes.md"}, "output": "notes"}]
ANSWER = "Jupiter is the largest planet."
TASK = "Which is the largest planet? Check the notes file."


def decide(body: dict) -> tuple[str, dict]:
    """The model's choice for one request: plan when asked, answer once the notes were read."""
    offered = {t["function"]["name"] for t in body.get("tools") or []}
    prompt = json.dumps(body.get("messages"))
    if "submit_plan" in offered or "submit_plan" in prompt and "act" not in offered:
        return "submit_plan", {"steps": PLAN}
    if "Jupiter is big" in prompt:
        return "final", {"answer": ANSWER}
    return "act", {"subtask": "read notes.md", "assets": []}


def native(recorded: Recorded) -> Reply:
    name, args = decide(recorded.body)
    return Reply.chat(tool_calls=[(name, args)])


def as_text(recorded: Recorded) -> Reply:
    """A server for a model with no function calling: the call comes back as fenced JSON text."""
    name, args = decide(recorded.body)
    call = json.dumps({"function": name, "arguments": args})
    return Reply.chat(text=f"Here is my choice.\n```json\n{call}\n```")


@pytest.fixture
def workspace(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "notes.md").write_text("Jupiter is big: 11 Earth diameters.\n")
    return folder


def kernel_for(home, toml: str = "") -> Kernel:
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(toml)
    return Kernel(builtins=["autoplug_models", "autoplug_autos", "autoplug_files"], home=home)


def test_record_over_http_then_replay_offline(tmp_path, workspace):
    cassette = tmp_path / "planets.jsonl"
    with OpenAIServer(native) as server:
        kernel = kernel_for(tmp_path / "home", providers_toml("loop", server.url))
        recorded = kernel.run(TASK, model="loop:m", record=cassette, workspace=workspace)
        calls = len(server.requests)
    assert recorded.status == "succeeded", recorded.reason
    assert recorded.answer == ANSWER
    assert len(cassette.read_text().splitlines()) == calls + 1  # the header, then each call
    assert calls >= 3

    replay_kernel = kernel_for(tmp_path / "home2")  # no server, no provider table
    replayed = replay_kernel.run(TASK, model=f"replay:{cassette}", workspace=workspace)
    assert replayed.status == "succeeded", replayed.reason
    assert replayed.answer == ANSWER
    assert replayed.usage["llm_calls"] == calls


def test_model_without_function_calling_drives_a_run(tmp_path, workspace):
    with OpenAIServer(as_text) as server:
        toml = providers_toml("small", server.url, function_calling=False)
        result = kernel_for(tmp_path / "home", toml).run(TASK, model="small:m", workspace=workspace)
        bodies = [r.body for r in server.requests]
    assert result.status == "succeeded", result.reason
    assert result.answer == ANSWER
    assert all("tools" not in body for body in bodies)


def test_scripted_file_drives_a_run(tmp_path, workspace):
    script = tmp_path / "script.jsonl"
    replies = [
        {"call": "act", "arguments": {"subtask": "read notes.md", "assets": []}},
        {"call": "submit_plan", "arguments": {"steps": PLAN}},
        {"call": "final", "arguments": {"answer": ANSWER}},
    ]
    script.write_text("\n".join(json.dumps(r) for r in replies))
    result = kernel_for(tmp_path / "home").run(
        TASK, model=f"scripted:{script}", workspace=workspace
    )
    assert result.status == "succeeded", result.reason
    assert result.answer == ANSWER
    assert result.usage["llm_calls"] == 3
