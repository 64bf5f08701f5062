"""A run's transcript for the run page, and a manager's children.

DESIGN *Seeing a run* gives the transcript's entries: ``{"kind": "model",
"agent", "team_role", "model", "messages_added", "reply", "usage",
"duration_s"}``, ``{"kind": "step", "act", "step", "tool", "args", "status",
"preview", "error", "duration_s"}`` and ``{"kind": "child", "run_id",
"team_role", "status"}``. :func:`transcript_entries` is the one place the page
gets them from: the reader behind ``runs show --transcript``
(:func:`autoplug.runs.transcript`), so the page and the command show the same.
"""

from __future__ import annotations

from typing import Any

from ..runs import RunStore


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
