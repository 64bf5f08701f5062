"""The tool registry and the one door every tool call passes through.

``ToolRegistry.call`` / ``acall`` resolve the tool, validate the arguments
against its JSON Schema, check approval, run the ``before_tool_call`` hook, run
the tool and the ``after_tool_call`` hook, and return a :class:`ToolResult`. They
never raise for a problem with one call.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import BlockingCallInLoop, ToolDefinitionError, ToolRefused, describe_error
from .safejson import MAX_DEPTH, value_problem
from .tools import (
    MAX_ARGUMENT_CHARS,
    CallContext,
    Tool,
    ToolCall,
    ToolResult,
    _context,
    _failure,
    _success,
    as_tool,
)

_call_ids = itertools.count(1)


#: The deepest nesting of arrays and objects accepted in one call's arguments.
MAX_ARGUMENT_DEPTH = MAX_DEPTH


def argument_problem(args: Any, max_chars: int = MAX_ARGUMENT_CHARS) -> str | None:
    """Why ``args`` are refused before validation (too large, too deep, a huge int), or None.

    The common case, a flat object of short scalars, is checked in one loop;
    anything nested goes to :func:`autoplug.safejson.value_problem` (iterative).
    Other Python objects a caller passes are left to the schema.
    """
    if type(args) is dict:
        size = len(args)
        for key, value in args.items():
            kind = type(value)
            if kind is str:
                size += len(value)
            elif kind is int:
                if value.bit_length() > 14_000:
                    break
            elif kind is not bool and kind is not float and value is not None:
                break
            if type(key) is str:
                size += len(key)
        else:
            return f"larger than {max_chars:,} characters" if size > max_chars else None
    return value_problem(args, max_depth=MAX_ARGUMENT_DEPTH, max_chars=max_chars, strict=False)


def relative_paths(text: str, context: CallContext | None) -> str:
    """``text`` with the workspace's absolute path made relative (``.``) and home as ``~``.

    Error text reaches the model's prompt, which holds no absolute paths of the machine.
    """
    try:
        home: Path | None = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        home = None
    roots: list[tuple[str, str]] = []
    workspace = context.workspace if context is not None else Path.cwd()
    for path, shown in ((workspace, "."), (home, "~")):
        if path is None:
            continue
        for form in {str(path), str(Path(path).resolve())}:
            if len(form) > 1:
                roots.append((form.rstrip("/"), shown))
    for root, shown in sorted(roots, key=lambda r: -len(r[0])):
        if root not in text:
            continue
        # Only the whole path or what lies under it: /home/ann is not /home/anna.
        under = "" if shown == "." else shown + "/"
        text = text.replace(root + "/", under)
        text = re.sub(re.escape(root) + r"(?![\w.-])", shown, text)
    return text


class ToolAborted(Exception):
    """Raised in place of a ``BaseException`` (not cancellation) a tool raised.

    ``KeyboardInterrupt``, ``GeneratorExit`` or a custom ``BaseException``
    subclass from a tool fails its call; escaping, it would stop the event loop.
    ``original`` is what the tool raised.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(describe_error(original))
        self.original = original


class ToolExited(Exception):
    """Raised in place of the ``SystemExit`` of a tool that called ``sys.exit()``.

    A tool's ``sys.exit()`` must fail its call, not end the process; and asyncio
    lets a ``SystemExit`` escape a task and stop the loop, so it is turned into
    this ordinary exception before it leaves the tool.
    """

    def __init__(self, code: object) -> None:
        super().__init__(f"the tool called sys.exit({code!r})")


def _no_exit_sync(func: Callable[..., Any], kwargs: dict[str, Any], own_thread: bool) -> Any:
    """Run a sync tool; its SystemExit and other BaseExceptions become ordinary ones.

    In the caller's own thread (``own_thread`` false) a KeyboardInterrupt is let
    through: it may be the user's Ctrl-C, which arrives wherever the thread is.
    """
    try:
        return func(**kwargs)
    except SystemExit as exc:
        raise ToolExited(exc.code) from None
    except Exception:
        raise
    except KeyboardInterrupt as exc:
        if not own_thread:
            raise
        raise ToolAborted(exc) from None
    except BaseException as exc:
        raise ToolAborted(exc) from None


async def _no_exit_async(awaitable: Any) -> Any:
    """Await an async tool; its SystemExit and BaseExceptions, not cancellation, become ordinary."""
    import asyncio

    try:
        return await awaitable
    except SystemExit as exc:
        raise ToolExited(exc.code) from None
    except (Exception, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise ToolAborted(exc) from None


def _tool_failure(found: Tool, exc: BaseException, ctx: CallContext | None) -> ToolResult:
    """The failed result of a tool that raised ``exc``: one bounded line, paths relative."""
    shown = exc.original if isinstance(exc, ToolAborted) else exc
    text = relative_paths(f"tool {found.name!r} failed: {describe_error(shown)}", ctx)
    return _failure("tool_error", text)


def _running_loop() -> bool:
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio._get_running_loop() is not None


class ToolRegistry:
    """Every registered tool, the name-clash rules, and the one door (``call`` / ``acall``).

    ``hook`` is the plugin manager's hook relay (for ``before_tool_call`` and
    ``after_tool_call``), or None. ``default_timeout`` applies in ``acall`` to a
    tool without a timeout of its own. Arguments over ``max_argument_chars``
    (see :func:`argument_problem`) are refused before validation. ``home`` is the
    kernel's AUTOPLUG_HOME: a call whose context has no ``home`` gets this one.
    """

    def __init__(
        self,
        hook: Any = None,
        default_timeout: float | None = 60,
        max_argument_chars: int = MAX_ARGUMENT_CHARS,
        home: Path | None = None,
    ) -> None:
        self._hook = hook
        self.default_timeout = default_timeout
        self.max_argument_chars = max_argument_chars
        self.home = home
        self._by_qualified: dict[str, Tool] = {}
        self._winners: dict[str, Tool] = {}
        self._relays: dict[str, tuple[Any, list[Any] | None]] = {}
        self._lists: tuple[list[Any], list[Any]] | None = None  # both hooks' implementations

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

    def restricted(self, qualified_names: Iterable[str]) -> ToolRegistry:
        """A registry of only the tools named ``plugin.tool``, with the same hooks and home.

        The bare-name rules apply among those tools alone (a replay offers exactly
        its recorded catalog: see :mod:`autoplug.catalog`). Unknown names are skipped.
        """
        subset = ToolRegistry(
            self._hook, self.default_timeout, self.max_argument_chars, home=self.home
        )
        for name in qualified_names:
            found = self._by_qualified.get(name)
            if found is not None:
                subset._by_qualified[name] = found
        for bare in {t.name for t in subset._by_qualified.values()}:
            subset._resolve_winner(bare)
        return subset

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

    def _relay(self, name: str) -> Any:
        """The hook caller ``name`` when some plugin implements it, else None.

        A pluggy ``HookCaller`` keeps its implementations in one list that it changes
        in place when a plugin registers or is removed, so that list is found once
        and then only tested for emptiness: an empty relay call costs ~1 µs, this
        test ~0.05 µs, and a plugin registered later is still seen.
        """
        entry = self._relays.get(name)
        if entry is None:
            caller = getattr(self._hook, name, None) if self._hook is not None else None
            if caller is None:
                return None  # not remembered: the hook's spec may be added later
            impls = getattr(caller, "_hookimpls", None)
            entry = self._relays[name] = (caller, impls if type(impls) is list else None)
        caller, impls = entry
        if impls is None:  # not a pluggy caller: ask it every time
            get = getattr(caller, "get_hookimpls", None)
            return caller if get is None or get() else None
        return caller if impls else None

    def _remember_lists(self) -> None:
        """Keep both hooks' implementation lists, when both are pluggy's, for the quick test."""
        before = self._relays.get("before_tool_call")
        after = self._relays.get("after_tool_call")
        if (
            before is not None
            and after is not None
            and before[1] is not None
            and after[1] is not None
        ):
            self._lists = (before[1], after[1])

    def _prepare(
        self, name: str, args: Any, context: CallContext | None
    ) -> tuple[Tool | None, CallContext | None, ToolCall | None, ToolResult | None, Any]:
        """Resolve, bound, validate, approve and run ``before_tool_call``.

        Returns the tool, the context, the hooks' ToolCall (None when no hook is
        implemented, or the call failed its checks), an early result (the call
        ends there) or None, and the arguments.
        """
        found = self._winners.get(name) if type(name) is str else None
        if found is None:
            found = self.get(name) if isinstance(name, str) else None
        lists = self._lists
        if lists is not None and not lists[0] and not lists[1]:
            before, hooked = None, False  # the common case: no plugin implements either hook
        else:
            before = self._relay("before_tool_call")
            hooked = before is not None or self._relay("after_tool_call") is not None
            if lists is None:
                self._remember_lists()
        # A default context only when something reads it; its workspace resolves lazily.
        ctx = context
        if ctx is not None and ctx.home is None and self.home is not None:
            ctx = ctx.with_home(self.home)
        if found is None:
            return None, ctx, None, _failure("unknown_tool", self.unknown_error(str(name))), args
        if ctx is None and (hooked or found.wants_context or found.side_effects):
            ctx = _context(self.home)
        if found.unusable is not None:
            return (
                found,
                ctx,
                None,
                _failure("tool_error", f"tool {found.name!r} is unusable: {found.unusable}"),
                args,
            )
        if args is None:
            args = {}
        # The common case (a flat object of simple values, within the size cap) is
        # accepted in one loop; anything else is bounded first, then validated.
        problems: list[tuple[str, str]] = []
        fast = found._fast  # the compiled check, inlined: this is the door's hot path
        if not (fast and fast(args, self.max_argument_chars)) and not found.quick_accept(
            args, self.max_argument_chars
        ):
            refused = argument_problem(args, self.max_argument_chars)
            if refused is not None:
                return (
                    found,
                    ctx,
                    None,
                    _failure(
                        "invalid_args",
                        f"invalid arguments for tool {found.name!r}: the arguments are {refused}",
                        [("$", f"the arguments are {refused}")],
                    ),
                    args,
                )
            try:
                problems = found.violations(args)
            except Exception as exc:  # the schema, not the call: an unresolvable $ref met late
                return (
                    found,
                    ctx,
                    None,
                    _failure(
                        "tool_error",
                        f"tool {found.name!r}: its schema cannot validate the arguments: "
                        f"{describe_error(exc)}",
                    ),
                    args,
                )
        if problems:
            detail = "; ".join(f"{path}: {message}" for path, message in problems)
            return (
                found,
                ctx,
                None,
                _failure(
                    "invalid_args", f"invalid arguments for tool {found.name!r}: {detail}", problems
                ),
                args,
            )
        if found.side_effects and not (ctx is not None and ctx.approved) and not found.auto_approve:
            return (
                found,
                ctx,
                None,
                _failure(
                    "refused",
                    f"tool {found.name!r} has side effects and was not approved",
                ),
                args,
            )
        if not hooked:
            return found, ctx, None, None, args
        call = ToolCall(
            tool=found.qualified_name,
            args=args,
            call_id=f"call-{next(_call_ids)}",
            run_id=ctx.run_id if ctx is not None else None,
            step_id=ctx.step_id if ctx is not None else None,
        )
        if before is not None:
            try:
                early = before(call=call, context=ctx)
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
                return found, ctx, call, early, call.args
        return found, ctx, call, None, call.args

    def _after(
        self, call: ToolCall | None, result: ToolResult, ctx: CallContext | None
    ) -> ToolResult:
        if call is None:
            return result
        after = self._relay("after_tool_call")
        if after is not None:
            try:
                after(call=call, result=result, context=ctx)
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
        found, ctx, call, early, args = self._prepare(name, args, context)
        if early is not None:
            return early if call is None else self._after(call, early, ctx)
        assert found is not None
        # The tool gets its own copy (``**``): a hook's ToolCall keeps the arguments as checked.
        kwargs = {**args, "context": ctx} if found.wants_context else args
        try:
            if found.is_async:
                import asyncio

                value = asyncio.run(_no_exit_async(found.func(**kwargs)))
            else:
                value = found.func(**kwargs)
            result = _success(value)
        except Exception as exc:
            result = _tool_failure(found, exc, ctx)
        # What _no_exit_sync does in a worker thread, inline on this hot path: a tool's
        # sys.exit() fails its call; a KeyboardInterrupt here may be the user's Ctrl-C.
        except SystemExit as exc:
            result = _tool_failure(found, ToolExited(exc.code), ctx)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            result = _tool_failure(found, ToolAborted(exc), ctx)
        return result if call is None else self._after(call, result, ctx)

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
        A sync tool runs in a thread of the process's one pool of daemon threads;
        one that times out is abandoned (the failure says so): it may keep running,
        but nothing waits for it, neither the run nor the process's exit, and its
        result is dropped. An async tool runs in the caller's task; its timer is
        armed only if it suspends, so one that returns at once costs no timer.
        """
        found, ctx, call, early, args = self._prepare(name, args, context)
        if early is not None:
            return self._after(call, early, ctx)
        assert found is not None
        kwargs = {**args, "context": ctx} if found.wants_context else args
        limit = timeout if timeout is not None else found.timeout
        if limit is None:
            limit = self.default_timeout
        if found.is_async:
            result = _first_step(found, kwargs, limit, ctx)
            if type(result) is _Rest:
                result = await result.finish()
        else:
            result = await _run_sync(found, kwargs, limit, ctx)
        return self._after(call, result, ctx)


_WATCHDOG: Any = None


def _load_threads() -> tuple[Any, Any]:
    """The process's tool thread pool and watchdog (imported on the first acall, then kept)."""
    global _WATCHDOG
    from .toolthreads import POOL, WATCHDOG

    _WATCHDOG = WATCHDOG
    return POOL, WATCHDOG


def _async_failure(found: Tool, exc: BaseException, ctx: CallContext | None) -> ToolResult:
    """The failed result of an async tool that raised ``exc`` (not the caller's cancellation)."""
    if isinstance(exc, SystemExit):
        exc = ToolExited(exc.code)
    elif not isinstance(exc, (Exception, _cancelled_error())):
        exc = ToolAborted(exc)  # KeyboardInterrupt, GeneratorExit: escaping, they stop the loop
    return _tool_failure(found, exc, ctx)


def _cancelled_error() -> type[BaseException]:
    """``asyncio.CancelledError`` (asyncio is imported by the time an async tool runs)."""
    return sys.modules["asyncio"].CancelledError  # type: ignore[no-any-return]


def _blocked(found: Tool, took: float, limit: float) -> ToolResult:
    # Whatever it returned: it held every other step and the run's timers.
    return _failure(
        "timeout",
        f"async tool {found.name!r} blocked the event loop for {took:.1f} s "
        f"(its timeout is {limit:g} s); async tools must not block: await, or make "
        "it a sync tool",
    )


def _first_step(
    found: Tool, kwargs: Any, limit: float | None, ctx: CallContext | None
) -> ToolResult | _Rest:
    """Run an async tool's coroutine up to its first suspension.

    The result when it returned (or raised) without suspending, which arms no
    timer; else a :class:`_Rest` to await. Each step is marked on the watchdog
    when the call has a limit, so a step that blocks the loop past it is caught.
    """
    watchdog = _WATCHDOG or _load_threads()[1]
    slot = watchdog.slot() if limit else None
    try:
        coro = found.func(**kwargs)
        previous = watchdog.begin(slot, found.name, limit) if slot is not None else None
        try:
            pending = coro.send(None)
        finally:
            took = watchdog.end(slot, previous) if slot is not None else 0.0
    except StopIteration as stop:  # it returned without suspending
        result = _success(stop.value)
    except BaseException as exc:
        if isinstance(exc, _cancelled_error()):
            task = sys.modules["asyncio"].current_task()
            if task is not None and task.cancelling():
                raise  # the caller's own cancellation: never swallowed
        result = _async_failure(found, exc, ctx)
    else:
        return _Rest(found, coro, pending, limit, ctx, slot, took)
    return _blocked(found, took, limit or 0) if took else result


class _Rest:
    """An async tool's coroutine after its first step: awaiting it runs the other steps.

    Its timer (what is left of the limit) is armed now that the tool suspended;
    the task's sends, throws (its cancellation) and close reach the coroutine
    unchanged, and each step is marked on the watchdog.
    """

    __slots__ = ("found", "coro", "pending", "limit", "ctx", "slot", "took")

    def __init__(
        self,
        found: Tool,
        coro: Any,
        pending: Any,
        limit: float | None,
        ctx: CallContext | None,
        slot: Any,
        took: float,
    ) -> None:
        self.found, self.coro, self.pending, self.limit = found, coro, pending, limit
        self.ctx, self.slot, self.took = ctx, slot, took

    async def finish(self) -> ToolResult:
        """The call's result: the tool's value, a timeout, or its failure."""
        import asyncio

        found, limit = self.found, self.limit
        try:
            async with asyncio.timeout(limit):
                value = await self
            result = _success(value)
        except TimeoutError:
            result = _failure("timeout", f"tool {found.name!r} timed out after {limit:g} s")
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller's own cancellation: never swallowed
            result = _tool_failure(found, exc, self.ctx)  # the tool cancelled itself
        except BaseException as exc:
            result = _async_failure(found, exc, self.ctx)
        return _blocked(found, self.took, limit or 0) if self.took else result

    def __await__(self) -> Any:
        from .toolthreads import WATCHDOG

        coro, pending, slot, name, limit = (
            self.coro,
            self.pending,
            self.slot,
            self.found.name,
            self.limit,
        )
        while True:
            throw: BaseException | None = None
            sent = None
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                throw = exc
            previous = WATCHDOG.begin(slot, name, limit) if slot is not None else None
            try:
                pending = coro.send(sent) if throw is None else coro.throw(throw)
            except StopIteration as stop:
                return stop.value
            finally:
                if slot is not None:
                    self.took = max(self.took, WATCHDOG.end(slot, previous))


async def _run_sync(found: Tool, kwargs: Any, limit: float | None, ctx: Any) -> ToolResult:
    """Run a sync tool in the shared pool, waiting at most ``limit`` seconds."""
    import asyncio
    from functools import partial

    from .toolthreads import POOL

    future = POOL.submit(partial(_no_exit_sync, found.func, kwargs, True))
    try:
        async with asyncio.timeout(limit):
            value = await future
        return _success(value)
    except TimeoutError:
        return _failure(
            "timeout",
            f"tool {found.name!r} timed out after {limit:g} s; its thread was abandoned "
            "(a sync tool cannot be stopped)",
        )
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        return _tool_failure(found, asyncio.CancelledError(), ctx)
    except Exception as exc:
        return _tool_failure(found, exc, ctx)
