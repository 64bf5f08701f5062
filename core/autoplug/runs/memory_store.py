"""The state of a run with no folder (``kernel.run(..., persist=False)``).

It has a run id and the methods of :class:`autoplug.runs.RunStore`, but writes
nothing anywhere: events still go to the hooks and ``on_event``, the plan and the
finished steps are kept in memory for the run's own life, and nothing is left to
list or resume. For embedding autoplug in a service that keeps its own records.
"""

from __future__ import annotations

from typing import Any

from ..events import Event
from .ids import new_run_id
from .status import merged, run_info, started_of, status_fields, this_owner


class MemoryCheckpointer:
    """A :class:`autoplug.agents.context.Checkpointer` that keeps plans and steps in memory."""

    def __init__(self) -> None:
        self._plans: dict[int, dict[str, Any]] = {}
        self._steps: dict[tuple[int, str], dict[str, Any]] = {}

    def saved_plan(self, act_no: int) -> dict[str, Any] | None:
        """The accepted plan of act ``act_no``, if saved in this run."""
        return self._plans.get(act_no)

    def save_plan(self, act_no: int, plan: dict[str, Any]) -> None:
        """Keep the accepted plan of act ``act_no``."""
        self._plans[act_no] = plan

    def finished_step(self, act_no: int, step_id: str) -> dict[str, Any] | None:
        """The record of a step finished in this run, if any."""
        return self._steps.get((act_no, step_id))

    def save_step(self, act_no: int, step_id: str, record: dict[str, Any]) -> None:
        """Keep a finished step's record."""
        self._steps[(act_no, step_id)] = record


class _NoExchanges:
    """Model calls are not kept: there is no transcript to show for a run with no folder."""

    def save(self, seq: int, **call: Any) -> None:
        """Forget the call."""

    def calls(self) -> dict[int, dict[str, Any]]:
        """None are kept."""
        return {}

    def messages(self) -> dict[int, dict[str, Any]]:
        """None are kept."""
        return {}


_NO_EXCHANGES = _NoExchanges()  # it keeps nothing: one for every run


class MemoryRunStore:
    """A run's state kept in memory only: ``folder`` and ``assets_dir`` are None.

    What most runs never fill (a conversation, a manager's children) is made on
    first use: every container a live run holds is traversed by each collection
    of the garbage collector while it lives.
    """

    folder = None
    assets_dir = None
    asset_log = None  # its assets are kept in memory
    state_path = None
    trace_path = None
    read_only = False

    def __init__(self, *, task: str, model: str, auto: str, workspace: str) -> None:
        self.run_id = new_run_id()
        self._row: dict[str, Any] = {
            "run_id": self.run_id,
            "status": "running",
            "task": task,
            "model": model,
            "auto": auto,
            "workspace": workspace,
        }
        self._decisions: list[dict[str, Any]] = []
        self._conversation: list[dict[str, Any]] | tuple[()] = ()
        self._team: dict[str, Any] | None = None
        self._children: dict[str, dict[str, Any]] | None = None
        self.checkpoint = MemoryCheckpointer()
        self.exchanges = _NO_EXCHANGES

    def claim(self) -> None:
        """Nothing to claim: no other process can see this run."""

    def close(self) -> None:
        """Nothing to close."""

    def append_event(self, event: Event) -> None:
        """Events are not kept (the hooks and ``on_event`` still get them)."""

    def events(self) -> list[dict[str, Any]]:
        """None are kept."""
        return []

    def save_decision(self, record: dict[str, Any]) -> None:
        """Keep one dynamic-agent turn."""
        self._decisions.append(record)

    def decisions(self) -> list[dict[str, Any]]:
        """The turns of this run so far."""
        return list(self._decisions)

    def save_conversation(self, messages: list[dict[str, Any]]) -> None:
        """Keep the conversation."""
        self._conversation = list(messages)

    def conversation(self) -> list[dict[str, Any]]:
        """The conversation so far."""
        return list(self._conversation)

    def plans(self) -> dict[int, dict[str, Any]]:
        """The plans of this run so far."""
        return dict(self.checkpoint._plans)

    def steps(self) -> list[tuple[int, str, dict[str, Any]]]:
        """The finished steps of this run so far."""
        return [(a, s, r) for (a, s), r in self.checkpoint._steps.items()]

    def set_status(
        self,
        status: str,
        *,
        reason: str | None = None,
        answer: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Note the status (nothing is written), as :meth:`RunStore.set_status` records it."""
        fields = status_fields(status, reason=reason, answer=answer, usage=usage)
        self._row = merged(self._row, fields)

    def save_team(self, record: dict[str, Any]) -> None:
        """Keep this run's place in a team."""
        self._team = dict(record)

    def team(self) -> dict[str, Any] | None:
        """This run's place in a team; None for a run of no team."""
        return self._team

    def save_child(self, record: dict[str, Any]) -> None:
        """Keep a child run of this manager."""
        if self._children is None:
            self._children = {}
        self._children[record["assignment"]] = dict(record)

    def children(self) -> list[dict[str, Any]]:
        """This manager's child records."""
        return list(self._children.values()) if self._children is not None else []

    def owner_alive(self) -> bool:
        """This process runs it."""
        return True

    def info(self) -> dict[str, Any]:
        """The run record, with the keys and meaning of :meth:`RunStore.info`.

        ``started`` is the time in the run id (made when the run was); the owner
        is this process.
        """
        return run_info({"started": started_of(self.run_id), **this_owner(), **self._row}, self)
