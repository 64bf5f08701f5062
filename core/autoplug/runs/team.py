"""What a run's folder records about its team: a child's parent, a manager's children.

Two kinds of record in the run's state (none in a run that is not part of a
team, so runs made before teams existed stay as they were): ``team`` in a child
run (its parent run id, role and assignment name) and ``child`` in a manager (each
assignment ``ROLE.K`` with its child run id and subtask, written as soon as the
child exists, so a resumed manager finds it). Every run store keeps them
(``save_team``/``team``, ``save_child``/``children``): the journal, the
in-memory store of a run with no folder, and an old SQLite folder.
"""

from __future__ import annotations

from typing import Any


def set_parent(store: Any, parent: str, role: str, assignment: str) -> None:
    """Record that the run in ``store`` is assignment ``assignment`` of manager run ``parent``."""
    store.save_team({"parent": parent, "role": role, "assignment": assignment})


def parent_of(store: Any) -> dict[str, Any]:
    """``{"parent", "team_role", "assignment"}`` of a child run; all None for any other run."""
    team = store.team() or {}
    return {
        "parent": team.get("parent"),
        "team_role": team.get("role"),
        "assignment": team.get("assignment"),
    }


def save_child(
    store: Any, assignment: str, role: str, run_id: str, subtask: str, order: int
) -> None:
    """Record (or replace) the child run that carries out ``assignment`` of the manager ``store``.

    ``order`` counts the run's assignments from 1 in the order the manager made
    them, so the children are listed in that order whichever began first.
    """
    store.save_child(
        {"assignment": assignment, "role": role, "run_id": run_id, "subtask": subtask, "seq": order}
    )


def children_of(store: Any) -> list[dict[str, Any]]:
    """A manager's children in the order they were assigned: ``{"assignment", "role", "run_id", "subtask"}``."""
    found = sorted(store.children(), key=lambda c: c["seq"])
    return [{k: c[k] for k in ("assignment", "role", "run_id", "subtask")} for c in found]


def team_children(home: Any, store: Any) -> list[dict[str, Any]]:
    """A manager's children as ``runs show`` lists them: assignment, team_role, run_id, status.

    A child whose folder is gone or unreadable is listed with status ``missing``.
    """
    from ..errors import RunError
    from .store import RunStore

    shown = []
    for child in children_of(store):
        try:
            with RunStore.open(home, child["run_id"], read_only=True) as opened:
                status = opened.info()["status"]
        except RunError:
            status = "missing"
        shown.append(
            {
                "assignment": child["assignment"],
                "team_role": child["role"],
                "run_id": child["run_id"],
                "status": status,
            }
        )
    return shown
