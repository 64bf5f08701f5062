"""A run's folder: its state journal, its assets and its JSONL trace.

Every run lives in ``$AUTOPLUG_HOME/runs/<run_id>/``::

    state.jsonl    the run record, decisions, plans, finished steps, conversation,
                   and every model call with its prompt parts (stored once each),
                   one JSON record a line, appended
    trace.jsonl    every event, one JSON object a line
    owner.lock     who runs the run (see :mod:`.claims`)
    assets/        the assets (written by :class:`autoplug.assets.AssetStore`)

Each write is appended as it happens (after every model decision and every
finished step), so a killed process loses at most the step that was in flight.
No file is held open between writes. Folders of the first format
(``state.sqlite``) are still read and resumed (:class:`SqliteRunStore`).
A killed process cannot write its own status, so the run row records its owner
(pid, host and the process's start time); :meth:`RunStore.info` reports a
``running`` run whose owner is gone as ``interrupted``.
"""

from .history import corrupt_entry, list_runs, prune_runs
from .ids import RUN_ID_RE, new_run_id, parse_iso, utc_iso
from .memory_store import MemoryRunStore
from .owners import owner_alive, process_start_time
from .sqlite_store import SqliteCheckpointer, SqliteRunStore
from .store import (
    STATUSES,
    JournalCheckpointer,
    NotResumableError,
    RunStore,
    UnknownRunError,
    runs_dir,
)
from .trace import read_events, read_trace
from .transcript import transcript

__all__ = [
    "JournalCheckpointer",
    "MemoryRunStore",
    "NotResumableError",
    "RUN_ID_RE",
    "STATUSES",
    "RunStore",
    "SqliteCheckpointer",
    "SqliteRunStore",
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
