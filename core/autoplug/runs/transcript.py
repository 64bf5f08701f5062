"""A run's transcript: every model exchange in order and every tool step between them.

Built from the trace (its order, the steps, their previews) and the recorded
model calls (:mod:`autoplug.runs.exchanges`: what each call was told and
answered). A run folder made before calls were recorded still gives every entry,
with what its trace knows: the agent and the usage of each call, the run's model,
and ``null`` for the messages, the reply and the duration.

Entries (the JSON of ``autoplug runs show RUN_ID --transcript --json``)::

    {"kind": "model", "agent": "dynamic"|"planner"|"fill", "team_role", "model",
     "messages_added", "reply", "usage", "duration_s"}
    {"kind": "step", "act", "step", "tool", "args", "status", "preview", "error",
     "duration_s"}
    {"kind": "child", "run_id", "team_role", "status"}

A manager's children are entries by reference (each once, after the ``delegate``
decision that began it); a child's own transcript has its role as ``team_role``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..events import AGENT_OF_PURPOSE

if TYPE_CHECKING:
    from .store import RunStore

#: The step status each end-of-step event stands for.
STEP_ENDS = {"step_finished": "succeeded", "step_failed": "failed", "step_skipped": "skipped"}


def transcript(store: RunStore) -> list[dict[str, Any]]:
    """The transcript of the run kept in ``store`` (see the module docstring for the shapes)."""
    info = store.info()
    return entries_of(
        store.events(),
        model=info.get("model"),
        calls=store.exchanges.calls(),
        messages=store.exchanges.messages(),
        team_role=info.get("team_role"),
        children=_Children(store),
    )


def entries_of(
    events: list[dict[str, Any]],
    *,
    model: str | None,
    calls: dict[int, dict[str, Any]] | None = None,
    messages: dict[int, dict[str, Any]] | None = None,
    team_role: str | None = None,
    children: _Children | None = None,
) -> list[dict[str, Any]]:
    """The transcript entries of a trace's ``events`` and its recorded model ``calls``.

    ``model`` is the run's (for calls that name none); ``messages`` are the recorded
    message parts the calls refer to; ``team_role`` is a child run's role;
    ``children`` a manager's child runs, listed after the decisions that began them.
    Without recorded calls each model entry has what the trace knows, as for a run
    folder made before calls were recorded.
    """
    builder = _Builder(model, calls or {}, messages or {})
    builder.team_role = team_role
    acts = act_numbers(events)
    for event, act in zip(events, acts, strict=True):
        builder.note(event, act)
    for event, act in zip(events, acts, strict=True):
        make = builder.makers.get(str(event.get("type")))
        if make is not None:
            entry = make(_data(event), event, act)
            if entry is not None:
                builder.entries.append(entry)
        if children is not None:
            builder.entries += children.begun_by(event)
    return builder.entries


class _Children:
    """A manager's child runs, matched to the ``delegate`` decisions that began them.

    Each assignment of a decision takes its role's next child not shown yet (by
    assignment number), so a decision made again after a resume, whose children
    are already listed, adds none.
    """

    def __init__(self, store: RunStore) -> None:
        from .team import team_children

        self.queues: dict[str, list[dict[str, Any]]] = {}
        for child in team_children(store.folder.parent.parent, store):
            self.queues.setdefault(child["team_role"], []).append(child)
        for queue in self.queues.values():
            queue.sort(key=lambda c: _number(c["assignment"]))

    def begun_by(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The child entries of a ``delegate`` decision (none for any other event)."""
        data = _data(event)
        if not self.queues or event.get("type") != "decision":
            return []
        if data.get("function") != "delegate" or event.get("data", {}).get("resumed"):
            return []
        found = []
        assignments = (data.get("arguments") or {}).get("assignments") or []
        for assignment in assignments if isinstance(assignments, list) else []:
            role = assignment.get("role") if isinstance(assignment, dict) else None
            queue = self.queues.get(str(role)) or []
            if queue:
                child = queue.pop(0)
                found.append(
                    {
                        "kind": "child",
                        "run_id": child["run_id"],
                        "team_role": child["team_role"],
                        "status": child["status"],
                    }
                )
        return found


def _number(assignment: str) -> int:
    """K of an assignment name ``ROLE.K``."""
    tail = assignment.rpartition(".")[2]
    return int(tail) if tail.isdigit() else 0


def act_numbers(events: list[dict[str, Any]]) -> list[int]:
    """The act (counted from 1 in the run) each event belongs to; 0 before the first act.

    Each ``decision`` to ``act`` starts the next act; ``run_resumed`` sets the count
    back to the acts saved before the interruption, as the resumed run numbers them.
    """
    act = 0
    numbers = []
    for event in events:
        data = _data(event)
        if event.get("type") == "decision" and data.get("function") == "act":
            act += 1
        elif event.get("type") == "run_resumed" and isinstance(data.get("acts"), int):
            act = data["acts"]
        numbers.append(act)
    return numbers


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


class _Builder:
    """The state of one pass over a trace."""

    def __init__(
        self,
        run_model: str | None,
        calls: dict[int, dict[str, Any]],
        parts: dict[int, dict[str, Any]],
    ) -> None:
        self.run_model = run_model
        self.team_role: str | None = None  # a manager's child: its role
        self.calls = calls
        self.parts = parts
        self.entries: list[dict[str, Any]] = []
        self.started: dict[tuple[int, str], dict[str, Any]] = {}
        self.previews: dict[tuple[int, str], str] = {}
        self.earlier: list[dict[str, Any]] = []  # recorded calls already shown
        self.makers: dict[str, Callable[[dict[str, Any], dict[str, Any], int], Any]] = {
            "llm_call": self._model,
            **dict.fromkeys(STEP_ENDS, self._step),
        }

    def note(self, event: dict[str, Any], act: int) -> None:
        """First pass: where each step started and the preview of what it stored."""
        data = _data(event)
        key = (act, str(data.get("step")))
        if event.get("type") == "step_started":
            self.started[key] = event
        elif event.get("type") == "asset_stored" and isinstance(data.get("preview"), str):
            self.previews[key] = data["preview"]

    def _model(self, data: dict[str, Any], event: dict[str, Any], act: int) -> dict[str, Any]:
        call = self.calls.get(event.get("seq")) if isinstance(event.get("seq"), int) else None
        call = call or {}
        usage = {
            "input_tokens": data.get("input_tokens"),
            "output_tokens": data.get("output_tokens"),
        }
        return {
            "kind": "model",
            "agent": call.get("agent")
            or AGENT_OF_PURPOSE.get(str(data.get("purpose")))
            or data.get("purpose"),
            "team_role": call.get("team_role") or data.get("team_role") or self.team_role,
            "model": call.get("model") or data.get("model") or self.run_model,
            "messages_added": self._added(call) if call else None,
            "reply": call.get("reply"),
            "usage": call.get("usage") or usage,
            "duration_s": call.get("duration_s", data.get("duration_s")),
        }

    def _added(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages this call sent beyond the latest earlier call it continues.

        A call continues an earlier one when that one's messages are a prefix of
        its own (the dynamic agent's next turn, a plan repair, a fill retry); the
        earlier reply, echoed back as the first message after the prefix, is left
        out: it is that call's ``reply``.
        """
        ids = [i for i in call.get("parts") or [] if isinstance(i, int)]
        added = ids
        reply = None
        for before in reversed(self.earlier):
            prior = before["parts"]
            if len(prior) < len(ids) and ids[: len(prior)] == prior:
                added, reply = ids[len(prior) :], before.get("reply")
                break
        self.earlier.append({"parts": ids, "reply": call.get("reply")})
        messages = [self.parts.get(i, {"role": None, "content": None}) for i in added]
        if messages and reply is not None and messages[0] == reply:
            messages = messages[1:]
        return messages

    def _step(self, data: dict[str, Any], event: dict[str, Any], act: int) -> Any:
        if data.get("resumed"):
            return None  # a step reused on resume: its run is already in the trace
        step = str(data.get("step"))
        started = self.started.get((act, step))
        status = STEP_ENDS[str(event.get("type"))]
        duration = data.get("duration_s")
        if duration is None and started is not None:
            times = (started.get("time"), event.get("time"))
            if all(isinstance(t, int | float) for t in times):
                duration = round(float(times[1]) - float(times[0]), 6)  # type: ignore[arg-type]
        return {
            "kind": "step",
            "act": act,
            "step": data.get("step"),
            "tool": data.get("tool"),
            "args": _data(started).get("args") if started is not None else None,
            "status": status,
            "preview": self.previews.get((act, step)) if status == "succeeded" else None,
            "error": data.get("error") if status == "failed" else data.get("reason"),
            "duration_s": duration,
        }
