"""A run's tool catalog: what a cassette records, and the exact catalog a replay offers.

The prompts list every tool a run may use, so a recorded run replays only when
the replay offers the same tools. A cassette keeps :func:`catalog_entries` of
the recording run; a replay keeps, of the installed tools, exactly those
(:func:`replay_catalog`), whatever else is installed, and refuses to start when
one of them is missing. The agents see the restricted catalog through a
:class:`KernelView`, a kernel whose ``tools`` is the restricted registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import UsageError
from .registry import ToolRegistry


def catalog_entries(tools: ToolRegistry) -> list[dict[str, Any]]:
    """Every tool as a run offers it, sorted by the name models see.

    Each entry: ``name`` (as offered to models), ``tool`` (its own name),
    ``plugin``, ``description``, ``parameters``, ``side_effects``.
    """
    entries = [
        {
            "name": tools.model_name(t),
            "tool": t.name,
            "plugin": t.plugin,
            "description": t.description,
            "parameters": t.parameters,
            "side_effects": t.side_effects,
        }
        for t in tools.all()
    ]
    return sorted(entries, key=lambda e: e["name"])


@dataclass(frozen=True)
class ReplayCatalog:
    """The registry a replay offers, and the installed tools it leaves out."""

    tools: ToolRegistry
    not_offered: list[str]
    changed: list[str]

    def note(self, cassette: str) -> str:
        """The stderr line saying what the replay offers."""
        count = len(self.tools)
        line = f"replay: offering the {count} tool{'s' * (count != 1)} {cassette} was recorded with"
        if self.not_offered:
            line += f" (not offering installed {', '.join(self.not_offered)})"
        if self.changed:
            line += f"; changed since the recording: {', '.join(self.changed)}"
        return line


def replay_catalog(
    tools: ToolRegistry, recorded: list[dict[str, Any]], cassette: str
) -> ReplayCatalog:
    """The installed tools the cassette recorded, as a registry of their own.

    Raises :class:`UsageError` naming every recorded tool that is not installed
    (and the plugin that had it), before any model call.
    """
    wanted: list[str] = []
    missing: list[str] = []
    changed: list[str] = []
    for entry in recorded:
        plugin, name = entry.get("plugin"), entry.get("tool") or entry["name"]
        found = tools.get(f"{plugin}.{name}") if plugin else tools.get(entry["name"])
        if found is None:
            missing.append(f"{entry['name']} (plugin {plugin})" if plugin else entry["name"])
            continue
        wanted.append(found.qualified_name)
        if (found.description, found.parameters) != (
            entry.get("description", found.description),
            entry.get("parameters", found.parameters),
        ):
            changed.append(entry["name"])
    if missing:
        raise UsageError(
            f"replay cassette {cassette} was recorded with tools that are not installed: "
            f"{', '.join(missing)}; install their plugins (or record the cassette again)"
        )
    subset = tools.restricted(wanted)
    offered = set(wanted)
    left_out = sorted(tools.model_name(t) for t in tools.all() if t.qualified_name not in offered)
    return ReplayCatalog(subset, left_out, changed)


class KernelView:
    """A kernel seen with another tool registry; everything else is the kernel's own.

    What a replayed run's agents see: the recorded catalog as ``tools``.
    """

    def __init__(self, kernel: Any, tools: ToolRegistry) -> None:
        self._kernel = kernel
        self.tools = tools

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kernel, name)
