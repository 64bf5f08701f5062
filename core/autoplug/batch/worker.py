"""Running one task of a batch: in a loaded kernel (:func:`arun_one`) or in a fresh process (:func:`run_one`).

Both return the task's result line ``{"id", "run_id", "status", "answer",
"output", "reason", "usage"}`` and never raise for a problem of that task: an
unknown model or Auto, a bad workspace, a run that fails or a bug in a plugin
are a ``failed`` line whose reason says so. Only cancellation (Ctrl-C, a
cancelled Ray task) goes through; the run itself is then left ``interrupted``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .settings import BatchSettings
from .tasks import BatchTask

#: The keys of a result line, in the order they are written.
RESULT_KEYS = ("id", "run_id", "status", "answer", "output", "reason", "usage")

# One kernel per home in a worker process: loading the plugins once, not per task.
_KERNELS: dict[str, Any] = {}


def no_usage() -> dict[str, Any]:
    """The usage of a task that made no model call (it never started)."""
    from ..llm import UsageTracker

    return UsageTracker().to_dict()


def result_line(
    task_id: str,
    *,
    run_id: str | None,
    status: str,
    reason: str | None,
    answer: str | None = None,
    output: Any = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A result line with every key, in order."""
    return {
        "id": task_id,
        "run_id": run_id,
        "status": status,
        "answer": answer,
        "output": output,
        "reason": reason,
        "usage": usage if usage is not None else no_usage(),
    }


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` folded onto one line, cut to ``limit`` characters keeping start and end."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    half = (limit - 5) // 2
    return f"{flat[:half]} […] {flat[-half:]}"


async def arun_one(
    kernel: Any,
    task: BatchTask,
    settings: BatchSettings,
    *,
    on_event: Callable[[Any], None] | None = None,
    resume_run_id: str | None = None,
) -> dict[str, Any]:
    """Run ``task`` in ``kernel`` (already loaded) to its end; its result line.

    The line's ``model`` and ``auto`` win over ``settings``. ``on_event`` sees
    the run's events (the engine learns the run id from ``run_started``, or
    ``run_resumed``). ``resume_run_id``: an interrupted run of this task (from
    an earlier attempt) to finish instead of starting afresh — its saved turns
    and finished steps are reused; when it cannot be resumed (gone, not
    interrupted, a conversation) the task starts afresh.
    """
    import asyncio

    from ..autos import arun_task
    from ..errors import AutoplugError, describe_error

    started: dict[str, str] = {}

    def watch(event: Any) -> None:
        if event.type in ("run_started", "run_resumed"):
            started["run_id"] = event.run_id
        if on_event is not None:
            on_event(event)

    try:
        result = None
        if resume_run_id is not None:
            result = await _resumed(kernel, resume_run_id, task, settings, watch)
        if result is None:
            result = await arun_task(
                kernel,
                task.task,
                model=task.model or settings.model,
                auto=task.auto or settings.auto or "runner",
                approve=bool(settings.approve),
                workspace=settings.workspace,
                on_event=watch,
                memory=settings.memory,
                output_schema=task.output_schema,
            )
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except AutoplugError as exc:
        return result_line(
            task.id, run_id=started.get("run_id"), status="failed", reason=one_line(str(exc))
        )
    except Exception as exc:  # a bug in a plugin or autoplug: this task's failure, not the batch's
        reason = f"internal error: {one_line(describe_error(exc))}"
        return result_line(task.id, run_id=started.get("run_id"), status="failed", reason=reason)
    data = result.to_dict()
    return result_line(
        task.id,
        run_id=data["run_id"],
        status=data["status"],
        answer=data["answer"],
        output=data["output"],
        reason=one_line(data["reason"]) if data["reason"] is not None else None,
        usage=data["usage"],
    )


async def _resumed(
    kernel: Any,
    run_id: str,
    task: BatchTask,
    settings: BatchSettings,
    watch: Callable[[Any], None],
) -> Any:
    """The RunResult of finishing the interrupted run ``run_id`` of ``task``.

    None when it cannot be resumed: gone, not interrupted, or a run of another
    task (the tasks file was edited since).
    """
    from ..autos import aresume_run
    from ..errors import RunError, UsageError
    from ..runs import RunStore

    try:
        with RunStore.open(kernel.home, run_id, read_only=True) as store:
            info = store.info()
            if info["status"] != "interrupted" or info["task"] != task.task:
                return None
        return await aresume_run(kernel, run_id, approve=bool(settings.approve), on_event=watch)
    except (RunError, UsageError):  # checked before the run is touched: start afresh
        return None


def kernel_for(home: str) -> Any:
    """The kernel of ``home`` in this process, loaded on first use (every installed plugin)."""
    kernel = _KERNELS.get(home)
    if kernel is None:
        from ..kernel import Kernel

        kernel = _KERNELS[home] = Kernel.load(home)
    return kernel


def run_one(task: BatchTask, settings: BatchSettings) -> dict[str, Any]:
    """Run ``task`` in this process's kernel of ``settings.home``; its result line.

    What a Ray remote task calls. Blocking: call it where no event loop runs.
    A kernel that cannot load (a plugin failure under ``AUTOPLUG_STRICT_PLUGINS``)
    is a ``failed`` line too.
    """
    import asyncio

    from ..errors import AutoplugError

    try:
        kernel = kernel_for(settings.home)
    except AutoplugError as exc:
        return result_line(task.id, run_id=None, status="failed", reason=one_line(str(exc)))
    return asyncio.run(arun_one(kernel, task, settings))
