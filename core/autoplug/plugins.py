"""Plugin discovery and loading: the pluggy PluginManager and the ``autoplug`` entry points.

Entry points are loaded one at a time. A plugin that fails to import or to
register is recorded with its error and skipped; a disabled plugin is never
imported. Hook implementations are called in ascending plugin-name order.
"""

from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import describe_error

GROUP = "autoplug"
BUILTIN_DISTRIBUTION = "autoplug"
BUILTIN_NAMES = (
    "autoplug_autos",
    "autoplug_files",
    "autoplug_mcp",
    "autoplug_memory",
    "autoplug_models",
    "autoplug_otel",
    "autoplug_web",
)

# DESIGN "More of the command line": the CLI's own command names. A plugin's
# register_commands may not add or replace them (a builtin plugin may add one that
# is not there yet, e.g. the mcp extra's `mcp`); such a plugin is marked failed.
RESERVED_COMMANDS = (
    "plugins",
    "tools",
    "models",
    "autos",
    "roles",
    "run",
    "chat",
    "runs",
    "resume",
    "memory",
    "new-plugin",
    "mcp",
    "batch",
    "ui",
)


@dataclass
class PluginInfo:
    """What ``autoplug plugins`` reports of one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    status: str = "loaded"  # loaded | failed | disabled
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    note: str | None = None  # shown when set: an MCP server never listed
    module: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``autoplug plugins --json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "status": self.status,
            "hooks": list(self.hooks),
            "error": self.error,
        } | ({"note": self.note} if self.note else {})


#: The attribute pluggy's HookimplMarker sets on a hook implementation.
_IMPL_ATTR = GROUP + "_impl"
_HOOKABLE = (types.FunctionType, types.MethodType, staticmethod, classmethod)
_MISSING = object()


class PluginManager(pluggy.PluginManager):
    """pluggy's PluginManager, quicker to register a module.

    Registering looks at every name of the plugin (a module's imports and helpers
    too), through :func:`inspect.getattr_static`: most of the time of registering
    a builtin. A module's value is read from its ``__dict__`` (what getattr_static
    finds for a module) and skipped at once when it is no function, method,
    staticmethod or classmethod, or is a function without the hookimpl marker;
    everything else is left to pluggy, so the same hooks are found.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """The hookimpl options of ``plugin.name``, or None (see the class)."""
        if type(plugin) is types.ModuleType:
            value = plugin.__dict__.get(name, _MISSING)
            if value is not _MISSING:
                if type(value) is types.FunctionType:
                    if _IMPL_ATTR not in value.__dict__:
                        return None
                elif not isinstance(value, _HOOKABLE):
                    return None
        return super().parse_hookimpl_opts(plugin, name)


def get_plugin_manager() -> pluggy.PluginManager:
    """A new PluginManager with the autoplug hook catalog (no plugins)."""
    pm = PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    return pm


def entry_points() -> list[Any]:
    """The ``autoplug`` entry points of every installed distribution, first of each name kept.

    Read by :mod:`autoplug.entrypoints` (a third of the CLI's start saved), or by
    importlib.metadata where the path holds what that reader does not read.
    """
    from .entrypoints import entry_points as _scan

    found: Any = _scan(GROUP)
    if found is None:
        from importlib.metadata import entry_points as _entry_points

        found = _entry_points(group=GROUP)
    seen: dict[str, Any] = {}
    for ep in found:
        seen.setdefault(ep.name, ep)
    return [seen[name] for name in sorted(seen)]


def wanted_names(available: list[str], disabled: list[str]) -> tuple[set[str], list[str]]:
    """Which plugin names to load, and the unknown names asked for.

    ``AUTOPLUG_LOAD_PLUGINS`` (comma-separated) replaces the config's disabled
    list when set; the empty string loads none.
    """
    env = os.environ.get("AUTOPLUG_LOAD_PLUGINS")
    if env is None:
        return {n for n in available if n not in set(disabled)}, []
    asked = [n.strip() for n in env.split(",") if n.strip()]
    unknown = [n for n in asked if n not in available]
    return {n for n in asked if n in available}, unknown


def strict_plugins() -> bool:
    """Whether ``AUTOPLUG_STRICT_PLUGINS`` asks for plugin failures to be errors."""
    return os.environ.get("AUTOPLUG_STRICT_PLUGINS", "").strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }


def plugin_name(obj: Any) -> str:
    """The name of a plugin object passed to ``Kernel(plugins=[...])``.

    A module's ``__name__``; otherwise its ``name`` attribute, else its class name.
    """
    if isinstance(obj, type(sys)):
        return obj.__name__
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) and name else type(obj).__name__


def hook_names(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    """The hooks ``plugin`` implements, sorted."""
    callers = pm.get_hookcallers(plugin) or []
    return sorted(c.name for c in callers)


def register_sorted(pm: pluggy.PluginManager, plugins: list[tuple[str, Any]]) -> dict[str, str]:
    """Register ``(name, object)`` pairs so hooks run in ascending name order.

    pluggy calls the last registered implementation first, so plugins are
    registered in descending name order. Returns ``{name: error}`` for those that
    failed (pluggy validation, or an unknown hook found by ``check_pending``).
    """
    failures: dict[str, str] = {}
    for name, obj in sorted(plugins, key=lambda p: p[0], reverse=True):
        try:
            pm.register(obj, name=name)
            pm.check_pending()
        except Exception as exc:
            failures[name] = describe_error(exc)
            if pm.get_plugin(name) is not None:
                pm.unregister(name=name)
    return failures
