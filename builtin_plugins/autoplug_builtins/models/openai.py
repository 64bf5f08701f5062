"""The OpenAI-compatible chat model over httpx: function calls, streaming, retries, clear errors.

Works with the OpenAI API and any server speaking its ``/chat/completions``
format (Ollama, vLLM, llama.cpp server, LM Studio, gateways). Imported only
when such a model is first built, so httpx never loads at plugin import.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import replace
from typing import Any

import httpx

from autoplug import ChatRequest, ChatResponse, ModelError, Usage, safejson
from autoplug.llm import TextCallback
from autoplug.scripted import estimate_tokens

from .retry import (
    CallStats,
    Retryable,
    classify,
    is_loopback,
    retry_after_seconds,
    server_message,
    with_retries,
)
from .settings import ProviderSettings
from .textcalls import messages_for_text_calls, parse_text_call
from .wire import StreamAssembler, WireError, parse_completion, request_body, shorten

__all__ = ["CallStats", "OpenAICompatibleModel", "retry_after_seconds", "ssl_context"]

_SSL_CONTEXT: Any = None


def ssl_context() -> Any:
    """One TLS context for every client: building one costs milliseconds."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


class OpenAICompatibleModel:
    """A Model talking to one OpenAI-compatible server.

    ``stats`` counts attempts, retries and waits (for tests and benchmarks).
    """

    #: What a 404 suggests about the base URL.
    BASE_URL_HINT = "that the base URL ends with the API root (often /v1)"

    def __init__(self, settings: ProviderSettings, model_name: str) -> None:
        self.settings = settings
        self.model_name = model_name
        self.model_id = f"{settings.name}:{model_name}"
        self.url = f"{settings.base_url}/chat/completions"
        self.stats = CallStats()
        self._headers = {"User-Agent": "autoplug"}
        key = settings.api_key()
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        # An AsyncClient's connections belong to one event loop, and blocking runs
        # each start their own: one client per loop, forgotten with the loop.
        self._clients: weakref.WeakKeyDictionary[Any, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def _get_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            s = self.settings
            timeout = httpx.Timeout(s.read_timeout_s, connect=s.connect_timeout_s)
            verify = ssl_context() if self.url.startswith("https:") else True
            client = self._clients[loop] = httpx.AsyncClient(timeout=timeout, verify=verify)
        return client

    async def aclose(self) -> None:
        """Close the HTTP connections this model holds in the running event loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    async def complete(
        self, request: ChatRequest, *, on_text: TextCallback | None = None
    ) -> ChatResponse:
        """Send ``request``; retry what may pass on a second try; raise ModelError otherwise."""
        text_mode = bool(request.functions) and not self.settings.function_calling
        messages = (
            messages_for_text_calls(request.messages, request.functions) if text_mode else None
        )
        body = self._body(request, messages, tools=not text_mode)
        response, reported = await self._send(body, request.stream, on_text)
        if not reported:
            # Budgets need a count even from servers that report none.
            out = (response.text or "") + json.dumps([c.to_dict() for c in response.function_calls])
            usage = Usage(estimate_tokens(self._prompt_text(body)), estimate_tokens(out))
            response = replace(response, usage=usage)
        if text_mode and not response.function_calls:
            text, calls = parse_text_call(response.text or "", request.functions)
            finish = "tool_calls" if calls else response.finish_reason
            response = replace(response, text=text, function_calls=calls, finish_reason=finish)
        return response

    def _body(
        self, request: ChatRequest, messages: tuple[Any, ...] | None, *, tools: bool
    ) -> dict[str, Any]:
        """The JSON body on the wire; ``messages`` replaces the request's (text-call mode)."""
        return request_body(
            self.model_name,
            request,
            messages=messages,
            tools=tools,
            stream_usage=self.settings.stream_usage,
            model_id=self.model_id,
        )

    def _prompt_text(self, body: dict[str, Any]) -> str:
        """The parts of ``body`` that count as prompt, for a usage the server did not report."""
        return json.dumps(body["messages"]) + json.dumps(body.get("tools", []))

    async def _send(
        self, body: dict[str, Any], stream: bool, on_text: TextCallback | None
    ) -> tuple[ChatResponse, bool]:
        emitted = False

        def relay(piece: str) -> None:
            nonlocal emitted
            emitted = True
            if on_text is not None:
                on_text(piece)

        # Once text has reached the caller a retry would repeat it.
        return await with_retries(
            lambda: self._attempt(body, stream, relay),
            self.settings,
            self.stats,
            may_retry=lambda: not emitted,
        )

    def _error(self, what: str) -> ModelError:
        return ModelError(f"{self.model_id}: {what}")

    async def _attempt(
        self, body: dict[str, Any], stream: bool, relay: TextCallback
    ) -> tuple[ChatResponse, bool]:
        client = self._get_client()
        self.stats.requests += 1
        try:
            if not stream:
                reply = await client.post(self.url, json=body, headers=self._headers)
                self._check_status(reply.status_code, reply.headers, reply.text)
                return self._parse_json(reply.status_code, reply.text)
            headers = {**self._headers, "Accept": "text/event-stream"}
            async with client.stream("POST", self.url, json=body, headers=headers) as reply:
                if reply.status_code >= 300:
                    raw = (await reply.aread()).decode("utf-8", "replace")
                    self._check_status(reply.status_code, reply.headers, raw)
                if "text/event-stream" not in reply.headers.get("content-type", ""):
                    # The server ignored stream=true and sent one JSON reply.
                    raw = (await reply.aread()).decode("utf-8", "replace")
                    response, reported = self._parse_json(reply.status_code, raw)
                    if response.text:
                        relay(response.text)
                    return response, reported
                return await self._read_stream(reply, relay)
        except httpx.ConnectTimeout:
            raise Retryable(
                self._error(
                    f"cannot reach {self.settings.base_url}: no connection within "
                    f"connect_timeout_s = {self.settings.connect_timeout_s:g} s"
                )
            ) from None
        except httpx.TimeoutException:
            raise Retryable(
                self._error(
                    f"the server at {self.settings.base_url} did not answer within "
                    f"read_timeout_s = {self.settings.read_timeout_s:g} s"
                )
            ) from None
        except httpx.ConnectError as exc:
            reason = shorten(str(exc), 80) or type(exc).__name__
            error = self._error(
                f"cannot reach {self.settings.base_url} ({reason}); is the server running?"
            )
            if is_loopback(self.url):
                raise error from None  # nothing listens there: a retry cannot help
            raise Retryable(error) from None
        except httpx.TransportError as exc:
            reason = shorten(str(exc), 80) or type(exc).__name__
            raise Retryable(
                self._error(f"the connection to {self.settings.base_url} broke ({reason})")
            ) from None

    def _check_status(self, status: int, headers: Any, raw: str) -> None:
        if 200 <= status < 300:
            return
        message = server_message(raw)
        where = self.settings.base_url
        verdict = classify(status, headers, raw)
        if verdict.retry:
            raise Retryable(
                self._error(f"{verdict.label} at {where} (HTTP {status}): {message}"), verdict.wait
            )
        if verdict.label == "quota spent":
            raise self._error(
                f"the quota at {where} is spent (HTTP {status}); not retried: check the "
                f"account's plan and billing; it said: {message}"
            )
        if status >= 500:
            raise self._error(
                f"the server at {where} cannot serve this request (HTTP {status}); not retried, "
                f"as the same request would fail again; it said: {message}"
            )
        if status in (401, 403):
            env = self.settings.api_key_env
            if env and self.settings.api_key():
                hint = f"check the key in {env}"
            elif env:
                hint = f"set {env}"
            else:
                hint = f"set api_key_env in {self.settings.where} and that variable"
            raise self._error(
                f"the server at {where} refused the API key (HTTP {status}): {hint}; it said: {message}"
            )
        if status == 404:
            raise self._error(
                f"model {self.model_name!r} or the API was not found at {where} (HTTP 404); "
                f"check the model name and {self.BASE_URL_HINT}; it said: {message}"
            )
        raise self._error(f"the server at {where} rejected the request (HTTP {status}): {message}")

    def _parse_json(self, status: int, raw: str) -> tuple[ChatResponse, bool]:
        """A whole reply body: parsed as hostile JSON, then read by :meth:`_parse_reply`."""
        try:
            data = safejson.loads_envelope(raw)
        except ValueError:
            raise self._error(
                f"the server at {self.settings.base_url} answered HTTP {status} with a body "
                f"that is not JSON: {shorten(raw) or '(empty)'!r}"
            ) from None
        try:
            return self._parse_reply(data, raw)
        except WireError as exc:
            raise self._wire_error(exc) from None

    def _parse_reply(self, data: Any, raw: str) -> tuple[ChatResponse, bool]:
        """The wire's reply object as a response, and whether it reported usage."""
        return parse_completion(data, raw, self.model_id)

    def _wire_error(self, exc: WireError) -> Exception:
        """The error raised for a reply that breaks the wire format."""
        return self._error(f"the server at {self.settings.base_url}: {exc}")

    def _stream_assembler(self) -> Any:
        """A fresh assembler of one streamed reply (``feed``, ``response``)."""
        return StreamAssembler(model_id=self.model_id)

    def _stream_ended(self, payload: str, assembler: Any) -> bool:
        """Whether the stream is over, before or after ``payload`` was fed."""
        return payload.strip() == "[DONE]"

    def _stream_finished(self, assembler: Any) -> None:
        """Called when the stream closed; raise for a reply that was cut."""

    async def _read_stream(self, reply: Any, relay: TextCallback) -> tuple[ChatResponse, bool]:
        """Server-sent events: each event's data lines as one hostile-JSON chunk."""
        assembler = self._stream_assembler()
        data_lines: list[str] = []

        def dispatch() -> bool:
            """Feed one event; True at the end of the stream."""
            payload = "\n".join(data_lines)
            data_lines.clear()
            if self._stream_ended(payload, assembler):
                return True
            if not payload.strip():
                return False
            try:
                chunk = safejson.loads_envelope(payload)
            except ValueError:
                raise self._error(
                    f"the server at {self.settings.base_url} streamed a chunk that is not JSON: "
                    f"{shorten(payload)!r}"
                ) from None
            try:
                piece = assembler.feed(chunk, payload)
            except WireError as exc:
                raise self._wire_error(exc) from None
            if piece:
                relay(piece)
            return self._stream_ended("", assembler)

        async for line in reply.aiter_lines():
            if line == "":
                if data_lines and dispatch():
                    break
            elif line.startswith("data:"):
                data_lines.append(line[5:].removeprefix(" "))
        else:
            if data_lines:
                dispatch()
        self._stream_finished(assembler)
        return assembler.response()
