"""A run's folder: its state checkpointed in SQLite, its assets and its JSONL trace.

Every run lives in ``$AUTOPLUG_HOME/runs/<run_id>/``::

    state.sqlite   the run row, decisions, plans, finished steps, conversation (WAL),
                   and every model call with its prompt parts (stored once each)
    trace.jsonl    every event, one JSON object a line
    assets/        the assets (written by :class:`autoplug.assets.AssetStore`)

Writes are committed as they happen (after every model decision and every
finished step), so a killed process loses at most the step that was in flight.
A killed process cannot write its own status, so the run row records its owner
(pid, host and the process's start time); :meth:`RunStore.info` reports a
``running`` run whose owner is gone as ``interrupted``.
"""

from .history import corrupt_entry, list_runs, prune_runs
from .ids import RUN_ID_RE, new_run_id, parse_iso, utc_iso
from .owners import owner_alive, process_start_time
from .store import (
    STATUSES,
    NotResumableError,
    RunStore,
    SqliteCheckpointer,
    UnknownRunError,
    runs_dir,
)
from .trace import read_events, read_trace
from .transcript import transcript

__all__ = [
    "NotResumableError",
    "RUN_ID_RE",
    "STATUSES",
    "RunStore",
    "SqliteCheckpointer",
    "UnknownRunError",
    "corrupt_entry",
    "list_runs",
    "new_run_id",
    "owner_alive",
    "parse_iso",
    "process_start_time",
    "prune_runs",
    "read_events",
    "read_trace",
    "runs_dir",
    "transcript",
    "utc_iso",
]
