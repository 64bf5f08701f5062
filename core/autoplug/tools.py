"""Tools and the one door every tool call passes through.

``ToolRegistry.call`` / ``acall`` resolve the tool, validate the arguments
against its JSON Schema, check approval, run the ``before_tool_call`` hook, run
the tool and the ``after_tool_call`` hook, and return a :class:`ToolResult`. They
never raise for a problem with one call.
"""

from __future__ import annotations

import inspect
import itertools
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BlockingCallInLoop, ToolDefinitionError, ToolRefused
from .schema import function_schema

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_call_ids = itertools.count(1)


class ToolExited(Exception):
    """Raised in place of the ``SystemExit`` of a tool that called ``sys.exit()``.

    A tool's ``sys.exit()`` must fail its call, not end the process; and asyncio
    lets a ``SystemExit`` escape a task and stop the loop, so it is turned into
    this ordinary exception before it leaves the tool.
    """

    def __init__(self, code: object) -> None:
        super().__init__(f"the tool called sys.exit({code!r})")


def _no_exit_sync(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return func(**kwargs)
    except SystemExit as exc:
        raise ToolExited(exc.code) from None


async def _no_exit_async(awaitable: Any) -> Any:
    try:
        return await awaitable
    except SystemExit as exc:
        raise ToolExited(exc.code) from None


@dataclass(frozen=True)
class CallContext:
    """What a tool call runs in; injected into a tool that declares ``*, context: CallContext``.

    Outside a run the ids are None and the workspace is the current directory.
    A side-effect tool runs only when ``approved`` is true.
    """

    run_id: str | None = None
    step_id: str | None = None
    workspace: Path = field(default_factory=Path.cwd)
    approved: bool = False


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

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (``violations`` as ``[{"path", "message"}]``)."""
        return {
            "ok": self.ok,
            "value": self.value,
            "error": self.error,
            "kind": self.kind,
            "violations": [{"path": p, "message": m} for p, m in self.violations],
        }


def _failure(kind: str, error: str, violations: Iterable[tuple[str, str]] = ()) -> ToolResult:
    return ToolResult(ok=False, error=error, kind=kind, violations=tuple(violations))


@dataclass
class Tool:
    """A callable a model can use: a name, a description, a JSON Schema for its arguments.

    Build one with :func:`tool`, or by hand with an explicit ``parameters`` schema
    (checked against the JSON Schema meta-schema when registered). ``plugin`` is
    set when the tool is registered. A ``Tool`` is callable like its function.
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
    wants_context: bool = field(init=False, default=False)
    is_async: bool = field(init=False, default=False)
    _validator: Any = field(init=False, default=None, repr=False)
    _fast: Any = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.func)
        try:
            params = inspect.signature(self.func).parameters
        except (TypeError, ValueError):
            params = {}
        ctx = params.get("context")
        self.wants_context = ctx is not None and ctx.kind == inspect.Parameter.KEYWORD_ONLY

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

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
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.path) or "(root)"
            raise ToolDefinitionError(
                f"{where}: invalid parameters schema at {path}: {exc.message}"
            ) from None

    def violations(self, args: Any) -> list[tuple[str, str]]:
        """Every way ``args`` breaks the schema, as ``(json_path, message)``; empty when valid."""
        fast = self._fast
        if fast is None:
            fast = self._fast = _compile_fast(self.parameters) or False
        if fast and fast(args):
            return []
        validator = self._validator
        if validator is None:
            from jsonschema import Draft202012Validator

            validator = self._validator = Draft202012Validator(self.parameters)
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
        return [(e.json_path, e.message) for e in errors]


def _compile_fast(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A quick acceptor for flat schemas of simple typed properties, or None.

    It answers True only for arguments jsonschema would accept; anything it is
    unsure of (False) goes to jsonschema, which also produces the messages.
    """
    if set(schema) - {"type", "properties", "required", "additionalProperties", "description"}:
        return None
    if schema.get("additionalProperties", True) is not False:
        return None
    kinds = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}
    checks: dict[str, tuple[type, ...]] = {}
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict) or set(prop) - {"type", "description", "default"}:
            return None
        kind = prop.get("type")
        if kind not in kinds:
            return None
        checks[name] = kinds[kind]
    required = tuple(schema.get("required", ()))
    no_bool = {n for n, k in checks.items() if k != (bool,)}

    def accept(args: Any) -> bool:
        if type(args) is not dict:
            return False
        for name in required:
            if name not in args:
                return False
        for name, value in args.items():
            kind = checks.get(name)
            if kind is None or not isinstance(value, kind):
                return False
            if name in no_bool and isinstance(value, bool):
                return False
        return True

    return accept


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


def _running_loop() -> bool:
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio._get_running_loop() is not None


class ToolRegistry:
    """Every registered tool, the name-clash rules, and the one door (``call`` / ``acall``).

    ``hook`` is the plugin manager's hook relay (for ``before_tool_call`` and
    ``after_tool_call``), or None. ``default_timeout`` applies in ``acall`` to a
    tool without a timeout of its own.
    """

    def __init__(self, hook: Any = None, default_timeout: float | None = 60) -> None:
        self._hook = hook
        self.default_timeout = default_timeout
        self._by_qualified: dict[str, Tool] = {}
        self._winners: dict[str, Tool] = {}

    # -- registration -------------------------------------------------------

    def add(self, tool_or_func: Any, plugin: str, builtin: bool = False) -> Tool:
        """Register a tool for ``plugin``; raise ToolDefinitionError naming plugin and tool."""
        made = as_tool(tool_or_func)
        made = Tool(
            name=made.name,
            func=made.func,
            description=made.description,
            parameters=made.parameters,
            side_effects=made.side_effects,
            timeout=made.timeout,
            trusted_schema=made.trusted_schema,
            plugin=plugin,
            builtin=builtin,
        )
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
        candidates = [t for t in self._by_qualified.values() if t.name == name]
        if not candidates:
            self._winners.pop(name, None)
            return
        candidates.sort(key=lambda t: (t.builtin, t.plugin or ""))
        self._winners[name] = candidates[0]

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
        return tool_.name if self.wins(tool_) else f"{tool_.plugin}__{tool_.name}"

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

    # -- the door -----------------------------------------------------------

    def _prepare(
        self, name: str, args: Any, context: CallContext | None
    ) -> tuple[Tool | None, CallContext, ToolCall | None, ToolResult | None]:
        found = self.get(name) if isinstance(name, str) else None
        ctx = context if context is not None else CallContext()
        if found is None:
            return None, ctx, None, _failure("unknown_tool", self.unknown_error(str(name)))
        if args is None:
            args = {}
        problems = found.violations(args)
        if problems:
            detail = "; ".join(f"{path}: {message}" for path, message in problems)
            return (
                found,
                ctx,
                None,
                _failure(
                    "invalid_args", f"invalid arguments for tool {found.name!r}: {detail}", problems
                ),
            )
        if found.side_effects and not ctx.approved:
            return (
                found,
                ctx,
                None,
                _failure(
                    "refused",
                    f"tool {found.name!r} has side effects and was not approved",
                ),
            )
        call = ToolCall(
            tool=found.qualified_name,
            args=args,
            call_id=f"call-{next(_call_ids)}",
            run_id=ctx.run_id,
            step_id=ctx.step_id,
        )
        if self._hook is not None:
            try:
                early = self._hook.before_tool_call(call=call, context=ctx)
            except ToolRefused as exc:
                early = _failure("refused", f"tool {found.name!r} refused: {exc.reason}")
            except Exception as exc:  # a hook's bug must not crash the caller
                early = _failure(
                    "tool_error",
                    f"tool {found.name!r}: before_tool_call hook failed: {_one_line(exc)}",
                )
            if early is not None and not isinstance(early, ToolResult):
                early = _failure(
                    "tool_error",
                    f"tool {found.name!r}: before_tool_call hook returned "
                    f"{type(early).__name__}, not a ToolResult or None",
                )
            if early is not None:
                return found, ctx, call, early
        return found, ctx, call, None

    def _after(self, call: ToolCall | None, result: ToolResult, ctx: CallContext) -> ToolResult:
        if call is not None and self._hook is not None:
            try:
                self._hook.after_tool_call(call=call, result=result, context=ctx)
            except Exception as exc:
                print(f"autoplug: after_tool_call hook failed: {_one_line(exc)}", file=sys.stderr)
        return result

    def call(
        self, name: str, args: Any = None, *, context: CallContext | None = None
    ) -> ToolResult:
        """Call a tool through the door, in this thread (no timeout); never raises for the call."""
        if _running_loop():
            raise BlockingCallInLoop(
                "ToolRegistry.call() is blocking and was called inside a running event loop; "
                "use 'await kernel.tools.acall(...)'"
            )
        found, ctx, call, early = self._prepare(name, args, context)
        if early is not None:
            return self._after(call, early, ctx)
        assert found is not None and call is not None
        kwargs = dict(call.args)
        if found.wants_context:
            kwargs["context"] = ctx
        try:
            if found.is_async:
                import asyncio

                value = asyncio.run(_no_exit_async(found.func(**kwargs)))
            else:
                value = _no_exit_sync(found.func, kwargs)
            result = ToolResult(ok=True, value=value)
        except Exception as exc:
            result = _failure("tool_error", f"tool {found.name!r} failed: {_one_line(exc)}")
        return self._after(call, result, ctx)

    async def acall(
        self,
        name: str,
        args: Any = None,
        *,
        context: CallContext | None = None,
        timeout: float | None = None,
    ) -> ToolResult:
        """Call a tool through the door with a timeout; sync tools run in a worker thread.

        The timeout is ``timeout``, else the tool's own, else ``default_timeout``.
        A sync tool that times out keeps running in its thread; its result is dropped.
        """
        import asyncio

        found, ctx, call, early = self._prepare(name, args, context)
        if early is not None:
            return self._after(call, early, ctx)
        assert found is not None and call is not None
        kwargs = dict(call.args)
        if found.wants_context:
            kwargs["context"] = ctx
        limit = timeout if timeout is not None else found.timeout
        if limit is None:
            limit = self.default_timeout
        try:
            if found.is_async:
                awaitable = _no_exit_async(found.func(**kwargs))
            else:
                awaitable = asyncio.to_thread(_no_exit_sync, found.func, kwargs)
            value = await asyncio.wait_for(awaitable, limit)
            result = ToolResult(ok=True, value=value)
        except TimeoutError:
            result = _failure("timeout", f"tool {found.name!r} timed out after {limit:g} s")
        except Exception as exc:
            result = _failure("tool_error", f"tool {found.name!r} failed: {_one_line(exc)}")
        return self._after(call, result, ctx)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
