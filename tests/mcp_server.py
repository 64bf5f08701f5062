"""A real MCP server over stdio, written with the SDK's low-level server API, for fault tests.

Run as ``python tests/mcp_server.py [--tools N] [--log DIR] [--exit-at-start MSG]
[--silent] [--fail-if FILE] [--http PORT [--key KEY]]`` (stdio unless ``--http``). Its tools:

- ``echo {text}`` (read-only): structured ``{"echo": text}``;
- ``shout {text}`` (no annotations, so side effects): text content only;
- ``crash``: writes a line to stderr and exits mid-call;
- ``hang``: never answers; when cancelled it writes ``DIR/cancelled``;
- ``fail``: an ``isError`` result with the server's text;
- ``refs {point}``: a draft-07 schema with ``definitions`` and ``$ref``;
- ``broken_ref``: a ``$ref`` that does not resolve (unusable);
- ``dotted.name.tool`` and a 70-character name (mapped names);
- ``picture``: text plus two PNG images;
- ``grow``: adds the tool ``grown`` and sends ``notifications/tools/list_changed``;
- ``many_0`` … ``many_{N-1}`` with ``--tools N``, listed in pages of 100.

Each start appends a line to ``DIR/starts`` and its pid to ``DIR/pids`` (with ``--log``).
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.stdio import stdio_server

PAGE = 100
LONG_NAME = "a_tool_name_that_is_much_longer_than_any_model_api_would_accept_as_is_x"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
TEXT_ARG = {
    "type": "object",
    "properties": {"text": {"type": "string", "description": "what to say"}},
    "required": ["text"],
}
NO_ARGS = {"type": "object", "properties": {}}


def _tool(name: str, schema: dict[str, Any], read_only: bool | None, description: str) -> Any:
    data: dict[str, Any] = {"name": name, "description": description, "inputSchema": schema}
    if read_only is not None:
        data["annotations"] = {"readOnlyHint": read_only}
    return types.Tool.model_validate(data)


def base_tools() -> list[Any]:
    """The tools every instance has."""
    refs = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "definitions": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
            }
        },
        "properties": {"point": {"$ref": "#/definitions/point"}},
        "required": ["point"],
    }
    broken = {"type": "object", "properties": {"p": {"$ref": "#/definitions/missing"}}}
    return [
        _tool("echo", TEXT_ARG, True, "Echo the text back"),
        _tool("shout", TEXT_ARG, None, "Shout the text (no annotations)"),
        _tool("crash", NO_ARGS, True, "Exit in the middle of the call"),
        _tool("hang", NO_ARGS, True, "Never answer"),
        _tool("fail", NO_ARGS, True, "Answer with isError"),
        _tool("refs", refs, True, "Sum a point's coordinates"),
        _tool("broken_ref", broken, True, "A schema whose $ref does not resolve"),
        _tool("dotted.name.tool", TEXT_ARG, True, "A name with dots"),
        _tool(LONG_NAME, TEXT_ARG, True, "A name too long to keep"),
        _tool("picture", NO_ARGS, True, "Text and two images"),
        _tool("grow", NO_ARGS, False, "Add the tool 'grown' and say the list changed"),
    ]


def build(options: argparse.Namespace) -> Server[Any]:
    """The server, its tool list held in a closure (``grow`` changes it)."""
    tools = base_tools() + [
        _tool(f"many_{i}", TEXT_ARG, True, f"Numbered tool {i}") for i in range(options.tools)
    ]
    log = Path(options.log) if options.log else None

    async def list_tools(ctx: Any, params: Any) -> Any:
        start = int(params.cursor) if params is not None and params.cursor else 0
        page = tools[start : start + PAGE]
        more = start + PAGE < len(tools)
        return types.ListToolsResult(tools=page, next_cursor=str(start + PAGE) if more else None)

    def text(value: str) -> Any:
        return types.TextContent(type="text", text=value)

    async def call_tool(ctx: Any, params: Any) -> Any:
        name, args = params.name, params.arguments or {}
        if name == "echo" or name.startswith("many_") or name in ("dotted.name.tool", LONG_NAME):
            return types.CallToolResult(
                content=[text(args.get("text", ""))],
                structured_content={"echo": args.get("text", ""), "tool": name},
            )
        if name in ("shout", "grown"):
            return types.CallToolResult(content=[text(args["text"].upper()), text("!")])
        if name == "crash":
            print("mcp_server: crashing on purpose", file=sys.stderr, flush=True)
            sys.stderr.flush()
            import os

            os._exit(3)
        if name == "hang":
            try:
                await anyio.sleep(3600)
            except anyio.get_cancelled_exc_class():
                if log is not None:
                    (log / "cancelled").write_text(str(ctx.request_id))
                raise
        if name == "fail":
            return types.CallToolResult(content=[text("the disk is full")], is_error=True)
        if name == "refs":
            point = args["point"]
            return types.CallToolResult(content=[text(str(point["x"] + point["y"]))])
        if name == "picture":
            data = base64.b64encode(PNG).decode()
            return types.CallToolResult(
                content=[
                    text("a red dot"),
                    types.ImageContent(type="image", data=data, mime_type="image/png"),
                    types.ImageContent(type="image", data=data, mime_type="image/png"),
                ]
            )
        if name == "grow":
            if not any(t.name == "grown" for t in tools):
                tools.append(_tool("grown", TEXT_ARG, True, "A tool added at run time"))
            await ctx.session.send_tool_list_changed()
            return types.CallToolResult(content=[text("grown")])
        return types.CallToolResult(content=[text(f"unknown tool {name}")], is_error=True)

    return Server(
        "autoplug-test-server",
        version="1.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve_http(server: Server[Any], port: int, key: str | None) -> None:
    """Serve streamable HTTP at http://127.0.0.1:PORT/mcp, refusing requests without the key."""
    import uvicorn

    app = server.streamable_http_app()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        if scope["type"] == "http" and key and headers.get(b"x-test-key") != key.encode():
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"missing X-Test-Key"})
            return
        await app(scope, receive, send)

    uvicorn.run(guarded, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


def main() -> None:
    """Parse the options and serve over stdio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--exit-at-start")
    parser.add_argument("--silent", action="store_true")
    parser.add_argument(
        "--fail-if", help="exit at start, like --exit-at-start, when this file exists"
    )
    parser.add_argument("--http", type=int, help="serve streamable HTTP on 127.0.0.1:PORT")
    parser.add_argument("--key", help="with --http: require the header X-Test-Key: KEY")
    options = parser.parse_args()
    if options.log:
        import os

        with open(Path(options.log) / "starts", "a") as handle:
            handle.write("start\n")
        with open(Path(options.log) / "pids", "a") as handle:
            handle.write(f"{os.getpid()}\n")
    if options.fail_if and Path(options.fail_if).exists():
        options.exit_at_start = Path(options.fail_if).read_text()
    if options.exit_at_start:
        print(options.exit_at_start, file=sys.stderr)
        raise SystemExit(1)
    if options.silent:
        time.sleep(3600)
        return
    server = build(options)
    if options.http:
        serve_http(server, options.http, options.key)
        return

    async def serve() -> None:
        async with stdio_server() as (read, write):
            init = server.create_initialization_options(NotificationOptions(tools_changed=True))
            await server.run(read, write, init)

    anyio.run(serve)


if __name__ == "__main__":
    main()
