"""The OpenAI-compatible model against a real loopback server: what it sends, what it returns."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer, Reply, providers_toml

from autoplug import (
    ChatRequest,
    ChatResponse,
    ConfigError,
    FunctionCall,
    FunctionSpec,
    Kernel,
    Message,
    ModelError,
)

FORECAST = FunctionSpec(
    "forecast",
    "Forecast for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
HELLO = ChatRequest(messages=(Message("system", "Be brief."), Message("user", "Hello?")))


def kernel_with(home: Path, toml: str) -> Kernel:
    """A kernel with only the models builtin and this config file."""
    (home / "config.toml").write_text(toml, encoding="utf-8")
    return Kernel(builtins=["autoplug_models"], home=home)


def test_model(home: Path, server: OpenAIServer, name: str = "m", **settings: Any) -> Any:
    settings.setdefault("backoff_s", 0.001)
    return kernel_with(home, providers_toml("test", server.url, **settings)).model(f"test:{name}")


test_model.__test__ = False  # a helper, not a test


def complete(model: Any, request: ChatRequest, on_text: Any = None) -> ChatResponse:
    return asyncio.run(model.complete(request, on_text=on_text))


@pytest.fixture
def server():
    with OpenAIServer() as running:
        yield running


def test_plain_reply_text_and_usage(tmp_path, server):
    server.push(Reply.chat(text="Hi there.", usage=(12, 3)))
    model = test_model(tmp_path, server, "llama3")
    response = complete(model, HELLO)
    assert response.text == "Hi there."
    assert response.function_calls == ()
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 3)
    assert model.model_id == "test:llama3"


def test_request_body_sent_for_plain_request(tmp_path, server):
    server.push(Reply.chat(text="ok"))
    request = ChatRequest(messages=HELLO.messages, temperature=0.2, max_tokens=50)
    complete(test_model(tmp_path, server, "llama3"), request)
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body == {
        "model": "llama3",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello?"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
    }
    assert "authorization" not in sent.headers  # no api_key_env: no key sent


def test_api_key_sent_as_bearer_header(tmp_path, server, monkeypatch):
    monkeypatch.setenv("TEST_SERVER_KEY", "sk-test-123")
    server.api_key = "sk-test-123"
    server.push(Reply.chat(text="ok"))
    response = complete(test_model(tmp_path, server, api_key_env="TEST_SERVER_KEY"), HELLO)
    assert response.text == "ok"
    assert server.requests[0].headers["authorization"] == "Bearer sk-test-123"


def test_openai_provider_uses_openai_env(tmp_path, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    server.push(Reply.chat(text="from openai"))
    model = kernel_with(tmp_path, "").model("openai:gpt-4o-mini")
    assert complete(model, HELLO).text == "from openai"
    assert server.requests[0].headers["authorization"] == "Bearer sk-env"
    assert server.requests[0].body["model"] == "gpt-4o-mini"


def test_openai_without_key_names_the_variable(tmp_path):
    with pytest.raises(ModelError, match="set the environment variable OPENAI_API_KEY"):
        kernel_with(tmp_path, "").model("openai:gpt-4o-mini")


def test_ollama_defaults_to_localhost_without_key(tmp_path):
    model = kernel_with(tmp_path, "").model("ollama:llama3.1")
    assert model.url == "http://localhost:11434/v1/chat/completions"
    assert "Authorization" not in model._headers


def test_tools_sent_and_several_tool_calls_parsed(tmp_path, server):
    calls = [
        ("forecast", {"city": "Oslo"}),
        {"name": "forecast", "arguments": {"city": "Rome"}, "id": "c9"},
    ]
    server.push(Reply.chat(tool_calls=calls))
    request = ChatRequest(messages=HELLO.messages, functions=(FORECAST,))
    response = complete(test_model(tmp_path, server), request)
    assert server.requests[0].body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "forecast",
                "description": "Forecast for a city.",
                "parameters": FORECAST.parameters,
            },
        }
    ]
    assert response.function_calls == (
        FunctionCall("forecast", {"city": "Oslo"}, id="call_0"),
        FunctionCall("forecast", {"city": "Rome"}, id="c9"),
    )
    assert response.finish_reason == "tool_calls"


def test_invalid_arguments_become_call_with_error(tmp_path, server):
    server.push(Reply.chat(tool_calls=[("forecast", '{"city": "Os')]))
    request = ChatRequest(messages=HELLO.messages, functions=(FORECAST,))
    (call,) = complete(test_model(tmp_path, server), request).function_calls
    assert call.name == "forecast"
    assert call.arguments == {}
    assert call.raw_arguments == '{"city": "Os'
    assert "not valid JSON" in call.error


def test_history_with_calls_and_results_mapped_to_wire(tmp_path, server):
    server.push(Reply.chat(text="It is sunny."))
    history = (
        Message("user", "Weather in Oslo?"),
        Message(
            "assistant", None, function_calls=(FunctionCall("forecast", {"city": "Oslo"}, id="c1"),)
        ),
        Message("tool", '{"sky": "sun"}', call_id="c1", name="forecast"),
    )
    complete(test_model(tmp_path, server), ChatRequest(messages=history, functions=(FORECAST,)))
    assert server.requests[0].body["messages"] == [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "forecast", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"sky": "sun"}'},
    ]


def test_usage_estimated_when_server_reports_none(tmp_path, server):
    server.push(Reply.chat(text="x" * 40, usage=None))
    response = complete(test_model(tmp_path, server), HELLO)
    assert response.usage.output_tokens == 10
    assert response.usage.input_tokens > 0


# -- retries ------------------------------------------------------------------


def test_429_with_retry_after_then_success(tmp_path, server):
    server.push(Reply.error(429, "slow down", {"Retry-After": "0.05"}), Reply.chat(text="done"))
    model = test_model(tmp_path, server)
    assert complete(model, HELLO).text == "done"
    assert len(server.requests) == 2
    assert model.stats.retries == 1
    assert model.stats.waits == [0.05]  # the server's wait, not the (tiny) backoff


def test_500_then_success_backs_off(tmp_path, server):
    server.push(Reply.error(500, "boom"), Reply.error(503, "busy"), Reply.chat(text="done"))
    model = test_model(tmp_path, server, backoff_s=0.01)
    assert complete(model, HELLO).text == "done"
    assert len(server.requests) == 3
    assert model.stats.retries == 2
    # Exponential with jitter: the n-th wait lies in [base*2^n / 2, base*2^n].
    assert 0.005 <= model.stats.waits[0] <= 0.01
    assert 0.01 <= model.stats.waits[1] <= 0.02
    assert server.requests[0].body == server.requests[2].body


def test_retries_exhausted_reports_attempts(tmp_path, server):
    server.push(*[Reply.error(502, "bad gateway")] * 3)
    model = test_model(tmp_path, server, max_retries=2)
    with pytest.raises(ModelError, match=r"server error .*HTTP 502.*bad gateway.*after 3 attempts"):
        complete(model, HELLO)
    assert len(server.requests) == 3


def test_retry_after_longer_than_allowed_fails_at_once(tmp_path, server):
    server.push(Reply.error(429, "quota", {"Retry-After": "3600"}))
    with pytest.raises(ModelError, match=r"asks to wait 3600 s, more than max_retry_wait_s = 60"):
        complete(test_model(tmp_path, server), HELLO)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(tmp_path, server, status):
    server.push(Reply.error(status, "nope"), Reply.chat(text="never reached"))
    with pytest.raises(ModelError, match=f"HTTP {status}"):
        complete(test_model(tmp_path, server), HELLO)
    assert len(server.requests) == 1


def test_401_names_the_key_variable(tmp_path, server, monkeypatch):
    monkeypatch.setenv("TEST_SERVER_KEY", "wrong")
    server.api_key = "right"
    model = test_model(tmp_path, server, api_key_env="TEST_SERVER_KEY")
    with pytest.raises(ModelError) as caught:
        complete(model, HELLO)
    message = str(caught.value)
    assert "refused the API key (HTTP 401)" in message
    assert "check the key in TEST_SERVER_KEY" in message
    assert "Incorrect API key provided" in message
    assert "\n" not in message


def test_404_names_model_and_url(tmp_path, server):
    server.push(Reply.error(404, "model 'nosuch' not found"))
    with pytest.raises(ModelError) as caught:
        complete(test_model(tmp_path, server, "nosuch"), HELLO)
    assert "model 'nosuch'" in str(caught.value)
    assert server.url in str(caught.value)


def test_body_not_json_is_quoted(tmp_path, server):
    server.push(Reply.raw("<html><body>Gateway says hello</body></html>"))
    with pytest.raises(ModelError, match=r"not JSON: '<html><body>Gateway says hello"):
        complete(test_model(tmp_path, server), HELLO)


def test_body_without_choices_is_quoted(tmp_path, server):
    server.push(Reply(body={"object": "chat.completion", "choices": []}))
    with pytest.raises(ModelError, match=r"no choices: \{\"object\": \"chat.completion\""):
        complete(test_model(tmp_path, server), HELLO)


def test_server_that_never_answers_times_out(tmp_path, server):
    server.push(Reply.hang(), Reply.hang())
    model = test_model(tmp_path, server, read_timeout_s=0.2, max_retries=1)
    with pytest.raises(
        ModelError, match=r"did not answer within read_timeout_s = 0.2 s \(after 2 attempts\)"
    ):
        complete(model, HELLO)
    assert len(server.requests) == 2


def test_refused_loopback_connection_fails_after_one_attempt(tmp_path):
    with socket.socket() as sock:  # bound but not listening: nothing can take the port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/v1"
        model = kernel_with(
            tmp_path, providers_toml("test", url, max_retries=3, backoff_s=0.001)
        ).model("test:m")
        with pytest.raises(ModelError, match=f"cannot reach {url} .*; is the server running\\?$"):
            complete(model, HELLO)
    assert (model.stats.requests, model.stats.retries) == (1, 0)


def test_invalid_provider_table_names_key_and_file(tmp_path):
    # The config is checked when it is loaded: the kernel does not start.
    with pytest.raises(
        ConfigError, match=r"config.toml: \[providers.test\] read_timeout_s must be a number > 0"
    ):
        kernel_with(
            tmp_path, '[providers.test]\nbase_url = "http://x/v1"\nread_timeout_s = "slow"\n'
        )


def test_unknown_provider_key_is_rejected(tmp_path):
    # The config is checked when it is loaded: the kernel does not start.
    with pytest.raises(
        ConfigError, match=r"unknown key \[providers.test\] retries \(did you mean max_retries\?\)"
    ):
        kernel_with(tmp_path, '[providers.test]\nbase_url = "http://x/v1"\nretries = 3\n')


def test_provider_without_base_url_is_rejected(tmp_path):
    kernel = kernel_with(tmp_path, "[providers.test]\nfunction_calling = false\n")
    with pytest.raises(ConfigError, match=r"\[providers.test\] in .* needs base_url"):
        kernel.model("test:m")


def test_one_client_serves_sequential_calls_in_one_loop(tmp_path, server):
    server.push(Reply.chat(text="a"), Reply.chat(text="b"))
    model = test_model(tmp_path, server)

    async def twice() -> list[str | None]:
        first = await model.complete(HELLO)
        second = await model.complete(HELLO)
        await model.aclose()
        return [first.text, second.text]

    assert asyncio.run(twice()) == ["a", "b"]
    assert json.loads(server.requests[1].raw)["model"] == "m"


def test_same_model_works_across_event_loops(tmp_path, server):
    # Blocking runs each start their own loop; the model must not reuse a dead loop's client.
    server.push(Reply.chat(text="first"), Reply.chat(text="second"))
    model = test_model(tmp_path, server)
    assert complete(model, HELLO).text == "first"
    assert complete(model, HELLO).text == "second"


def test_bad_openai_base_url_env_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk")
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8000")
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL must start with http:// or https://"):
        kernel_with(tmp_path, "").model("openai:gpt-4o-mini")


def test_function_calling_must_be_boolean(tmp_path):
    # The config is checked when it is loaded: the kernel does not start.
    with pytest.raises(
        ConfigError, match=r"\[providers.test\] function_calling must be true or false"
    ):
        kernel_with(
            tmp_path, '[providers.test]\nbase_url = "http://x/v1"\nfunction_calling = "no"\n'
        )


def test_provider_defaults_cover_exactly_the_configs_provider_keys():
    from autoplug.config import PROVIDER_KEYS
    from autoplug_builtins.models.settings import DEFAULTS

    assert set(DEFAULTS) == set(PROVIDER_KEYS)
