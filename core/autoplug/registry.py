"""The tool registry and the one door every tool call passes through.

``ToolRegistry.call`` / ``acall`` resolve the tool, validate the arguments
against its JSON Schema, check approval, run the ``before_tool_call`` hook, run
the tool and the ``after_tool_call`` hook, and return a :class:`ToolResult`. They
never raise for a problem with one call.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections.abc import Callable
from typing import Any

from .errors import BlockingCallInLoop, ToolDefinitionError, ToolRefused, describe_error
from .tools import CallContext, Tool, ToolCall, ToolOutput, ToolResult, _failure, as_tool

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


def _success(value: Any) -> ToolResult:
    if isinstance(value, ToolOutput):
        return ToolResult(ok=True, value=value.value, assets=tuple(value.assets))
    return ToolResult(ok=True, value=value)


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
        candidates = [t for t in self._by_qualified.values() if t.name == name]
        if not candidates:
            self._winners.pop(name, None)
            return
        candidates.sort(key=lambda t: (t.guest, t.builtin, t.plugin or ""))
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
        unusable = getattr(found, "unusable", None)  # an MCP tool whose schema cannot work
        if unusable:
            return found, ctx, None, _failure("tool_error", f"tool {found.name!r}: {unusable}")
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
        if found.side_effects and not ctx.approved and not found.auto_approve:
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
                    f"tool {found.name!r}: before_tool_call hook failed: {describe_error(exc)}",
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
                print(
                    f"autoplug: after_tool_call hook failed: {describe_error(exc)}", file=sys.stderr
                )
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
            result = _success(value)
        except Exception as exc:
            result = _failure("tool_error", f"tool {found.name!r} failed: {describe_error(exc)}")
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
            result = _success(value)
        except TimeoutError:
            result = _failure("timeout", f"tool {found.name!r} timed out after {limit:g} s")
        except Exception as exc:
            result = _failure("tool_error", f"tool {found.name!r} failed: {describe_error(exc)}")
        return self._after(call, result, ctx)
