"""Wire-format details: Retry-After parsing and reply shapes some servers send."""

from __future__ import annotations

from datetime import UTC, datetime

from autoplug import FunctionCall
from autoplug_builtins.models.openai import retry_after_seconds
from autoplug_builtins.models.wire import parse_completion, shorten

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def test_retry_after_in_seconds():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 0.5 ") == 0.5


def test_retry_after_as_http_date():
    assert retry_after_seconds("Sat, 21 Nov 2026 12:00:30 GMT", now=NOW) == 30.0


def test_retry_after_in_the_past_means_now():
    assert retry_after_seconds("Sat, 21 Nov 2026 11:00:00 GMT", now=NOW) == 0.0


def test_retry_after_unreadable_is_ignored():
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("-3") == 0.0


def test_arguments_sent_as_object_and_legacy_function_call():
    data = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "final", "arguments": {"answer": "x"}},
                },
                "finish_reason": "function_call",
            }
        ]
    }
    response, reported = parse_completion(data, "")
    assert response.function_calls == (FunctionCall("final", {"answer": "x"}, id="call_0"),)
    assert reported is False


def test_content_given_as_parts_is_joined():
    data = {"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]}
    assert parse_completion(data, "")[0].text == "ab"


def test_shorten_flattens_and_cuts():
    assert shorten("a\n  b", 10) == "a b"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"


# -- hostile arguments (issue 10) -----------------------------------------------

import json  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autoplug_builtins.models.wire import parse_arguments  # noqa: E402


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"answer": ' + "7" * 5000 + "}", "an integer of more than 4300 digits"),
        ('{"a": ' * 1200 + "1" + "}" * 1200, "nested deeper than 100 levels"),
        ('{"answer": "\\ud800"}', "lone surrogate"),
    ],
)
def test_hostile_argument_text_is_a_malformed_call_with_a_reason(text, reason):
    call = parse_arguments("final", text, "c1")
    assert call.arguments == {} and call.raw_arguments == text
    assert call.error.startswith("arguments of 'final' are not valid JSON: ")
    assert reason in call.error


def test_hostile_arguments_sent_as_an_object_are_a_malformed_call():
    deep: dict = {}
    for _ in range(3000):
        deep = {"a": deep}
    call = parse_arguments("final", deep, "c1")
    assert call.arguments == {}
    assert call.error == "arguments of 'final' are not usable JSON: nested deeper than 100 levels"


def test_a_lone_surrogate_in_a_reply_body_does_not_refuse_the_body():
    from autoplug.safejson import loads_envelope

    raw = '{"choices": [{"message": {"content": "hi \\udc80"}, "finish_reason": "stop"}]}'
    response, _ = parse_completion(loads_envelope(raw), raw)
    assert response.text == "hi \ufffd"


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=0, max_value=1200))
def test_argument_parsing_gives_a_call_or_a_one_line_rejection(noise, levels):
    for raw in (noise, "[" * levels + noise, '{"a": ' * levels + json.dumps(noise) + "}" * levels):
        call = parse_arguments("final", raw, "c1")
        assert isinstance(call, FunctionCall)
        if call.error:
            assert "\n" not in call.error and call.arguments == {}
        else:
            json.dumps(call.arguments).encode("utf-8")
