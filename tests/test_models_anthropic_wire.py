"""The Anthropic provider's wire mapping, its settings, and its client over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from anthropic_server import (
    AnthropicServer,
    error,
    message,
    message_events,
    overloaded,
    stream_overloaded,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from openai_server import Reply

from autoplug import (
    ChatRequest,
    ConfigError,
    FunctionCall,
    FunctionSpec,
    Kernel,
    Message,
    ModelError,
    Usage,
)
from autoplug_builtins.models.anthropic_wire import (
    StreamAssembler,
    messages_to_wire,
    parse_message,
    request_body,
)
from autoplug_builtins.models.settings import ProviderSettings

MODEL = "anthropic:claude-sonnet-4-5"
FINAL = FunctionSpec(
    "final", "answer", {"type": "object", "properties": {"answer": {"type": "string"}}}
)
READ = FunctionSpec("read_file", "read", {"type": "object", "properties": {"path": {}}})
THOUGHT = {"type": "thinking", "thinking": "hmm", "signature": "SIG9"}


def settings_of(**values) -> ProviderSettings:
    return ProviderSettings(name="anthropic", base_url="http://x", api="anthropic", **values)


def two_calls_answered() -> tuple[Message, ...]:
    calls = (FunctionCall("read_file", {"path": "a"}, id="t1"), FunctionCall("final", {}, id="t2"))
    return (
        Message("system", "You are an agent."),
        Message("user", "go"),
        Message("assistant", "Reading.", calls, extra={MODEL: {"thinking_blocks": [THOUGHT]}}),
        Message("tool", "A", call_id="t1"),
        Message("tool", "exactly one call per reply", call_id="t2"),
        Message("user", "Try again."),
    )


def test_consecutive_tool_results_and_a_user_message_make_one_user_turn():
    system, wire = messages_to_wire(two_calls_answered(), MODEL)
    assert system == [{"type": "text", "text": "You are an agent."}]
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]
    assert [b["type"] for b in wire[1]["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert wire[1]["content"][0] == THOUGHT
    assert wire[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "A"},
        {"type": "tool_result", "tool_use_id": "t2", "content": "exactly one call per reply"},
        {"type": "text", "text": "Try again."},
    ]


def test_thinking_of_another_model_is_not_sent_and_foreign_ids_are_made_valid():
    history = list(two_calls_answered())
    history[2] = Message(
        "assistant",
        None,
        (FunctionCall("read_file", {}, id="call:7/x"),),
        extra={"other:model": {"thinking_blocks": [THOUGHT]}},
    )
    history[3] = Message("tool", "A", call_id="call:7/x")
    _, wire = messages_to_wire(tuple(history[:4]), MODEL)
    assert wire[1]["content"] == [
        {"type": "tool_use", "id": "call_7_x", "name": "read_file", "input": {}}
    ]
    assert wire[2]["content"][0]["tool_use_id"] == "call_7_x"


def test_cache_control_marks_the_last_tool_and_the_last_system_block():
    request = ChatRequest(
        messages=(Message("system", "stable"), Message("system", "catalog"), Message("user", "x")),
        functions=(READ, FINAL),
    )
    body = request_body("claude", request, settings_of(), model_id=MODEL)
    assert [("cache_control" in t) for t in body["tools"]] == [False, True]
    assert [("cache_control" in b) for b in body["system"]] == [False, True]
    assert body["tools"][0]["input_schema"] == READ.parameters
    assert "cache_control" not in json.dumps(body["messages"])


def test_thinking_drops_temperature_and_puts_the_budget_on_top_of_a_request_limit():
    request = ChatRequest(messages=(Message("user", "x"),), temperature=0.2, max_tokens=500)
    plain = request_body("c", request, settings_of())
    assert (plain["temperature"], plain["max_tokens"]) == (0.2, 500)
    thinking = request_body("c", request, settings_of(thinking_budget=2048))
    assert "temperature" not in thinking
    assert thinking["max_tokens"] == 2548
    assert thinking["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    default = request_body("c", ChatRequest(messages=(Message("user", "x"),)), settings_of())
    assert default["max_tokens"] == 4096 and "thinking" not in default


def test_usage_counts_cache_reads_and_writes_as_input_and_reads_as_cached():
    data = {
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 50,
            "output_tokens": 7,
        },
    }
    response, reported = parse_message(data, json.dumps(data), MODEL)
    assert reported
    assert response.usage == Usage(160, 7, cached_input_tokens=50)
    assert (response.text, response.finish_reason) == ("hi", "stop")


def test_a_refusal_stop_reason_is_a_refusal():
    data = {"content": [], "stop_reason": "refusal", "usage": {"input_tokens": 1}}
    response, _ = parse_message(data, "{}", MODEL)
    assert response.refusal and response.text is None and not response.function_calls


def complete_of(events: list) -> tuple:
    assembler = StreamAssembler(model_id=MODEL)
    text = "".join(assembler.feed(json.loads(json.dumps(e)), "") for _, e in events)
    return text, assembler.response()


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=0, max_size=40),
    thinking=st.text(min_size=1, max_size=40),
    args=st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=4),
    size=st.integers(min_value=1, max_value=9),
)
def test_streamed_events_split_anywhere_assemble_to_the_whole_reply(text, thinking, args, size):
    reply = message(text or None, [("read_file", args)], thinking=thinking, redacted="R")
    completion = reply.completion
    completion["blocks"][0]["signature"] = "SIG1"
    usage = {"input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 9}
    streamed, (response, reported) = complete_of(message_events(completion, usage, size))
    whole = {**completion, "content": completion["blocks"], "usage": usage}
    expected, _ = parse_message(whole, "", MODEL)
    assert streamed == (text or "")
    assert reported and response.usage == Usage(8, 9, cached_input_tokens=5)
    assert response.function_calls == expected.function_calls
    assert response.function_calls[0].arguments == args
    assert response.extra == expected.extra
    assert response.extra[MODEL]["thinking_blocks"] == [
        {"type": "thinking", "thinking": thinking, "signature": "SIG1"},
        {"type": "redacted_thinking", "data": "R"},
    ]


def kernel_model(home: Path, server: AnthropicServer, model: str = MODEL, toml: str = ""):
    builtin = f'[providers.anthropic]\nbase_url = "{server.url}"\nbackoff_s = 0.001\n'
    (home / "config.toml").write_text(toml + builtin)
    return Kernel(builtins=["autoplug_models"], home=home).model(model)


def ask(model, stream=False, functions=(FINAL,)):
    request = ChatRequest(messages=(Message("user", "go"),), functions=functions, stream=stream)
    return asyncio.run(model.complete(request))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_overloaded_answers_are_retried_and_redacted_thinking_comes_back(
    isolated_home, monkeypatch, stream
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    first = stream_overloaded() if stream else overloaded()
    reply = message(tool_uses=[("final", {"answer": "4"})], redacted="opaque")
    with AnthropicServer([first, reply], api_key="k") as server:
        model = kernel_model(isolated_home, server)
        response = ask(model, stream)
    assert response.function_calls[0].arguments == {"answer": "4"}
    assert model.stats.retries == 1 and len(server.requests) == 2
    _, wire = messages_to_wire((response.message(),), MODEL)
    assert wire[0]["content"][0] == {"type": "redacted_thinking", "data": "opaque"}


def test_an_invalid_request_is_not_retried_and_its_message_is_quoted(isolated_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    bad = error(400, "invalid_request_error", "messages: roles must alternate")
    with AnthropicServer([bad]) as server:
        with pytest.raises(ModelError) as caught:
            ask(kernel_model(isolated_home, server))
    assert "(HTTP 400): messages: roles must alternate" in str(caught.value)
    assert len(server.requests) == 1


def test_a_refused_key_names_the_variable(isolated_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "wrong")
    with AnthropicServer([], api_key="right") as server:
        with pytest.raises(
            ModelError, match="refused the API key .*check the key in ANTHROPIC_API_KEY"
        ):
            ask(kernel_model(isolated_home, server))
    assert server.requests[0].headers["x-api-key"] == "wrong"


def test_a_missing_key_says_which_variable_to_set(isolated_home):
    with pytest.raises(ModelError, match="set the environment variable ANTHROPIC_API_KEY"):
        Kernel(builtins=["autoplug_models"], home=isolated_home).model(MODEL)


def test_a_stream_error_that_cannot_pass_fails_at_once(isolated_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    event = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad tool"}}
    with AnthropicServer([Reply.sse([("error", event)], done=False)]) as server:
        with pytest.raises(ModelError, match="invalid_request_error: bad tool"):
            ask(kernel_model(isolated_home, server), stream=True)
    assert len(server.requests) == 1


def test_a_named_table_with_api_anthropic_and_text_calls(isolated_home, monkeypatch):
    monkeypatch.setenv("GATEWAY_KEY", "g")
    call = json.dumps({"function": "final", "arguments": {"answer": "4"}})
    with AnthropicServer([message(f"Sure.\n```json\n{call}\n```")], api_key="g") as server:
        toml = (
            f'[providers.gateway]\napi = "anthropic"\nbase_url = "{server.url}"\n'
            'api_key_env = "GATEWAY_KEY"\nfunction_calling = false\n'
        )
        response = ask(kernel_model(isolated_home, server, "gateway:claude", toml))
    body = server.requests[0].body
    assert "tools" not in body
    assert "final" in body["system"][-1]["text"]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert response.function_calls[0].arguments == {"answer": "4"}


@pytest.mark.parametrize(
    ("toml", "model", "wrong"),
    [
        (
            '[providers.gw]\nbase_url = "http://x"\napi = "gemini"',
            "gw:m",
            "api in [providers.gw] in CONFIG must be one of 'openai', 'anthropic', not 'gemini'",
        ),
        (
            '[providers.gw]\napi = "anthropic"',
            "gw:m",
            '[providers.gw] in CONFIG needs base_url, e.g. base_url = "http://localhost:4000"',
        ),
        (
            '[providers.anthropic]\napi = "openai"',
            MODEL,
            'api in [providers.anthropic] in CONFIG must be "anthropic"',
        ),
        (
            "[providers.anthropic]\nthinking_budget = 100",
            MODEL,
            "thinking_budget in [providers.anthropic] in CONFIG must be at least 1024",
        ),
        (
            "[providers.anthropic]\nthinking_budget = 5000\nmax_tokens = 4096",
            MODEL,
            "less than max_tokens (4096), not 5000",
        ),
        (
            "[providers.anthropic]\nmax_tokens = 0",
            MODEL,
            "CONFIG: [providers.anthropic] max_tokens must be a whole number >= 1, not 0",
        ),
    ],
)
def test_bad_anthropic_settings_name_the_key_and_table(
    isolated_home, monkeypatch, toml, model, wrong
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    config = isolated_home / "config.toml"
    config.write_text(toml + "\n")
    with pytest.raises(ConfigError) as caught:
        Kernel(builtins=["autoplug_models"], home=isolated_home).model(model)
    assert wrong.replace("CONFIG", str(config)) in str(caught.value)


def test_anthropic_base_url_without_v1_and_a_bad_one(isolated_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")
    model = Kernel(builtins=["autoplug_models"], home=isolated_home).model(MODEL)
    assert model.url == "http://127.0.0.1:9/v1/messages"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "api.anthropic.com")
    with pytest.raises(ConfigError, match="ANTHROPIC_BASE_URL must start with http"):
        Kernel(builtins=["autoplug_models"], home=isolated_home).model(MODEL)


def test_a_stream_cut_before_message_stop_is_tried_again(isolated_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    whole = message(tool_uses=[("final", {"answer": "four"})]).completion
    events = message_events(whole, {"input_tokens": 1, "output_tokens": 1}, 3)
    cut = Reply.sse(events[:6], done=False)  # inside the tool_use's input JSON
    with AnthropicServer([cut, message(tool_uses=[("final", {"answer": "4"})])]) as server:
        model = kernel_model(isolated_home, server)
        response = ask(model, stream=True)
    assert response.function_calls[0].arguments == {"answer": "4"}
    assert model.stats.retries == 1


def test_a_lone_surrogate_in_an_anthropic_reply_is_a_stray_character(isolated_home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    whole = message(text="hi").completion
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    raw = json.dumps(body).replace('"hi"', '"hi \\udc80"')
    events = message_events(whole, {"input_tokens": 1, "output_tokens": 1}, 50)
    streamed = [(name, json.dumps(data).replace('"hi"', '"hi \\ud800"')) for name, data in events]
    replies = [Reply.raw(raw, content_type="application/json"), Reply.sse(streamed, done=False)]
    with AnthropicServer(replies) as server:
        model = kernel_model(isolated_home, server)
        assert ask(model).text == "hi \ufffd"
        assert ask(model, stream=True).text == "hi \ufffd"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_hostile_anthropic_body_is_a_one_line_model_error(isolated_home, monkeypatch, stream):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    deep = '{"a": ' * 1200 + "1" + "}" * 1200
    reply = (
        Reply.sse([("message_start", deep)], done=False)
        if stream
        else Reply.raw(deep, content_type="application/json")
    )
    with AnthropicServer([reply]) as server:
        with pytest.raises(ModelError) as caught:
            ask(kernel_model(isolated_home, server), stream=stream)
    assert "not JSON" in str(caught.value) and "\n" not in str(caught.value)
    assert len(server.requests) == 1
