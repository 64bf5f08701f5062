"""Tools: the ``Tool`` type, the ``@tool`` decorator, and the values of a call.

A tool's arguments are checked against its JSON Schema by :meth:`Tool.violations`
(a compiled fast path for flat schemas, jsonschema for the rest and for the
messages). Calls go through :class:`autoplug.registry.ToolRegistry`, the one door.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .errors import ToolDefinitionError
from .fastcheck import MAX_ARGUMENT_CHARS, compile_door
from .fastcheck import compile_fast as _compile_fast  # noqa: F401  (dynamic.py imports it here)
from .schema import function_schema

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: The tools' edition: ``EDITION[0]`` is a new number after any public field of any
#: :class:`Tool` is set (through attribute assignment, as ``Tool.__setattr__`` sees it)
#: and after any change to which tools a :class:`~autoplug.toolindex.ToolIndex` holds.
#: What is written from tools (the planner's catalog) is kept with the edition it was
#: written in: the same edition, the same tools with the same fields. Each number is
#: drawn once, after its change is made, so a reader that took the edition before
#: reading the tools never keeps a stale text under a later edition.
EDITION = [0]
_editions = itertools.count(1)


def new_edition() -> None:
    """Mark a change to some tool or registry (see :data:`EDITION`)."""
    EDITION[0] = next(_editions)


class _LazyWorkspace:
    """The ``workspace`` field of :class:`CallContext`: the current directory, read when first used.

    ``Path.cwd()`` is a system call (1-3 µs), dearer than the rest of a call through
    the door; most calls never read the workspace, so it is resolved on first read.
    """

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return None  # the dataclass default: "the current directory, when read"
        found = obj.__dict__.get("_workspace")
        if found is None:
            found = obj.__dict__["_workspace"] = Path.cwd()
        return found

    def __set__(self, obj: Any, value: Any) -> None:
        # Reached only from __init__ (object.__setattr__); the frozen class refuses the rest.
        obj.__dict__["_workspace"] = value


@dataclass(frozen=True)
class CallContext:
    """What a tool call runs in; injected into a tool that declares ``*, context: CallContext``.

    Outside a run the ids are None and the workspace is the current directory
    (resolved when first read). A side-effect tool runs only when ``approved``
    is true. ``home`` is the kernel's AUTOPLUG_HOME (filled by
    ``kernel.tools.call`` and by runs), so a tool reads its settings from the
    kernel it runs in, not from the environment.
    """

    run_id: str | None = None
    step_id: str | None = None
    workspace: Path = _LazyWorkspace()  # type: ignore[assignment]
    approved: bool = False
    home: Path | None = None

    def with_home(self, home: Path | None) -> CallContext:
        """This context with ``home`` set (the workspace stays unresolved if it was)."""
        made = _new(CallContext)
        made.__dict__.update(self.__dict__)
        made.__dict__["home"] = home
        return made


_new = object.__new__


def _context(home: Path | None) -> CallContext:
    """``CallContext(home=home)`` at a fifth of the cost: the door's default context.

    A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``;
    fields left at their class defaults need not be stored at all.
    """
    made = _new(CallContext)
    made.__dict__["home"] = home
    return made


def _call_context(
    run_id: str | None, step_id: str | None, workspace: Path, approved: bool, home: Path | None
) -> CallContext:
    """``CallContext(run_id, step_id, workspace, approved, home)``, built as :func:`_context` is
    (a plan's step makes one per call); the same frozen value."""
    made = _new(CallContext)
    made.__dict__.update(
        run_id=run_id, step_id=step_id, _workspace=workspace, approved=approved, home=home
    )
    return made


@dataclass(frozen=True)
class ToolCall:
    """One call as the hooks see it: the tool's name, its validated arguments and ids."""

    tool: str
    args: dict[str, Any]
    call_id: str
    run_id: str | None = None
    step_id: str | None = None


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call.

    ``ok`` is true with ``value`` set on success. On failure ``error`` is one line
    naming the tool and the fault, ``kind`` is one of ``unknown_tool``,
    ``invalid_args``, ``refused``, ``timeout``, ``tool_error``, and ``violations``
    holds ``(json_path, message)`` pairs for invalid arguments.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    kind: str | None = None
    violations: tuple[tuple[str, str], ...] = ()
    assets: tuple[tuple[str, Any], ...] = ()  # extra outputs, from a ToolOutput

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (``violations`` as ``[{"path", "message"}]``).

        Extra outputs (``assets``) are listed by name, type and size, when there are any.
        """
        data: dict[str, Any] = {
            "ok": self.ok,
            "value": self.value,
            "error": self.error,
            "kind": self.kind,
            "violations": [{"path": p, "message": m} for p, m in self.violations],
        }
        if self.assets:
            data["assets"] = [
                {"name": name, "type": "bytes", "size": len(v)}
                if isinstance(v, bytes)
                else {"name": name, "type": "json", "value": v}
                for name, v in self.assets
            ]
        return data


@dataclass(frozen=True)
class ToolOutput:
    """What a tool returns when it has more than one output.

    ``value`` is the call's value (the step's asset); each ``(name, value)`` of
    ``assets`` is stored beside it as the asset ``OUTPUT.name`` (for example the
    images of an MCP result, as bytes).
    """

    value: Any
    assets: tuple[tuple[str, Any], ...] = ()


def _failure(kind: str, error: str, violations: Iterable[tuple[str, str]] = ()) -> ToolResult:
    return ToolResult(ok=False, error=error, kind=kind, violations=tuple(violations))


def _success(value: Any) -> ToolResult:
    """``ToolResult(ok=True, value=value)`` (or a ToolOutput's), built at a quarter of the cost.

    The hot path of every call: the fields left at their defaults are read from the
    class, so only two are stored; the result is the same frozen value.
    """
    if isinstance(value, ToolOutput):
        return ToolResult(ok=True, value=value.value, assets=tuple(value.assets))
    made = _new(ToolResult)
    fields = made.__dict__
    fields["ok"] = True
    fields["value"] = value
    return made


@dataclass
class Tool:
    """A callable a model can use: a name, a description, a JSON Schema for its arguments.

    Build one with :func:`tool`, or by hand with an explicit ``parameters`` schema
    (checked against the meta-schema of the dialect its ``$schema`` names when
    registered). ``plugin`` is set when the tool is registered. ``unusable`` is
    the reason a hand-built schema cannot be used (an unresolvable ``$ref``, a
    ``pattern`` that does not compile), or None; such a tool is never offered to
    a model and every call of it fails with that reason. A ``Tool`` is callable
    like its function.
    """

    name: str
    func: Callable[..., Any]
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    side_effects: bool = False
    timeout: float | None = None
    trusted_schema: bool = False
    plugin: str | None = None
    builtin: bool = False
    unusable: str | None = field(init=False, default=None)
    auto_approve: bool = False  # a side-effect tool that runs without asking (MCP auto_approve)
    wants_context: bool = field(init=False, default=False)
    is_async: bool = field(init=False, default=False)
    _validator: Any = field(init=False, default=None, repr=False)
    _fast: Any = field(init=False, default=None, repr=False)
    _partial: Any = field(init=False, default=None, repr=False)
    _door: Any = field(init=False, default=None, repr=False)
    # A guest tool (an MCP server's) takes its bare name only when no other plugin's tool has it.
    guest: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.func)
        params: Mapping[str, inspect.Parameter]
        try:
            params = inspect.signature(self.func).parameters
        except (TypeError, ValueError):
            params = {}
        ctx = params.get("context")
        self.wants_context = ctx is not None and ctx.kind == inspect.Parameter.KEYWORD_ONLY

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _DOOR_INPUTS:
            # What the door's inline path was written from has changed: write it again.
            self.__dict__["_door"] = None
            if name == "parameters":
                # The compiled checks and validators of the old schema: made again when used.
                fields = self.__dict__
                fields["_fast"] = fields["_validator"] = fields["_partial"] = None
        if name[0] != "_":
            EDITION[0] = next(_editions)  # new_edition(), a call less: a public field set

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def _plain_door(self) -> Any:
        """The door's inline path for this tool: ``door(args, max_chars)``, or False.

        Only a plain tool has one: sync, without context or side effects, usable,
        with a schema of simple properties (:func:`autoplug.fastcheck.compile_door`).
        It returns the tool's value, or :data:`autoplug.fastcheck.UNSURE` (the tool
        not called) for arguments that need the full check. Written once, kept
        until one of the fields it was written from is set again.
        """
        door = self._door
        if door is None:
            plain = not (self.is_async or self.wants_context or self.side_effects)
            # A subclass with its own check (an MCP tool's dialect) is asked through it.
            plain = plain and type(self).violations is Tool.violations
            if plain and self.unusable is None and isinstance(self.parameters, dict):
                door = compile_door(self.parameters, self.func)
            door = self.__dict__["_door"] = door or False
        return door

    @property
    def qualified_name(self) -> str:
        """``plugin.tool``, or the bare name before registration."""
        return f"{self.plugin}.{self.name}" if self.plugin else self.name

    def check(self) -> None:
        """Check the name and, for a hand-built tool, the schema; raise ToolDefinitionError."""
        where = (
            f"plugin {self.plugin!r} tool {self.name!r}" if self.plugin else f"tool {self.name!r}"
        )
        if not isinstance(self.name, str) or not TOOL_NAME.match(self.name):
            raise ToolDefinitionError(
                f"{where}: name must match ^[A-Za-z0-9_-]{{1,64}}$ (what model APIs accept)"
            )
        if not callable(self.func):
            raise ToolDefinitionError(f"{where}: func is not callable")
        if self.trusted_schema:
            return
        schema = self.parameters
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise ToolDefinitionError(
                f"{where}: parameters must be a JSON Schema with type 'object'"
            )
        from jsonschema.exceptions import SchemaError

        from .schemacheck import schema_fault, validator_class

        try:
            # A $ref that does not resolve or a pattern that does not compile makes the
            # tool unusable (listed with its reason, never offered), not a failed plugin.
            self.unusable = schema_fault(schema)
            if self.unusable is None:
                validator_class(schema)[0].check_schema(schema)
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.path) or "(root)"
            raise ToolDefinitionError(
                f"{where}: invalid parameters schema at {path}: {exc.message}"
            ) from None
        except RecursionError:
            raise ToolDefinitionError(
                f"{where}: the parameters schema is nested too deeply to check"
            ) from None

    def quick_accept(self, args: Any, max_chars: int = MAX_ARGUMENT_CHARS) -> bool:
        """True when the compiled fast check accepts ``args`` within ``max_chars``.

        False means "not sure": the caller bounds and validates them fully.
        """
        fast = self._fast
        if fast is None:
            fast = self._fast = _compile_fast(self.parameters) or False
        return bool(fast) and fast(args, max_chars)

    def violations(self, args: Any) -> list[tuple[str, str]]:
        """Every way ``args`` breaks the schema, as ``(json_path, message)``; empty when valid."""
        fast = self._fast
        if fast is None:
            fast = self._fast = _compile_fast(self.parameters) or False
        if fast and fast(args):
            return []
        validator = self._validator
        if validator is None:
            from .schemacheck import make_validator

            validator = self._validator = make_validator(self.parameters)
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
        return [(e.json_path, e.message) for e in errors]

    def open_violations(self, args: Any, present: Iterable[str]) -> list[tuple[str, str]]:
        """:meth:`violations` with the names in ``present`` counted as given.

        For a plan's literal arguments: its ``$asset`` and ``$fill`` arguments get
        their values later, so their absence is no violation. A subclass with its
        own :meth:`violations` (an MCP tool's dialect) is asked through it; the
        caller then drops the "is a required property" messages of those names.
        """
        if type(self).violations is not Tool.violations:
            return self.violations(args)
        fast = self._fast
        if fast is None:
            fast = self._fast = _compile_fast(self.parameters) or False
        given = frozenset(present)
        if fast and fast(args, MAX_ARGUMENT_CHARS, given):
            return []
        if given and isinstance(self.parameters, dict):
            required = self.parameters.get("required")
            if isinstance(required, list) and given & set(required):
                return self._partial_violations(args, given & frozenset(required))
        return self.violations(args)

    def _partial_violations(self, args: Any, given: frozenset[str]) -> list[tuple[str, str]]:
        """Violations with the ``given`` required names excused, compiled once per set of names.

        Not the full check with its "is a required property" errors filtered out:
        building those errors is jsonschema's slow path (tens of µs a step).
        """
        cache = self._partial
        if cache is None:
            cache = self._partial = {}
        validator = cache.get(given)
        if validator is None:
            from .schemacheck import make_validator

            schema = dict(self.parameters)
            schema["required"] = [n for n in schema["required"] if n not in given]
            validator = cache[given] = make_validator(schema)
        if validator.is_valid(args):
            return []
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
        return [(e.json_path, e.message) for e in errors]


#: The fields :meth:`Tool._plain_door` is written from.
_DOOR_INPUTS = frozenset(
    {"func", "parameters", "side_effects", "unusable", "wants_context", "is_async"}
)


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    side_effects: bool = False,
    timeout: float | None = None,
) -> Any:
    """Make a :class:`Tool` of a function, its schema read from type hints and docstring.

    Use bare (``@tool``) or with options (``@tool(name=..., side_effects=True,
    timeout=30)``). A keyword-only ``context: CallContext`` parameter is injected
    at call time and is not part of the schema.
    """

    def wrap(fn: Callable[..., Any]) -> Tool:
        if isinstance(fn, Tool):
            fn = fn.func
        tool_name = name or fn.__name__
        desc, parameters = function_schema(fn, tool_name)
        made = Tool(
            name=tool_name,
            func=fn,
            description=description if description is not None else desc,
            parameters=parameters,
            side_effects=side_effects,
            timeout=timeout,
            trusted_schema=True,
        )
        made.__doc__ = fn.__doc__
        made.check()
        return made

    return wrap(func) if func is not None else wrap


def as_tool(obj: Any) -> Tool:
    """A :class:`Tool` from a Tool or a plain function (wrapped as by ``@tool``)."""
    if isinstance(obj, Tool):
        return obj
    if callable(obj):
        return tool(obj)
    raise ToolDefinitionError(f"cannot register {obj!r} as a tool: not a Tool or a function")
