"""Whole ``autoplug`` runs on ``anthropic:MODEL`` against a loopback Messages API server.

The real CLI in a subprocess, ANTHROPIC_BASE_URL pointing at the server of
:mod:`anthropic_server`, which enforces the API's rules (tool results right after
their calls, thinking blocks with their signatures back), simulates its prompt
cache, and answers 529 and stream errors on the way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anthropic_server import AnthropicServer, error, message, overloaded, stream_overloaded

from autoplug.prices import find_price

TASK = "Which is the largest planet? The index file says where the notes are."
ANSWER = "Jupiter is the largest planet."
PLAN = [
    {"id": "s1", "tool": "read_file", "args": {"path": "index.md"}, "output": "index"},
    {
        "id": "s2",
        "tool": "read_file",
        "args": {"path": {"$fill": "the notes file the index names"}},
        "inputs": ["index"],
        "output": "notes",
    },
]
EPHEMERAL = {"type": "ephemeral"}


def offered(body: dict) -> set[str]:
    return {t["name"] for t in body.get("tools") or []}


def results(body: dict) -> str:
    return json.dumps(
        [b for m in body["messages"] for b in m["content"] if b.get("type") == "tool_result"]
    )


class Script:
    """The model's choices, with a 529 first and an error on the plan's first try."""

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self.failed: set[str] = set()
        self.turn = 0

    def __call__(self, recorded) -> object:
        body = recorded.body
        names = offered(body)
        if "first" not in self.failed:
            self.failed.add("first")
            return overloaded()
        if "submit_plan" in names:
            if "plan" not in self.failed:
                self.failed.add("plan")
                return stream_overloaded() if self.stream else error(500, "api_error", "oops")
            return message(tool_uses=[("submit_plan", {"steps": PLAN})], thinking="Two reads.")
        if names == {"read_file"}:  # the $fill
            return message(tool_uses=[("read_file", {"path": "notes.md"})], thinking="notes.md")
        self.turn += 1
        if "Jupiter is big" in results(body):
            return message(
                "Done.", [("final", {"answer": ANSWER})], thinking=f"Turn {self.turn}: answer."
            )
        act = {"subtask": "Read the notes the index names.", "assets": []}
        return message(tool_uses=[("act", act)], thinking=f"Turn {self.turn}: look it up.")


@pytest.fixture
def workspace(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "index.md").write_text("The notes are in notes.md.\n")
    (folder / "notes.md").write_text("Jupiter is big: 11 Earth diameters.\n")
    return folder


def configure(home: Path, url: str) -> dict[str, str]:
    (home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n'
        "[providers.anthropic]\nthinking_budget = 2048\nbackoff_s = 0.01\n"
    )
    return {**os.environ, "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-ant-test"}


def autoplug(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )


def run_args(workspace: Path, *more: str) -> list[str]:
    model = "anthropic:claude-sonnet-4-5"
    return ["run", TASK, "--model", model, "--json", "--workspace", str(workspace), *more]


def served(server: AnthropicServer) -> list[dict]:
    """The bodies of the requests that got a reply (not an injected error)."""
    return [r.body for r in server.requests][-len(server.usages) :]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_run_with_a_fill_caches_the_prefix_and_sends_thinking_back(
    isolated_home, workspace, stream
):
    script = Script(stream)
    with AnthropicServer(script, api_key="sk-ant-test") as server:
        env = configure(isolated_home, server.url)
        proc = autoplug(env, *run_args(workspace, *(["--stream"] if stream else [])))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["answer"] == ANSWER
    # 529, then the plan's error body or stream error event, each retried once.
    assert len(server.requests) == len(server.usages) + 2 == 6
    bodies = served(server)
    dynamic1, plan, fill, dynamic2 = bodies
    assert offered(plan) == {"submit_plan"} and offered(fill) == {"read_file"}
    for request in server.requests:
        assert request.path == "/v1/messages"
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert request.body["stream"] is stream if stream else "stream" not in request.body
    for body in bodies:
        # The stable prefix is marked: the last tool and the last system block, nothing else.
        assert body["tools"][-1]["cache_control"] == EPHEMERAL
        assert all("cache_control" not in t for t in body["tools"][:-1])
        assert body["system"][-1]["cache_control"] == EPHEMERAL
        assert "cache_control" not in json.dumps(body["messages"])
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert body["max_tokens"] == 4096
    # The planner's tool catalog is in the cached system prompt, the subtask after it.
    assert "- read_file: Read a UTF-8 text file" in plan["system"][-1]["text"]
    assert plan["messages"][0]["content"][0]["text"].startswith("Subtask: Read the notes")
    # Turn 1's thinking block, signed, opens the assistant message in turn 2's request.
    assistant = dynamic2["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "Turn 1: look it up.",
        "signature": "SIG1",
    }
    assert assistant["content"][1]["type"] == "tool_use"
    answer = dynamic2["messages"][2]["content"]
    assert [b["type"] for b in answer] == ["tool_result"]
    assert answer[0]["tool_use_id"] == assistant["content"][1]["id"]
    # Usage: all input counted, cache reads as the cached part, priced at the cache rate.
    usage = result["usage"]
    sent = server.usages
    everything = sum(
        u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
        for u in sent
    )
    reads = sum(u["cache_read_input_tokens"] for u in sent)
    assert reads > 0  # turn 2 read the tools and system prompt turn 1 wrote
    assert (usage["input_tokens"], usage["cached_input_tokens"]) == (everything, reads)
    assert usage["output_tokens"] == sum(u["output_tokens"] for u in sent)
    from autoplug.llm import Usage

    price = find_price("anthropic:claude-sonnet-4-5", None)
    expected = price.cost(Usage(everything, usage["output_tokens"], reads))
    assert usage["usd"] == pytest.approx(expected, abs=1e-6)
    assert expected < price.cost(Usage(everything, usage["output_tokens"]))
    if stream:
        assert "Done." in proc.stderr  # the streamed text reached the terminal


def test_a_record_of_an_anthropic_run_replays_offline(isolated_home, workspace, tmp_path):
    cassette = tmp_path / "claude.jsonl"
    with AnthropicServer(Script(stream=False)) as server:
        env = configure(isolated_home, server.url)
        recorded = autoplug(env, *run_args(workspace, "--record", str(cassette)))
        calls = len(server.usages)
    assert recorded.returncode == 0, recorded.stderr
    lines = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert "cassette_format" in lines[0]  # the header: format and tool catalog
    lines = lines[1:]
    assert len(lines) == calls == 4
    assert (
        lines[0]["response"]["extra"]["anthropic:claude-sonnet-4-5"]["thinking_blocks"][0][
            "signature"
        ]
        == "SIG1"
    )
    env = {k: v for k, v in env.items() if not k.startswith("ANTHROPIC_")}
    replayed = autoplug(
        env, "run", TASK, "--model", f"replay:{cassette}", "--json", "--workspace", str(workspace)
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["answer"] == ANSWER


def test_a_resumed_anthropic_run_sends_the_thinking_block_back(isolated_home, workspace, tmp_path):
    """Killed while turn 2 waits, the run resumes from its checkpoint with SIG1 intact."""
    script = Script(stream=False)
    hung = {"done": False}

    def replies(recorded):
        is_turn_two = "Jupiter is big" in results(recorded.body) and "act" in offered(recorded.body)
        if is_turn_two and not hung["done"]:
            hung["done"] = True
            from openai_server import Reply

            return Reply.hang(60)
        return script(recorded)

    with AnthropicServer(replies) as server:
        env = configure(isolated_home, server.url)
        log = tmp_path / "run.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autoplug.cli", *run_args(workspace)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            deadline = time.monotonic() + 60
            while not hung["done"]:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.02)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        run_id = json.loads(autoplug(env, "runs", "--json").stdout)[0]["run_id"]
        resumed = autoplug(env, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["answer"] == ANSWER
    last = server.requests[-1].body["messages"][1]["content"][0]
    assert (last["type"], last["signature"]) == ("thinking", "SIG1")
