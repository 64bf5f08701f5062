"""Loopback servers that behave like particular providers, built on :mod:`openai_server`.

Each one answers like the real server does in the way that matters to a
multi-turn agent, from the wire samples in issue 12 and the providers' docs:

- :func:`deepseek_like`: streams ``reasoning_content`` deltas and answers a next
  request whose assistant message lacks its reasoning with HTTP 400
  "Missing `reasoning_content` field in the assistant message at message index N"
  (DeepSeek's thinking mode; vLLM's reasoning parsers and Kimi behave alike);
- :func:`gemini_like`: puts ``extra_content.google.thought_signature`` on each tool
  call and answers a next request without it with HTTP 400 and a JSON-array
  error body ``[{"error": {...}}]`` (Gemini 3's OpenAI endpoint);
- :func:`kimi_openrouter_chunks`: the name sent again with each chunk of a call;
- :func:`ollama_chunks`: several whole calls, each with its own id, all at index 0.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

from openai_server import Recorded, Reply

GEMINI_MISSING = (
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance."
)


def _assistant_messages(recorded: Recorded) -> list[tuple[int, dict[str, Any]]]:
    messages = (recorded.body or {}).get("messages") or []
    return [(i, m) for i, m in enumerate(messages) if m.get("role") == "assistant"]


def deepseek_like(turns: Iterable[Reply]) -> Callable[[Recorded], Reply]:
    """Answer with ``turns`` in order, each given a ``reasoning_content``; check it comes back.

    The n-th reply reasons ``"Okay, turn n."``; a request whose assistant message
    with tool calls does not carry the reasoning given for it gets DeepSeek's 400.
    ``issued`` (an attribute of the returned function) lists the reasoning texts.
    """
    queue = list(turns)
    issued: list[str] = []

    def answer(recorded: Recorded) -> Reply:
        for index, message in _assistant_messages(recorded):
            if message.get("tool_calls") and message.get("reasoning_content") not in issued:
                return Reply.error(
                    400,
                    "Missing `reasoning_content` field in the assistant message at message "
                    f"index {index}. For more information, please refer to "
                    "https://api-docs.deepseek.com/guides/thinking_mode#tool-calls",
                    code="invalid_request_error",
                )
        if not queue:
            return Reply.error(500, "deepseek-like server: no reply scripted")
        reply = queue.pop(0)
        assert reply.completion is not None, "deepseek_like takes Reply.chat replies"
        reasoning = f"Okay, turn {len(issued) + 1}."
        issued.append(reasoning)
        reply.completion["message_extra"] = {"reasoning_content": reasoning}
        return reply

    answer.issued = issued  # type: ignore[attr-defined]
    return answer


def gemini_like(turns: Iterable[Reply]) -> Callable[[Recorded], Reply]:
    """Answer with ``turns``, signing each tool call; refuse a history without the signatures."""
    queue = list(turns)
    issued: list[str] = []
    counter = itertools.count(1)

    def answer(recorded: Recorded) -> Reply:
        for _, message in _assistant_messages(recorded):
            for call in message.get("tool_calls") or []:
                google = (call.get("extra_content") or {}).get("google") or {}
                if google.get("thought_signature") not in issued:
                    body = [
                        {
                            "error": {
                                "code": 400,
                                "message": GEMINI_MISSING,
                                "status": "INVALID_ARGUMENT",
                            }
                        }
                    ]
                    return Reply(status=400, body=body)
        if not queue:
            return Reply.error(500, "gemini-like server: no reply scripted")
        reply = queue.pop(0)
        assert reply.completion is not None, "gemini_like takes Reply.chat replies"
        for call in reply.completion["calls"]:
            signature = f"SIG{next(counter)}"
            issued.append(signature)
            call["extra"] = {"extra_content": {"google": {"thought_signature": signature}}}
        return reply

    answer.issued = issued  # type: ignore[attr-defined]
    return answer


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "gen-1",
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def kimi_openrouter_chunks(name: str, arguments: dict[str, Any], size: int = 4) -> list[Any]:
    """One call streamed as kimi-k2 via OpenRouter does: the whole name in every chunk."""
    text = json.dumps(arguments)
    chunks = [_chunk({"role": "assistant", "content": ""})]
    head = {"index": 0, "id": "0", "type": "function", "function": {"name": name, "arguments": ""}}
    chunks.append(_chunk({"tool_calls": [head]}))
    for i in range(0, len(text), size):
        piece = {
            "index": 0,
            "id": "0",
            "type": "function",
            "function": {"name": name, "arguments": text[i : i + size]},
        }
        chunks.append(_chunk({"tool_calls": [piece]}))
    chunks.append(_chunk({}, "tool_calls"))
    return chunks


def ollama_chunks(calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Whole calls ``(id, name, arguments)``, one chunk each, every one at index 0, as Ollama sends."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    for call_id, name, arguments in calls:
        whole = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        chunks.append(_chunk({"tool_calls": [whole]}))
    chunks.append(_chunk({}, "tool_calls"))
    return chunks
