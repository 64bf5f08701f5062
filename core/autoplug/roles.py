"""Roles: the specialised agents a manager Auto delegates to (DESIGN *Teams*).

A :class:`Role` comes from a ``[roles.NAME]`` table of the config or from a
plugin's ``register_roles(register)`` hook. :class:`RoleRegistry` holds both: a
config table replaces a plugin's role of the same name, and between plugins the
first in plugin-name order wins. This module is light (the kernel builds the
registry at start); a role's ``output_schema`` is checked only when roles are read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, UsageError

#: What a role's name looks like.
ROLE_NAME = re.compile(r"^[a-z0-9_]{1,32}$")

#: The keys of a ``[roles.NAME]`` table.
ROLE_KEYS = (
    "description",
    "instructions",
    "tools",
    "model",
    "output_schema",
    "output_schema_file",
)


@dataclass(frozen=True)
class Role:
    """One role a manager can delegate to.

    :param name: matches ``^[a-z0-9_]{1,32}$``.
    :param description: one line the manager reads when it chooses a role.
    :param instructions: what the role's child run is told (in its dynamic and
        planner system prompts).
    :param tools: the tool names it may plan with, as models see them; None
        means every tool, ``()`` none.
    :param model: the model id its child runs use; None means the manager's.
    :param output_schema: a JSON Schema its answers must match, or None.
    """

    name: str
    description: str
    instructions: str
    tools: tuple[str, ...] | None = None
    model: str | None = None
    output_schema: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Lists are accepted for convenience; the role stays a hashable value.
        if isinstance(self.tools, list):
            object.__setattr__(self, "tools", tuple(self.tools))

    def to_dict(self, source: str) -> dict[str, Any]:
        """The ``autoplug roles --json`` entry: name, description, tools, model, output_schema, source."""
        return {
            "name": self.name,
            "description": self.description,
            "tools": None if self.tools is None else list(self.tools),
            "model": self.model,
            "output_schema": self.output_schema,
            "source": source,
        }


def role_problem(role: Any) -> str | None:
    """Why ``role`` is not a usable :class:`Role`, or None."""
    if not isinstance(role, Role):
        return f"register an autoplug.Role, not {type(role).__name__}"
    if not isinstance(role.name, str) or not ROLE_NAME.match(role.name):
        return f"role name {role.name!r} must match ^[a-z0-9_]{{1,32}}$"
    for key in ("description", "instructions"):
        value = getattr(role, key)
        if not isinstance(value, str) or not value.strip():
            return f"role {role.name!r}: {key} must be a non-empty string"
    if "\n" in role.description.strip():
        return f"role {role.name!r}: description must be one line"
    if role.tools is not None and not (
        isinstance(role.tools, tuple) and all(isinstance(t, str) and t for t in role.tools)
    ):
        return f"role {role.name!r}: tools must be a list of tool names (or None for all)"
    if role.model is not None and (not isinstance(role.model, str) or not role.model):
        return f"role {role.name!r}: model must be a model id such as 'openai:gpt-4o-mini'"
    if role.output_schema is not None and not isinstance(role.output_schema, dict):
        return f"role {role.name!r}: output_schema must be a JSON Schema object"
    return None


def check_role_tables(data: dict[str, Any], path: Path) -> None:
    """What the key rules cannot say about ``[roles.NAME]``: names, required keys, one schema."""
    where = f"invalid config file {path}:"
    for name, table in (data.get("roles") or {}).items():
        if not ROLE_NAME.match(name):
            raise ConfigError(
                f"{where} [roles.{json.dumps(name)}]: a role name must match ^[a-z0-9_]{{1,32}}$"
            )
        for key in ("description", "instructions"):
            if not str(table.get(key) or "").strip():
                raise ConfigError(f'{where} [roles.{name}] needs {key} = "..."')
        if "\n" in table["description"].strip():
            raise ConfigError(f"{where} [roles.{name}] description must be one line")
        if "output_schema" in table and "output_schema_file" in table:
            raise ConfigError(
                f"{where} [roles.{name}] has both output_schema and output_schema_file; keep one"
            )


def _schema_of(name: str, table: dict[str, Any], config_path: Path) -> dict[str, Any] | None:
    """The role's output schema: the inline table, or the file (relative to the config's folder)."""
    if "output_schema" in table:
        return dict(table["output_schema"])
    if "output_schema_file" not in table:
        return None
    file = Path(table["output_schema_file"]).expanduser()
    if not file.is_absolute():
        file = config_path.parent / file
    where = f"invalid config file {config_path}: [roles.{name}] output_schema_file"
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {file}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{where}: {file} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {file} must hold a JSON object (a JSON Schema)")
    return value


def roles_from_config(config: Any) -> list[Role]:
    """The roles of the config's ``[roles.NAME]`` tables (already checked by ``Config.load``)."""
    roles = []
    for name, table in sorted(config.section("roles").items()):
        tools = table.get("tools")
        roles.append(
            Role(
                name=name,
                description=table["description"].strip(),
                instructions=table["instructions"],
                tools=None if tools is None else tuple(tools),
                model=table.get("model"),
                output_schema=_schema_of(name, table, config.path),
            )
        )
    return roles


@dataclass(frozen=True)
class RoleScope:
    """What a child run's plan checks know about its role: the tools it may plan with.

    Set as ``role_scope`` on the child's restricted tool registry; ``everything``
    is the kernel's whole registry, so a tool that exists but is not the role's
    gets an error naming the role and its tools rather than "unknown tool".
    """

    role: str
    tools: tuple[str, ...]
    everything: Any

    def refusal(self, tool: str) -> str:
        """The plan error for a step that uses ``tool``, which is not one of the role's."""
        listed = ", ".join(self.tools) or "none"
        return (
            f"tool {tool!r} is not one of role {self.role!r}'s tools ({listed}); "
            "plan with those tools only"
        )


class RoleRegistry:
    """The roles of one kernel: the config's tables over the plugins' roles.

    Plugins' roles are added while the kernel loads (:meth:`add`); the config's
    are read on first use, so a broken ``output_schema_file`` only troubles a
    command that uses roles.
    """

    def __init__(self, config: Any) -> None:
        self.config = config
        self._plugin_roles: list[tuple[str, Role]] = []
        self._resolved: dict[str, tuple[Role, str]] | None = None

    def add(self, role: Any, plugin: str) -> None:
        """Register a plugin's role; UsageError (the plugin fails to load) for a bad one."""
        problem = role_problem(role)
        if problem is not None:
            raise UsageError(f"plugin {plugin!r} register_roles: {problem}")
        self._plugin_roles.append((plugin, role))
        self._resolved = None

    def remove_plugin(self, plugin: str) -> None:
        """Forget the roles ``plugin`` registered."""
        self._plugin_roles = [(p, r) for p, r in self._plugin_roles if p != plugin]
        self._resolved = None

    def _winners(self) -> dict[str, tuple[Role, str]]:
        if self._resolved is None:
            best: dict[str, tuple[Role, str]] = {}
            for plugin, role in sorted(self._plugin_roles, key=lambda e: e[0]):
                best.setdefault(role.name, (role, f"plugin {plugin}"))
            for role in roles_from_config(self.config):
                best[role.name] = (role, "config")
            self._resolved = best
        return self._resolved

    def get(self, name: str) -> Role:
        """The role called ``name``; UsageError naming close and known roles."""
        winners = self._winners()
        if name not in winners:
            raise UsageError(f"unknown role {name!r}; {self.hint(name)}")
        return winners[name][0]

    def hint(self, name: str) -> str:
        """``did you mean 'x'? known: a, b`` for an unknown role name."""
        import difflib

        known = sorted(self._winners())
        close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
        said = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        return f"{said}known roles: {', '.join(known) or 'none'}"

    def names(self) -> list[str]:
        """Every role name, sorted."""
        return sorted(self._winners())

    def items(self) -> list[tuple[Role, str]]:
        """``(role, source)`` of each role, sorted by name; source is ``config`` or ``plugin NAME``."""
        return [self._winners()[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._winners()

    def __len__(self) -> int:
        return len(self._winners())
