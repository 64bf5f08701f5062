"""``autoplug mcp serve``: the kernel's tools (and, with ``--agent``, a Runner) as an MCP server.

The SDK's low-level server API over stdio or streamable HTTP. Every
``tools/call`` passes the one door (``kernel.tools.acall``) with a
:class:`~autoplug.CallContext` whose workspace is ``--workspace`` and which is
approved only under ``--yes``; the door's verdicts (invalid arguments with
their JSON paths, refusals) go back as ``isError`` results. Imported only by
that command, so the SDK stays out of ``autoplug --help`` and ``autoplug tools``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import json
import secrets
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server

from autoplug.tools import CallContext, Tool

SERVER_NAME = "autoplug"
RUN_TASK = "run_task"
RUN_TASK_SCHEMA = {
    "type": "object",
    "properties": {"task": {"type": "string", "minLength": 1, "description": "what to do"}},
    "required": ["task"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ServeOptions:
    """What ``autoplug mcp serve`` was told: the offered tools, approval, workspace, transport."""

    tools: tuple[tuple[str, Tool], ...]  # (the name models see, the tool), in offer order
    yes: bool = False
    agent: bool = False
    workspace: Path = Path(".")
    http: tuple[str, int] | None = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``): no token needed there."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _mcp_tool(name: str, tool_: Tool) -> types.Tool:
    return types.Tool(
        name=name,
        description=tool_.description or None,
        input_schema=tool_.parameters,
        annotations=types.ToolAnnotations(
            read_only_hint=not tool_.side_effects, destructive_hint=tool_.side_effects
        ),
    )


def _run_task_tool() -> types.Tool:
    return types.Tool(
        name=RUN_TASK,
        description=(
            "Give autoplug's agent a task: it plans and calls its tools, then answers. "
            "Progress comes as progress notifications; the answer is the result."
        ),
        input_schema=RUN_TASK_SCHEMA,
        annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=True),
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _result(value: Any, *, error: bool = False) -> types.CallToolResult:
    """``value`` as text plus ``structuredContent`` (an object: other values as ``{"result": v}``)."""
    structured = value if isinstance(value, dict) else {"result": value}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_text(value))],
        structured_content=structured,
        is_error=error,
    )


def _failed(message: str, **details: Any) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)],
        structured_content={"error": message, **details},
        is_error=True,
    )


class AutoplugServer:
    """The handlers of one served kernel (shared by every MCP session of an HTTP server)."""

    def __init__(self, kernel: Any, options: ServeOptions) -> None:
        self.kernel = kernel
        self.options = options
        self.offered = dict(options.tools)
        self.listing = [_mcp_tool(name, t) for name, t in options.tools]
        if options.agent:
            self.listing.append(_run_task_tool())

    def build(self) -> Server[Any]:
        """The SDK's server with this object's handlers."""
        from importlib.metadata import version

        return Server(
            SERVER_NAME,
            version=version("autoplug"),
            instructions="autoplug's tools; every call is validated against its schema.",
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        """Every offered tool in one page."""
        return types.ListToolsResult(tools=self.listing)

    async def call_tool(self, ctx: Any, params: Any) -> types.CallToolResult:
        """One call through the door, or a run of ``run_task``."""
        name, args = params.name, params.arguments
        if self.options.agent and name == RUN_TASK:
            return await self.run_task(ctx, args)
        if name not in self.offered:
            known = ", ".join(sorted(self.offered)) or "none"
            return _failed(
                f"unknown tool {name!r}; this server offers: {known}", kind="unknown_tool"
            )
        context = CallContext(workspace=self.options.workspace, approved=self.options.yes)
        result = await self.kernel.tools.acall(name, args, context=context)
        if result.ok:
            return _result(result.value)
        details = {"kind": result.kind}
        if result.violations:
            details["violations"] = [{"path": p, "message": m} for p, m in result.violations]
        message = result.error or f"tool {name!r} failed"
        if result.kind == "refused" and not self.options.yes:
            message += " (the server was started without --yes)"
        return _failed(message, **details)

    async def run_task(self, ctx: Any, args: Any) -> types.CallToolResult:
        """A Runner on the default model; its events as progress notifications."""
        task = args.get("task") if isinstance(args, dict) else None
        if not isinstance(task, str) or not task.strip():
            problem = "a non-empty string is required"
            return _failed(
                f"invalid arguments for tool 'run_task': $.task: {problem}",
                kind="invalid_args",
                violations=[{"path": "$.task", "message": problem}],
            )
        from autoplug.autos import arun_task
        from autoplug.cli.run import Progress
        from autoplug.errors import AutoplugError, NoModelConfigured

        sender = _ProgressSender(ctx, Progress())
        try:
            result = await arun_task(
                self.kernel,
                task,
                approve=self.options.yes,
                workspace=self.options.workspace,
                on_event=sender,
            )
        except NoModelConfigured:
            config = self.kernel.config.path
            return _failed(
                "run_task: no model configured: set AUTOPLUG_MODEL in this server's environment "
                f'(the "env" of the client\'s server entry) or model = "..." in {config}',
                kind="usage",
            )
        except AutoplugError as exc:  # an unknown model id, a bad config: the client should know
            return _failed(f"run_task: {exc}", kind="usage")
        finally:
            await sender.drain()
        data = result.to_dict()
        if result.status != "succeeded":
            return _failed(f"run {result.run_id} {result.status}: {result.reason}", **data)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=_text(result.answer))],
            structured_content=data,
        )


class _ProgressSender:
    """Turns a run's events into ``notifications/progress`` (when the client asked for them)."""

    def __init__(self, ctx: Any, progress: Any) -> None:
        self.ctx = ctx
        self.progress = progress
        self.count = 0
        self.loop = asyncio.get_running_loop()
        self.tasks: list[asyncio.Task[Any]] = []
        self.elsewhere: list[concurrent.futures.Future[Any]] = []

    def __call__(self, event: Any) -> None:
        # on_event must not block: each notification is sent by a task of its own.
        self.progress.run_id = self.progress.run_id or event.run_id
        line = self.progress.render(event.type, event.data)
        if not line:
            return
        self.count += 1
        report = self.ctx.session.report_progress(float(self.count), None, line)
        try:
            same_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self.tasks.append(self.loop.create_task(report))
        else:  # an event from another thread: hand the notification to the server's loop
            self.elsewhere.append(asyncio.run_coroutine_threadsafe(report, self.loop))

    async def drain(self) -> None:
        """Wait for the notifications sent so far (they precede the result)."""
        pending = [*self.tasks, *(asyncio.wrap_future(f) for f in self.elsewhere)]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


# -- transports ----------------------------------------------------------


async def serve_stdio(
    kernel: Any, options: ServeOptions, stdin: BinaryIO, stdout: BinaryIO
) -> None:
    """Speak MCP on ``stdin``/``stdout`` (the process's real ones, claimed by the CLI) until EOF."""
    import io

    from mcp.server.stdio import stdio_server

    server = AutoplugServer(kernel, options).build()
    reader = anyio.wrap_file(io.TextIOWrapper(stdin, encoding="utf-8", errors="replace"))
    writer = anyio.wrap_file(io.TextIOWrapper(stdout, encoding="utf-8", errors="backslashreplace"))
    async with stdio_server(stdin=reader, stdout=writer) as (read, write):
        await server.run(read, write, server.create_initialization_options())


def _guard(app: Any, token: str) -> Callable[..., Any]:
    """An ASGI app that answers 401 without ``Authorization: Bearer TOKEN`` and 403 for a wrong one."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization")
            status = (
                401 if given is None else 403 if not secrets.compare_digest(given, expected) else 0
            )
            if status:
                body = b"missing bearer token" if status == 401 else b"wrong bearer token"
                headers = [(b"content-type", b"text/plain")]
                if status == 401:
                    headers.append((b"www-authenticate", b'Bearer realm="autoplug"'))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


async def serve_http(kernel: Any, options: ServeOptions, say: Callable[[str], None]) -> None:
    """Serve streamable HTTP at ``http://HOST:PORT/mcp``; off loopback, behind a printed token."""
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    assert options.http is not None
    host, port = options.http
    server = AutoplugServer(kernel, options).build()
    loopback = is_loopback(host)
    security = (
        None if loopback else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    app: Any = server.streamable_http_app(host=host, transport_security=security)
    token = None if loopback else secrets.token_urlsafe(24)
    if token is not None:
        app = _guard(app, token)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    # Listen before the address is printed: a client that reads it and connects at once
    # waits in the backlog until uvicorn accepts, instead of being refused.
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    say(f"autoplug mcp serve: http://{shown}:{bound}/mcp")
    if token is not None:
        say(f"autoplug mcp serve: token (send 'Authorization: Bearer TOKEN'): {token}")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


def run(kernel: Any, options: ServeOptions, stdio: tuple[BinaryIO, BinaryIO] | None) -> None:
    """Serve until the client leaves (stdio EOF) or the process is interrupted (HTTP)."""

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if options.http is not None:
        anyio.run(serve_http, kernel, options, say)
        return
    assert stdio is not None
    anyio.run(serve_stdio, kernel, options, stdio[0], stdio[1])
