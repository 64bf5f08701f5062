"""The ``[mcp.NAME]`` tables of the config: one MCP server each, checked when the file is read.

A server is reached over stdio (``command``, ``args``, ``env``, ``cwd``) or
streamable HTTP (``url``, ``headers``); ``auto_approve``, ``timeout_s`` and
``disabled`` apply to both. Each server becomes the plugin ``mcp_NAME``; the
client itself lives in the builtin plugin ``autoplug_mcp`` (the kernel never
imports the MCP SDK). This module is light: the kernel reads it at start.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

SERVER_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
PLUGIN_PREFIX = "mcp_"
DEFAULT_TIMEOUT_S = 60

STDIO_KEYS = ("command", "args", "env", "cwd")
HTTP_KEYS = ("url", "headers")
COMMON_KEYS = ("auto_approve", "timeout_s", "disabled")
KNOWN_KEYS = STDIO_KEYS + HTTP_KEYS + COMMON_KEYS


@dataclass(frozen=True)
class ServerConfig:
    """One ``[mcp.NAME]`` table, with its defaults applied."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auto_approve: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    disabled: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def plugin(self) -> str:
        """The plugin name of this server: ``mcp_NAME``."""
        return PLUGIN_PREFIX + self.name

    @property
    def transport(self) -> str:
        """``stdio`` or ``http``."""
        return "http" if self.url is not None else "stdio"

    def key(self) -> str:
        """A hash of what decides the server's tools (command, args, env, cwd, url, headers).

        Cached tool lists are kept under this key, so changing how the server is
        started makes its cached list stale. ``auto_approve``, ``timeout_s`` and
        ``disabled`` do not change what the server offers, so they are left out.
        """
        identity = {
            "command": self.command,
            "args": list(self.args),
            "env": dict(self.env),
            "cwd": self.cwd,
            "url": self.url,
            "headers": dict(self.headers),
        }
        text = json.dumps(identity, sort_keys=True, ensure_ascii=False)
        import hashlib  # here: it costs ~3 ms of the CLI's start

        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _string_table(value: Any, where: str, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(
            f'{where} {key} must be a table of strings, such as {key} = {{ A = "b" }}'
        )
    return tuple(sorted(value.items()))


def parse_server(name: str, table: Any, path: Path) -> ServerConfig:
    """Check one ``[mcp.NAME]`` table and return it as a :class:`ServerConfig`.

    Raises :class:`ConfigError` naming the file, the table and the fault.
    """
    where = f"invalid config file {path}: [mcp.{name}]"
    if not SERVER_NAME.match(name):
        raise ConfigError(
            f"{where}: the server name must match ^[a-z0-9_]{{1,32}}$ (lower-case letters, "
            "digits and '_')"
        )
    if not isinstance(table, dict):
        raise ConfigError(f'{where} must be a table, such as [mcp.{name}] command = "my-server"')
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    command, url = table.get("command"), table.get("url")
    if (command is None) == (url is None):
        raise ConfigError(
            f"{where} needs exactly one of 'command' (a program started over stdio) or 'url' "
            "(a streamable HTTP endpoint)"
        )
    if command is not None and (not isinstance(command, str) or not command.strip()):
        raise ConfigError(f"{where} command must be a non-empty string")
    if url is not None and (
        not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE)
    ):
        raise ConfigError(f"{where} url must be an http:// or https:// address, not {url!r}")
    if url is not None:
        misplaced = sorted(k for k in ("args", "env", "cwd") if k in table)
        if misplaced:
            raise ConfigError(
                f"{where}: {misplaced[0]!r} is for a command; an url server takes headers"
            )
    if command is not None and "headers" in table:
        raise ConfigError(f"{where}: 'headers' is for an url server; a command takes env")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f'{where} args must be a list of strings, such as args = ["--flag"]')
    cwd = table.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd):
        raise ConfigError(f"{where} cwd must be a folder path (a string)")
    for flag in ("auto_approve", "disabled"):
        if flag in table and not isinstance(table[flag], bool):
            raise ConfigError(f"{where} {flag} must be true or false")
    timeout = table.get("timeout_s", DEFAULT_TIMEOUT_S)
    if (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ConfigError(f"{where} timeout_s must be a number of seconds more than 0")
    return ServerConfig(
        name=name,
        command=command,
        args=tuple(args),
        env=_string_table(table["env"], where, "env") if "env" in table else (),
        cwd=cwd,
        url=url,
        headers=_string_table(table["headers"], where, "headers") if "headers" in table else (),
        auto_approve=bool(table.get("auto_approve", False)),
        timeout_s=float(timeout),
        disabled=bool(table.get("disabled", False)),
    )


def check_mcp_tables(data: dict[str, Any], path: Path) -> None:
    """Check the ``[mcp]`` part of a parsed config file; raise ConfigError on the first fault."""
    servers = data.get("mcp", {})
    if not isinstance(servers, dict):
        raise ConfigError(
            f"invalid config file {path}: [mcp] must hold [mcp.NAME] tables, such as [mcp.time] "
            'command = "mcp-server-time"'
        )
    for name, table in servers.items():
        parse_server(name, table, path)


def mcp_servers(data: dict[str, Any], path: Path) -> dict[str, ServerConfig]:
    """Every ``[mcp.NAME]`` server of a checked config, by plugin name (``mcp_NAME``), sorted."""
    servers = data.get("mcp", {})
    if not isinstance(servers, dict):
        return {}
    parsed = [parse_server(name, table, path) for name, table in sorted(servers.items())]
    return {server.plugin: server for server in parsed}
