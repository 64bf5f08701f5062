"""``autoplug mcp list`` and ``autoplug mcp refresh``: the configured MCP servers.

The client itself is the builtin plugin ``autoplug_mcp`` (``kernel.mcp``); this
module only shows and drives it, so it imports nothing of the SDK. ``mcp
serve`` (the other direction: autoplug as a server) is in :mod:`.mcp_serve`.
"""

from __future__ import annotations

from typing import Any

import click

from ..mcpconfig import mcp_servers
from . import echo_json, echo_table, fail, get_kernel


def add_commands(cli: click.Group) -> None:
    """Add the ``mcp`` group to ``cli``."""
    from .mcp_serve import serve_command

    mcp_group.add_command(serve_command)
    cli.add_command(mcp_group)


@click.group("mcp")
def mcp_group() -> None:
    """MCP servers: `[mcp.NAME]` tables of the config, each the plugin mcp_NAME."""


def _rows(kernel: Any) -> list[dict[str, Any]]:
    if kernel.mcp is not None:
        return list(kernel.mcp.rows())
    rows = []
    for plugin, server in mcp_servers(kernel.config.data, kernel.config.path).items():
        info = kernel.plugins.get(plugin)
        status = info.status if info is not None else "disabled"
        row: dict[str, Any] = {"name": server.name, "plugin": plugin}
        row["transport"] = server.transport
        if server.url is not None:
            row["url"] = server.url
        else:
            row["command"] = " ".join([server.command or "", *server.args])
        row |= {"status": status, "tools": 0, "listed_at": None}
        row["error"] = info.error if info is not None and status == "failed" else None
        rows.append(row)
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    table = [
        [
            r["name"],
            r["status"],
            r["transport"],
            r["tools"],
            r["listed_at"] or "never",
            r.get("command") or r.get("url"),
        ]
        for r in rows
    ]
    echo_table(table, ["NAME", "STATUS", "TRANSPORT", "TOOLS", "LISTED", "COMMAND/URL"])
    for r in rows:
        if r["error"]:
            click.echo(f"{r['plugin']}: {r['error']}", err=True)


@mcp_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def mcp_list(as_json: bool) -> None:
    """List the configured servers with their last status; starts none of them."""
    rows = _rows(get_kernel())
    if as_json:
        echo_json(rows)
    elif rows:
        _print(rows)
    else:
        click.echo("no MCP servers configured: add an [mcp.NAME] table to the config file")


@mcp_group.command("refresh")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the servers' rows as a JSON array.")
def mcp_refresh(name: str | None, as_json: bool) -> None:
    """Start the servers (or server NAME), list their tools again and cache them.

    Exit 1 when a server failed (the others are still listed), 2 for an unknown NAME.
    """
    kernel = get_kernel()
    rows = _rows(kernel)
    if name is not None:
        matching = [r for r in rows if name in (r["name"], r["plugin"])]
        if not matching:
            known = ", ".join(r["name"] for r in rows) or "none configured"
            fail(f"unknown MCP server {name!r}; known: {known}", 2)
        if matching[0]["status"] == "disabled":
            fail(f"MCP server {matching[0]['name']!r} is disabled", 2)
    if kernel.mcp is None:
        client = kernel.plugins.get("autoplug_mcp")
        if rows and client is not None and client.status == "failed":
            fail(str(client.error))
        if as_json:
            echo_json(rows)
        else:
            click.echo("no enabled MCP servers to refresh")
        return
    chosen = None if name is None else [matching[0]["plugin"]]
    kernel.mcp.refresh(chosen)
    rows = [r for r in kernel.mcp.rows() if chosen is None or r["plugin"] in chosen]
    if as_json:
        echo_json(rows)
    else:
        _print(rows)
    if any(r["status"] == "failed" for r in rows):
        raise SystemExit(1)
