"""The scripted model: replies taken from a list or a function, every request recorded.

It stands in for the LLM's choices in tests and benchmarks::

    model = ScriptedModel([
        call("act", subtask="read the notes", assets=[]),
        call("submit_plan", steps=[...]),
        call("final", answer="Jupiter"),
    ])

A reply is a :class:`ChatResponse`, a ``str`` (text), a :class:`FunctionCall`
(see :func:`call`), a list of FunctionCalls, or an exception (raised).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ModelError
from .llm import ChatRequest, ChatResponse, FunctionCall, TextCallback, Usage


def call(name: str, **arguments: Any) -> FunctionCall:
    """A function call reply: ``call("final", answer="42")``."""
    return FunctionCall(name=name, arguments=arguments)


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token) for models that report none."""
    return max(1, len(text) // 4)


def as_response(reply: Any, model_id: str, request: ChatRequest) -> ChatResponse:
    """Turn one scripted reply into a ChatResponse (raising it if it is an exception)."""
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, ChatResponse):
        return reply
    prompt = json.dumps(request.to_dict()["messages"]) + json.dumps(request.to_dict()["functions"])
    if isinstance(reply, str):
        calls: tuple[FunctionCall, ...] = ()
        text: str | None = reply
    elif isinstance(reply, FunctionCall):
        calls, text = (reply,), None
    elif isinstance(reply, Sequence) and all(isinstance(r, FunctionCall) for r in reply):
        calls, text = tuple(reply), None
    else:
        raise TypeError(
            f"scripted reply {reply!r} is not a str, FunctionCall, ChatResponse or exception"
        )
    calls = tuple(
        c
        if c.id
        else FunctionCall(
            c.name, c.arguments, id=f"call_{i}", raw_arguments=c.raw_arguments, error=c.error
        )
        for i, c in enumerate(calls)
    )
    out = (text or "") + json.dumps([c.to_dict() for c in calls])
    return ChatResponse(
        text=text,
        function_calls=calls,
        finish_reason="tool_calls" if calls else "stop",
        usage=Usage(estimate_tokens(prompt), estimate_tokens(out)),
        model=model_id,
    )


class ScriptedModel:
    """A Model whose replies come from ``replies`` (a list, in order, or ``f(request)``).

    ``requests`` holds every request received, so a test can assert what was sent.
    """

    def __init__(
        self,
        replies: Sequence[Any] | Callable[[ChatRequest], Any],
        model_id: str = "scripted:test",
    ) -> None:
        self.model_id = model_id
        self._replies = replies if callable(replies) else list(replies)
        self._next = 0
        self.requests: list[ChatRequest] = []

    async def complete(
        self, request: ChatRequest, *, on_text: TextCallback | None = None
    ) -> ChatResponse:
        """The next scripted reply; ModelError when the script has run out."""
        self.requests.append(request)
        if callable(self._replies):
            reply = self._replies(request)
        else:
            if self._next >= len(self._replies):
                raise ModelError(
                    f"scripted model {self.model_id!r} has no reply left for request "
                    f"#{len(self.requests)} (it holds {len(self._replies)})"
                )
            reply = self._replies[self._next]
            self._next += 1
        response = as_response(reply, self.model_id, request)
        if on_text is not None and request.stream and response.text:
            on_text(response.text)
        return response
