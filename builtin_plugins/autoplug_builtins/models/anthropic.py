"""Anthropic's Messages API over httpx: tool use, streaming, thinking, prompt caching.

One request per model call to ``BASE/v1/messages`` (``x-api-key``,
``anthropic-version``). The HTTP machinery (one client per event loop, timeouts,
the retry loop, the HTTP status verdicts: 429 and 5xx, Anthropic's 529
"overloaded" among them, are retried) is the OpenAI-compatible client's; this
class changes what goes on the wire (:mod:`.anthropic_wire`) and how replies and
streamed events are read. Imported only when such a model is first built.
"""

from __future__ import annotations

from typing import Any

from autoplug import ChatRequest, ChatResponse

from .anthropic_wire import (
    ANTHROPIC_VERSION,
    StreamAssembler,
    StreamError,
    body_json,
    parse_message,
    request_body,
)
from .openai import OpenAICompatibleModel
from .retry import Retryable
from .settings import ProviderSettings
from .wire import WireError

__all__ = ["AnthropicModel"]


class AnthropicModel(OpenAICompatibleModel):
    """A Model talking to Anthropic's Messages API (or a server speaking it).

    ``settings.max_tokens`` is sent when a request sets no limit (the API needs
    one); ``settings.thinking_budget`` turns extended thinking on.
    """

    BASE_URL_HINT = "that the base URL is the API root without /v1 (e.g. https://api.anthropic.com)"

    def __init__(self, settings: ProviderSettings, model_name: str) -> None:
        super().__init__(settings, model_name)
        self.url = f"{settings.base_url}/v1/messages"
        self._headers = {"User-Agent": "autoplug", "anthropic-version": ANTHROPIC_VERSION}
        key = settings.api_key()
        if key:
            self._headers["x-api-key"] = key

    def _body(
        self, request: ChatRequest, messages: tuple[Any, ...] | None, *, tools: bool
    ) -> dict[str, Any]:
        return request_body(
            self.model_name,
            request,
            self.settings,
            messages=messages,
            tools=tools,
            model_id=self.model_id,
        )

    def _prompt_text(self, body: dict[str, Any]) -> str:
        return body_json(body)

    def _wire_error(self, exc: WireError) -> Exception:
        error = super()._wire_error(exc)
        if isinstance(exc, StreamError) and exc.retryable:
            return Retryable(error)
        return error

    def _parse_reply(self, data: Any, raw: str) -> tuple[ChatResponse, bool]:
        return parse_message(data, raw, self.model_id)

    def _stream_assembler(self) -> Any:
        return StreamAssembler(model_id=self.model_id)

    def _stream_ended(self, payload: str, assembler: Any) -> bool:
        # The event name is repeated as the data's "type", which is what is read;
        # message_stop ends the stream.
        return bool(assembler.stopped)

    def _stream_finished(self, assembler: Any) -> None:
        if not assembler.stopped:
            # The API always ends with message_stop: without it the reply is cut
            # (a tool call's JSON half sent), so it is tried again, unless text
            # already reached the caller.
            raise Retryable(
                self._error(f"the stream from {self.settings.base_url} ended before message_stop")
            )
