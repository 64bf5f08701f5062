"""The runs page's data: one page of runs, newest first, filtered by status and task.

Run ids sort by time, so the folder names alone give the order: a page opens
only the runs it shows (and, with a filter, the ones it passes over), never all
of them. Each run's row is read through :meth:`RunStore.open` read-only and
cached until its folder (or its WAL, while it has one) changes, so a later page
or filter reads only what changed; the folder names are cached until the runs
folder changes. A ``running`` row is never cached: its owner may die without
touching the files, and its duration grows. :meth:`RunIndex.warm` fills the cache
in the background, so a search over every run reads them only once.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RunError
from ..runs import STATUSES, RunStore, corrupt_entry, parse_iso, runs_dir

#: The statuses the runs page can filter on (``corrupt``: a folder that cannot be read).
FILTER_STATUSES = (*STATUSES, "corrupt")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

#: The keys of one row of ``/runs.json``.
ROW_KEYS = (
    "run_id",
    "status",
    "task",
    "model",
    "auto",
    "started",
    "finished",
    "duration_s",
    "tokens",
    "usd",
    "reason",
    "error",
)


@dataclass(frozen=True)
class RunsPage:
    """One page of the runs listing.

    ``next`` is the ``before`` cursor of the following page (None on the last);
    ``count`` is how many run folders the home holds, whatever the filter.
    """

    runs: tuple[dict[str, Any], ...]
    next: str | None
    count: int
    status: str | None
    q: str
    before: str | None
    limit: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``/runs.json``."""
        return {
            "runs": list(self.runs),
            "next": self.next,
            "count": self.count,
            "status": self.status,
            "q": self.q,
            "before": self.before,
            "limit": self.limit,
        }


def duration_s(started: str | None, finished: str | None, now: float | None = None) -> float | None:
    """Seconds from ``started`` to ``finished`` (or to ``now`` while unfinished); None if unknown."""
    if not started:
        return None
    try:
        begin = parse_iso(started)
        end = parse_iso(finished) if finished else (time.time() if now is None else now)
    except ValueError:
        return None
    return max(0.0, round(end - begin, 3))


def summarize(info: dict[str, Any]) -> dict[str, Any]:
    """A listing row from :meth:`RunStore.info` (or a corrupt entry)."""
    usage = info.get("usage") if isinstance(info.get("usage"), dict) else {}
    tokens = usage.get("total_tokens")
    if tokens is None and ("input_tokens" in usage or "output_tokens" in usage):
        tokens = (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0)
    row = {key: info.get(key) for key in ROW_KEYS}
    row["duration_s"] = duration_s(info.get("started"), info.get("finished"))
    row["tokens"] = tokens
    row["usd"] = usage.get("usd")
    return row


def _mtime(path: str | Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _wal_signature(folder: str) -> tuple[int, int] | None:
    """Size and mtime of the run's journal (or, for an old folder, its WAL file); None if none."""
    for name in ("state.jsonl", "state.sqlite-wal"):
        try:
            st = os.stat(f"{folder}/{name}")
        except OSError:
            continue
        return st.st_size, st.st_mtime_ns
    return None


@dataclass(frozen=True)
class _Cached:
    """A cached row and what must be unchanged for it to hold.

    A writer opening a run creates its ``-wal`` file, which changes the folder's
    mtime; while the WAL exists, writes change the WAL. So a finished run with no
    WAL costs one ``stat`` of its folder to check.
    """

    folder_mtime: int | None
    wal: tuple[int, int] | None
    row: dict[str, Any]


class RunIndex:
    """The runs of one home, read page by page; safe to share between threads."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._cache: dict[str, _Cached] = {}
        self._ids: tuple[int | None, list[str]] = (None, [])
        self._parent = str(runs_dir(self.home))
        self._lock = threading.Lock()

    def run_ids(self) -> list[str]:
        """Every run folder's name, newest first (hidden staging folders left out).

        Cached until the runs folder's mtime changes (a run added, renamed or deleted).
        """
        parent = runs_dir(self.home)
        mtime = _mtime(parent)
        with self._lock:
            if mtime is not None and self._ids[0] == mtime:
                return self._ids[1]
        try:
            with os.scandir(parent) as entries:
                names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
        except FileNotFoundError:
            return []
        names.sort(reverse=True)
        with self._lock:
            self._ids = (mtime, names)
        return names

    def row(self, run_id: str) -> dict[str, Any]:
        """One run's listing row (status ``corrupt`` with the error when it cannot be read)."""
        # Plain strings, not Path objects: a warm filter checks every run with one stat.
        folder = f"{self._parent}/{run_id}"
        mtime = _mtime(folder)
        with self._lock:
            cached = self._cache.get(run_id)
        if (
            cached is not None
            and cached.folder_mtime == mtime
            and (cached.wal is None or cached.wal == _wal_signature(folder))
        ):
            return cached.row
        wal = _wal_signature(folder)  # taken before reading: a change after it is seen next time
        try:
            with RunStore.open(self.home, run_id, read_only=True) as store:
                info = store.info()
            info["error"] = None
        except RunError as exc:
            info = corrupt_entry(run_id, str(exc))
        except Exception as exc:  # one damaged folder must never break the page
            info = corrupt_entry(run_id, f"run {run_id!r}: {exc!r}")
        row = summarize(info)
        # A running row changes without notice (its owner may die); a corrupt one may be
        # repaired in place: neither is kept.
        if row["status"] not in ("running", "corrupt"):
            with self._lock:
                self._cache[run_id] = _Cached(mtime, wal, row)
        return row

    def warm(self, pause_every: int = 50, pause_s: float = 0.005) -> int:
        """Read every run's row into the cache, newest first, pausing now and then.

        The server runs this in the background after it starts, so the first
        filter or search over every run does not read them all; the pauses leave
        the pages' requests room. Returns how many rows were read.
        """
        ids = self.run_ids()
        for number, run_id in enumerate(ids, 1):
            self.row(run_id)
            if number % pause_every == 0:
                time.sleep(pause_s)
        return len(ids)

    def page(
        self,
        *,
        status: str | None = None,
        q: str = "",
        before: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> RunsPage:
        """The runs older than ``before`` (newest first) that match ``status`` and ``q``.

        ``q`` matches the task, case-insensitively, anywhere in it. Raises
        ValueError naming the parameter for an unknown status or a limit out of
        range.
        """
        if status is not None and status not in FILTER_STATUSES:
            raise ValueError(f"unknown status {status!r}; known: {', '.join(FILTER_STATUSES)}")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        ids = self.run_ids()
        self._forget_deleted(ids)
        needle = q.strip().casefold()
        start = 0
        if before:
            # Ids sort newest first: skip to the first one older than the cursor.
            start = next((i for i, rid in enumerate(ids) if rid < before), len(ids))
        found: list[dict[str, Any]] = []
        next_cursor = None
        for run_id in ids[start:]:
            row = self.row(run_id)
            if status is not None and row["status"] != status:
                continue
            if needle and needle not in (row["task"] or "").casefold():
                continue
            if len(found) == limit:
                next_cursor = found[-1]["run_id"]
                break
            found.append(row)
        return RunsPage(
            runs=tuple(found),
            next=next_cursor,
            count=len(ids),
            status=status,
            q=q,
            before=before,
            limit=limit,
        )

    def _forget_deleted(self, ids: list[str]) -> None:
        with self._lock:
            if len(self._cache) > len(ids):
                keep = set(ids)
                for run_id in [r for r in self._cache if r not in keep]:
                    del self._cache[run_id]
