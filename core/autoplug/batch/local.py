"""The local engine: the tasks of a batch as concurrent runs in this process's event loop.

In-process, not worker processes: a run spends its time waiting on the model
and on tools, and the kernel already runs every sync tool in a thread of its
own, so a slow sync tool does not hold the others up (measured in
``benchmarks/bench_batch.py``; docs/performance.md has the figures). At most
``concurrency`` runs are open at once, and that bound is lowered to what the
process's open-files limit allows, so a batch of any size cannot run out of
file descriptors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from ..runs.journal import HANDLES_MAX
from .settings import BatchSettings
from .tasks import BatchTask
from .worker import arun_one, result_line

#: File descriptors one open run may hold at a moment: its journals share the
#: process's bounded cache (counted in FILES_RESERVED), so this is a journal being
#: reopened past that cache, a big asset's file, the model connection it waits on
#: and a tool's file.
FILES_PER_RUN = 4
#: File descriptors kept free for everything else (plugins, memory, stdio, imports)
#: and for the journals' cache of kept descriptors (all runs together).
FILES_RESERVED = 48 + HANDLES_MAX


def open_files_now() -> int | None:
    """How many file descriptors this process has open, where the system says (Linux, macOS)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return None


def concurrency_for_open_files(wanted: int) -> tuple[int, str | None]:
    """``wanted`` lowered to what the open-files limit (``ulimit -n``) allows, and why, if lowered."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return wanted, None
    if soft == resource.RLIM_INFINITY:
        return wanted, None
    in_use = open_files_now() or 0
    allowed = max(1, (soft - in_use - FILES_RESERVED) // FILES_PER_RUN)
    if allowed >= wanted:
        return wanted, None
    return allowed, (
        f"concurrency lowered from {wanted} to {allowed}: the open-files limit is {soft} "
        f"({in_use} in use; raise it with 'ulimit -n')"
    )


async def arun_local(
    kernel: Any,
    tasks: Iterable[BatchTask],
    settings: BatchSettings,
    *,
    concurrency: int,
    on_result: Callable[[dict[str, Any]], None],
    on_start: Callable[[BatchTask], None] | None = None,
    resume: dict[str, str] | None = None,
) -> None:
    """Run ``tasks`` in ``kernel``, at most ``concurrency`` at once; ``on_result(line)`` as each ends.

    Lines arrive in completion order. ``resume`` maps a task id to the run an
    earlier attempt left interrupted: that run is finished instead of a new one. When the batch is cancelled (Ctrl-C),
    every run in flight is left ``interrupted`` by its Auto and reported with an
    ``interrupted`` line before the cancellation goes on.
    """
    import asyncio

    pending = iter(tasks)

    async def worker() -> None:
        for task in pending:  # one shared iterator: each task is taken by exactly one worker
            if on_start is not None:
                on_start(task)
            started: dict[str, str] = {}

            def watch(event: Any, started: dict[str, str] = started) -> None:
                if event.type in ("run_started", "run_resumed"):
                    started["run_id"] = event.run_id

            try:
                line = await arun_one(
                    kernel,
                    task,
                    settings,
                    on_event=watch,
                    resume_run_id=(resume or {}).get(task.id),
                )
            except (asyncio.CancelledError, KeyboardInterrupt):
                on_result(
                    result_line(
                        task.id,
                        run_id=started.get("run_id"),
                        status="interrupted",
                        reason="interrupted by the user",
                    )
                )
                raise
            on_result(line)

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, concurrency))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        # Let each in-flight run record its interruption before the cancellation goes on.
        await asyncio.gather(*workers, return_exceptions=True)
        raise


def warn(message: str) -> None:
    """A note on stderr."""
    print(f"autoplug: {message}", file=sys.stderr)
