"""What the state folder keeps of each MCP server: its tool list and its last status.

One state file per server, ``state/mcp.NAME.json``: ``key`` (the hash of the
config that started it, :meth:`ServerConfig.key`), ``status`` (``loaded`` or
``failed``), ``error``, ``listed_at`` (ISO 8601 UTC), ``server`` (its name and
version) and ``tools`` (as ``tools/list`` gave them, each with the schema
verdict ``unusable``). An entry whose key differs from the config's is stale:
the server reads as never listed, so a changed command is listed again.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from autoplug.mcpconfig import ServerConfig
from autoplug.state import read_state, update_state


def state_name(server: ServerConfig) -> str:
    """The state file name of a server (``mcp.NAME``)."""
    return f"mcp.{server.name}"


def read_entry(home: Path, server: ServerConfig) -> dict[str, Any]:
    """The cached entry of ``server`` for its current config, or ``{}`` (never listed)."""
    entry = read_state(home, state_name(server))
    if entry.get("key") != server.key() or not isinstance(entry.get("tools", []), list):
        return {}
    return entry


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_listing(
    home: Path, server: ServerConfig, tools: list[dict[str, Any]], info: dict[str, Any]
) -> dict[str, Any]:
    """Record a successful listing; returns the entry written."""
    entry = {
        "key": server.key(),
        "status": "loaded",
        "error": None,
        "listed_at": _now(),
        "server": info,
        "tools": tools,
    }
    return update_state(home, state_name(server), lambda _old: entry)


def write_failure(home: Path, server: ServerConfig, error: str) -> dict[str, Any]:
    """Record a failed start or listing, keeping the last good tool list of the same config."""

    def change(old: dict[str, Any]) -> dict[str, Any]:
        same = old.get("key") == server.key()
        return {
            "key": server.key(),
            "status": "failed",
            "error": error,
            "listed_at": old.get("listed_at") if same else None,
            "server": old.get("server", {}) if same else {},
            "tools": old.get("tools", []) if same else [],
            "failed_at": _now(),
        }

    return update_state(home, state_name(server), change)
