"""How the door refuses a call before its tool runs, and turns a tool's faults into results.

Everything here answers one call without raising: :func:`refusal_of` is the door's
checks (an unusable tool, the arguments' bounds and schema, approval) and
:func:`before_hook` asks the ``before_tool_call`` hook; :func:`argument_problem`
refuses arguments too large or too deep to validate, the ``BaseException``s a tool may
raise (``sys.exit()``, ``KeyboardInterrupt`` in a worker thread) become ordinary
exceptions, and :func:`tool_failure` writes the one-line error a model reads, with
the machine's paths made relative. Used by :mod:`autoplug.registry` (the door) and
:mod:`autoplug.toolthreads` (its async and threaded halves).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ToolRefused, describe_error
from .safejson import _LONE_SURROGATE, MAX_DEPTH, value_problem
from .tools import MAX_ARGUMENT_CHARS, CallContext, Tool, ToolResult, _failure

#: The deepest nesting of arrays and objects accepted in one call's arguments.
MAX_ARGUMENT_DEPTH = MAX_DEPTH


def argument_problem(args: Any, max_chars: int = MAX_ARGUMENT_CHARS) -> str | None:
    """Why ``args`` are refused before validation, or None.

    Refused as :func:`autoplug.safejson.value_problem` refuses a value, at any
    depth: too large, too deep, a huge integer, NaN or an infinity, a string (or
    key) holding a lone surrogate. The common case, a flat object of short
    scalars, is checked in one loop; anything else goes to ``value_problem``
    (iterative), which names the fault. Other Python objects a caller passes are
    left to the schema.
    """
    if type(args) is dict:
        size = len(args)
        for key, value in args.items():
            kind = type(value)
            if kind is str:
                size += len(value)
                if not value.isascii() and _LONE_SURROGATE.search(value):
                    break
            elif kind is int:
                if value.bit_length() > 14_000:
                    break
            elif kind is float:
                if not -math.inf < value < math.inf:
                    break
            elif kind is not bool and value is not None:
                break
            if type(key) is not str or not key.isascii() and _LONE_SURROGATE.search(key):
                break
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


def no_exit_sync(func: Callable[..., Any], kwargs: dict[str, Any], own_thread: bool) -> Any:
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


async def no_exit_async(awaitable: Any) -> Any:
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


def tool_failure(found: Tool, exc: BaseException, ctx: CallContext | None) -> ToolResult:
    """The failed result of a tool that raised ``exc``: one bounded line, paths relative."""
    shown = exc.original if isinstance(exc, ToolAborted) else exc
    text = relative_paths(f"tool {found.name!r} failed: {describe_error(shown)}", ctx)
    return _failure("tool_error", text)


def cancelled_error() -> type[BaseException]:
    """``asyncio.CancelledError`` (asyncio is imported by the time an async tool runs)."""
    return sys.modules["asyncio"].CancelledError  # type: ignore[no-any-return]


def async_failure(found: Tool, exc: BaseException, ctx: CallContext | None) -> ToolResult:
    """The failed result of an async tool that raised ``exc`` (not the caller's cancellation)."""
    if isinstance(exc, SystemExit):
        exc = ToolExited(exc.code)
    elif not isinstance(exc, (Exception, cancelled_error())):
        exc = ToolAborted(exc)  # KeyboardInterrupt, GeneratorExit: escaping, they stop the loop
    return tool_failure(found, exc, ctx)


def blocked(found: Tool, took: float, limit: float) -> ToolResult:
    """The failure of an async tool that held the event loop ``took`` s past ``limit``."""
    # Whatever it returned: it held every other step and the run's timers.
    return _failure(
        "timeout",
        f"async tool {found.name!r} blocked the event loop for {took:.1f} s "
        f"(its timeout is {limit:g} s); async tools must not block: await, or make "
        "it a sync tool",
    )


def refusal_of(
    found: Tool, args: Any, ctx: CallContext | None, max_chars: int = MAX_ARGUMENT_CHARS
) -> ToolResult | None:
    """Why the call of ``found`` with ``args`` ends before the tool runs, or None.

    An unusable tool, arguments too large or deep, schema violations, or a
    side-effect tool not approved. The common case (a flat object of simple
    values, within the size cap) is accepted by the compiled check alone.
    """
    if found.unusable is not None:
        return _failure("tool_error", f"tool {found.name!r} is unusable: {found.unusable}")
    fast = found._fast  # the compiled check, inlined: this is the door's hot path
    if not (fast and fast(args, max_chars)) and not found.quick_accept(args, max_chars):
        refused = argument_problem(args, max_chars)
        if refused is not None:
            why = f"the arguments are {refused}"
            text = f"invalid arguments for tool {found.name!r}: {why}"
            return _failure("invalid_args", text, [("$", why)])
        try:
            problems = found.violations(args)
        except Exception as exc:  # the schema, not the call: an unresolvable $ref met late
            return _failure(
                "tool_error",
                f"tool {found.name!r}: its schema cannot validate the arguments: "
                f"{describe_error(exc)}",
            )
        if problems:
            detail = "; ".join(f"{path}: {message}" for path, message in problems)
            text = f"invalid arguments for tool {found.name!r}: {detail}"
            return _failure("invalid_args", text, problems)
    if found.side_effects and not (ctx is not None and ctx.approved) and not found.auto_approve:
        return _failure("refused", f"tool {found.name!r} has side effects and was not approved")
    return None


def before_hook(before: Any, found: Tool, call: Any, ctx: CallContext | None) -> ToolResult | None:
    """What the ``before_tool_call`` hook answers: None (go on) or the call's early result."""
    try:
        early = before(call=call, context=ctx)
    except ToolRefused as exc:
        return _failure("refused", f"tool {found.name!r} refused: {exc.reason}")
    except Exception as exc:  # a hook's bug must not crash the caller
        return _failure(
            "tool_error",
            f"tool {found.name!r}: before_tool_call hook failed: {describe_error(exc)}",
        )
    if early is not None and not isinstance(early, ToolResult):
        return _failure(
            "tool_error",
            f"tool {found.name!r}: before_tool_call hook returned "
            f"{type(early).__name__}, not a ToolResult or None",
        )
    return early
