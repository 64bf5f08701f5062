"""The one module that imports the MCP SDK: connections to servers, owned by a loop thread.

The SDK is async and a session must be entered and left in one task, so every
connection lives in a task of a background event loop that runs for the
kernel's lifetime (:class:`Runtime`). Callers in any thread or loop submit
coroutines to it; :meth:`Runtime.close` stops every server. Results leave this
module as plain JSON data (``model_dump``), so nothing else touches SDK types.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import tempfile
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from autoplug.mcpconfig import ServerConfig

CLIENT_INFO = types.Implementation(name="autoplug", version="0.1.0")
STDERR_TAIL = 300  # characters of a server's stderr quoted in an error


class ServerFailed(Exception):
    """A server could not be started, did not answer, or its connection ended."""


class Runtime:
    """A daemon thread running an asyncio loop that owns every MCP connection."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="autoplug-mcp", daemon=True
        )
        self._thread.start()
        self.connections: dict[str, Connection] = {}

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run ``coro`` on the loop; a future any thread can wait on."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Await ``coro`` on the loop from another loop; cancelling this cancels it there."""
        future = self.submit(coro)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # the SDK then sends notifications/cancelled for a request
            raise

    def connection(self, server: ServerConfig, on_change: Callable[[], None]) -> Connection:
        """The connection of ``server`` (made, not started, on first use)."""
        found = self.connections.get(server.plugin)
        if found is None:
            found = self.connections[server.plugin] = Connection(server, on_change)
        return found

    def close(self, timeout: float = 5.0) -> None:
        """Stop every server and the loop; idempotent."""
        if not self.loop.is_running():
            return

        async def stop_all() -> None:
            await asyncio.gather(*(c.stop() for c in self.connections.values()))

        with contextlib.suppress(Exception):
            self.submit(stop_all()).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


class Connection:
    """One server: started on first use, restarted once after it dies."""

    def __init__(self, server: ServerConfig, on_change: Callable[[], None]) -> None:
        self.server = server
        self.on_change = on_change
        self.session: ClientSession | None = None
        self.server_info: dict[str, Any] = {}
        self.dead: str | None = None  # why the last connection ended
        self.restarts_left = 1
        self.start_error: str | None = None  # why the last start failed, if it did
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._errlog: Any = None
        self._http_error: str | None = None  # the last HTTP error status of an url server

    # -- lifetime -----------------------------------------------------------

    async def ensure(self) -> ClientSession:
        """A live session: started now if never started, restarted once if it died."""
        if self.session is not None and self.dead is None:
            return self.session
        if self.dead is not None:
            if self.restarts_left <= 0:
                raise ServerFailed(f"{self.dead} (already restarted once)")
            self.restarts_left -= 1
            await self.stop()
        try:
            await self._start()
        except ServerFailed as exc:
            self.start_error = str(exc)
            raise
        self.start_error = None
        assert self.session is not None
        return self.session

    async def _start(self) -> None:
        self.dead = self._http_error = None
        self._stop = asyncio.Event()
        self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._owner = asyncio.create_task(self._own(ready))
        try:
            self.session = await asyncio.wait_for(asyncio.shield(ready), self.server.timeout_s)
        except TimeoutError:
            await self.stop()
            raise ServerFailed(
                f"the server did not answer initialize within {self.server.timeout_s:g} s"
                + self._stderr_tail()
            ) from None
        except ServerFailed:
            await self.stop()
            raise

    async def _own(self, ready: asyncio.Future[ClientSession]) -> None:
        """Open the transport and session, then hold them until told to stop."""
        assert self._stop is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(
                    ClientSession(
                        read, write, client_info=CLIENT_INFO, message_handler=self._on_message
                    )
                )
                result = await session.initialize()
                info = result.server_info
                self.server_info = {"name": info.name, "version": info.version}
                ready.set_result(session)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as exc:  # noqa: BLE001 - every start failure is reported, not raised
            error = self._describe_start_failure(exc)
            if not ready.done():
                ready.set_exception(ServerFailed(error))
            else:
                self.dead = error

    def _transport(self) -> Any:
        server = self.server
        if server.url is not None:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = create_mcp_http_client(headers=dict(server.headers) or None)

            async def note_status(response: Any) -> None:
                # The SDK reports a refused request without its HTTP status; keep it for errors.
                if response.status_code >= 400:
                    self._http_error = f"HTTP {response.status_code} {response.reason_phrase}"

            client.event_hooks["response"].append(note_status)
            return _http(streamable_http_client, server.url, client)
        params = StdioServerParameters(
            command=server.command or "",
            args=list(server.args),
            env=dict(server.env) or None,
            cwd=server.cwd,
        )
        return stdio_client(params, errlog=self._errlog)

    async def stop(self) -> None:
        """Close the session and stop the server process (bounded wait)."""
        started = self.session is not None
        owner, self._owner, self.session = self._owner, None, None
        if self._stop is not None:
            self._stop.set()
        if owner is not None and not owner.done():
            if not started:  # still in initialize: nothing to wait for
                owner.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(owner), 5)
            except asyncio.CancelledError:
                if not owner.done():  # this task was cancelled, not the owner
                    raise
            except (TimeoutError, Exception):
                owner.cancel()
                with contextlib.suppress(BaseException):
                    await owner

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            # A refresh lists tools over this same session, so it must not run inline here.
            asyncio.get_running_loop().call_soon(self.on_change)
        elif isinstance(message, Exception):
            self.dead = f"the connection to the server failed: {_one_line(message)}"

    # -- requests -----------------------------------------------------------

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every tool of the server (all pages), as JSON data."""
        session = await self.ensure()
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        try:
            async with asyncio.timeout(self.server.timeout_s):
                while True:
                    params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                    page = await session.list_tools(params=params)
                    tools += [
                        t.model_dump(by_alias=True, mode="json", exclude_none=True)
                        for t in page.tools
                    ]
                    cursor = page.next_cursor
                    if not cursor or cursor in seen:  # a server repeating a cursor would loop
                        break
                    seen.add(cursor)
        except TimeoutError:
            raise ServerFailed(
                f"tools/list got no answer within {self.server.timeout_s:g} s"
            ) from None
        except MCPError as exc:
            raise self._request_failed("tools/list", exc) from None
        return tools

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Call tool ``name``; its result as JSON data. A timeout cancels the request."""
        session = await self.ensure()
        try:
            async with asyncio.timeout(timeout):  # native: cheaper than an anyio scope
                result = await session.call_tool(name, arguments)
        except TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g} s; the call was cancelled") from None
        except MCPError as exc:
            raise self._request_failed(f"tools/call {name!r}", exc) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            self.dead = f"the server's connection closed ({type(exc).__name__})"
            raise ServerFailed(self.dead + self._stderr_tail()) from None
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    def _request_failed(self, what: str, exc: MCPError) -> Exception:
        if self._http_error is not None:
            status, self._http_error = self._http_error, None
            return ServerFailed(f"{what}: {status} from {self.server.url}: {exc.message}")
        if exc.code == types.CONNECTION_CLOSED:
            self.dead = "the server exited or closed its connection"
            return ServerFailed(f"{what}: {self.dead}" + self._stderr_tail())
        return ServerFailed(f"{what}: the server answered with error {exc.code}: {exc.message}")

    # -- messages -----------------------------------------------------------

    def _describe_start_failure(self, exc: BaseException) -> str:
        server = self.server
        leaves = _leaves(exc)
        if server.command is not None and any(isinstance(e, FileNotFoundError) for e in leaves):
            return f"command {server.command!r} not found"
        closed = any(
            isinstance(e, MCPError) and e.code == types.CONNECTION_CLOSED for e in leaves
        ) or any(
            isinstance(e, anyio.ClosedResourceError | anyio.BrokenResourceError) for e in leaves
        )
        if closed:
            return "the server exited before answering initialize" + self._stderr_tail()
        if self._http_error is not None:
            return f"the server refused initialize: {self._http_error} from {server.url}"
        return f"could not start the server: {_one_line(leaves[0])}" + self._stderr_tail()

    def _stderr_tail(self) -> str:
        log = self._errlog
        if log is None:
            return ""
        try:
            log.flush()
            log.seek(0)
            text = log.read()
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            return ""
        tail = " | ".join(lines[-3:])
        if len(tail) > STDERR_TAIL:
            tail = "…" + tail[-STDERR_TAIL:]
        return f"; stderr: {tail}"


@contextlib.asynccontextmanager
async def _http(factory: Any, url: str, client: Any) -> Any:
    async with client, factory(url, http_client=client) as streams:
        yield streams[0], streams[1]


def _leaves(exc: BaseException) -> list[BaseException]:
    """The innermost exceptions of a (possibly nested) exception group."""
    if isinstance(exc, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in exc.exceptions:
            found += _leaves(inner)
        return found or [exc]
    return [exc]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
