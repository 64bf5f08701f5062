"""A loopback OpenAI chat-completions server for benchmarks: records every request body.

Both agents the benchmarks compare talk to it over real HTTP, so what is counted
is exactly what each client sent. The replies are a function of the parsed
request body: it returns ``(text, [(tool name, arguments), ...])``, answered as
one non-streamed completion (a client that asks for a stream gets SSE chunks of
the same completion).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: What a reply function returns: the text (or None) and the tool calls.
Answer = tuple[str | None, list[tuple[str, dict[str, Any]]]]


def completion(answer: Answer, serial: int) -> dict[str, Any]:
    """The chat-completion body of ``answer``; call ids count up across the server's life."""
    text, calls = answer
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {
                "id": f"call_{serial}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for i, (name, args) in enumerate(calls)
        ]
    return {
        "id": f"chatcmpl-{serial}",
        "object": "chat.completion",
        "created": 0,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The same completion as SSE chunks (one delta for the text, one per call)."""
    message = body["choices"][0]["message"]
    base = {k: body[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    out = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    if message.get("content"):
        delta = {"content": message["content"]}
        out.append({**base, "choices": [{"index": 0, "delta": delta}]})
    for i, call in enumerate(message.get("tool_calls", [])):
        delta = {"tool_calls": [{"index": i, **call}]}
        out.append({**base, "choices": [{"index": 0, "delta": delta}]})
    finish = body["choices"][0]["finish_reason"]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    out.append({**base, "choices": [], "usage": body["usage"]})
    return out


class RecordingServer:
    """``with RecordingServer(reply) as server:`` — ``server.url`` (ends in /v1), ``server.bodies``."""

    def __init__(self, reply: Callable[[dict[str, Any]], Answer]) -> None:
        self.reply = reply
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw)
                with outer._lock:
                    outer.bodies.append(body)
                    serial = len(outer.bodies)
                answer = completion(outer.reply(body), serial)
                if body.get("stream"):
                    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks(answer))
                    payload, kind = (data + "data: [DONE]\n\n").encode(), "text/event-stream"
                else:
                    payload, kind = json.dumps(answer).encode(), "application/json"
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass  # quiet: the benchmark prints its own figures

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
