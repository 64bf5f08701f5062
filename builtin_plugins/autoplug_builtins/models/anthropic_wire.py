"""Anthropic's Messages API wire format: request bodies, replies, and streamed events.

Pure functions with no I/O, like :mod:`.wire` for chat completions; the HTTP
client in :mod:`.anthropic` uses them. The mapping:

- system messages become the separate ``system`` blocks; tool messages become
  ``tool_result`` blocks of a user message, consecutive ones (and a user message
  after them) joined into one user message, as the API requires;
- an assistant message's function calls become ``tool_use`` blocks; its thinking
  blocks (``thinking`` with their ``signature``, ``redacted_thinking``), kept in
  ``extra`` under the model's id, go back first and unchanged to that model and
  are dropped for another;
- ``cache_control`` marks the stable prefix (DESIGN *Prompt layout*): the last
  tool definition and the last system block, so the tool catalog the agents put
  in their system prompts is read from the cache on the next request;
- usage: Anthropic's ``input_tokens`` leaves out cache reads and writes; autoplug's
  counts all input (see :func:`.usage.usage_from`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from autoplug.llm import ChatRequest, ChatResponse, FunctionCall, Message, Usage, tag_extra

from .settings import ProviderSettings
from .usage import usage_from
from .wire import WireError, parse_arguments, shorten

#: The API version sent in ``anthropic-version``.
ANTHROPIC_VERSION = "2023-06-01"
#: The key in ``extra`` holding an assistant message's thinking blocks.
THINKING_KEY = "thinking_blocks"
CACHE = {"type": "ephemeral"}
#: Anthropic's stop reasons as the chat-completions finish reasons the agents know.
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "refusal",
}
#: Error types in a body or a stream that may pass on a later try.
RETRYABLE_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})

# tool_use ids must match ^[a-zA-Z0-9_-]+$; ids made by other providers may not.
_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class StreamError(WireError):
    """An ``error`` event in a stream; ``retryable`` when its type may pass later."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def wire_id(call_id: str | None, fallback: str) -> str:
    """A tool-use id the API accepts: the call's own, with other characters as ``_``."""
    return _ID_CHARS.sub("_", call_id) if call_id else fallback


def _text(text: str | None, placeholder: str) -> dict[str, Any]:
    # The API refuses empty text blocks.
    return {"type": "text", "text": text if text else placeholder}


def _assistant_blocks(message: Message, index: int, model_id: str) -> list[dict[str, Any]]:
    blocks = [dict(b) for b in message.extra_for(model_id).get(THINKING_KEY, ())]
    if message.content:
        blocks.append(_text(message.content, ""))
    for n, call in enumerate(message.function_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": wire_id(call.id, f"call_{index}_{n}"),
                "name": call.name,
                "input": call.arguments,
            }
        )
    return blocks or [_text(None, "(no reply)")]


def messages_to_wire(
    messages: tuple[Message, ...], model_id: str = ""
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(system blocks, messages)`` of the Messages API for autoplug ``messages``."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            if message.content:
                system.append(_text(message.content, ""))
            continue
        if message.role == "assistant":
            out.append(
                {"role": "assistant", "content": _assistant_blocks(message, index, model_id)}
            )
            continue
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": wire_id(message.call_id, "call_unknown"),
                "content": message.content or "(no output)",
            }
        else:
            block = _text(message.content, "(empty)")
        if out and out[-1]["role"] == "user":
            out[-1]["content"].append(block)  # one user turn answers all calls
        else:
            out.append({"role": "user", "content": [block]})
    return system, out


def request_body(
    model_name: str,
    request: ChatRequest,
    settings: ProviderSettings,
    *,
    messages: tuple[Message, ...] | None = None,
    tools: bool = True,
    model_id: str = "",
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages`` for ``request``.

    ``messages`` replaces the request's (text-call mode); ``tools=False`` offers
    no tools natively. With a ``thinking_budget``, thinking is enabled, no
    temperature is sent (the API refuses one), and a request's own ``max_tokens``
    is for the answer, the budget on top.
    """
    system, wire_messages = messages_to_wire(messages or request.messages, model_id)
    budget = settings.thinking_budget
    max_tokens = request.max_tokens or settings.max_tokens
    if budget and request.max_tokens:
        max_tokens = request.max_tokens + budget
    body: dict[str, Any] = {"model": model_name, "max_tokens": max_tokens}
    if system:
        system[-1]["cache_control"] = CACHE
        body["system"] = system
    body["messages"] = wire_messages
    if tools and request.functions:
        body["tools"] = [
            {"name": f.name, "description": f.description, "input_schema": f.parameters}
            for f in request.functions
        ]
        body["tools"][-1]["cache_control"] = CACHE
    if budget:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stream:
        body["stream"] = True
    return body


def error_text(data: Any) -> tuple[str, str]:
    """``(type, message)`` of an error object ``{"type": "error", "error": {...}}``."""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("type") or ""), str(error.get("message") or "")


def _response(
    blocks: list[dict[str, Any]],
    stop_reason: Any,
    usage: Usage | None,
    model: Any,
    model_id: str,
) -> tuple[ChatResponse, bool]:
    texts: list[str] = []
    calls: list[FunctionCall] = []
    thinking: list[dict[str, Any]] = []
    for n, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            name = str(block.get("name") or "")
            call_id = str(block.get("id") or f"call_{n}")
            calls.append(parse_arguments(name, block.get("input"), call_id))
        elif kind in ("thinking", "redacted_thinking"):
            thinking.append(block)
    text = "".join(texts) or None
    finish = FINISH.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else None
    refusal = (text or "the model refused to answer") if stop_reason == "refusal" else None
    response = ChatResponse(
        text=None if refusal else text,
        function_calls=tuple(calls),
        finish_reason=finish,
        usage=usage or Usage(),
        model=model if isinstance(model, str) else None,
        refusal=refusal,
        extra=tag_extra(model_id, {THINKING_KEY: thinking} if thinking else {}),
    )
    return response, usage is not None


def parse_message(data: Any, raw: str, model_id: str = "") -> tuple[ChatResponse, bool]:
    """A ChatResponse from a non-streamed reply; the flag says whether usage was reported.

    Raises :class:`StreamError` for an error body (retryable when overloaded) and
    :class:`WireError` quoting ``raw`` when there is no content list.
    """
    if isinstance(data, dict) and data.get("type") == "error":
        kind, message = error_text(data)
        raise StreamError(
            f"the server answered with an error: {kind}: {shorten(message)}",
            kind in RETRYABLE_ERRORS,
        )
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list):
        raise WireError(f"the reply has no content blocks: {shorten(raw)}")
    blocks = [b for b in content if isinstance(b, dict)]
    return _response(
        blocks, data.get("stop_reason"), usage_from(data.get("usage")), data.get("model"), model_id
    )


@dataclass
class _Block:
    data: dict[str, Any]
    pieces: list[str] = field(default_factory=list)  # text, thinking or input JSON


@dataclass
class StreamAssembler:
    """Builds one ChatResponse from the events of a streamed Messages reply.

    Blocks are kept by their ``index``; text, thinking and signature deltas are
    appended, ``input_json_delta`` pieces joined and parsed when the block stops
    (or at the end). Usage starts from ``message_start`` and is updated by each
    ``message_delta`` (whose counts are cumulative).
    """

    model_id: str = ""
    blocks: dict[int, _Block] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    model: str | None = None
    stopped: bool = False

    def feed(self, event: Any, raw: str) -> str:
        """Take one event (decoded JSON); return its text delta ('' when none)."""
        if not isinstance(event, dict):
            raise WireError(f"a streamed event is not a JSON object: {shorten(raw)}")
        kind = event.get("type")
        if kind == "error":
            error_type, message = error_text(event)
            raise StreamError(
                f"the server sent an error in the stream: {error_type}: {shorten(message)}",
                error_type in RETRYABLE_ERRORS,
            )
        if kind == "message_start":
            message = event.get("message") if isinstance(event.get("message"), dict) else {}
            self.model = message.get("model") or self.model
            self._add_usage(message.get("usage"))
        elif kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict):
                self.blocks[_index(event)] = _Block(dict(block))
        elif kind == "content_block_delta":
            return self._delta(_index(event), event.get("delta"))
        elif kind == "message_delta":
            delta = event.get("delta") if isinstance(event.get("delta"), dict) else {}
            self.stop_reason = delta.get("stop_reason") or self.stop_reason
            self._add_usage(event.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        return ""  # ping, content_block_stop and events added later carry no text

    def _add_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.usage.update({k: v for k, v in usage.items() if v is not None})

    def _delta(self, index: int, delta: Any) -> str:
        block = self.blocks.get(index)
        if block is None or not isinstance(delta, dict):
            return ""
        kind = delta.get("type")
        if kind == "text_delta":
            piece = str(delta.get("text") or "")
            block.pieces.append(piece)
            return piece
        if kind == "input_json_delta":
            block.pieces.append(str(delta.get("partial_json") or ""))
        elif kind == "thinking_delta":
            block.pieces.append(str(delta.get("thinking") or ""))
        elif kind == "signature_delta":
            block.data["signature"] = block.data.get("signature", "") + str(
                delta.get("signature") or ""
            )
        return ""

    def response(self) -> tuple[ChatResponse, bool]:
        """The assembled reply; the flag says whether usage was reported."""
        blocks = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            data = dict(block.data)
            joined = "".join(block.pieces)
            kind = data.get("type")
            if kind == "text":
                data["text"] = data.get("text", "") + joined
            elif kind == "thinking":
                data["thinking"] = data.get("thinking", "") + joined
            elif kind == "tool_use" and block.pieces:
                data["input"] = joined  # parsed (or its error kept) by parse_arguments
            blocks.append(data)
        return _response(
            blocks, self.stop_reason, usage_from(self.usage or None), self.model, self.model_id
        )


def _index(event: dict[str, Any]) -> int:
    index = event.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def body_json(body: dict[str, Any]) -> str:
    """The parts of a body that count as prompt, for estimating usage a server did not report."""
    return json.dumps([body.get("system"), body["messages"], body.get("tools")])
