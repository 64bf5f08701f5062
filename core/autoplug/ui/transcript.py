"""A run's transcript for the run page, and a manager's children.

DESIGN *Seeing a run* gives the transcript's entries: ``{"kind": "model",
"agent", "team_role", "model", "messages_added", "reply", "usage",
"duration_s"}``, ``{"kind": "step", "act", "step", "tool", "args", "status",
"preview", "error", "duration_s"}`` and ``{"kind": "child", "run_id",
"team_role", "status"}``. :func:`transcript_entries` is the one place the page
gets them from: the reader behind ``runs show --transcript``
(:func:`autoplug.runs.transcript`), so the page and the command show the same.
:func:`entries_from_events` derives step entries from trace events alone (the
act numbering across a resume).
"""

from __future__ import annotations

from typing import Any

from ..runs import RunStore

#: The ``purpose`` of an ``llm_call`` event by the transcript's ``agent`` name.
AGENTS = {"decide": "dynamic", "plan": "planner", "fill": "fill"}


def transcript_entries(
    store: RunStore, events: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The run's transcript, in order (see the module's docstring for the shapes).

    ``events`` is accepted for callers that read the trace already; the reader
    reads what it needs itself. The page renders any entry by its ``kind``.
    """
    from ..runs import transcript

    return transcript(store)


def children_of(store: RunStore) -> list[dict[str, Any]]:
    """A manager's child runs as ``{"run_id", "team_role", "status"}``; [] for other runs.

    Read from the manager's own folder (its ``children`` table) and each child's
    status; the store may be read-only (the viewer changes nothing).
    """
    from ..runs.team import team_children

    return [
        {"run_id": c["run_id"], "team_role": c["team_role"], "status": c["status"]}
        for c in team_children(store.folder.parent.parent, store)
    ]


def entries_from_events(events: list[dict[str, Any]], *, model: str | None) -> list[dict[str, Any]]:
    """Transcript entries from trace events: one per model call and one per finished step.

    A step's act is counted the way the dynamic agent numbers them: one more for
    each ``act`` decision, from the count a ``run_resumed`` event gives.
    """
    entries: list[dict[str, Any]] = []
    act = 0
    args: dict[tuple[int, str], Any] = {}
    previews: dict[tuple[int, str], Any] = {}
    begun: dict[tuple[int, str], Any] = {}
    waiting: dict[str, Any] | None = None  # the model entry whose reply comes next
    for event in events:
        kind, data = event.get("type"), event.get("data")
        if not isinstance(data, dict):
            continue
        key = (act, str(data.get("step")))
        if kind == "run_started":
            model = data.get("model", model)
        elif kind == "run_resumed":
            act = _int(data.get("acts"), act)
        elif kind == "llm_call":
            waiting = {
                "kind": "model",
                "agent": AGENTS.get(str(data.get("purpose")), data.get("purpose")),
                "team_role": None,
                "model": model,
                "messages_added": None,
                "reply": None,
                "usage": {
                    "input_tokens": data.get("input_tokens"),
                    "output_tokens": data.get("output_tokens"),
                },
                "duration_s": None,
            }
            entries.append(waiting)
        elif kind in ("decision", "plan", "fill"):
            if waiting is not None:
                waiting["reply"] = _reply(kind, data)
                waiting = None
            if kind == "decision" and data.get("function") == "act":
                act += 1
        elif kind == "step_started":
            args[key] = data.get("args")
            begun[key] = event.get("time")
        elif kind == "asset_stored":
            previews[key] = data.get("preview")
        elif kind in STEP_ENDS and not data.get("resumed"):
            entries.append(
                {
                    "kind": "step",
                    "act": act,
                    "step": data.get("step"),
                    "tool": data.get("tool"),
                    "args": args.pop(key, None),
                    "status": STEP_ENDS[kind],
                    "preview": previews.pop(key, None),
                    "error": data.get("error") or data.get("reason"),
                    "duration_s": _duration(data, begun.pop(key, None), event.get("time")),
                }
            )
    return entries


#: The trace's step-end events by the status they record.
STEP_ENDS = {"step_finished": "succeeded", "step_failed": "failed", "step_skipped": "skipped"}


def _reply(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "plan":
        return {"function": "submit_plan", "arguments": {"steps": data.get("steps")}}
    if kind == "fill":
        return {"function": data.get("tool"), "arguments": data.get("arguments")}
    return {"function": data.get("function"), "arguments": data.get("arguments")}


def _duration(data: dict[str, Any], began: Any, ended: Any) -> float | None:
    """The step's measured duration, else the time between its start and end events."""
    measured = data.get("duration_s")
    if isinstance(measured, int | float):
        return measured
    if isinstance(began, int | float) and isinstance(ended, int | float):
        return round(ended - began, 6)
    return None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
