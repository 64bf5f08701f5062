"""Batch runs: an agent over a data set (DESIGN "Beyond one machine").

Imported on first use by ``autoplug batch`` and :meth:`autoplug.Kernel.batch`,
never at kernel start. The parts:

- :mod:`.tasks` reads the input lines (:class:`BatchTask`, :class:`BadLine`);
- :mod:`.settings` holds what every task shares (:class:`BatchSettings`);
- :mod:`.worker` runs one task (:func:`arun_one`, :func:`run_one`);
- :mod:`.results` reads and appends the ``--output`` record;
- :mod:`.local` is the local engine; ``ray_engine`` the Ray one (extra ``ray``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import UsageError
from .settings import BatchSettings
from .tasks import BadLine, BatchTask, duplicate_ids, read_tasks, tasks_from_python
from .worker import arun_one, run_one

__all__ = [
    "ENGINES",
    "BadLine",
    "BatchSettings",
    "BatchTask",
    "abatch",
    "arun_batch",
    "arun_one",
    "duplicate_ids",
    "read_tasks",
    "run_one",
    "tasks_from_python",
]

#: The engines ``--engine`` takes.
ENGINES = ("local", "ray")

#: Runs open at once when no ``--concurrency`` is given.
DEFAULT_CONCURRENCY = 8


async def arun_batch(
    kernel: Any,
    tasks: list[BatchTask],
    settings: BatchSettings,
    *,
    engine: str = "local",
    concurrency: int = DEFAULT_CONCURRENCY,
    address: str | None = None,
    on_result: Callable[[dict[str, Any]], None],
    on_start: Callable[[BatchTask], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    resume: dict[str, str] | None = None,
) -> None:
    """Run ``tasks`` on ``engine``; ``on_result(line)`` as each ends, in completion order.

    ``resume``: task id -> a run an earlier attempt left
    ``interrupted``, finished instead of starting afresh.

    ``on_notice`` receives one-line notes (the concurrency lowered to fit the
    open-files limit). Raises :class:`UsageError` for an unknown engine or a
    missing extra.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UsageError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
    if engine == "local":
        from .local import arun_local, concurrency_for_open_files

        bounded, why = concurrency_for_open_files(concurrency)
        if why is not None and on_notice is not None:
            on_notice(why)
        await arun_local(
            kernel,
            tasks,
            settings,
            concurrency=bounded,
            on_result=on_result,
            on_start=on_start,
            resume=resume,
        )
        return
    if engine == "ray":
        arun_ray = _ray_engine()
        await arun_ray(
            tasks,
            settings,
            address=address,
            concurrency=concurrency,
            on_result=on_result,
            on_start=on_start,
            resume=resume,
        )
        return
    raise UsageError(f"unknown engine {engine!r}; the engines are {', '.join(ENGINES)}")


def _ray_engine() -> Any:
    """``autoplug.batch.ray_engine.arun_ray``; UsageError saying how to install the extra."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'autoplug[ray]'") from None
    try:
        from .ray_engine import arun_ray
    except ImportError as exc:
        raise UsageError(f"--engine ray is not available: {exc}") from None
    return arun_ray


async def abatch(
    kernel: Any,
    items: Iterable[Any],
    *,
    model: str | None = None,
    auto: str | None = None,
    workspace: str | None = None,
    memory: bool = True,
    approve: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    output: str | None = None,
    engine: str = "local",
    address: str | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """The work behind :meth:`Kernel.abatch`: the result lines in input order.

    With ``output`` the lines are appended there as tasks end, and an id whose
    last line there succeeded is not run again (its recorded line is returned).
    """
    from .results import ResultWriter, read_results

    tasks = tasks_from_python(items)
    settings = BatchSettings(
        home=str(kernel.home),
        model=model,
        auto=auto,
        workspace=None if workspace is None else str(workspace),
        memory=bool(memory),
        approve=bool(approve),
    )
    done: dict[str, dict[str, Any]] = {}
    resume: dict[str, str] = {}
    writer = None
    if output is not None:
        record = read_results(output)
        done = {i: record.last[i] for i in record.succeeded()}
        resume = record.interrupted()
        writer = ResultWriter(output)
    ended: dict[str, dict[str, Any]] = dict(done)

    def collect(line: dict[str, Any]) -> None:
        ended[line["id"]] = line
        if writer is not None:
            writer.write(line)
        if on_result is not None:
            on_result(line)

    try:
        await arun_batch(
            kernel,
            [t for t in tasks if t.id not in done],
            settings,
            engine=engine,
            concurrency=concurrency,
            address=address,
            on_result=collect,
            resume=resume,
        )
    finally:
        if writer is not None:
            writer.close()
    return [ended[t.id] for t in tasks]
