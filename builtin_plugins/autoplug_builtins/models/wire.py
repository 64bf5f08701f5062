"""The OpenAI chat-completions wire format: request bodies, replies, and streamed chunks.

Pure functions with no I/O, so every mapping can be tested on its own; the
HTTP client in :mod:`.openai` uses them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from autoplug import safejson
from autoplug.llm import ChatRequest, ChatResponse, FunctionCall, Message, Usage


class WireError(ValueError):
    """A reply that does not follow the wire format; the message quotes what came back."""


def shorten(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def message_to_wire(message: Message, index: int) -> dict[str, Any]:
    """One :class:`Message` as an OpenAI chat message.

    Function calls become ``tool_calls`` (a call without an id gets
    ``call_<index>_<n>``); a ``tool`` message answers its ``tool_call_id``.
    """
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.call_id or "",
            "content": message.content or "",
        }
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name and message.role in ("system", "user"):
        data["name"] = message.name
    if message.role == "assistant" and message.function_calls:
        data["tool_calls"] = [
            {
                "id": call.id or f"call_{index}_{n}",
                "type": "function",
                "function": {
                    "name": call.name,
                    # A call whose arguments did not parse is sent back as the model wrote it.
                    "arguments": call.raw_arguments
                    if call.error and call.raw_arguments is not None
                    else json.dumps(call.arguments, ensure_ascii=False),
                },
            }
            for n, call in enumerate(message.function_calls)
        ]
    elif data["content"] is None:
        data["content"] = ""
    return data


def request_body(
    model_name: str,
    request: ChatRequest,
    *,
    messages: tuple[Message, ...] | None = None,
    tools: bool = True,
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions`` for ``request``.

    ``messages`` replaces the request's (the text-call mode rewrites them);
    ``tools=False`` offers no functions natively.
    """
    body: dict[str, Any] = {
        "model": model_name,
        "messages": [message_to_wire(m, i) for i, m in enumerate(messages or request.messages)],
    }
    if tools and request.functions:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": f.name,
                    "description": f.description,
                    "parameters": f.parameters,
                },
            }
            for f in request.functions
        ]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def parse_arguments(name: str, raw: Any, call_id: str | None) -> FunctionCall:
    """A FunctionCall from the argument text; bad JSON sets ``error`` and keeps the text."""
    if isinstance(raw, dict):  # some servers send the object itself
        if problem := safejson.value_problem(raw):
            error = f"arguments of {name!r} are not usable JSON: {problem}"
            return FunctionCall(name, {}, id=call_id, raw_arguments="{}", error=error)
        return FunctionCall(name, raw, id=call_id)
    text = raw if isinstance(raw, str) else ""
    if not text.strip():
        return FunctionCall(name, {}, id=call_id)
    try:
        value = safejson.loads(text)
    except json.JSONDecodeError as exc:
        error = f"arguments of {name!r} are not valid JSON: {exc.msg} at character {exc.pos + 1}"
        return FunctionCall(name, {}, id=call_id, raw_arguments=text, error=error)
    if not isinstance(value, dict):
        error = f"arguments of {name!r} must be a JSON object, not {type(value).__name__}"
        return FunctionCall(name, {}, id=call_id, raw_arguments=text, error=error)
    return FunctionCall(name, value, id=call_id)


def usage_from(data: Any) -> Usage | None:
    """``prompt_tokens`` and ``completion_tokens`` of a ``usage`` object, or None."""
    if not isinstance(data, dict):
        return None
    try:
        return Usage(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        return None


def content_text(content: Any) -> str | None:
    """Message content as text (a list of parts is joined, as some servers send it)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "".join(parts)
    return str(content)


def parse_completion(data: Any, raw: str) -> tuple[ChatResponse, bool]:
    """A ChatResponse from a non-streamed reply; the flag says whether usage was reported.

    Raises :class:`WireError` quoting ``raw`` when there is no usable choice.
    """
    if isinstance(data, dict) and isinstance(data.get("error"), dict | str):
        raise WireError(f"the server answered with an error: {shorten(raw)}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise WireError(f"the reply has no choices: {shorten(raw)}")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise WireError(f"the reply's first choice has no message: {shorten(raw)}")
    calls = []
    for n, item in enumerate(message.get("tool_calls") or []):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict):
            raise WireError(f"a tool call without a function: {shorten(raw)}")
        call_id = item.get("id") or f"call_{n}"
        calls.append(
            parse_arguments(str(function.get("name") or ""), function.get("arguments"), call_id)
        )
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, dict):
        calls.append(
            parse_arguments(str(legacy.get("name") or ""), legacy.get("arguments"), "call_0")
        )
    usage = usage_from(data.get("usage"))
    response = ChatResponse(
        text=content_text(message.get("content")),
        function_calls=tuple(calls),
        finish_reason=choices[0].get("finish_reason"),
        usage=usage or Usage(),
        model=data.get("model"),
    )
    return response, usage is not None


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: str = ""


@dataclass
class StreamAssembler:
    """Builds one ChatResponse from the chunks of a streamed reply.

    Tool-call fragments are joined by their ``index`` (or, from servers that
    send none, by a change of ``id``), so arguments split anywhere come out exact.
    """

    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None

    def feed(self, chunk: Any, raw: str) -> str:
        """Take one chunk (decoded JSON); return its text delta ('' when none)."""
        if not isinstance(chunk, dict):
            raise WireError(f"a streamed chunk is not a JSON object: {shorten(raw)}")
        if chunk.get("error") is not None:
            raise WireError(f"the server sent an error in the stream: {shorten(raw)}")
        self.model = chunk.get("model") or self.model
        usage = usage_from(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        delta_text = ""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            delta = choice.get("delta") or {}
            piece = content_text(delta.get("content"))
            if piece:
                self.text.append(piece)
                delta_text += piece
            for fragment in delta.get("tool_calls") or []:
                self._add_fragment(fragment)
        return delta_text

    def _add_fragment(self, fragment: Any) -> None:
        if not isinstance(fragment, dict):
            return
        index = fragment.get("index")
        if not isinstance(index, int):
            last = max(self.calls) if self.calls else -1
            same = last >= 0 and fragment.get("id") in (None, self.calls[last].id)
            index = last if same else last + 1
        partial = self.calls.setdefault(index, _PartialCall())
        partial.id = fragment.get("id") or partial.id
        function = fragment.get("function") or {}
        partial.name += function.get("name") or ""
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            partial.arguments += json.dumps(arguments)
        elif arguments:
            partial.arguments += arguments

    def response(self) -> tuple[ChatResponse, bool]:
        """The assembled reply; the flag says whether usage was reported."""
        calls = tuple(
            parse_arguments(p.name, p.arguments, p.id or f"call_{i}")
            for i, p in sorted(self.calls.items())
        )
        text = "".join(self.text) if self.text else None
        response = ChatResponse(
            text=text,
            function_calls=calls,
            finish_reason=self.finish_reason,
            usage=self.usage or Usage(),
            model=self.model,
        )
        return response, self.usage is not None
