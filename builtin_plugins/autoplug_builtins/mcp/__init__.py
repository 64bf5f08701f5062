"""Builtin plugin ``autoplug_mcp``: every ``[mcp.NAME]`` server's tools as autoplug tools.

Each server is a plugin of its own, ``mcp_NAME``, made here when the kernel
loads (see :func:`make_server_plugins`); its tools come from the tool list
cached in the state folder, so loading never starts a server. The MCP SDK
(extra ``mcp``) is imported only by ``client``, when a server is listed or
called. Without ``[mcp.NAME]`` tables this plugin does nothing; with them and
without the SDK it is ``failed`` with a one-line "install autoplug[mcp]" reason.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from autoplug.errors import PluginError

INSTALL_HINT = (
    "the [mcp.NAME] servers in config.toml need the MCP SDK: install autoplug[mcp] "
    "(pip install 'autoplug[mcp]')"
)


def sdk_installed() -> bool:
    """Whether the ``mcp`` SDK can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("mcp") is not None
    except (ImportError, ValueError):
        return False


def make_server_plugins(kernel: Any, servers: list[Any], active: set[str]) -> list[Any]:
    """The plugin objects of the enabled servers (``active``, by plugin name) of ``kernel``.

    Sets ``kernel.mcp`` to the client and has ``kernel.close()`` stop its servers.
    Raises PluginError (the plugin is then failed) when the SDK is missing.
    """
    if not active:
        return []
    if not sdk_installed():
        raise PluginError(INSTALL_HINT)
    from .manager import McpManager

    manager = McpManager(kernel, servers, active)
    kernel.mcp = manager
    kernel.on_close(manager.close)
    return manager.plugins()
