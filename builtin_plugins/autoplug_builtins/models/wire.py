"""The OpenAI chat-completions wire format: request bodies, replies, and streamed chunks.

Pure functions with no I/O, so every mapping can be tested on its own; the
HTTP client in :mod:`.openai` uses them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from autoplug import safejson
from autoplug.llm import ChatRequest, ChatResponse, FunctionCall, Message, Usage, tag_extra

from .usage import usage_from

#: Fields of an assistant message that servers need echoed on the next request:
#: reasoning text (DeepSeek, Kimi, vLLM: ``reasoning_content``; vLLM, OpenRouter:
#: ``reasoning``, ``reasoning_details``) and Gemini's ``extra_content``.
MESSAGE_ECHO_FIELDS = ("reasoning_content", "reasoning", "reasoning_details", "extra_content")
#: Fields of one tool call to echo: Gemini's ``extra_content.google.thought_signature``.
CALL_ECHO_FIELDS = ("extra_content",)


class WireError(ValueError):
    """A reply that does not follow the wire format; the message quotes what came back."""


def shorten(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _echo(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the echoed provider ``fields`` it does not already have."""
    for key, value in fields.items():
        data.setdefault(key, value)
    return data


def message_to_wire(message: Message, index: int, model_id: str = "") -> dict[str, Any]:
    """One :class:`Message` as an OpenAI chat message.

    Function calls become ``tool_calls`` (a call without an id gets
    ``call_<index>_<n>``); a ``tool`` message answers its ``tool_call_id``. The
    message's and each call's ``extra`` fields made by ``model_id`` go back as
    they came; those of another model are dropped.
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
            _echo(
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
                },
                call.extra_for(model_id),
            )
            for n, call in enumerate(message.function_calls)
        ]
    elif data["content"] is None:
        data["content"] = ""
    if message.role == "assistant":
        _echo(data, message.extra_for(model_id))
    return data


def request_body(
    model_name: str,
    request: ChatRequest,
    *,
    messages: tuple[Message, ...] | None = None,
    tools: bool = True,
    stream_usage: bool = True,
    model_id: str = "",
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions`` for ``request``.

    ``messages`` replaces the request's (the text-call mode rewrites them);
    ``tools=False`` offers no functions natively; ``model_id`` is the model the
    body goes to (its own ``extra`` fields are echoed).
    """
    sent = messages or request.messages
    body: dict[str, Any] = {
        "model": model_name,
        "messages": [message_to_wire(m, i, model_id) for i, m in enumerate(sent)],
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


def content_text(content: Any) -> str | None:
    """Message content as text (a list of parts is joined, as some servers send it)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "".join(parts)
    return str(content)


def echo_fields(source: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``source`` named in ``names`` that hold something (not null or empty)."""
    if not isinstance(source, dict):
        return {}
    return {k: source[k] for k in names if source.get(k) not in (None, "", [], {})}


def parse_completion(data: Any, raw: str, model_id: str = "") -> tuple[ChatResponse, bool]:
    """A ChatResponse from a non-streamed reply; the flag says whether usage was reported.

    Fields to echo are kept in ``extra`` under ``model_id``. Raises
    :class:`WireError` quoting ``raw`` when there is no usable choice.
    """
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # Gemini's error bodies are a one-element array
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
        call = parse_arguments(str(function.get("name") or ""), function.get("arguments"), call_id)
        calls.append(replace(call, extra=tag_extra(model_id, echo_fields(item, CALL_ECHO_FIELDS))))
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
        refusal=content_text(message.get("refusal")) or None,
        extra=tag_extra(model_id, echo_fields(message, MESSAGE_ECHO_FIELDS)),
    )
    return response, usage is not None


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object when it is one, complete on its own; else None."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = safejson.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _merge(into: dict[str, Any], fields: dict[str, Any]) -> None:
    """Stream deltas of echoed fields: text is appended, lists extended, objects merged."""
    for key, value in fields.items():
        old = into.get(key)
        if isinstance(old, str) and isinstance(value, str):
            into[key] = old + value
        elif isinstance(old, list) and isinstance(value, list):
            into[key] = old + value
        elif isinstance(old, dict) and isinstance(value, dict):
            merged = dict(old)
            _merge(merged, value)
            into[key] = merged
        else:
            into[key] = value


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def is_new_call(
        self, fragment_id: str | None, name: str, arguments: Any, indexed: bool
    ) -> bool:
        """Whether a fragment at this call's place starts another call.

        A different id starts one when the fragment names a function (Ollama sends
        whole calls, each with its own id, all at index 0) or when the stream has
        no indexes at all; a whole JSON object of arguments after complete ones is
        another call unless it repeats them (servers that resend the whole call).
        """
        if fragment_id and self.id and fragment_id != self.id and (name or not indexed):
            return True
        if not self.arguments or not arguments:
            return False
        done = _json_object(self.arguments)
        if done is None:
            return False
        more = arguments if isinstance(arguments, dict) else _json_object(str(arguments))
        return more is not None and more != done

    def add(self, fragment_id: str | None, name: str, arguments: Any) -> None:
        """Join one fragment: a repeated or growing whole name is not a suffix."""
        self.id = fragment_id or self.id
        if name and name != self.name:
            # "final" then "final" is a repeat; "fin" then "final" a growing name;
            # only a different piece ("fin", "al") is appended.
            self.name = name if name.startswith(self.name) else self.name + name
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, ensure_ascii=False)
        if not isinstance(arguments, str) or not arguments:
            return
        done = _json_object(self.arguments) if self.arguments else None
        if done is not None and _json_object(arguments) == done:
            return  # the whole arguments again
        self.arguments += arguments


@dataclass
class StreamAssembler:
    """Builds one ChatResponse from the chunks of a streamed reply.

    Tool-call fragments are joined by their ``index`` (or, from servers that
    send none, by a change of ``id``), so arguments split anywhere come out
    exact; see :meth:`_PartialCall.is_new_call` and :meth:`_PartialCall.add` for
    the servers that resend names or put several whole calls at one index.
    Reasoning deltas and other fields to echo are kept in ``extra`` under
    ``model_id``.
    """

    model_id: str = ""
    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    echo: dict[str, Any] = field(default_factory=dict)
    calls: list[_PartialCall] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)
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
        groq = chunk.get("x_groq")  # Groq reports a stream's usage there
        usage = usage_from(chunk.get("usage")) or usage_from(
            groq.get("usage") if isinstance(groq, dict) else None
        )
        if usage is not None:
            self.usage = usage
        delta_text = ""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                continue
            piece = content_text(delta.get("content"))
            if piece:
                self.text.append(piece)
                delta_text += piece
            refusal = content_text(delta.get("refusal"))
            if refusal:
                self.refusal.append(refusal)
            _merge(self.echo, echo_fields(delta, MESSAGE_ECHO_FIELDS))
            for fragment in delta.get("tool_calls") or []:
                self._add_fragment(fragment)
        return delta_text

    def _add_fragment(self, fragment: Any) -> None:
        if not isinstance(fragment, dict):
            return
        index = fragment.get("index")
        indexed = isinstance(index, int) and not isinstance(index, bool)
        function = fragment.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name") if isinstance(function.get("name"), str) else ""
        arguments = function.get("arguments")
        fragment_id = fragment.get("id") if isinstance(fragment.get("id"), str) else None
        if indexed:
            position = self.slots.get(index)
        else:
            position = len(self.calls) - 1 if self.calls else None
        partial = self.calls[position] if position is not None else None
        if partial is None or partial.is_new_call(fragment_id, name, arguments, indexed):
            inherited = partial.name if partial is not None and not name else ""
            partial = _PartialCall(name=inherited)
            self.calls.append(partial)
            if indexed:
                self.slots[index] = len(self.calls) - 1
        partial.add(fragment_id, name, arguments)
        _merge(partial.extra, echo_fields(fragment, CALL_ECHO_FIELDS))

    def response(self) -> tuple[ChatResponse, bool]:
        """The assembled reply; the flag says whether usage was reported."""
        calls = tuple(
            replace(
                parse_arguments(p.name, p.arguments, p.id or f"call_{i}"),
                extra=tag_extra(self.model_id, p.extra),
            )
            for i, p in enumerate(self.calls)
        )
        text = "".join(self.text) if self.text else None
        response = ChatResponse(
            text=text,
            function_calls=calls,
            finish_reason=self.finish_reason,
            usage=self.usage or Usage(),
            model=self.model,
            refusal="".join(self.refusal) or None,
            extra=tag_extra(self.model_id, self.echo),
        )
        return response, self.usage is not None
