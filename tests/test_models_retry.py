"""The retry policy (models/retry.py): only what can pass later is retried, after the server's wait."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai_server import OpenAIServer, Reply, providers_toml

from autoplug import ChatRequest, Kernel, Message, ModelError
from autoplug_builtins.models.retry import classify, is_loopback, server_message, wait_from_headers

HELLO = ChatRequest(messages=(Message("user", "Hello?"),))
QUOTA = "You exceeded your current quota, please check your plan and billing details."


def model_for(home: Path, server: OpenAIServer, **settings: Any) -> Any:
    settings.setdefault("backoff_s", 0.001)
    (home / "config.toml").write_text(providers_toml("test", server.url, **settings))
    return Kernel(builtins=["autoplug_models"], home=home).model("test:m")


def complete(model: Any, request: ChatRequest = HELLO) -> Any:
    return asyncio.run(model.complete(request))


@pytest.fixture
def server():
    with OpenAIServer() as running:
        yield running


def test_a_spent_quota_is_not_retried(tmp_path, server):
    server.push(Reply.error(429, QUOTA, code="insufficient_quota"), Reply.chat(text="never"))
    model = model_for(tmp_path, server)
    with pytest.raises(
        ModelError, match=r"quota .* is spent \(HTTP 429\); not retried.*current quota"
    ):
        complete(model)
    assert len(server.requests) == 1 and model.stats.retries == 0


def test_a_429_with_retry_after_is_retried_after_that_wait(tmp_path, server):
    server.push(
        Reply.error(429, "Rate limit reached", {"Retry-After": "0.05"}), Reply.chat(text="ok")
    )
    model = model_for(tmp_path, server)
    assert complete(model).text == "ok"
    assert model.stats.waits == [0.05]


def test_retry_after_ms_wins_over_retry_after(tmp_path, server):
    headers = {"retry-after-ms": "20", "Retry-After": "30"}
    server.push(Reply.error(429, "slow", headers), Reply.chat(text="ok"))
    model = model_for(tmp_path, server)
    assert complete(model).text == "ok"
    assert model.stats.waits == [0.02]


@pytest.mark.parametrize("status", [408, 409])
def test_timeouts_and_conflicts_are_retried(tmp_path, server, status):
    server.push(Reply.error(status, "again"), Reply.chat(text="ok"))
    model = model_for(tmp_path, server)
    assert complete(model).text == "ok"
    assert len(server.requests) == 2


def test_llama_cpp_refusing_tools_with_stream_is_not_retried(tmp_path, server):
    body = {
        "error": {"code": 500, "message": "Cannot use tools with stream", "type": "server_error"}
    }
    server.push(Reply(status=500, body=body), Reply.chat(text="never"))
    model = model_for(tmp_path, server)
    with pytest.raises(
        ModelError,
        match=r"cannot serve this request \(HTTP 500\); not retried.*Cannot use tools with stream",
    ):
        complete(model)
    assert len(server.requests) == 1


def test_x_should_retry_overrides_the_status(tmp_path, server):
    server.push(Reply.error(503, "down", {"x-should-retry": "false"}), Reply.chat(text="never"))
    server.push(Reply.error(400, "flaky", {"x-should-retry": "true"}), Reply.chat(text="ok"))
    model = model_for(tmp_path, server)
    with pytest.raises(ModelError, match=r"HTTP 503.*down"):
        complete(model)
    assert len(server.requests) == 1
    server.requests.clear()
    server._queue.popleft()  # the reply after the 503, never asked for
    assert complete(model).text == "ok"
    assert len(server.requests) == 2


def test_a_gemini_array_error_body_is_read_for_its_message(tmp_path, server):
    body = [{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}]
    server.push(Reply(status=400, body=body))
    with pytest.raises(ModelError, match=r"HTTP 400\): API key not valid\.$"):
        complete(model_for(tmp_path, server))


def test_a_gemini_array_error_in_a_200_reply_is_an_error_not_a_missing_choice(tmp_path, server):
    body = [
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    ]
    server.push(Reply(status=200, body=body))
    with pytest.raises(ModelError, match="answered with an error: .*The model is overloaded"):
        complete(model_for(tmp_path, server))


@given(st.integers(400, 499).filter(lambda s: s not in (408, 409, 429)))
def test_every_other_client_error_is_permanent(status):
    assert not classify(status, {}, '{"error": {"message": "no"}}').retry


@given(
    st.integers(500, 599).filter(lambda s: s != 501), st.sampled_from(["boom", "overloaded", ""])
)
def test_server_errors_are_retried_unless_the_request_is_unsupported(status, message):
    body = json.dumps({"error": {"message": message}})
    assert classify(status, {}, body).retry
    unsupported = json.dumps({"error": {"message": f"{message} tools are not supported".strip()}})
    assert not classify(status, {}, unsupported).retry


def test_a_rate_limit_whose_code_is_not_a_quota_is_retried():
    body = json.dumps({"error": {"message": "Rate limit", "code": "rate_limit_exceeded"}})
    assert classify(429, {"Retry-After": "2"}, body) == classify(429, {"retry-after": "2"}, body)
    assert classify(429, {"Retry-After": "2"}, body).retry
    assert classify(429, {"Retry-After": "2"}, body).wait == 2.0


def test_waits_from_headers():
    assert wait_from_headers({"retry-after-ms": "1500"}) == 1.5
    assert wait_from_headers({"retry-after-ms": "soon", "retry-after": "3"}) == 3.0
    assert wait_from_headers({"retry-after-ms": "nan"}) is None
    assert wait_from_headers({}) is None


def test_loopback_addresses():
    assert is_loopback("http://localhost:11434/v1")
    assert is_loopback("http://127.0.0.2:8000/v1")
    assert is_loopback("http://[::1]:8080/v1")
    assert not is_loopback("https://api.openai.com/v1")
    assert not is_loopback("http://192.168.1.5:11434/v1")


def test_server_messages_from_every_body_shape():
    assert server_message('{"error": {"message": "bad key"}}') == "bad key"
    assert server_message('[{"error": {"message": "bad key"}}]') == "bad key"
    assert server_message('{"detail": "Not Found"}') == "Not Found"
    assert server_message("<html>  oops \n</html>") == "<html> oops </html>"
    assert server_message("") == "(empty body)"
