"""function_calling = false: functions asked for as one JSON object in text, parsed leniently."""

from __future__ import annotations

import asyncio

import pytest
from openai_server import OpenAIServer, Reply, providers_toml

from autoplug import ChatRequest, FunctionCall, FunctionSpec, Kernel, Message
from autoplug_builtins.models.textcalls import (
    find_json_object,
    messages_for_text_calls,
    parse_text_call,
)

FINAL = FunctionSpec(
    "final",
    "Answer the task.",
    {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
)
BRAINSTORM = FunctionSpec(
    "brainstorm",
    "Think further.",
    {"type": "object", "properties": {"thoughts": {"type": "string"}}, "required": ["thoughts"]},
)
BOTH = (BRAINSTORM, FINAL)


def test_bare_json_object_becomes_call():
    text, calls = parse_text_call('{"function": "final", "arguments": {"answer": "42"}}', BOTH)
    assert text is None
    assert calls == (FunctionCall("final", {"answer": "42"}, id="call_0"),)


def test_fenced_json_after_prose():
    reply = (
        'Let me answer.\n```json\n{"function": "final", "arguments": {"answer": "Jupiter"}}\n```\n'
    )
    text, calls = parse_text_call(reply, BOTH)
    assert calls == (FunctionCall("final", {"answer": "Jupiter"}, id="call_0"),)
    assert text == "Let me answer."


def test_leading_prose_without_fence():
    reply = 'Sure! Here is my call: {"function": "brainstorm", "arguments": {"thoughts": "a {b} c"}} Done.'
    text, calls = parse_text_call(reply, BOTH)
    assert calls[0].arguments == {"thoughts": "a {b} c"}
    assert text == "Sure! Here is my call:  Done."


def test_openai_shaped_object_and_string_arguments():
    reply = '{"function": {"name": "final", "arguments": "{\\"answer\\": \\"x\\"}"}}'
    assert parse_text_call(reply, BOTH)[1][0].arguments == {"answer": "x"}


def test_bare_arguments_accepted_when_one_function_offered():
    _, calls = parse_text_call('{"answer": "only args"}', (FINAL,))
    assert calls == (FunctionCall("final", {"answer": "only args"}, id="call_0"),)


def test_invalid_json_becomes_call_with_error():
    reply = '```json\n{"function": "final", "arguments": {"answer": "unterminated}\n```'
    text, (call,) = parse_text_call(reply, BOTH)
    assert text is None
    assert call.name == "final"  # guessed from the text, so the error goes back to the right place
    assert call.error.startswith("the reply is not one valid JSON object")
    assert '{"function": "<name>", "arguments": {<arguments>}}' in call.error
    assert call.raw_arguments == reply


def test_unknown_function_is_an_error_naming_the_offered_ones():
    _, (call,) = parse_text_call('{"function": "launch", "arguments": {}}', BOTH)
    assert call.error == "unknown function 'launch'; offered: brainstorm, final"


def test_arguments_not_an_object_is_an_error():
    _, (call,) = parse_text_call('{"function": "final", "arguments": [1, 2]}', BOTH)
    assert call.error == "\"arguments\" of 'final' must be a JSON object, not list"


def test_plain_prose_stays_text():
    assert parse_text_call("I think the answer is 4.", BOTH) == ("I think the answer is 4.", ())


def test_no_functions_means_no_parsing():
    assert parse_text_call('{"function": "final"}', ()) == ('{"function": "final"}', ())


def test_find_json_object_skips_non_objects():
    obj, prose, error = find_json_object('[1, 2] then {"a": 1}')
    assert obj == {"a": 1}
    assert (prose, error) == ("[1, 2] then", None)


def test_history_rewritten_for_text_calls():
    history = (
        Message("system", "You are an agent."),
        Message("user", "Task"),
        Message(
            "assistant",
            None,
            function_calls=(FunctionCall("brainstorm", {"thoughts": "hm"}, id="c1"),),
        ),
        Message("tool", "noted", call_id="c1"),
    )
    out = messages_for_text_calls(history, BOTH)
    assert [m.role for m in out] == ["system", "user", "assistant", "user"]
    assert out[0].content.startswith("You are an agent.\n\nYou can call the functions below.")
    assert "- final: Answer the task." in out[0].content
    assert out[2].content == '{"arguments":{"thoughts":"hm"},"function":"brainstorm"}'
    assert out[3].content == "Result of function brainstorm:\nnoted"


def test_a_text_reply_with_two_calls_is_two_calls_and_the_agent_refuses_both(tmp_path):
    from autoplug.agents.dynamic import DECIDE_FUNCTIONS
    from autoplug_builtins.models.textcalls import parse_text_call

    reply = (
        'First {"function": "brainstorm", "arguments": {"thoughts": "hmm"}}\n'
        'then {"function": "final", "arguments": {"answer": "42"}}'
    )
    text, calls = parse_text_call(reply, DECIDE_FUNCTIONS)
    assert [(c.name, c.arguments, c.id) for c in calls] == [
        ("brainstorm", {"thoughts": "hmm"}, "call_0"),
        ("final", {"answer": "42"}, "call_1"),
    ]
    assert text == "First \nthen"
    # A second object that names no offered function is prose, as before.
    text, calls = parse_text_call(
        '{"function": "final", "arguments": {"answer": "42"}} e.g. {"unit": "km"}',
        DECIDE_FUNCTIONS,
    )
    assert len(calls) == 1 and text == 'e.g. {"unit": "km"}'


@pytest.fixture
def text_model(tmp_path):
    with OpenAIServer() as server:
        toml = providers_toml("small", server.url, function_calling=False, backoff_s=0.001)
        (tmp_path / "config.toml").write_text(toml)
        yield Kernel(builtins=["autoplug_models"], home=tmp_path).model("small:tiny"), server


def test_no_tools_sent_and_functions_in_prompt(text_model):
    model, server = text_model
    server.push(
        Reply.chat(text='Here:\n```json\n{"function": "final", "arguments": {"answer": "4"}}\n```')
    )
    request = ChatRequest(messages=(Message("user", "2+2?"),), functions=BOTH)
    response = asyncio.run(model.complete(request))
    body = server.requests[0].body
    assert "tools" not in body
    assert body["messages"][0]["role"] == "system"
    assert '"thoughts"' in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": "2+2?"}
    assert response.function_calls == (FunctionCall("final", {"answer": "4"}, id="call_0"),)
    assert response.finish_reason == "tool_calls"


def test_unparseable_text_reply_gives_call_with_error(text_model):
    model, server = text_model
    server.push(Reply.chat(text='{"function": "final", "arguments": {"answer": }}'))
    request = ChatRequest(messages=(Message("user", "2+2?"),), functions=BOTH)
    (call,) = asyncio.run(model.complete(request)).function_calls
    assert call.name == "final"
    assert "not one valid JSON object" in call.error


def test_text_mode_request_without_functions_is_plain(text_model):
    model, server = text_model
    server.push(Reply.chat(text="hello"))
    response = asyncio.run(model.complete(ChatRequest(messages=(Message("user", "hi"),))))
    assert response.text == "hello"
    assert server.requests[0].body["messages"] == [{"role": "user", "content": "hi"}]


# -- hostile replies (issue 10) ---------------------------------------------------

import json  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HOSTILE_ARGUMENTS = [
    ('{"answer": ' + "7" * 5000 + "}", "an integer of more than 4300 digits"),
    ('{"answer": ' + "[" * 1500 + "]" * 1500 + "}", "nested deeper than 100 levels"),
    ('{"answer": "\\ud800"}', "lone surrogate"),
]


@pytest.mark.parametrize(("arguments", "reason"), HOSTILE_ARGUMENTS)
def test_hostile_json_in_reply_text_is_a_malformed_call_with_a_reason(arguments, reason):
    text = f'{{"function": "final", "arguments": {arguments}}}'
    reply_text, (call,) = parse_text_call(text, BOTH)
    assert call.name == "final" and call.arguments == {}
    assert reason in call.error and "\n" not in call.error
    assert reply_text is None


@pytest.mark.parametrize(("arguments", "reason"), HOSTILE_ARGUMENTS)
def test_hostile_json_in_string_arguments_is_a_malformed_call(arguments, reason):
    text = json.dumps({"function": "final", "arguments": arguments})
    _, (call,) = parse_text_call(text, BOTH)
    assert call.name == "final" and reason in call.error


def test_a_deep_reply_is_refused_quickly_not_searched_object_by_object():
    import time

    text = '{"a": ' * 20_000 + "1" + "}" * 20_000
    started = time.perf_counter()
    _, (call,) = parse_text_call(text, BOTH)
    assert "nested deeper than 100 levels" in call.error
    assert time.perf_counter() - started < 5


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=0, max_value=1200))
def test_text_mode_parser_gives_a_call_or_a_one_line_rejection(noise, levels):
    for text in (
        noise,
        '{"function": "final", "arguments": ' + noise + "}",
        '{"function": "final", "arguments": {"answer": ' + "[" * levels + "1" + "]" * levels + "}}",
        "```json\n" + noise + "\n```",
    ):
        reply_text, calls = parse_text_call(text, BOTH)
        assert reply_text is None or isinstance(reply_text, str)
        for call in calls:
            assert isinstance(call, FunctionCall)
            if call.error:
                assert "\n" not in call.error and call.arguments == {}
            else:
                json.dumps(call.arguments).encode("utf-8")  # usable: storable and sendable
