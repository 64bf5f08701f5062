"""A loopback server speaking Anthropic's Messages API (``POST /v1/messages``), for tests.

Built on :mod:`openai_server` (the same threaded server, recorded requests and
:class:`Reply` failures), it answers as the real API does in what matters to an
agent, from Anthropic's API reference:

- replies are content blocks (``text``, ``tool_use``, ``thinking`` with a
  ``signature``, ``redacted_thinking``) with a ``stop_reason`` and a ``usage``
  whose ``input_tokens`` leaves out ``cache_read_input_tokens`` and
  ``cache_creation_input_tokens``;
- streamed replies are ``event:``/``data:`` pairs: ``message_start``,
  ``content_block_start``, ``content_block_delta`` (``text_delta``,
  ``input_json_delta``, ``thinking_delta``, ``signature_delta``),
  ``content_block_stop``, ``message_delta`` with the usage, ``message_stop``,
  and ``ping`` between;
- errors are ``{"type": "error", "error": {"type": ..., "message": ...}}``,
  ``overloaded_error`` with HTTP 529 (:func:`overloaded`) or as a stream event
  (:func:`stream_overloaded`);
- the prompt cache is simulated: the prefix up to the last ``cache_control``
  (tools, then system, then messages) is written on first sight and read after;
- with ``check=True`` a request breaking the API's rules gets its 400: no
  ``max_tokens``, a ``tool_use`` not answered by a ``tool_result`` in the next
  message, or (thinking on) an assistant message with tools whose thinking
  block with its signature did not come back.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

from openai_server import OpenAIServer, Recorded, Reply, _Handler

Block = dict[str, Any]


def message(
    text: str | None = None,
    tool_uses: Iterable[tuple[str, dict[str, Any]]] = (),
    *,
    thinking: str | None = None,
    redacted: str | None = None,
    model: str = "claude-test",
) -> Reply:
    """A Messages reply: optional thinking first, then text, then each ``(name, input)`` call."""
    blocks: list[Block] = []
    if thinking is not None:
        blocks.append({"type": "thinking", "thinking": thinking, "signature": ""})
    if redacted is not None:
        blocks.append({"type": "redacted_thinking", "data": redacted})
    if text is not None:
        blocks.append({"type": "text", "text": text})
    for n, (name, args) in enumerate(tool_uses):
        blocks.append({"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": args})
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return Reply(completion={"blocks": blocks, "stop_reason": stop, "model": model})


def error(status: int, kind: str, text: str) -> Reply:
    """An Anthropic error body with ``status``."""
    return Reply(status=status, body={"type": "error", "error": {"type": kind, "message": text}})


def overloaded() -> Reply:
    """HTTP 529, as the API answers when it is overloaded."""
    return error(529, "overloaded_error", "Overloaded")


def stream_overloaded() -> Reply:
    """A stream that starts, then carries an ``overloaded_error`` event."""
    start = {"type": "message_start", "message": _message_head("claude-test", {})}
    event = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    return Reply.sse([("message_start", start), ("error", event)], done=False)


def tokens(data: Any) -> int:
    """A stand-in token count: a quarter of the JSON's characters."""
    return max(1, len(json.dumps(data)) // 4)


def _message_head(model: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "usage": {**usage, "output_tokens": 1},
    }


def message_events(completion: dict[str, Any], usage: dict[str, int], size: int) -> list[Any]:
    """The streamed events of a reply, every text and JSON cut every ``size`` characters."""
    events: list[Any] = [
        (
            "message_start",
            {"type": "message_start", "message": _message_head(completion["model"], usage)},
        ),
        ("ping", {"type": "ping"}),
    ]

    def delta(index: int, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return (
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": body},
        )

    for index, block in enumerate(completion["blocks"]):
        kind = block["type"]
        start = dict(block)
        if kind == "text":
            start["text"] = ""
        elif kind == "thinking":
            start.update(thinking="", signature="")
        elif kind == "tool_use":
            start["input"] = {}
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        if kind == "text":
            text = block["text"]
            events += [
                delta(index, {"type": "text_delta", "text": text[i : i + size]})
                for i in range(0, len(text), size)
            ]
        elif kind == "thinking":
            text = block["thinking"]
            events += [
                delta(index, {"type": "thinking_delta", "thinking": text[i : i + size]})
                for i in range(0, len(text), size)
            ]
            events.append(
                delta(index, {"type": "signature_delta", "signature": block["signature"]})
            )
        elif kind == "tool_use":
            args = json.dumps(block["input"])
            events += [
                delta(index, {"type": "input_json_delta", "partial_json": args[i : i + size]})
                for i in range(0, len(args), size)
            ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    final = {"output_tokens": usage["output_tokens"]}
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": completion["stop_reason"], "stop_sequence": None},
                "usage": final,
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def cached_prefix(body: dict[str, Any]) -> list[Any] | None:
    """The request's prefix up to its last ``cache_control`` mark (None when unmarked)."""
    parts: list[Any] = []
    marked: list[Any] | None = None
    for item in body.get("tools") or []:
        parts.append(item)
        if "cache_control" in item:
            marked = list(parts)
    for block in body.get("system") or []:
        parts.append(block)
        if "cache_control" in block:
            marked = list(parts)
    for msg in body.get("messages") or []:
        for block in msg.get("content") if isinstance(msg.get("content"), list) else []:
            parts.append(block)
            if "cache_control" in block:
                marked = list(parts)
    return marked


def rule_errors(body: dict[str, Any], issued: dict[str, str]) -> str | None:
    """The API's 400 message for a request that breaks its rules, or None."""
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages") or []
    for i, msg in enumerate(messages):
        if msg.get("role") != "assistant":
            continue
        blocks = msg.get("content") or []
        uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        following = messages[i + 1]["content"] if i + 1 < len(messages) else []
        answered = {b.get("tool_use_id") for b in following if b.get("type") == "tool_result"}
        missing = [u for u in uses if u not in answered]
        if missing:
            return (
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        if body.get("thinking") and uses:
            first = blocks[0]
            if first.get("type") != "thinking" or issued.get(first.get("signature")) != first.get(
                "thinking"
            ):
                return (
                    f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, "
                    f"but found `{first.get('type')}`. When `thinking` is enabled, a final "
                    "`assistant` message must start with a thinking block."
                )
    return None


class AnthropicServer(OpenAIServer):
    """An :class:`OpenAIServer` answering ``POST /v1/messages`` as Anthropic's API does.

    ``api_key``, when set, is checked in ``x-api-key`` (401 ``authentication_error``);
    ``check`` enforces the rules of :func:`rule_errors`. Each thinking block is
    signed ``SIG<n>``; ``issued`` maps the signatures to their thinking text;
    ``usages`` lists the usage of every reply served.
    """

    def __init__(
        self,
        replies: Iterable[Reply] | Callable[[Recorded], Reply] = (),
        *,
        api_key: str | None = None,
        check: bool = True,
        chunk_chars: int = 4,
    ) -> None:
        super().__init__(replies)
        self.anthropic_key = api_key
        self.check = check
        self.chunk_chars = chunk_chars
        self.issued: dict[str, str] = {}
        self.cache: set[str] = set()
        self.usages: list[dict[str, int]] = []
        self._signatures = itertools.count(1)

    @property
    def url(self) -> str:
        """The base URL to configure, without ``/v1`` (as ANTHROPIC_BASE_URL takes it)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AnthropicServer:
        """Listen on a free port in a background thread."""
        import threading
        from http.server import ThreadingHTTPServer

        server = self

        class Handler(_MessagesHandler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def answer(self, recorded: Recorded) -> Reply:
        """The reply to one request, after the key and rule checks."""
        body = recorded.body if isinstance(recorded.body, dict) else {}
        if (
            self.anthropic_key is not None
            and recorded.headers.get("x-api-key") != self.anthropic_key
        ):
            with self._lock:
                self.requests.append(recorded)
            return error(401, "authentication_error", "invalid x-api-key")
        if self.check:
            problem = rule_errors(body, self.issued)
            if problem is not None:
                with self._lock:
                    self.requests.append(recorded)
                return error(400, "invalid_request_error", problem)
        return self._next_reply(recorded)

    def finish(
        self, body: dict[str, Any], completion: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """Sign the reply's thinking and count its usage through the simulated cache."""
        blocks = []
        for block in completion["blocks"]:
            block = dict(block)
            if block["type"] == "thinking":
                with self._lock:
                    signature = f"SIG{next(self._signatures)}"
                    self.issued[signature] = block["thinking"]
                block["signature"] = signature
            blocks.append(block)
        completion = {**completion, "blocks": blocks}
        prompt = tokens([body.get("tools"), body.get("system"), body.get("messages")])
        prefix = cached_prefix(body)
        read = written = 0
        if prefix is not None:
            key = json.dumps(prefix, sort_keys=True)
            with self._lock:
                seen = key in self.cache
                self.cache.add(key)
            size = min(tokens(prefix), prompt)
            read, written = (size, 0) if seen else (0, size)
        usage = {
            "input_tokens": prompt - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "output_tokens": tokens(blocks),
        }
        with self._lock:
            self.usages.append(usage)
        return completion, usage


class _MessagesHandler(_Handler):
    owner: AnthropicServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = Recorded("POST", self.path, headers, raw, body)
        if self.path != "/v1/messages":
            self.owner.requests.append(recorded)
            self._send(error(404, "not_found_error", f"no route {self.path}"))
            return
        reply = self.owner.answer(recorded)
        if reply.hang_s is not None:
            self.owner._stop.wait(reply.hang_s)
            self.close_connection = True
            return
        if reply.completion is not None:
            completion, usage = self.owner.finish(body, reply.completion)
            if body.get("stream") is True:
                reply = Reply.sse(
                    message_events(completion, usage, self.owner.chunk_chars), done=False
                )
            else:
                reply = Reply(
                    body={
                        **_message_head(completion["model"], {}),
                        "content": completion["blocks"],
                        "stop_reason": completion["stop_reason"],
                        "usage": usage,
                    }
                )
        self._send(reply)
