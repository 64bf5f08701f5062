"""A run's journal lines on their way to disk: written at once, or by the end of the loop's turn.

A run writes about thirty lines to its journals; with a thousand runs at once
every ``write`` was also a reopen of its file (the process keeps only a few
descriptors, :data:`.journal.HANDLES`), so the count of writes was what a run's
persistence cost. :class:`RunWriter` sends each line one of two ways:

- **durable** (a checkpoint: the run record, a decision, a plan, a finished
  step, a status): written before :meth:`RunWriter.write` returns, in one
  ``write`` with the lines of the same file still waiting (so the journal keeps
  its order), and a step reported finished is on disk;
- **soon** (a trace event, a model call's record): kept until the end of the
  event loop's current turn (one ``call_soon``) and written then, all of one file
  in one ``write``, or at once when there is no running loop in this thread or
  more than :data:`PENDING_MAX` bytes wait. A viewer of a live run sees an event
  as soon as the run's task waits for anything (a tool, a model), and a
  ``kill -9`` can lose only the lines of the turn it interrupts — never a
  checkpoint. The trace is not written at a checkpoint: it may lag the journal
  by that one turn (``resume`` numbers its events after both).

Thread-safe through the lock it is given (its store's).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from threading import get_ident
from typing import Any

from ..errors import RunError
from .journal import HANDLES, cut_partial_line

PENDING_MAX = 4 * 1024
"""The most bytes of a run's lines kept waiting for the end of the loop's turn."""


# The event loop a line was last sent from: while its ``_thread_id`` (asyncio's own,
# set for as long as it runs) is the calling thread's, it is this thread's running loop.
_LAST_LOOP: list[Any] = [None]
if hasattr(os, "register_at_fork"):
    # A child forked inside a running loop has no running loop (asyncio says so by pid).
    os.register_at_fork(after_in_child=lambda: _LAST_LOOP.__setitem__(0, None))


def _running_loop() -> Any:
    """This thread's running event loop, or None (asyncio is not imported just to ask)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    return asyncio.events._get_running_loop()


class RunWriter:
    """The waiting lines of one run's journals, by path; see the module's docstring.

    ``failed(path, exc)`` turns an :class:`OSError` of writing ``path`` into the
    :class:`RunError` to raise. Lines that could not be written are kept, in
    order, ahead of the file's next lines (a partial line the failed write left is
    cut first): a checkpoint goes out in one ``write`` with them or not at all, so
    a step's record is never on disk without the asset records before it, and a
    file that can be written again loses nothing. A failure of a write made at the
    end of a turn (nobody is there to be told) is raised by the next ``soon``
    :meth:`write`, by :meth:`flush`, or by :meth:`check` — which the store calls
    after a checkpoint is written and applied: an earlier trace line's failure
    must not keep a checkpoint (a finished step, the run's end) off disk. A
    failure whose lines a later write of the file got out is not raised.
    """

    __slots__ = ("_clean", "_failed", "_failures", "_lock", "_pending", "_scheduled", "_size")

    def __init__(self, lock: Any, failed: Callable[[str, OSError], RunError]) -> None:
        self._lock = lock
        self._failed = failed
        self._pending: dict[str, list[bytes]] = {}  # path -> its waiting lines, in order
        self._size = 0
        self._scheduled: Any = None  # the loop whose turn's end will write what waits
        self._failures: dict[str, RunError] = {}  # path -> its failed write, not told yet
        self._clean: set[str] = set()  # files whose partial last line is already cut

    def mark_clean(self, *paths: str) -> None:
        """``paths`` were just written whole: no partial last line to cut before appending."""
        self._clean.update(paths)

    def write(self, path: str, data: bytes, *, durable: bool) -> None:
        """Send ``data`` (whole lines) to ``path``: on disk when this returns if ``durable``,
        else by the end of the loop's turn. Raises :class:`RunError` when a write fails."""
        with self._lock:
            if not durable:
                self._raise_failure()
            pending = self._pending.get(path)
            if pending is None:
                pending = self._pending[path] = []
            pending.append(data)
            self._size += len(data)
            if durable:
                self._flush(path)
                failure = self._failures.pop(path, None)
                if failure is not None:
                    raise failure  # not on disk: kept, with the lines before it
                return
            if self._size > PENDING_MAX:
                self._flush(None)
                self._raise_failure()
                return
            loop = _LAST_LOOP[0]
            if loop is None or getattr(loop, "_thread_id", None) != get_ident():
                # Not the loop running in this thread: ask asyncio (its C lookup makes a
                # getpid system call, so the answer is remembered for the next lines).
                loop = _running_loop()
                if loop is None:
                    self._flush(None)
                    self._raise_failure()
                    return
                _LAST_LOOP[0] = loop
            if self._scheduled is not loop:
                # Per loop: one closed before its turn ended leaves no line waiting here.
                self._scheduled = loop
                loop.call_soon(self._end_of_turn)

    def flush(self) -> None:
        """Write every waiting line now (before reading the files, or closing)."""
        with self._lock:
            self._flush(None)
            self._raise_failure()

    def check(self) -> None:
        """Raise the failure of a write made at the end of a turn, if one is not told yet."""
        with self._lock:
            self._raise_failure()

    def _end_of_turn(self) -> None:
        with self._lock:
            self._scheduled = None
            self._flush(None)  # a failure is told by the next write, flush or check

    def _raise_failure(self) -> None:
        failures = self._failures
        if failures:
            path = next(iter(failures))
            raise failures.pop(path)

    def _flush(self, only: str | None) -> None:
        """Write what waits, each file in one ``write``: only ``only``'s, or (None) all.

        A file's failure is kept in ``_failures`` (its lines in ``_pending``), not raised."""
        pending = self._pending
        if not pending:
            return
        if only is None:
            self._pending = {}
            self._size = 0
            order = list(pending.items())
        else:
            chunks = pending.pop(only, None)
            if chunks is None:
                return
            self._size -= sum(len(chunk) for chunk in chunks)
            order = [(only, chunks)]
        for path, chunks in order:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            try:
                if path not in self._clean:
                    # Appending after a partial line (a writer killed mid-line, a failed
                    # write of ours) would glue two records.
                    cut_partial_line(path)
                    self._clean.add(path)
                HANDLES.append(path, data)
            except OSError as exc:
                # Kept, whole lines only (a part written is cut before the next try), ahead
                # of the file's later lines; the other files are still written.
                written = getattr(exc, "written", 0)
                kept = data[data.rfind(b"\n", 0, written) + 1 :]
                if written:
                    self._clean.discard(path)
                self._pending[path] = [kept]  # nothing was added since: the lock is held
                self._size += len(kept)
                self._failures[path] = self._failed(path, exc)
            else:
                self._failures.pop(path, None)  # its kept lines are out now
