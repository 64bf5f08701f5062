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
