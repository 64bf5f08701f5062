"""A run's status record and its ``info()``: one implementation for every run store.

The journal (:class:`~autoplug.runs.RunStore`), an old SQLite folder
(:class:`~autoplug.runs.SqliteRunStore`) and a run with no folder
(:class:`~autoplug.runs.MemoryRunStore`) keep the run record in their own way;
what a status change sets (:func:`status_fields`) and what ``info()`` reports
(:func:`run_info`) are decided here, so the three cannot drift apart. Each store
only stores the fields and loads them back.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from .ids import utc_iso
from .owners import process_start_time
from .team import parent_of

#: Every status a run can have; ``interrupted`` is also derived for a dead owner.
STATUSES = ("running", "succeeded", "failed", "stopped", "interrupted")

#: The run record's fields that ``info()`` reports as they are, in its order.
INFO_FIELDS = (
    "run_id",
    "status",
    "task",
    "model",
    "auto",
    "workspace",
    "started",
    "finished",
    "reason",
    "answer",
    "usage",
)


def status_fields(
    status: str,
    *,
    reason: str | None = None,
    answer: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run record's fields that setting ``status`` changes (``updated`` included).

    ``running`` makes this process the owner (pid, host, the process's start time,
    so a recycled pid is not taken for it) and clears the end; any other status
    records the end: ``finished`` (now, UTC ISO), ``reason``, ``answer`` and
    ``usage``, where a ``usage`` of None keeps the one recorded (the journal's
    replay, :func:`merged` and SQLite's ``COALESCE`` each apply that rule).
    Raises ValueError naming an unknown status.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown run status {status!r}; known: {', '.join(STATUSES)}")
    now = time.time()
    fields: dict[str, Any] = {"status": status, "updated": now}
    if status == "running":
        owner = this_owner()
        fields.update(
            finished=None,
            reason=None,
            answer=None,
            owner_start=process_start_time(owner["owner_pid"]),
            **owner,
        )
    else:
        fields.update(finished=utc_iso(now), reason=reason, answer=answer, usage=usage)
    return fields


def merged(row: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the fields of a status change applied (a None ``usage`` keeps the old)."""
    if fields.get("usage") is None:
        fields = {k: v for k, v in fields.items() if k != "usage"}
    return {**row, **fields}


def started_of(run_id: str) -> str:
    """The UTC ISO time held in a run id (:func:`.ids.new_run_id`): when the run was made."""
    day, clock = run_id.split("-")[:2]
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}T{clock[:2]}:{clock[2:4]}:{clock[4:6]}Z"


def this_owner() -> dict[str, Any]:
    """The owner fields of a run that this process runs and no other can see."""
    return {"owner_pid": os.getpid(), "owner_host": socket.gethostname()}


def run_info(
    row: dict[str, Any], store: Any, *, alive: Callable[[], bool] | None = None
) -> dict[str, Any]:
    """What ``store.info()`` returns for the run record ``row`` (already checked).

    The :data:`INFO_FIELDS` (a missing one is None); ``running`` reads
    ``interrupted`` when ``alive()`` (default ``store.owner_alive``) says the
    owner is gone (asked only then: it may read ``/proc``); ``parent``,
    ``team_role`` and ``assignment`` from the store's team record
    (:func:`.team.parent_of`); and ``owner``: ``{"pid", "host"}``.
    """
    info = {key: row.get(key) for key in INFO_FIELDS}
    if info["status"] == "running" and not (alive or store.owner_alive)():
        info["status"] = "interrupted"
    info.update(parent_of(store))
    info["owner"] = {"pid": row.get("owner_pid"), "host": row.get("owner_host")}
    return info
