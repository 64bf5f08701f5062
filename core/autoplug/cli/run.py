"""``autoplug run`` (a task to completion) and ``autoplug chat`` (an Assistant conversation).

Progress goes to stderr — the plan as a checklist, each step as it runs,
finishes or fails, the dynamic agent's decisions — and the answer to stdout, so
``autoplug run TASK > answer.txt`` keeps only the answer.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from . import echo_json, fail, get_kernel, sigint_handler_after

if TYPE_CHECKING:
    import asyncio

EXIT_FOR_STATUS = {"succeeded": 0, "failed": 1, "stopped": 1, "interrupted": 130}


def add_commands(cli: click.Group) -> None:
    """Add ``run`` and ``chat`` to ``cli``."""
    cli.add_command(run_command)
    cli.add_command(chat_command)


def _short(text: Any, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Progress:
    """Prints a run's events on stderr as they happen; remembers the run id."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.mid_line = False  # streamed model text left the cursor mid-line
        self.hinted = False  # the --yes hint is printed once per command
        self.running: dict[str, str] = {}  # step id -> tool, of the steps started, not ended

    def text(self, delta: str) -> None:
        """Streamed model text (``--stream``)."""
        click.echo(delta, nl=False, err=True)
        self.mid_line = not delta.endswith("\n")

    def say(self, line: str) -> None:
        """One progress line."""
        if self.mid_line:
            click.echo(err=True)
            self.mid_line = False
        click.echo(line, err=True)

    def __call__(self, event: Any) -> None:
        self.run_id = self.run_id or event.run_id
        role = event.data.get("team_role") if event.data.get("child_run") else None
        if event.type in ("step_started", "step_finished", "step_failed", "step_skipped"):
            step = event.data["step"] if role is None else f"{role}:{event.data['step']}"
            if event.type == "step_started":
                self.running[step] = event.data["tool"]
            else:
                self.running.pop(step, None)
        if role is None:
            line = self.render(event.type, event.data)
        else:
            line = self.render_child(role, event.type, event.data)
        if line:
            self.say(line)

    def render_child(self, role: str, kind: str, d: dict[str, Any]) -> str | None:
        """A manager's child's event: its run's start and end, and its other lines under its role."""
        child = d["child_run"]
        if kind == "run_started":
            return f"  {role}: run {child} started"
        if kind == "run_resumed":
            return f"  {role}: resuming run {child}: {d['decisions']} turns already made"
        if kind == "run_finished":
            reason = f" ({_short(d['reason'])})" if d.get("reason") else ""
            return f"  {role}: run {child} {d['status']}{reason}"
        if kind == "memory_recalled":
            return None
        line = self.render(kind, d)
        if line is None:
            return None
        return "\n".join(f"  {role}| {part}" for part in line.splitlines())

    def render(self, kind: str, d: dict[str, Any]) -> str | None:
        """The progress text of one event, or None for events not shown."""
        if kind == "run_started":
            return f"run {self.run_id} ({d['auto']}, {d['model']})"
        if kind == "run_resumed":
            return f"resuming run {self.run_id}: {d['decisions']} turns already made"
        if kind == "memory_recalled":
            if not d.get("searched"):
                return None  # an empty store: nothing to say
            floor = d.get("min_similarity")
            return (
                f"recalled {len(d['memories'])} memories ({d.get('passed')} of the "
                f"{d['searched']} nearest reached min_similarity {floor:g})"
            )
        if kind == "decision":
            args = d["arguments"]
            if d["function"] == "brainstorm":
                return f"» brainstorm: {_short(args['thoughts'])}"
            if d["function"] == "act":
                assets = f" [assets: {', '.join(args['assets'])}]" if args["assets"] else ""
                return f"» act: {_short(args['subtask'])}{assets}"
            if d["function"] == "delegate":
                lines = [f"» delegate: {len(args['assignments'])} assignment(s)"]
                lines += [f"  - {a['role']}: {_short(a['subtask'])}" for a in args["assignments"]]
                return "\n".join(lines)
            return "» final"
        if kind == "decision_rejected":
            return f"! turn {d['iteration']} rejected: {_short(d['error'])}"
        if kind == "plan":
            lines = [f"  plan: {_short(d['subtask'])}"]
            lines += [f"  [ ] {s['id']} {s['tool']} -> {s['output']}" for s in d["steps"]]
            return "\n".join(lines)
        if kind == "plan_rejected":
            return (
                f"  plan rejected (attempt {d['attempt']}): {_short('; '.join(d['errors']), 300)}"
            )
        if kind == "step_started":
            return f"  [>] {d['step']} {d['tool']}"
        if kind == "step_finished":
            return f"  [x] {d['step']} {d['tool']} -> {d['asset']} ({d['duration_s']:.2f} s)"
        if kind == "step_failed":
            return f"  [!] {d['step']} {d['tool']} failed: {_short(d['error'], 300)}"
        if kind == "step_skipped":
            return f"  [-] {d['step']} {d['tool']} skipped: {_short(d['reason'])}"
        if kind == "approval_asked":
            verdict = "approved" if d["approved"] else "refused"
            line = f"  approval for {d['tool']} ({d['step']}): {verdict}"
            if not d["approved"] and not self.hinted:
                # Only the user sees this: the model's observation stays as it was.
                from .listing import APPROVE_HINT

                self.hinted = True
                line += f"\n  hint: {APPROVE_HINT}"
            return line
        if kind == "fill":
            filled = _short(json.dumps(d["arguments"], ensure_ascii=False))
            errors = f" rejected: {_short('; '.join(map(str, d['errors'])))}" if d["errors"] else ""
            return f"  [~] {d['step']} {d['tool']} filled {filled}{errors}"
        if kind == "run_finished":
            # the reason of a failed or stopped run is printed once, as the "error:" line
            return f"run {self.run_id} {d['status']}"
        return None


def approver(yes: bool) -> Any:
    """``--yes`` approves every side-effect tool; else ask on a terminal; else refuse."""
    if yes:
        return True
    one_at_a_time = threading.Lock()  # concurrent steps must not interleave their questions

    def ask_now(tool: Any, args: dict[str, Any], request: Any = None) -> bool:
        name = getattr(tool, "name", str(tool))
        who = ""
        if request is not None and request.team_role:
            who = f"role {request.team_role}, step {request.step}: "
        with one_at_a_time:
            return click.confirm(
                f"{who}tool {name!r} has side effects; run it with "
                f"{json.dumps(args, ensure_ascii=False)}?",
                default=False,
                err=True,
            )

    async def ask(tool: Any, args: dict[str, Any], request: Any = None) -> bool:
        import asyncio

        if not sys.stdin.isatty():
            return False
        # A daemon thread, not asyncio.to_thread: Ctrl-C must not wait for an answer.
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()

        def settle(value: bool) -> None:
            if not answer.done():
                answer.set_result(value)

        def worker() -> None:
            try:
                value = ask_now(tool, args, request)
            except (click.exceptions.Abort, EOFError):
                value = False
            try:
                loop.call_soon_threadsafe(settle, value)
            except RuntimeError:  # the loop is gone: the run was interrupted
                pass

        threading.Thread(target=worker, name="autoplug-approval", daemon=True).start()
        return await answer

    return ask


def mark_interrupted(kernel: Any, run_id: str | None) -> None:
    """Leave ``run_id`` ``interrupted`` (resumable) if it is still marked running."""
    if run_id is None:
        return
    from ..errors import RunError
    from ..runs import RunStore

    try:
        with RunStore.open(kernel.home, run_id) as store:
            if store.info()["status"] in ("running", "interrupted"):
                store.set_status("interrupted", reason="interrupted by the user")
    except RunError:
        pass


def interrupted(kernel: Any, run_id: str | None, how: str) -> None:
    """Mark the run interrupted, say how to continue it, exit 130."""
    mark_interrupted(kernel, run_id)
    where = f"; continue it with: {how} {run_id}" if run_id else ""
    click.echo(f"\ninterrupted{where}", err=True)
    raise SystemExit(130)


def drive(kernel: Any, work: Any, progress: Progress, how: str) -> Any:
    """Run the coroutine ``work`` of a run to its end; Ctrl-C interrupts it.

    The first Ctrl-C says which steps are still running and cancels the run,
    which ends ``interrupted`` as soon as its steps do (a sync tool in flight is
    abandoned, not waited for). A second Ctrl-C exits at once with status 130,
    even when an async tool blocks the event loop: the run is left
    ``interrupted`` (written here, and anyway what a dead owner reads as).
    """
    import asyncio
    import signal

    state: dict[str, Any] = {"presses": 0}

    async def main() -> Any:
        state["task"] = asyncio.current_task()
        state["loop"] = asyncio.get_running_loop()
        return await work

    def on_sigint(signum: int, frame: Any) -> None:
        state["presses"] += 1
        task, loop = state.get("task"), state.get("loop")
        if state["presses"] == 1 and task is not None and loop is not None:
            steps = ", ".join(f"{step} ({tool})" for step, tool in progress.running.items())
            still = f"; still running: {steps}" if steps else ""
            progress.say(f"\ninterrupting run {progress.run_id}{still} (Ctrl-C again to exit now)")
            loop.call_soon_threadsafe(task.cancel)
            return
        _exit_now(kernel, progress.run_id, how)

    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(main())  # signals reach the main thread only
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted(kernel, progress.run_id, how)
    finally:
        sigint_handler_after(previous, interrupted=state["presses"] > 0)


def _exit_now(kernel: Any, run_id: str | None, how: str) -> None:
    """The second Ctrl-C: mark the run interrupted (for a second at most) and exit 130."""
    import os

    # In a thread with a bound: the interrupted main thread may hold the database's lock.
    marker = threading.Thread(target=mark_interrupted, args=(kernel, run_id), daemon=True)
    marker.start()
    marker.join(1.0)
    where = f"; continue it with: {how} {run_id}" if run_id else ""
    click.echo(f"\ninterrupted at once{where}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)  # nothing may wait now: not the loop, not an abandoned tool's thread


@click.command("run")
@click.argument("task")
@click.option("--model", "model_id", metavar="ID", help="Model as PROVIDER:MODEL.")
@click.option("--auto", "auto_name", default="runner", show_default=True, help="The Auto to run.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--yes", is_flag=True, help="Approve every tool with side effects.")
@click.option("--stream", is_flag=True, help="Stream the model's text to stderr.")
@click.option("--record", metavar="PATH", help="Record every model exchange to a cassette.")
@click.option("--workspace", metavar="DIR", help="The folder file tools work in (default: .).")
@click.option("--no-memory", is_flag=True, help="Neither recall nor store long-term memories.")
@click.option(
    "--output-schema",
    "output_schema",
    metavar="FILE.json",
    help="A JSON Schema the answer must match (printed as JSON).",
)
def run_command(
    task: str,
    model_id: str | None,
    auto_name: str,
    as_json: bool,
    yes: bool,
    stream: bool,
    record: str | None,
    workspace: str | None,
    no_memory: bool,
    output_schema: str | None,
) -> None:
    """Run TASK to completion: progress on stderr, the answer on stdout.

    TASK `-` reads the task from stdin (a task too long for an argument).
    Exit 0 when it succeeded, 1 when it failed or a guard stopped it, 2 for bad
    usage (no model configured, unknown model or Auto, bad --workspace, an
    empty task on stdin), 130 on Ctrl-C (the run is left interrupted:
    `autoplug resume RUN_ID`).
    """

    from ..autos import arun_task
    from ..output import load_schema_file

    if task == "-":
        task = read_task_from_stdin()
    kernel = get_kernel()
    schema = load_schema_file(output_schema) if output_schema is not None else None
    progress = Progress()
    work = arun_task(
        kernel,
        task,
        model=model_id,
        auto=auto_name,
        approve=approver(yes),
        record=record,
        workspace=workspace,
        on_text=progress.text if stream else None,
        stream=stream,
        on_event=progress,
        memory=not no_memory,
        output_schema=schema,
    )
    report_result(drive(kernel, work, progress, "autoplug resume"), as_json)


def read_task_from_stdin() -> str:
    """The whole of stdin as the task (``run -``); an empty one is a usage error (exit 2)."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        fail(f"the task read from stdin (TASK '-') is not UTF-8 at byte {exc.start}", 2)
    if not text.strip():
        fail("the task read from stdin (TASK '-') is empty", 2)
    return text


def report_result(result: Any, as_json: bool) -> None:
    """Print a finished run (the answer, or ``--json``'s object) and exit with its status."""
    if as_json:
        echo_json(result.to_dict())
    elif result.status == "succeeded":
        click.echo(result.answer)
    if result.status != "succeeded":
        if not as_json:
            click.echo(f"error: run {result.run_id} {result.status}: {result.reason}", err=True)
        raise SystemExit(EXIT_FOR_STATUS.get(result.status, 1))


def _start_reader(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Feed stdin's lines into ``queue`` from a daemon thread (None at EOF).

    A daemon thread, not ``asyncio.to_thread``: a Ctrl-C must not wait for a line.
    """

    def pump() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop closed: the chat is over
            pass

    threading.Thread(target=pump, name="autoplug-chat-stdin", daemon=True).start()


async def _converse(assistant: Any, progress: Progress) -> None:
    import asyncio

    queue: asyncio.Queue[str | None] = asyncio.Queue()
    _start_reader(asyncio.get_running_loop(), queue)
    prompt = sys.stdin.isatty()
    try:
        while True:
            if prompt:
                click.echo("> ", nl=False, err=True)
            line = await queue.get()
            if line is None:
                break
            message = line.strip()
            if message == "/exit":
                break
            if not message:
                continue
            result = await assistant.asend(message)
            progress.run_id = assistant.run_id
            if result.answer is not None:
                click.echo(result.answer)
            else:
                click.echo(f"error: turn {result.status}: {result.reason}", err=True)
    finally:
        # Also on Ctrl-C between turns: the conversation stays continuable.
        if assistant.ctx is not None:
            await assistant.aclose()


@click.command("chat")
@click.option("--model", "model_id", metavar="ID", help="Model as PROVIDER:MODEL.")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Continue a saved conversation.")
@click.option("--yes", is_flag=True, help="Approve every tool with side effects.")
@click.option("--workspace", metavar="DIR", help="The folder file tools work in (default: .).")
@click.option("--no-memory", is_flag=True, help="Neither recall nor store long-term memories.")
def chat_command(
    model_id: str | None, resume_id: str | None, yes: bool, workspace: str | None, no_memory: bool
) -> None:
    """Talk with an Assistant: one message a line on stdin, answers on stdout.

    It keeps the conversation, its assets and memory across turns. End with
    EOF (Ctrl-D) or a line "/exit"; `--resume RUN_ID` continues a conversation.
    Exit 0 when the last turn succeeded, 1 when it failed or a guard stopped it.
    """
    import asyncio

    from ..autos import auto_class, list_unlisted_servers

    kernel = get_kernel()
    cls = auto_class(kernel, "assistant")
    asyncio.run(list_unlisted_servers(kernel))  # the first plan sees every MCP server's tools
    progress = Progress()
    options: dict[str, Any] = {
        "approve": approver(yes),
        "on_event": progress,
        "memory": not no_memory,
    }
    if model_id is not None:
        options["model"] = model_id
    if workspace is not None:
        options["workspace"] = workspace
    if resume_id is not None:
        reopen = getattr(cls, "reopen", None)
        if reopen is None:
            fail(f"the assistant Auto {cls.__name__} cannot continue a saved conversation", 2)
        assistant = reopen(kernel, resume_id, **options)
    else:
        assistant = cls(kernel, **options)
    progress.run_id = assistant.run_id
    try:
        asyncio.run(_converse(assistant, progress))
    except KeyboardInterrupt:
        # A turn in flight was left interrupted by the Assistant itself.
        where = (
            f"; continue with: autoplug chat --resume {progress.run_id}" if progress.run_id else ""
        )
        click.echo(f"\ninterrupted{where}", err=True)
        raise SystemExit(130) from None
    if assistant.run_id is None and assistant.last is not None:
        click.echo(
            f"conversation saved as run {assistant.last.run_id}; continue it with: "
            f"autoplug chat --resume {assistant.last.run_id}",
            err=True,
        )
    # The conversation is one run, left with its last turn's status: exit as `run` would.
    if assistant.last is not None and assistant.last.status != "succeeded":
        raise SystemExit(EXIT_FOR_STATUS.get(assistant.last.status, 1))
