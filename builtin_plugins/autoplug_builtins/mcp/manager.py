"""The MCP client of one kernel: server plugins, cached tool lists, listing and calls.

Nothing here imports the SDK (nor asyncio): building the plugins and their tools reads only
the state folder, so ``autoplug tools`` never starts a server. The connections
(``client``, which imports the SDK) are made on the first listing or call.
"""

from __future__ import annotations

import threading
from typing import Any

from autoplug import hookimpl
from autoplug.errors import describe_error
from autoplug.mcpconfig import ServerConfig

from .cache import read_entry, write_failure, write_listing
from .mcptool import McpTool, make_tool, result_value
from .names import tool_name

NEVER_LISTED = "never listed: its tools appear after 'autoplug mcp refresh' or the next run"


class ServerPlugin:
    """The plugin ``mcp_NAME`` of one server: registers the server's cached tools."""

    def __init__(self, manager: McpManager, server: ServerConfig) -> None:
        self.manager = manager
        self.server = server
        self.name = server.plugin
        entry = manager.entries.get(server.plugin, {})
        self.status = entry.get("status", "loaded")
        self.error = entry.get("error") if self.status == "failed" else None
        self.note = None if entry else NEVER_LISTED
        info = entry.get("server") or {}
        self.distribution = info.get("name")
        self.version = info.get("version")

    @hookimpl
    def register_tools(self, register: Any) -> None:
        """Register the tools of the server's last listing."""
        for made in self.manager.tools_of(self.server):
            register(made)


class McpManager:
    """Every configured MCP server of a kernel (``kernel.mcp``)."""

    def __init__(self, kernel: Any, servers: list[ServerConfig], active: set[str]) -> None:
        self.kernel = kernel
        self.home = kernel.home
        self.servers = {s.plugin: s for s in servers}
        self.active = set(active)
        self.entries = {s.plugin: read_entry(self.home, s) for s in servers}
        self._runtime: Any = None
        self._lock = threading.Lock()
        self._tasks: set[Any] = set()  # list_changed refreshes in flight

    def plugins(self) -> list[ServerPlugin]:
        """The plugin object of each enabled server."""
        return [ServerPlugin(self, s) for p, s in sorted(self.servers.items()) if p in self.active]

    def tools_of(self, server: ServerConfig) -> list[McpTool]:
        """The autoplug tools of a server's cached listing (names mapped, see ``names``)."""
        entry = self.entries.get(server.plugin, {})
        made: list[McpTool] = []
        seen: set[str] = set()
        for listed in entry.get("tools", []):
            if not isinstance(listed, dict) or not isinstance(listed.get("name"), str):
                continue
            name = tool_name(server.plugin, listed["name"])
            if name in seen:  # a server listing one name twice: the first counts
                continue
            seen.add(name)
            made.append(
                make_tool(
                    name,
                    listed,
                    call=self._caller(server),
                    timeout=server.timeout_s,
                    auto_approve=server.auto_approve,
                )
            )
        return made

    # -- the connections ----------------------------------------------------

    def runtime(self) -> Any:
        """The loop thread owning the connections, started on first use (imports the SDK)."""
        with self._lock:
            if self._runtime is None:
                from .client import Runtime

                self._runtime = Runtime()
            return self._runtime

    def _connection(self, server: ServerConfig) -> Any:
        return self.runtime().connection(server, lambda: self._changed(server))

    def _caller(self, server: ServerConfig) -> Any:
        async def call(original: str, arguments: dict[str, Any]) -> Any:
            connection = self._connection(server)
            try:
                raw = await self.runtime().run(
                    connection.call(original, arguments, server.timeout_s)
                )
            except Exception:
                if connection.start_error is not None:
                    self._record_start_failure(server, connection.start_error)
                raise
            return result_value(raw)

        return call

    def _record_start_failure(self, server: ServerConfig, error: str) -> None:
        """A start for a call failed: the plugin's last status is failed (its tools stay
        registered for this kernel, so the next call can try again)."""
        self.entries[server.plugin] = write_failure(self.home, server, error)
        info = self.kernel.plugins.get(server.plugin)
        if info is not None:
            info.status, info.error, info.note = "failed", error, None

    def _changed(self, server: ServerConfig) -> None:
        """notifications/tools/list_changed: list the server again (in the loop thread)."""
        import asyncio  # only ever in the loop thread, where it is loaded; not at start

        task = asyncio.ensure_future(self._list(server))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _list(self, server: ServerConfig) -> dict[str, Any]:
        """List one server's tools into the cache and the kernel; never raises for the server."""
        from .mcptool import schema_verdict

        try:
            connection = self._connection(server)
            tools = await connection.list_tools()
            for listed in tools:
                listed["unusable"] = schema_verdict(listed.get("inputSchema"))
            entry = write_listing(self.home, server, tools, connection.server_info)
        except Exception as exc:
            error = str(exc) if type(exc).__name__ == "ServerFailed" else describe_error(exc)
            entry = write_failure(self.home, server, error)
        self._apply(server, entry)
        return entry

    def _apply(self, server: ServerConfig, entry: dict[str, Any]) -> None:
        """Make the kernel's registry and plugin list show a server's new entry."""
        plugin = server.plugin
        self.entries[plugin] = entry
        registry = self.kernel.tools
        registry.remove_plugin(plugin)
        failed = entry.get("status") == "failed"
        if not failed:
            for made in self.tools_of(server):
                registry.add(made, plugin, builtin=False)
        info = self.kernel.plugins.get(plugin)
        if info is not None:
            info.status = "failed" if failed else "loaded"
            info.error = entry.get("error") if failed else None
            info.note = None
            details = entry.get("server") or {}
            info.distribution = details.get("name")
            info.version = details.get("version")
            if not failed:
                info.hooks = ["register_tools"]

    # -- what the kernel and the CLI ask ------------------------------------

    def unlisted(self) -> list[ServerConfig]:
        """Enabled servers never listed with their current config, or failed last time."""
        return [
            s
            for p, s in sorted(self.servers.items())
            if p in self.active
            and (not self.entries.get(p) or self.entries[p].get("status") == "failed")
        ]

    async def alist_unlisted(self) -> None:
        """List every server :meth:`unlisted` names, at once (before a run's first plan)."""
        todo = self.unlisted()
        if todo:
            await self.runtime().run(_gather([self._list(s) for s in todo]))

    def refresh(self, plugins: list[str] | None = None) -> list[dict[str, Any]]:
        """List the given enabled servers (all when None) now; returns their entries."""
        chosen = [
            s
            for p, s in sorted(self.servers.items())
            if p in self.active and (plugins is None or p in plugins)
        ]
        if not chosen:
            return []
        return list(self.runtime().submit(_gather([self._list(s) for s in chosen])).result())

    def rows(self) -> list[dict[str, Any]]:
        """One row per configured server, the shape of ``autoplug mcp list --json``."""
        rows = []
        for plugin, server in sorted(self.servers.items()):
            entry = self.entries.get(plugin, {})
            info = self.kernel.plugins.get(plugin)
            rows.append(server_row(server, entry, info.status if info else "disabled"))
        return rows

    def close(self) -> None:
        """Stop every server this kernel started."""
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()


async def _gather(coros: list[Any]) -> list[Any]:
    import asyncio

    return list(await asyncio.gather(*coros))


def server_row(server: ServerConfig, entry: dict[str, Any], status: str) -> dict[str, Any]:
    """``name``, ``plugin``, ``transport``, ``command`` or ``url``, ``status``, ``tools``,
    ``listed_at``, ``error`` of one server."""
    row: dict[str, Any] = {"name": server.name, "plugin": server.plugin}
    row["transport"] = server.transport
    if server.url is not None:
        row["url"] = server.url
    else:
        row["command"] = " ".join([server.command or "", *server.args])
    row["status"] = status
    row["tools"] = len(entry.get("tools", [])) if entry.get("status") == "loaded" else 0
    row["listed_at"] = entry.get("listed_at")
    row["error"] = entry.get("error") if status == "failed" else None
    return row
