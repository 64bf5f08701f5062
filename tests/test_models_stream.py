"""Streamed replies (SSE): text deltas, tool-call fragments split over chunks, usage at the end."""

from __future__ import annotations

import asyncio
import json

import pytest
from openai_server import OpenAIServer, Reply, providers_toml

from autoplug import ChatRequest, FunctionCall, FunctionSpec, Kernel, Message, ModelError

PLAN = FunctionSpec(
    "submit_plan",
    "Submit the plan.",
    {"type": "object", "properties": {"steps": {"type": "array"}}, "required": ["steps"]},
)


def streamed(messages: tuple[Message, ...] = (Message("user", "Go"),), functions=()) -> ChatRequest:
    return ChatRequest(messages=messages, functions=functions, stream=True)


@pytest.fixture
def server():
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def model(tmp_path, server):
    (tmp_path / "config.toml").write_text(providers_toml("test", server.url, backoff_s=0.001))
    return Kernel(builtins=["autoplug_models"], home=tmp_path).model("test:m")


def run(model, request, on_text=None):
    return asyncio.run(model.complete(request, on_text=on_text))


def test_stream_flags_sent(model, server):
    server.push(Reply.chat(text="ok"))
    run(model, streamed())
    body = server.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert server.requests[0].headers["accept"] == "text/event-stream"


def test_stream_usage_can_be_turned_off(tmp_path, server):
    (tmp_path / "config.toml").write_text(providers_toml("test", server.url, stream_usage=False))
    model = Kernel(builtins=["autoplug_models"], home=tmp_path).model("test:m")
    server.push(Reply.chat(text="ok"))
    run(model, streamed())
    assert "stream_options" not in server.requests[0].body


def test_text_deltas_reach_on_text_in_order(model, server):
    server.push(Reply.chat(text="The largest planet is Jupiter.", chunk_chars=4, usage=(30, 8)))
    pieces: list[str] = []
    response = run(model, streamed(), pieces.append)
    assert len(pieces) == 8  # 30 characters in pieces of 4
    assert "".join(pieces) == "The largest planet is Jupiter."
    assert response.text == "The largest planet is Jupiter."
    assert (response.usage.input_tokens, response.usage.output_tokens) == (30, 8)
    assert response.finish_reason == "stop"


def test_tool_call_arguments_split_over_chunks_assembled_exactly(model, server):
    steps = [
        {"id": "s1", "tool": "read_file", "args": {"path": "notes — ünïcode.md"}, "output": "notes"}
    ]
    server.push(Reply.chat(tool_calls=[("submit_plan", {"steps": steps})], chunk_chars=2))
    response = run(model, streamed(functions=(PLAN,)))
    assert response.function_calls == (FunctionCall("submit_plan", {"steps": steps}, id="call_0"),)
    assert response.text is None
    assert response.finish_reason == "tool_calls"


def test_several_streamed_tool_calls(model, server):
    calls = [("submit_plan", {"steps": [1]}), ("submit_plan", {"steps": [2, 3]})]
    server.push(Reply.chat(text="Two plans.", tool_calls=calls, chunk_chars=1))
    response = run(model, streamed(functions=(PLAN,)))
    assert [c.arguments for c in response.function_calls] == [{"steps": [1]}, {"steps": [2, 3]}]
    assert [c.id for c in response.function_calls] == ["call_0", "call_1"]
    assert response.text == "Two plans."


def test_fragments_without_index_are_joined_by_id(model, server):
    def chunk(delta):
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}

    server.push(
        Reply.sse(
            [
                chunk(
                    {
                        "tool_calls": [
                            {"id": "a", "function": {"name": "submit_plan", "arguments": '{"st'}}
                        ]
                    }
                ),
                chunk({"tool_calls": [{"function": {"arguments": 'eps": []}'}}]}),
                chunk(
                    {
                        "tool_calls": [
                            {"id": "b", "function": {"name": "submit_plan", "arguments": "{}"}}
                        ]
                    }
                ),
            ]
        )
    )
    response = run(model, streamed(functions=(PLAN,)))
    assert [(c.id, c.arguments) for c in response.function_calls] == [
        ("a", {"steps": []}),
        ("b", {}),
    ]


def test_stream_without_usage_is_estimated(model, server):
    server.push(Reply.chat(text="abcdefgh", usage=None))
    response = run(model, streamed())
    assert response.usage.output_tokens == 2


def test_stream_chunk_not_json_is_quoted(model, server):
    server.push(Reply.sse(["{not json at all"]))
    with pytest.raises(ModelError, match=r"streamed a chunk that is not JSON: '\{not json at all'"):
        run(model, streamed())


def test_stream_error_event_is_reported(model, server):
    server.push(Reply.sse([{"error": {"message": "context length exceeded"}}], done=False))
    with pytest.raises(ModelError, match="error in the stream.*context length exceeded"):
        run(model, streamed())


def test_server_ignoring_stream_flag_still_works(model, server):
    body = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "whole"},
                "finish_reason": "stop",
            }
        ]
    }
    server.push(Reply(body=body))
    pieces: list[str] = []
    assert run(model, streamed(), pieces.append).text == "whole"
    assert pieces == ["whole"]


def test_streamed_429_retried(model, server):
    server.push(Reply.error(429, "slow", {"Retry-After": "0"}), Reply.chat(text="ok"))
    pieces: list[str] = []
    assert run(model, streamed(), pieces.append).text == "ok"
    assert "".join(pieces) == "ok"
    assert len(server.requests) == 2
    assert model.stats.waits == [0.0]


def test_stream_ending_without_done_keeps_what_came(model, server):
    chunk = {"choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": "length"}]}
    server.push(Reply.sse([json.dumps(chunk)], done=False))
    response = run(model, streamed())
    assert (response.text, response.finish_reason) == ("partial", "length")
