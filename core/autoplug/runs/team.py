"""What a run's folder records about its team: a child's parent, a manager's children.

Two small tables next to the run's own (created on first write, so runs made
before teams existed, and every run that is not part of a team, stay as they
were): ``team`` in a child run (its parent run id, role and assignment name) and
``children`` in a manager (each assignment ``ROLE.K`` with its child run id and
subtask, written as soon as the child exists, so a resumed manager finds it).
"""

from __future__ import annotations

from typing import Any

TEAM_TABLE = (
    "CREATE TABLE IF NOT EXISTS team (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " parent TEXT NOT NULL, role TEXT NOT NULL, assignment TEXT NOT NULL)"
)
CHILDREN_TABLE = (
    "CREATE TABLE IF NOT EXISTS children (assignment TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " run_id TEXT NOT NULL, subtask TEXT NOT NULL, seq INTEGER NOT NULL)"
)


def _has(store: Any, table: str) -> bool:
    rows = store._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return bool(rows)


def set_parent(store: Any, parent: str, role: str, assignment: str) -> None:
    """Record that the run in ``store`` is assignment ``assignment`` of manager run ``parent``."""
    store._write(TEAM_TABLE)
    store._write(
        "INSERT OR REPLACE INTO team (id, parent, role, assignment) VALUES (1, ?, ?, ?)",
        (parent, role, assignment),
    )


def parent_of(store: Any) -> dict[str, Any]:
    """``{"parent", "team_role", "assignment"}`` of a child run; all None for any other run."""
    if _has(store, "team"):
        rows = store._query("SELECT parent, role, assignment FROM team WHERE id = 1")
        if rows:
            parent, role, assignment = rows[0]
            return {"parent": parent, "team_role": role, "assignment": assignment}
    return {"parent": None, "team_role": None, "assignment": None}


def save_child(
    store: Any, assignment: str, role: str, run_id: str, subtask: str, order: int
) -> None:
    """Record (or replace) the child run that carries out ``assignment`` of the manager ``store``.

    ``order`` counts the run's assignments from 1 in the order the manager made
    them, so the children are listed in that order whichever began first.
    """
    store._write(CHILDREN_TABLE)
    store._write(
        "INSERT OR REPLACE INTO children (assignment, role, run_id, subtask, seq)"
        " VALUES (?, ?, ?, ?, ?)",
        (assignment, role, run_id, subtask, order),
    )


def children_of(store: Any) -> list[dict[str, Any]]:
    """A manager's children in the order they were assigned: ``{"assignment", "role", "run_id", "subtask"}``."""
    if not _has(store, "children"):
        return []
    rows = store._query("SELECT assignment, role, run_id, subtask FROM children ORDER BY seq")
    return [
        {"assignment": a, "role": r, "run_id": run_id, "subtask": s} for a, r, run_id, s in rows
    ]


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
