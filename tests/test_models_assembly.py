"""Stream assembly (wire.StreamAssembler) reads the calls that were meant, whatever the server's habits.

A property test: random calls, their argument text cut at random places, sent
the way each kind of server sends them (OpenAI, kimi-k2 via OpenRouter, Ollama,
servers with no index, servers that resend a whole call) must assemble back
into exactly those calls; reasoning deltas and per-call fields come out whole.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug_builtins.models.wire import StreamAssembler, message_to_wire, parse_completion

NAMES = st.sampled_from(["final", "brainstorm", "file_write", "llm_version", "act"])
VALUES = st.one_of(st.integers(-5, 5), st.text(max_size=12), st.booleans(), st.none())
ARGS = st.dictionaries(st.sampled_from(["a", "path", "answer", "x"]), VALUES, max_size=3)
CALLS = st.lists(st.tuples(NAMES, ARGS), min_size=1, max_size=3)
STYLES = st.sampled_from(["openai", "kimi", "ollama", "noindex", "resend"])


def cuts(text: str, points: list[int]) -> list[str]:
    marks = sorted({p % (len(text) + 1) for p in points} | {0, len(text)})
    return [text[a:b] for a, b in zip(marks, marks[1:], strict=False) if text[a:b]]


def fragments(style: str, calls: list[tuple[str, dict]], points: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, (name, args) in enumerate(calls):
        call_id, text = f"call_{n}_x", json.dumps(args)
        if style == "ollama":
            out.append({"index": 0, "id": call_id, "function": {"name": name, "arguments": text}})
            continue
        head: dict[str, Any] = {"id": call_id, "function": {"name": name, "arguments": ""}}
        if style != "noindex":
            head["index"] = n
        out.append(head)
        for piece in cuts(text, points):
            fragment: dict[str, Any] = {"function": {"arguments": piece}}
            if style != "noindex":
                fragment["index"] = n
            if style == "kimi":
                fragment.update(id=call_id)
                fragment["function"]["name"] = name
            out.append(fragment)
        if style == "resend":  # the whole call once more, as some gateways do at the end
            out.append({"index": n, "id": call_id, "function": {"name": name, "arguments": text}})
    return out


def chunk(delta: dict[str, Any]) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta}]}


@settings(max_examples=300, deadline=None)
@given(CALLS, STYLES, st.lists(st.integers(0, 200), max_size=6), st.booleans())
def test_streamed_calls_assemble_into_the_calls_that_were_meant(calls, style, points, batched):
    assembler = StreamAssembler(model_id="p:m")
    pieces = fragments(style, calls, points)
    if batched:  # several fragments in one delta, as some servers send them
        assembler.feed(chunk({"tool_calls": pieces}), "")
    else:
        for piece in pieces:
            assembler.feed(chunk({"tool_calls": [piece]}), "")
    response, _ = assembler.response()
    got = [(c.name, c.arguments, c.error) for c in response.function_calls]
    assert got == [(name, args, None) for name, args in calls]
    assert [c.id for c in response.function_calls] == [f"call_{n}_x" for n in range(len(calls))]


@given(st.text(min_size=1, max_size=40), st.lists(st.integers(0, 60), max_size=5))
def test_reasoning_deltas_are_joined_and_kept_for_the_model_that_wrote_them(reasoning, points):
    assembler = StreamAssembler(model_id="deepseek:r1")
    assembler.feed(chunk({"role": "assistant", "reasoning_content": ""}), "")
    for piece in cuts(reasoning, points):
        assembler.feed(chunk({"reasoning_content": piece}), "")
    assembler.feed(chunk({"content": "4"}), "")
    response, _ = assembler.response()
    assert response.text == "4"
    assert response.extra == {"deepseek:r1": {"reasoning_content": reasoning}}
    message = response.message()
    assert message_to_wire(message, 2, "deepseek:r1")["reasoning_content"] == reasoning
    assert "reasoning_content" not in message_to_wire(message, 2, "openai:gpt-4o")


def test_a_call_signature_and_a_refusal_are_kept_streamed_and_not():
    signed = {"extra_content": {"google": {"thought_signature": "SIG"}}}
    assembler = StreamAssembler(model_id="g:3")
    head = {"index": 0, "id": "c", "function": {"name": "final", "arguments": "{}"}, **signed}
    assembler.feed(chunk({"tool_calls": [head]}), "")
    assembler.feed(chunk({"refusal": "I can"}), "")
    assembler.feed(chunk({"refusal": "not."}), "")
    streamed, _ = assembler.response()
    body = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": "I cannot.",
                    "tool_calls": [
                        {"id": "c", "function": {"name": "final", "arguments": "{}"}, **signed}
                    ],
                }
            }
        ]
    }
    whole, _ = parse_completion(body, json.dumps(body), "g:3")
    for response in (streamed, whole):
        assert response.refusal == "I cannot."
        assert response.function_calls[0].extra == {"g:3": signed}
        wire = message_to_wire(response.message(), 1, "g:3")
        assert wire["tool_calls"][0]["extra_content"] == signed["extra_content"]
        assert "extra_content" not in message_to_wire(response.message(), 1, "x:y")["tool_calls"][0]


def test_an_empty_extra_leaves_the_dict_forms_as_they_were():
    body = {
        "choices": [{"message": {"role": "assistant", "content": "hi", "reasoning_content": None}}]
    }
    response, _ = parse_completion(body, json.dumps(body), "p:m")
    assert response.extra == {}
    assert "extra" not in response.message().to_dict()
    assert set(response.to_dict()) == {"text", "function_calls", "finish_reason", "usage", "model"}
