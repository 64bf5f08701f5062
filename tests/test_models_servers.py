"""Whole runs and calls against loopback servers that behave like real providers (issue 12).

DeepSeek-like and Gemini-like servers refuse a second turn unless the fields they
sent (``reasoning_content``, ``thought_signature``) come back; the kimi-k2 and
Ollama streams carry their quirks; all through the real ``autoplug`` command or
the real OpenAI-compatible client over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply, providers_toml
from provider_servers import (
    GEMINI_MISSING,
    deepseek_like,
    gemini_like,
    kimi_openrouter_chunks,
    ollama_chunks,
)

from autoplug import ChatRequest, FunctionCall, FunctionSpec, Kernel, Message, ModelError

# DeepSeek's usage shape: cache hits and reasoning tokens beside the OpenAI counts.
DEEPSEEK_USAGE = {
    "prompt_cache_hit_tokens": 8,
    "completion_tokens_details": {"reasoning_tokens": 5},
}


def two_turns() -> list[Reply]:
    return [
        Reply.chat(
            tool_calls=[("brainstorm", {"thoughts": "2 + 2 is 4"})], usage_extra=DEEPSEEK_USAGE
        ),
        Reply.chat(tool_calls=[("final", {"answer": "4"})], usage_extra=DEEPSEEK_USAGE),
    ]


def autoplug(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real ``autoplug`` command in this test's AUTOPLUG_HOME."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def configure(home: Path, name: str, url: str, **settings) -> None:
    (home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n' + providers_toml(name, url, **settings)
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_two_turn_run_echoes_reasoning_content_to_a_deepseek_like_server(isolated_home, stream):
    answer = deepseek_like(two_turns())
    with OpenAIServer(answer) as server:
        configure(isolated_home, "deepseek", server.url)
        args = ["run", "What is 2 + 2?", "--model", "deepseek:deepseek-reasoner", "--json"]
        proc = autoplug(*args, *(["--stream"] if stream else []))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["answer"] == "4"
    usage = result["usage"]
    assert (usage["input_tokens"], usage["cached_input_tokens"]) == (22, 16)
    assert (usage["output_tokens"], usage["reasoning_tokens"]) == (14, 10)
    assert usage["usd"] > 0  # priced by genai-prices as provider "deepseek"
    second = server.requests[1].body["messages"]
    assert second[2]["role"] == "assistant"
    assert second[2]["reasoning_content"] == "Okay, turn 1."
    assert len(server.requests) == 2  # no 400 on the way


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_two_turn_run_echoes_thought_signatures_to_a_gemini_like_server(isolated_home, stream):
    with OpenAIServer(gemini_like(two_turns())) as server:
        configure(isolated_home, "gemini", server.url)
        args = ["run", "What is 2 + 2?", "--model", "gemini:gemini-3-pro-preview", "--json"]
        proc = autoplug(*args, *(["--stream"] if stream else []))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["answer"] == "4"
    call = server.requests[1].body["messages"][2]["tool_calls"][0]
    assert call["extra_content"] == {"google": {"thought_signature": "SIG1"}}


def test_fields_of_another_model_are_not_sent_and_gemini_array_errors_are_read(isolated_home):
    """A history made by another model (resume --model) carries no signature: Gemini's 400."""
    history = (
        Message("user", "What is 2 + 2?"),
        Message(
            "assistant",
            function_calls=(
                FunctionCall(
                    "brainstorm",
                    {"thoughts": "4"},
                    id="c1",
                    extra={
                        "other:model": {"extra_content": {"google": {"thought_signature": "X"}}}
                    },
                ),
            ),
            extra={"other:model": {"reasoning_content": "mine"}},
        ),
        Message("tool", "Noted.", call_id="c1"),
    )
    with OpenAIServer(gemini_like([])) as server:
        configure(isolated_home, "gemini", server.url, max_retries=3)
        model = Kernel(builtins=["autoplug_models"], home=isolated_home).model("gemini:g")
        with pytest.raises(ModelError) as error:
            asyncio.run(model.complete(ChatRequest(messages=history)))
    sent = server.requests[0].body["messages"][1]
    assert "reasoning_content" not in sent and "extra_content" not in sent["tool_calls"][0]
    assert "(HTTP 400): " + GEMINI_MISSING[:60] in str(error.value)
    assert len(server.requests) == 1  # a 400 is permanent


def test_a_resumed_run_carries_the_reasoning_back(isolated_home, tmp_path):
    """Killed after turn one, the run resumes from its checkpoint with reasoning_content intact."""
    answer = deepseek_like(two_turns())
    first_try = {"hung": False}

    def replies(recorded):
        if len(server.requests) == 2 and not first_try["hung"]:
            first_try["hung"] = True
            return Reply.hang(60)
        return answer(recorded)

    with OpenAIServer(replies) as server:
        configure(isolated_home, "deepseek", server.url)
        log = tmp_path / "run.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autoplug.cli", "run", "What is 2 + 2?"]
                + ["--model", "deepseek:deepseek-reasoner", "--json"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
        try:
            deadline = time.monotonic() + 60
            while len(server.requests) < 2:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.02)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        run_id = json.loads(autoplug("runs", "--json").stdout)[0]["run_id"]
        resumed = autoplug("resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["answer"] == "4"
    third = server.requests[2].body["messages"]
    assert third[2]["reasoning_content"] == "Okay, turn 1."


FINAL = FunctionSpec(
    "final", "answer", {"type": "object", "properties": {"answer": {"type": "string"}}}
)
WRITE = FunctionSpec("file_write", "write", {"type": "object"})


def ask(home: Path, url: str, stream: bool, functions: tuple[FunctionSpec, ...]):
    configure(home, "quirky", url)
    model = Kernel(builtins=["autoplug_models"], home=home).model("quirky:m")
    request = ChatRequest(messages=(Message("user", "go"),), functions=functions, stream=stream)
    return asyncio.run(model.complete(request))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_name_repeated_in_every_chunk_is_read_once(isolated_home, stream):
    arguments = {"answer": "a long answer, cut into many chunks"}
    if stream:
        reply = Reply.sse(kimi_openrouter_chunks("final", arguments))
    else:
        reply = Reply.chat(tool_calls=[{"name": "final", "arguments": arguments, "id": "0"}])
    with OpenAIServer([reply]) as server:
        response = ask(isolated_home, server.url, stream, (FINAL,))
    assert [(c.name, c.arguments, c.id) for c in response.function_calls] == [
        ("final", arguments, "0")
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_whole_calls_with_their_own_ids_at_one_index_are_separate_calls(isolated_home, stream):
    calls = [
        ("call_abc123", "file_write", {"path": "a.txt", "content": "A"}),
        ("call_def456", "file_write", {"path": "b.txt", "content": "B"}),
    ]
    if stream:
        reply = Reply.sse(ollama_chunks(calls))
    else:
        reply = Reply.chat(tool_calls=[{"id": i, "name": n, "arguments": a} for i, n, a in calls])
    with OpenAIServer([reply]) as server:
        response = ask(isolated_home, server.url, stream, (WRITE,))
    assert [(c.id, c.name, c.arguments) for c in response.function_calls] == calls
    assert all(c.error is None for c in response.function_calls)
