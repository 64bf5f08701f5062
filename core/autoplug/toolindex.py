"""The registered tools and their names: who registered what, and which tool a name reaches.

:class:`ToolIndex` holds every tool under its qualified name (``plugin.tool``) and
resolves bare names by the clash rules (a plugin's tool before a builtin, a
builtin before a guest such as an MCP server's tool; then by plugin name). The
door, :class:`autoplug.registry.ToolRegistry`, is a ToolIndex.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import ToolDefinitionError
from .tools import Tool, as_tool, new_edition


class ToolIndex:
    """Every registered tool by qualified name, and the tool each bare name reaches."""

    def __init__(self) -> None:
        self._by_qualified: dict[str, Tool] = {}
        self._winners: dict[str, Tool] = {}

    # -- registration -------------------------------------------------------

    def add(self, tool_or_func: Any, plugin: str, builtin: bool = False) -> Tool:
        """Register a tool for ``plugin``; raise ToolDefinitionError naming plugin and tool."""
        made = as_tool(tool_or_func)
        # replace() keeps a Tool subclass (an MCP tool) and gives each registration its copy.
        made = dataclasses.replace(made, plugin=plugin, builtin=builtin)
        made.check()
        if made.qualified_name in self._by_qualified:
            raise ToolDefinitionError(
                f"plugin {plugin!r} tool {made.name!r}: registered twice by the same plugin"
            )
        self._by_qualified[made.qualified_name] = made
        self._resolve_winner(made.name)
        return made

    def remove_plugin(self, plugin: str) -> None:
        """Forget every tool of ``plugin`` (used when its registration fails)."""
        names = {t.name for t in self._by_qualified.values() if t.plugin == plugin}
        self._by_qualified = {q: t for q, t in self._by_qualified.items() if t.plugin != plugin}
        for name in names:
            self._resolve_winner(name)

    def _resolve_winner(self, name: str) -> None:
        # Every change to the tools held passes here (add, remove_plugin, restricted):
        # a new edition, after the change, for what was written from the tools.
        candidates = [t for t in self._by_qualified.values() if t.name == name]
        if not candidates:
            self._winners.pop(name, None)
        else:
            candidates.sort(key=lambda t: (t.guest, t.builtin, t.plugin or ""))
            self._winners[name] = candidates[0]
        new_edition()

    # -- lookup -------------------------------------------------------------

    def get(self, name: str) -> Tool | None:
        """The tool for a bare name, ``plugin.tool`` or ``plugin__tool``; None if unknown."""
        found = self._winners.get(name) or self._by_qualified.get(name)
        if found is None and "__" in name:
            plugin, _, bare = name.partition("__")
            found = self._by_qualified.get(f"{plugin}.{bare}")
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self._by_qualified)

    def all(self) -> list[Tool]:
        """Every registered tool, sorted by (name, plugin)."""
        return sorted(self._by_qualified.values(), key=lambda t: (t.name, t.plugin or ""))

    def wins(self, tool_: Tool) -> bool:
        """Whether ``tool_`` is the one its bare name reaches."""
        return self._winners.get(tool_.name) is tool_

    def call_name(self, tool_: Tool) -> str:
        """The name a user calls the tool by: bare if it wins, else ``plugin.tool``."""
        return tool_.name if self.wins(tool_) else tool_.qualified_name

    def model_name(self, tool_: Tool) -> str:
        """The name offered to models: bare if it wins, else ``plugin__tool``."""
        name = tool_.name
        # wins(), read in place: a plan's every step asks this.
        return name if self._winners.get(name) is tool_ else f"{tool_.plugin}__{name}"

    def close_names(self, name: str, n: int = 3) -> list[str]:
        """Registered names that look like ``name`` (for "did you mean")."""
        import difflib

        names = list(self._winners) + list(self._by_qualified)
        return difflib.get_close_matches(name, names, n=n, cutoff=0.5)

    def unknown_error(self, name: str) -> str:
        """The one-line error for an unknown tool name, with close names."""
        close = self.close_names(name)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown tool {name!r}{hint}"
