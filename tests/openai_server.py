"""A loopback server speaking the OpenAI chat-completions wire format, for tests.

Start it on a free port, script its replies, point a model at ``server.url``,
then assert on what the client sent (``server.requests``)::

    with OpenAIServer([Reply.chat(text="hi"), Reply.chat(tool_calls=[("final", {"answer": "42"})])]) as server:
        config: [providers.test] base_url = server.url
        ...
        assert server.requests[0].body["model"] == "m"

A reply is a :class:`Reply` (or the replies are a function of the
:class:`Recorded` request). ``Reply.chat`` answers as JSON, or as SSE chunks
when the request asked for ``stream``; ``Reply.error``, ``Reply.raw``,
``Reply.sse`` and ``Reply.hang`` script failures. With no reply left the
server answers 500.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    """One request as the server received it: headers lower-cased, body parsed when JSON."""

    method: str
    path: str
    headers: dict[str, str]
    raw: str
    body: Any


@dataclass
class Reply:
    """One scripted answer. Build it with the class methods."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    chunks: list[Any] | None = None
    done: bool = True
    hang_s: float | None = None
    completion: dict[str, Any] | None = None
    chunk_chars: int = 3

    @classmethod
    def chat(
        cls,
        text: str | None = None,
        tool_calls: Iterable[Any] = (),
        *,
        usage: tuple[int, int] | None = (11, 7),
        finish_reason: str | None = None,
        model: str = "test-model",
        chunk_chars: int = 3,
        message_extra: dict[str, Any] | None = None,
        usage_extra: dict[str, Any] | None = None,
    ) -> Reply:
        """A chat completion: JSON, or SSE split every ``chunk_chars`` characters when streamed.

        ``tool_calls`` items are ``(name, arguments)`` or ``{"name", "arguments", "id",
        "extra"}``; arguments are a dict (sent as JSON text) or a str (sent as it is,
        even if invalid); ``extra`` fields go on the call object (streamed: on its
        first fragment). ``message_extra`` fields go on the message (streamed: text
        values cut into deltas like the content, others sent whole in one delta);
        ``usage_extra`` is merged into the usage object.
        """
        calls = []
        for n, item in enumerate(tool_calls):
            extra: dict[str, Any] = {}
            if isinstance(item, dict):
                name, args, call_id = item["name"], item.get("arguments", {}), item.get("id")
                extra = item.get("extra") or {}
            else:
                (name, args), call_id = item, None
            text_args = args if isinstance(args, str) else json.dumps(args)
            calls.append(
                {"id": call_id or f"call_{n}", "name": name, "arguments": text_args, "extra": extra}
            )
        completion = {
            "text": text,
            "calls": calls,
            "usage": usage,
            "usage_extra": usage_extra or {},
            "finish_reason": finish_reason or ("tool_calls" if calls else "stop"),
            "model": model,
            "message_extra": message_extra or {},
        }
        return cls(completion=completion, chunk_chars=chunk_chars)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        headers: dict[str, str] | None = None,
        *,
        code: str | None = None,
    ) -> Reply:
        """An OpenAI-style error body ``{"error": {"message", "type", "code"}}`` with ``status``."""
        return cls(
            status=status,
            body={"error": {"message": message, "type": code or "test", "code": code}},
            headers=headers or {},
        )

    @classmethod
    def raw(cls, text: str, status: int = 200, content_type: str = "text/html") -> Reply:
        """A body sent exactly as given."""
        return cls(status=status, body=text, content_type=content_type)

    @classmethod
    def sse(cls, chunks: list[Any], *, done: bool = True) -> Reply:
        """SSE events exactly as given: dicts are sent as JSON, strings as they are."""
        return cls(chunks=chunks, done=done, content_type="text/event-stream")

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Reply:
        """Never answer (until ``seconds`` pass or the server stops), then close."""
        return cls(hang_s=seconds)


def completion_json(completion: dict[str, Any]) -> dict[str, Any]:
    """The non-streamed body of a :meth:`Reply.chat` completion."""
    message: dict[str, Any] = {"role": "assistant", "content": completion["text"]}
    message.update(completion.get("message_extra") or {})
    if completion["calls"]:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
                **(c.get("extra") or {}),
            }
            for c in completion["calls"]
        ]
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": completion["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": completion["finish_reason"]}],
    }
    if completion["usage"] is not None:
        prompt, out = completion["usage"]
        body["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": out,
            "total_tokens": prompt + out,
            **(completion.get("usage_extra") or {}),
        }
    return body


def completion_chunks(
    completion: dict[str, Any], size: int, include_usage: bool
) -> list[dict[str, Any]]:
    """The streamed chunks of a completion: text and each call's arguments cut every ``size`` characters."""
    model = completion["model"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [choice],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    for key, value in (completion.get("message_extra") or {}).items():
        if isinstance(value, str):
            chunks += [chunk({key: value[i : i + size]}) for i in range(0, len(value), size)]
        else:
            chunks.append(chunk({key: value}))
    text = completion["text"] or ""
    chunks += [chunk({"content": text[i : i + size]}) for i in range(0, len(text), size)]
    for index, call in enumerate(completion["calls"]):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
            **(call.get("extra") or {}),
        }
        chunks.append(chunk({"tool_calls": [head]}))
        args = call["arguments"]
        for i in range(0, len(args), size):
            piece = {"index": index, "function": {"arguments": args[i : i + size]}}
            chunks.append(chunk({"tool_calls": [piece]}))
    chunks.append(chunk({}, completion["finish_reason"]))
    if include_usage and completion["usage"] is not None:
        prompt, out = completion["usage"]
        usage = {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}
        usage.update(completion.get("usage_extra") or {})
        chunks.append(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    return chunks


class OpenAIServer:
    """A threaded HTTP server on 127.0.0.1 answering ``POST .../chat/completions``.

    :param replies: a list of :class:`Reply` used in order, or a function
        ``f(recorded) -> Reply``.
    :param api_key: when set, a request without ``Authorization: Bearer <api_key>`` gets 401.
    """

    def __init__(
        self,
        replies: Iterable[Reply] | Callable[[Recorded], Reply] = (),
        *,
        api_key: str | None = None,
    ) -> None:
        self._function = replies if callable(replies) else None
        self._queue: deque[Reply] = deque() if callable(replies) else deque(replies)
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._httpd is not None, "start the server first"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base URL to configure (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *replies: Reply) -> None:
        """Add replies to the end of the queue."""
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> OpenAIServer:
        """Listen on a free port in a background thread."""
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging handlers are released."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if (
                self.api_key is not None
                and recorded.headers.get("authorization") != f"Bearer {self.api_key}"
            ):
                return Reply.error(401, "Incorrect API key provided")
            if self._function is not None:
                return self._function(recorded)
            if self._queue:
                return self._queue.popleft()
        return Reply.error(500, "test server: no reply scripted")


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's
        # algorithm meets the client's delayed ACK and each reply waits ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.rstrip("/").endswith("/models"):
            self._send(
                Reply(body={"object": "list", "data": [{"id": "test-model", "object": "model"}]})
            )
        else:
            self._send(Reply.error(404, f"no route {self.path}"))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = Recorded("POST", self.path, headers, raw, body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self.owner.requests.append(recorded)
            self._send(Reply.error(404, f"no route {self.path}"))
            return
        reply = self.owner._next_reply(recorded)
        if reply.hang_s is not None:
            self.owner._stop.wait(reply.hang_s)
            self.close_connection = True
            return
        stream = isinstance(body, dict) and body.get("stream") is True
        if reply.completion is not None:
            if stream:
                include = bool((body.get("stream_options") or {}).get("include_usage"))
                reply = Reply.sse(completion_chunks(reply.completion, reply.chunk_chars, include))
            else:
                reply = Reply(body=completion_json(reply.completion))
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.chunks is not None:
            self._send_sse(reply)
            return
        if isinstance(reply.body, str | bytes):
            data = reply.body.encode() if isinstance(reply.body, str) else reply.body
        else:
            data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, reply: Reply) -> None:
        """Each chunk as one event (a ``(name, data)`` pair adds its ``event:`` line)."""
        # No length is known up front: close the connection to end the body.
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        items = list(reply.chunks or [])
        if reply.done:
            items.append("[DONE]")
        for item in items:
            name, data = item if isinstance(item, tuple) else (None, item)
            text = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {text}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True


def providers_toml(name: str, base_url: str, **settings: Any) -> str:
    """A ``[providers.NAME]`` table for a config file (values as TOML literals)."""
    lines = [f"[providers.{name}]", f"base_url = {json.dumps(base_url)}"]
    for key, value in settings.items():
        literal = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
        lines.append(f"{key} = {literal}")
    return "\n".join(lines) + "\n"
