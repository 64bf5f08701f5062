"""``autoplug batch``: an agent over a data set, one run per line of TASKS.jsonl.

Result lines go to ``--output`` (or stdout) as tasks end; progress and the
summary go to stderr. The ``--output`` file is the batch's record: the same
command again skips the ids whose last line there succeeded.
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from . import fail, get_kernel, sigint_handler_after


def add_commands(cli: click.Group) -> None:
    """Add ``batch`` to ``cli``."""
    cli.add_command(batch_command)


@click.command("batch")
@click.argument("tasks_file", metavar="TASKS.jsonl")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where the runs happen: this process, or a Ray cluster (extra ray).",
)
@click.option("--ray-address", metavar="ADDR", help="The Ray cluster to connect to (--engine ray).")
@click.option(
    "--output",
    metavar="RESULTS.jsonl",
    help="Append result lines here (default: stdout); a rerun skips ids that succeeded.",
)
@click.option("--model", "model_id", metavar="ID", help="Model for lines that name none.")
@click.option("--auto", "auto_name", metavar="NAME", help="Auto for lines that name none.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="At most this many runs at once.",
)
@click.option("--workspace", metavar="DIR", help="The folder file tools work in (default: .).")
@click.option("--no-memory", is_flag=True, help="Neither recall nor store long-term memories.")
@click.option("--yes", is_flag=True, help="Approve every tool with side effects.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary object at the end.")
def batch_command(
    tasks_file: str,
    engine: str,
    ray_address: str | None,
    output: str | None,
    model_id: str | None,
    auto_name: str | None,
    concurrency: int,
    workspace: str | None,
    no_memory: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Run every task of TASKS.jsonl: one line {"task": ..., "id"?, "model"?, "auto"?,
    "output_schema"?} per run.

    Each result line {"id", "run_id", "status", "answer", "output", "reason",
    "usage"} is appended to --output (or stdout) as its task ends; progress goes
    to stderr. A bad line is reported with its number and the rest still run.
    Exit 0 when every task succeeded, 1 otherwise, 2 for bad usage (duplicate
    ids, an unreadable file, unknown --model or --auto), 130 on Ctrl-C (the
    started runs are left interrupted; the same command again continues).
    Without --yes side-effect tools are refused.
    """
    from ..batch import BatchSettings
    from ..batch.results import read_results
    from ..batch.tasks import duplicate_ids, read_tasks, where_duplicated

    if ray_address is not None and engine != "ray":
        fail("--ray-address needs --engine ray", 2)
    kernel = get_kernel()
    tasks, bad = read_tasks(tasks_file)
    repeated = duplicate_ids(tasks)
    if repeated:
        shown = "; ".join(
            f"{i!r} on lines {', '.join(map(str, where_duplicated(tasks, i)))}"
            for i in repeated[:5]
        )
        more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
        fail(f"{tasks_file}: duplicate id(s): {shown}{more}; nothing was run", 2)
    if output is not None and _same_file(output, tasks_file):
        fail(f"--output {output!r} is the tasks file itself", 2)
    _check_flags(kernel, tasks, model_id, auto_name, workspace)
    settings = BatchSettings(
        home=str(kernel.home),
        model=model_id,
        auto=auto_name,
        workspace=None if workspace is None else str(Path(workspace).expanduser().resolve()),
        memory=not no_memory,
        approve=yes,
    )
    record = read_results(output) if output is not None else None
    done = record.succeeded() if record is not None else set()
    todo = [t for t in tasks if t.id not in done]
    for line in bad:
        click.echo(f"error: {tasks_file} line {line.line}: {line.error}", err=True)
    if output is not None and len(todo) < len(tasks):
        click.echo(
            f"batch: skipping {len(tasks) - len(todo)} task(s) already succeeded in {output}",
            err=True,
        )
    code = drive_batch(
        kernel,
        todo,
        settings,
        engine=engine,
        address=ray_address,
        concurrency=concurrency,
        output=output,
        as_json=as_json,
        skipped=len(tasks) - len(todo),
        bad_lines=len(bad),
        how=_same_command(output),
        resume=record.interrupted() if record is not None else {},
    )
    raise SystemExit(code)


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def _check_flags(
    kernel: Any,
    tasks: list[Any],
    model_id: str | None,
    auto_name: str | None,
    workspace: str | None,
) -> None:
    """Bad batch-wide options are bad usage (exit 2) before anything runs; a line's own
    unknown model or Auto fails that line only."""
    from ..autos import resolve_workspace
    from ..llm import parse_model_id

    resolve_workspace(workspace)  # UsageError (exit 2) when not a folder
    if auto_name is not None and auto_name not in kernel.autos:
        kernel.autos.get(auto_name)  # raises, naming the known Autos
    if model_id is not None:
        provider, _ = parse_model_id(model_id)
        if provider not in kernel.models.providers:
            kernel.models.resolve(model_id)  # raises, naming the known providers
    elif kernel.config.default_model() is None:
        unset = [t.line for t in tasks if t.model is None]
        if unset:
            more = f" and {len(unset) - 1} more" if len(unset) > 1 else ""
            fail(
                f'no model for line {unset[0]}{more}: give --model ID, a "model" in each '
                'line, AUTOPLUG_MODEL or model = "..." in the config; nothing was run',
                2,
            )


def _same_command(output: str | None) -> str:
    """What to type to continue this batch."""
    command = shlex.join(["autoplug", *sys.argv[1:]])
    if output is None:
        return f"{command}  (add --output RESULTS.jsonl so a rerun skips what succeeded)"
    return command


def drive_batch(
    kernel: Any,
    tasks: list[Any],
    settings: Any,
    *,
    engine: str,
    address: str | None,
    concurrency: int,
    output: str | None,
    as_json: bool,
    skipped: int,
    bad_lines: int,
    how: str,
    resume: dict[str, str] | None = None,
) -> int:
    """Run the batch to its end with progress on stderr; its exit status.

    The first Ctrl-C cancels every run in flight (each is left ``interrupted``
    and gets an ``interrupted`` result line) and says how to continue: 130. A
    second Ctrl-C exits at once (the runs still read as interrupted: their
    owner is gone).
    """
    import asyncio
    import signal

    from ..batch import arun_batch
    from ..batch.progress import BatchProgress
    from ..batch.results import ResultWriter
    from .stdout import reserved, reserved_stdout

    progress = BatchProgress(
        total=len(tasks),
        stream=sys.stderr,
        live=sys.stderr.isatty(),
        skipped=skipped,
        bad_lines=bad_lines,
    )
    state: dict[str, Any] = {"presses": 0}
    interrupted = False
    code = 1
    with ExitStack() as stack:
        if output is None:
            # Results are the machine-read stream: a tool's print must not land among them.
            stream = reserved() or stack.enter_context(reserved_stdout())
            writer = ResultWriter(stream=stream)
        else:
            writer = stack.enter_context(ResultWriter(output))

        def on_result(line: dict[str, Any]) -> None:
            writer.write(line)
            progress.end(line)

        async def main() -> None:
            state["task"] = asyncio.current_task()
            state["loop"] = asyncio.get_running_loop()
            await arun_batch(
                kernel,
                tasks,
                settings,
                engine=engine,
                concurrency=concurrency,
                address=address,
                on_result=on_result,
                on_start=progress.start,
                on_notice=lambda text: progress.say(f"autoplug: {text}"),
                resume=resume,
            )

        def on_sigint(signum: int, frame: Any) -> None:
            state["presses"] += 1
            task, loop = state.get("task"), state.get("loop")
            if state["presses"] == 1 and task is not None and not task.done():
                progress.say(
                    f"\ninterrupting the batch: {progress.running} run(s) in flight "
                    "(Ctrl-C again to exit now)"
                )
                loop.call_soon_threadsafe(task.cancel)
                return
            _exit_now(how)

        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
        try:
            try:
                asyncio.run(main())
            except (asyncio.CancelledError, KeyboardInterrupt):
                interrupted = True
            # Still under the handler: a Ctrl-C while the end is printed exits 130 at once.
            code = _finish(progress, interrupted, as_json, bad_lines, how)
        finally:
            if in_main:
                sigint_handler_after(previous, interrupted=state["presses"] > 0)
    return code


def _finish(progress: Any, interrupted: bool, as_json: bool, bad_lines: int, how: str) -> int:
    """Print the end of a batch (the summary, or how to continue it); its exit status."""
    from .stdout import reserved

    progress.finish_line()
    if as_json:
        text = json.dumps(progress.summary(), ensure_ascii=False)
        click.echo(text, file=reserved() or sys.stdout)
    if interrupted:
        left = progress.statuses["interrupted"]
        click.echo(
            f"\ninterrupted: {left} started run(s) left interrupted; continue the batch with: {how}",
            err=True,
        )
        return 130
    click.echo(progress.summary_text(), err=True)
    return 0 if progress.failed == 0 and bad_lines == 0 else 1


def _exit_now(how: str) -> None:
    """The second Ctrl-C: exit at once with 130 (a run whose owner is gone reads as interrupted)."""
    import os

    click.echo(f"\ninterrupted at once; continue the batch with: {how}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
