"""Autos: what runs a task (a Runner) or holds a conversation (an Assistant).

An Auto owns a run's life: it resolves the model, creates the run's folder
(:class:`autoplug.runs.RunStore`) and its assets, routes every event to the
trace, the ``on_event`` hooks and any stream, recalls memories before the task
and stores what was learned after it, and records the final status. What
happens in between is :meth:`Auto.solve` — by default the dynamic agent's ReAct
loop over the static agent.

Writing your own Auto (in a plugin)::

    from autoplug import Auto, hookimpl

    class Reviewer(Auto):
        \"\"\"Answers, then asks the dynamic agent to check its own answer.\"\"\"

        name = "reviewer"

        async def solve(self, ctx, memories):
            status, answer, reason = await super().solve(ctx, memories)
            ...  # ctx.complete(...) for more model calls, ctx.emit(...) for events
            return status, answer, reason

    @hookimpl
    def register_autos(register):
        register(Reviewer)

Then ``autoplug run TASK --auto reviewer`` or ``kernel.run(task, auto="reviewer")``.
Runner and Assistant are registered by the builtin plugin ``autoplug_autos``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from .auto import Auto, EventCallback, RunResult, resolve_workspace
from .errors import BlockingCallInLoop, UsageError
from .events import Event

__all__ = [
    "Auto",
    "RunResult",
    "aresume_run",
    "arun_task",
    "auto_class",
    "resolve_workspace",
    "run_blocking",
    "stream_task",
]

# -- the functions behind Kernel.run / arun / stream ------------------------------


def auto_class(kernel: Any, auto: Any) -> type[Auto]:
    """The Auto class for a name (or an Auto subclass itself)."""
    if isinstance(auto, type) and issubclass(auto, Auto):
        return auto
    try:
        return kernel.autos.get(auto)
    except UsageError as exc:
        if auto in ("runner", "assistant") and auto not in kernel.autos:
            raise UsageError(
                f"{exc} (the builtin plugin autoplug_autos provides runner and assistant)"
            ) from None
        raise


async def list_unlisted_servers(kernel: Any) -> None:
    """List the MCP servers never listed before, so the first plan sees their tools."""
    if getattr(kernel, "mcp", None) is not None:
        await kernel.mcp.alist_unlisted()


async def arun_task(
    kernel: Any,
    task: str,
    *,
    model: Any = None,
    auto: Any = "runner",
    approve: Any = False,
    record: Path | str | None = None,
    workspace: Path | str | None = None,
    on_text: Callable[[str], None] | None = None,
    stream: bool = False,
    on_event: EventCallback | None = None,
    memory: bool = True,
    output_schema: Any = None,
    persist: bool = True,
) -> RunResult:
    """Run ``task`` with the Auto ``auto`` to completion (``memory=False``: no long-term memory).

    ``output_schema`` (a JSON Schema dict or a pydantic model class): the answer
    must match it; ``RunResult.output`` holds the validated value. ``persist=False``:
    no run folder (nothing to list or resume); ``RunResult.assets`` entries carry ``value``.

    Raises :class:`autoplug.NoModelConfigured` or :class:`autoplug.UnknownModelError`
    before any run is created; an error during the run ends it ``failed``.
    """
    cls = auto_class(kernel, auto)
    await list_unlisted_servers(kernel)
    # Only when given: a plugin's Auto with its own __init__ may not know the option.
    extra: dict[str, Any] = {} if output_schema is None else {"output_schema": output_schema}
    if not persist:
        extra["persist"] = False
    runner = cls(
        kernel,
        model=model,
        approve=approve,
        record=record,
        workspace=workspace,
        on_text=on_text,
        stream=stream,
        on_event=on_event,
        memory=memory,
        **extra,
    )
    try:
        return await runner.arun(task)
    finally:
        await runner.release()


def run_blocking(kernel: Any, task: str, **options: Any) -> RunResult:
    """Blocking :func:`arun_task`; raises BlockingCallInLoop inside a running event loop.

    The main thread's calls share one event loop (:mod:`autoplug.blocking`).
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from .blocking import run_coroutine

        return run_coroutine(arun_task(kernel, task, **options))
    raise BlockingCallInLoop(
        "kernel.run() is blocking and was called inside a running event loop; "
        "use 'await kernel.arun(...)'"
    )


async def stream_task(kernel: Any, task: str, **options: Any) -> AsyncIterator[Event]:
    """The events of a run of ``task``, as they happen; errors of the run are raised at the end.

    Leaving the loop early cancels the run (it is then left ``interrupted``).
    """
    import asyncio

    queue: asyncio.Queue[Any] = asyncio.Queue()
    done = object()
    chained = options.pop("on_event", None)

    def feed(event: Event) -> None:
        queue.put_nowait(event)
        if chained is not None:
            chained(event)

    work = asyncio.ensure_future(arun_task(kernel, task, on_event=feed, **options))
    work.add_done_callback(lambda _: queue.put_nowait(done))
    try:
        while True:
            item = await queue.get()
            if item is done:
                break
            yield item
        work.result()
    finally:
        if not work.done():
            work.cancel()
            with suppress(asyncio.CancelledError):
                await work


async def aresume_run(
    kernel: Any,
    run_id: str,
    *,
    approve: Any = False,
    on_text: Callable[[str], None] | None = None,
    model: Any = None,
    on_event: EventCallback | None = None,
) -> RunResult:
    """Finish an interrupted (or failed) run: its saved turns, plans and finished steps are reused.

    ``model`` defaults to the run's recorded model id. Approval given before the
    interruption is not assumed: ``approve`` decides again.
    """
    from .runs import NotResumableError, RunStore

    store = RunStore.open(kernel.home, run_id)
    try:
        # Atomic: of two resumers exactly one holds the claim; the other is refused here.
        store.claim()
        info = store.info()
        if info["status"] not in ("interrupted", "failed"):
            hint = " (its owner process is still running)" if info["status"] == "running" else ""
            raise NotResumableError(
                f"run {run_id!r} is {info['status']}{hint}; only an interrupted or failed run "
                "can be resumed"
            )
        if info.get("parent"):
            raise NotResumableError(
                f"run {run_id!r} is assignment {info['assignment']} of manager run "
                f"{info['parent']!r}; resume the manager: autoplug resume {info['parent']}"
            )
        cls = auto_class(kernel, info["auto"])
        # A conversation interrupted in its first turn has no saved messages yet:
        # its Auto (one that can reopen a conversation) still says what it is.
        if store.conversation() or getattr(cls, "reopen", None) is not None:
            raise NotResumableError(
                f"run {run_id!r} is an Assistant conversation; continue it with "
                f"'autoplug chat --resume {run_id}'"
            )
        auto = cls(
            kernel,
            model=model if model is not None else info["model"],
            approve=approve,
            workspace=info["workspace"],
            on_text=on_text,
            on_event=on_event,
        )
    except BaseException:
        store.close()
        raise
    try:
        await list_unlisted_servers(kernel)
        return await auto.aresume(store)
    finally:
        await auto.release()
