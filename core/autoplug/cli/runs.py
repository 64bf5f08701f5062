"""``autoplug runs``, ``runs show``, ``runs prune`` and ``resume``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import click

from . import echo_json, echo_table, fail, get_kernel

if TYPE_CHECKING:
    from ..runs import RunStore

#: The keys of one entry of ``autoplug runs --json``.
LIST_KEYS = (
    "run_id",
    "status",
    "task",
    "model",
    "auto",
    "started",
    "finished",
    "reason",
    "parent",
    "error",
)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def add_commands(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(runs_group)
    cli.add_command(resume_command)


def parse_duration(text: str) -> float:
    """Seconds in ``text`` such as ``30d``, ``12h``, ``90m``, ``45s``; ValueError if malformed."""
    match = DURATION_RE.match(text)
    if match is None:
        raise ValueError(text)
    return float(match.group(1)) * UNITS[match.group(2)]


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


@click.group("runs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def runs_group(ctx: click.Context, as_json: bool) -> None:
    """List past runs, newest first; `runs show RUN_ID` shows one, `runs prune` deletes old ones.

    A run whose process was killed is listed as `interrupted`; finish it with
    `autoplug resume RUN_ID`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..runs import list_runs  # sqlite3 and friends only when a runs command runs

    entries = [{k: e.get(k) for k in LIST_KEYS} for e in list_runs(get_kernel().home)]
    if as_json:
        echo_json(entries)
        return
    rows = [
        [
            e["run_id"],
            e["status"],
            e["started"] or "-",
            e["model"] or "-",
            e["parent"] or "-",
            _short(e["task"], 50),
        ]
        for e in entries
    ]
    echo_table(rows, ["RUN_ID", "STATUS", "STARTED", "MODEL", "PARENT", "TASK"])
    for e in entries:
        if e["error"]:
            click.echo(f"{e['run_id']}: {e['error']}", err=True)


# -- runs show -------------------------------------------------------------------


def show_run(store: RunStore) -> dict[str, Any]:
    """One run as ``runs show --json`` prints it: its info, acts with their steps, assets."""
    from ..assets import AssetStore

    info = store.info()
    info.pop("owner", None)
    decisions = store.decisions()
    subtasks = _subtasks(store, decisions)
    plans = store.plans()
    finished: dict[int, dict[str, dict[str, Any]]] = {}
    for act_no, step_id, record in store.steps():
        finished.setdefault(act_no, {})[step_id] = record
    acts = []
    for act_no in sorted(set(plans) | set(finished)):
        done: dict[str, Any] = dict(finished.get(act_no, {}))
        steps = []
        for step in (plans.get(act_no) or {}).get("steps", []):
            record = done.pop(str(step.get("id")), None) or {}
            steps.append(_step_entry(step, record))
        steps += [_step_entry({"id": sid}, rec) for sid, rec in done.items()]
        acts.append(
            {
                "act": act_no,
                "subtask": subtasks.get(act_no),
                "steps": steps,
            }
        )
    info["acts"] = acts
    info["assets"] = [a.to_dict() for a in AssetStore.load(store.assets_dir).all()]
    info["unreadable_trace_lines"] = store.unreadable_trace_lines()
    info["decisions"] = [
        {k: d.get(k) for k in ("iteration", "function", "arguments")} for d in decisions
    ]
    info["output"] = _output(store, info)
    from ..runs.team import team_children

    info["children"] = team_children(store.folder.parent.parent, store)
    return info


def _output(store: RunStore, info: dict[str, Any]) -> Any:
    """The validated answer of a run with an output schema (its answer is that JSON text)."""
    from ..output import saved_schema

    if info.get("answer") is None or saved_schema(store.folder) is None:
        return None
    try:
        return json.loads(info["answer"])
    except ValueError:
        return None  # an Assistant's text answer in a conversation that once had a schema


def _subtasks(store: RunStore, decisions: list[dict[str, Any]]) -> dict[int, str | None]:
    """Each act's subtask: from its saved decision, else from the trace's ``plan`` events.

    An act in flight when the run died has no saved decision yet; its plan event
    (acts run one at a time, so plan events come in act order) still names it.
    """
    found: dict[int, str | None] = {}
    planned = [
        e["data"].get("subtask")
        for e in store.events()
        if e.get("type") == "plan"
        and isinstance(e.get("data"), dict)
        and not e["data"].get("resumed")
    ]
    for act_no, subtask in enumerate(planned, 1):
        found[act_no] = subtask
    for d in decisions:
        if isinstance(d.get("act_no"), int):
            found[d["act_no"]] = (d.get("arguments") or {}).get("subtask")
    return found


def _step_entry(step: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": step.get("id"),
        "tool": step.get("tool"),
        "args": step.get("args"),
        "output": step.get("output"),
        # A planned step with no record did not finish: not started, or in flight when killed.
        "status": record.get("status", "pending"),
        "asset": record.get("asset"),
        "error": record.get("error"),
        "kind": record.get("kind"),
    }


def _echo_shown(shown: dict[str, Any]) -> None:
    click.echo(f"run:       {shown['run_id']}")
    click.echo(f"status:    {shown['status']}")
    click.echo(f"task:      {shown['task']}")
    click.echo(f"model:     {shown['model']}  (auto: {shown['auto']})")
    click.echo(f"workspace: {shown['workspace']}")
    click.echo(f"started:   {shown['started']}  finished: {shown['finished'] or '-'}")
    if shown.get("parent"):
        click.echo(
            f"parent:    {shown['parent']}  (assignment {shown['assignment']}, "
            f"role {shown['team_role']})"
        )
    for act in shown["acts"]:
        click.echo(f"\nact {act['act']}: {_short(act['subtask'], 70) or '-'}")
        rows = [
            [
                f"  {s['id']}",
                s["tool"] or "-",
                s["status"],
                s["asset"] or _short(s["error"], 50) or "-",
            ]
            for s in act["steps"]
        ]
        echo_table(rows, ["  STEP", "TOOL", "STATUS", "ASSET / ERROR"])
    if shown.get("children"):
        click.echo("\nchildren:")
        rows = [
            [f"  {c['assignment']}", c["team_role"], c["status"], c["run_id"]]
            for c in shown["children"]
        ]
        echo_table(rows, ["  ASSIGNMENT", "ROLE", "STATUS", "RUN_ID"])
    if shown["assets"]:
        click.echo("\nassets:")
        rows = [
            [
                f"  {a['name']}",
                a["type"],
                str(a["size"]),
                a["step"] or "-",
                _short(a["preview"], 40),
            ]
            for a in shown["assets"]
        ]
        echo_table(rows, ["  NAME", "TYPE", "SIZE", "STEP", "PREVIEW"])
    if shown["unreadable_trace_lines"]:
        click.echo(
            f"\ntrace:  {shown['unreadable_trace_lines']} unreadable line(s) of trace.jsonl skipped"
        )
    if shown["reason"]:
        click.echo(f"\nreason: {shown['reason']}")
    if shown["usage"]:
        click.echo(f"usage:  {json.dumps(shown['usage'])}")
    if shown.get("output") is not None:
        click.echo(f"\noutput:\n{json.dumps(shown['output'], indent=2, ensure_ascii=False)}")
    elif shown["answer"] is not None:
        click.echo(f"\nanswer:\n{shown['answer']}")


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option(
    "--transcript",
    "as_transcript",
    is_flag=True,
    help="Show every model exchange and tool step in order (with --json: a JSON array).",
)
def runs_show(run_id: str, as_json: bool, as_transcript: bool) -> None:
    """Show one run: its plans, steps with their status, assets, answer, reason and usage.

    With --transcript: what each agent was told and answered, and each tool step.
    """
    from ..runs import RunStore, transcript

    with RunStore.open(get_kernel().home, run_id) as store:
        shown = transcript(store) if as_transcript else show_run(store)
    if as_transcript and not as_json:
        from .transcript import echo_transcript

        echo_transcript(shown)
    elif as_json:
        echo_json(shown)
    else:
        _echo_shown(shown)


# -- runs prune ------------------------------------------------------------------


@runs_group.command("prune")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="AGE",
    help="Delete runs that ended longer ago than AGE: a number with s, m, h or d (30d).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the deleted run ids as JSON.")
def runs_prune(older_than: str, as_json: bool) -> None:
    """Delete old runs' folders. A run still running is never deleted."""
    try:
        seconds = parse_duration(older_than)
    except ValueError:
        fail(
            f"invalid --older-than value {older_than!r}: expected a number and a unit "
            "s, m, h or d, such as 30d or 12h",
            2,
        )
    from ..runs import prune_runs

    deleted = prune_runs(get_kernel().home, seconds)
    if as_json:
        echo_json({"deleted": deleted})
        return
    if not deleted:
        click.echo(f"no runs older than {older_than.strip()}")
        return
    for run_id in deleted:
        click.echo(f"deleted {run_id}")
    click.echo(f"{len(deleted)} run(s) deleted")


# -- resume ----------------------------------------------------------------------


@click.command("resume")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--yes", is_flag=True, help="Approve every tool with side effects.")
@click.option(
    "--model", "model_id", metavar="ID", help="Finish it on this model (default: the run's)."
)
def resume_command(run_id: str, as_json: bool, yes: bool, model_id: str | None) -> None:
    """Finish an interrupted (or failed) run from its last checkpoint.

    Finished steps and their assets are reused, never run again; a step that
    was in flight when the run died runs again. Approvals are asked again.
    `--model ID` finishes it on another model (say, when its provider is down).
    Output and exit status as `autoplug run`; exit 2 for an unknown run or one
    with nothing to resume (succeeded, stopped, or still running).
    """
    from ..runs import RunStore

    kernel = get_kernel()
    with RunStore.open(kernel.home, run_id) as store:
        info = store.info()
    if info["status"] == "succeeded":
        fail(f"run {run_id!r} already succeeded; nothing to resume (see `autoplug runs show`)", 2)
    if info["status"] == "stopped":
        fail(
            f"run {run_id!r} was stopped by a guard ({info['reason']}); only an interrupted "
            "or failed run can be resumed",
            2,
        )
    if info["status"] == "running":
        owner = info["owner"]
        fail(
            f"run {run_id!r} is still running (pid {owner['pid']} on {owner['host']}); "
            "not resuming it twice",
            2,
        )
    from ..autos import aresume_run
    from .run import Progress, approver, drive, report_result

    # The same progress, approvals, Ctrl-C, output and exit statuses as `autoplug run`.
    progress = Progress()
    progress.run_id = run_id
    work = aresume_run(kernel, run_id, approve=approver(yes), on_event=progress, model=model_id)
    report_result(drive(kernel, work, progress, "autoplug resume"), as_json)
