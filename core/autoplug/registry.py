"""The tool registry and the one door every tool call passes through.

``ToolRegistry.call`` / ``acall`` resolve the tool, validate the arguments
against its JSON Schema, check approval, run the ``before_tool_call`` hook, run
the tool and the ``after_tool_call`` hook, and return a :class:`ToolResult`. They
never raise for a problem with one call.

The door's parts live beside it: :mod:`autoplug.toolindex` (registration and
names), :mod:`autoplug.toolfaults` (argument bounds, a tool's faults as results)
and :mod:`autoplug.toolthreads` (the async half: coroutine steps, the pool).
``argument_problem``, ``relative_paths``, ``ToolAborted`` and ``ToolExited`` are
still importable from here.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import BlockingCallInLoop, describe_error
from .fastcheck import UNSURE
from .toolfaults import (  # noqa: F401  (importable here)
    MAX_ARGUMENT_DEPTH,
    ToolAborted,
    ToolExited,
    argument_problem,
    before_hook,
    no_exit_async,
    refusal_of,
    relative_paths,
)
from .toolfaults import tool_failure as _tool_failure
from .toolindex import ToolIndex
from .tools import (
    MAX_ARGUMENT_CHARS,
    CallContext,
    Tool,
    ToolCall,
    ToolOutput,
    ToolResult,
    _context,
    _failure,
    _new,
    _success,
)

_call_ids = itertools.count(1)


#: ``asyncio._get_running_loop`` once asyncio is imported (the door refuses to block a loop).
_loop_probe: Callable[[], Any] | None = None


def _running_loop() -> bool:
    """Whether this thread runs an event loop (asyncio is never imported to find out)."""
    global _loop_probe
    probe = _loop_probe
    if probe is None:
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return False
        probe = _loop_probe = asyncio._get_running_loop
    return probe() is not None


class ToolRegistry(ToolIndex):
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
        super().__init__()
        self._relays: dict[str, tuple[Any, list[Any] | None]] = {}
        self._lists: tuple[list[Any], list[Any]] | None = None  # both hooks' implementations

    # -- registration (the rest is ToolIndex's) ---------------------------------

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
        if args is None:
            args = {}
        refusal = refusal_of(found, args, ctx, self.max_argument_chars)
        if refusal is not None:
            return found, ctx, None, refusal, args
        if not hooked:
            return found, ctx, None, None, args
        call = ToolCall(
            tool=found.qualified_name,
            args=args,
            call_id=f"call-{next(_call_ids)}",
            run_id=ctx.run_id if ctx is not None else None,
            step_id=ctx.step_id if ctx is not None else None,
        )
        early = before_hook(before, found, call, ctx) if before is not None else None
        return found, ctx, call, early, call.args

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
        found = self._winners.get(name) if type(name) is str else None
        if found is not None and context is None:
            door = found._door
            if door is None:
                door = found._plain_door()
            lists = self._lists
            # The common call, checked and run in one written function: a plain sync tool
            # (no context, no approval, no hooks to tell) with arguments its check accepts.
            # What it skips of _prepare has nothing to do for such a call.
            if door and lists is not None and not lists[0] and not lists[1]:
                probe = _loop_probe
                if probe() is not None if probe is not None else _running_loop():
                    raise BlockingCallInLoop(
                        "ToolRegistry.call() is blocking and was called inside a running "
                        "event loop; use 'await kernel.tools.acall(...)'"
                    )
                try:
                    value = door(args, self.max_argument_chars)
                except Exception as exc:
                    return _tool_failure(found, exc, None)
                except SystemExit as exc:
                    return _tool_failure(found, ToolExited(exc.code), None)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    return _tool_failure(found, ToolAborted(exc), None)
                if value is not UNSURE:
                    if isinstance(value, ToolOutput):
                        return _success(value)
                    made = _new(ToolResult)  # _success inlined: the same frozen value
                    fields = made.__dict__
                    fields["ok"] = True
                    fields["value"] = value
                    return made
        return self._call(name, args, context)

    def _call(self, name: str, args: Any, context: CallContext | None) -> ToolResult:
        """:meth:`call` for every call its inline path does not take."""
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

                value = asyncio.run(no_exit_async(found.func(**kwargs)))
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
        started = self._start(name, args, context, timeout)
        if isinstance(started, ToolResult):
            return started
        return await started.result()  # type: ignore[no-any-return]

    def _start(
        self, name: str, args: Any, context: CallContext | None, timeout: float | None
    ) -> Any:
        """:meth:`acall` up to where it would first wait: the result, or a ``toolthreads.Later``.

        An async tool that answers without suspending, and every call that ends
        before its tool runs, end here with no await (the static agent's steps run
        inline this way). Otherwise ``await later.result()`` finishes the call; it
        arms the call's timer, so it must run in the task that is to wait for it.
        """
        found = self._winners.get(name) if type(name) is str else None
        lists = self._lists
        if (
            found is not None
            and lists is not None
            and not lists[0]
            and not lists[1]
            and found.unusable is None
        ):
            # The common call, as _prepare would pass it: no hooks to tell, the context
            # complete (or none needed), the arguments accepted by the compiled check,
            # and nothing to approve. An async tool takes its first step here; a sync
            # one is handed to a worker thread by ``later.result()``.
            if context is None:
                plain = not found.side_effects
                if plain and found.wants_context:
                    context = _context(self.home)
            else:
                plain = context.home is not None or self.home is None
                plain = plain and (not found.side_effects or context.approved or found.auto_approve)
            fast = found._fast
            if plain and fast and fast(args, self.max_argument_chars):
                limit = timeout if timeout is not None else found.timeout
                if limit is None:
                    limit = self.default_timeout
                threads = _threads or _load_threads()
                kwargs = {**args, "context": context} if found.wants_context else args
                if not found.is_async:
                    return threads.Later(self, None, context, found, kwargs, limit, None)
                result = threads.first_step(found, kwargs, limit, context)
                if type(result) is threads.Rest:
                    return threads.Later(self, None, context, found, kwargs, limit, result)
                return result
        found, ctx, call, early, args = self._prepare(name, args, context)
        if early is not None:
            return self._after(call, early, ctx)
        assert found is not None
        if found.is_async:
            return self._run_async(found, call, ctx, args, timeout)
        kwargs = {**args, "context": ctx} if found.wants_context else args
        limit = timeout if timeout is not None else found.timeout
        if limit is None:
            limit = self.default_timeout
        return (_threads or _load_threads()).Later(self, call, ctx, found, kwargs, limit, None)

    def _run_async(
        self,
        found: Tool,
        call: ToolCall | None,
        ctx: CallContext | None,
        args: Any,
        timeout: float | None,
    ) -> Any:
        """An async tool's first step: its result, or the ``Later`` that awaits the rest."""
        kwargs = {**args, "context": ctx} if found.wants_context else args
        limit = timeout if timeout is not None else found.timeout
        if limit is None:
            limit = self.default_timeout
        threads = _threads or _load_threads()
        result = threads.first_step(found, kwargs, limit, ctx)
        if type(result) is threads.Rest:
            return threads.Later(self, call, ctx, found, kwargs, limit, result)
        return self._after(call, result, ctx)


_threads: Any = None


def _load_threads() -> Any:
    """:mod:`autoplug.toolthreads` (imported on the first acall, then kept)."""
    global _threads
    from . import toolthreads

    _threads = toolthreads
    return toolthreads
