"""The JSONL trace of a run: one event a line, readable after a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from ..errors import RunError
from .shapes import EVENT, checked


def missing_file(run_id: str, path: Path) -> RunError:
    """The error for a file of a run that is not there: when the run's folder is gone too
    (deleted while it was being read) an :class:`~.sqlite_store.UnknownRunError` saying
    so, else a :class:`RunError` calling the run corrupt."""
    folder = path.parent
    if not folder.is_dir():
        from .sqlite_store import UnknownRunError

        return UnknownRunError(
            f"unknown run {run_id!r}: its folder {folder} is gone (deleted while it was read)"
        )
    return RunError(f"run {run_id!r} is corrupt: {path} is missing")


def open_for_append(path: Path) -> TextIO:
    """Open the trace for appending, first cutting off a partial last line.

    A writer killed mid-line leaves one; appending after it would glue two
    events into one garbled line.
    """
    try:
        with open(path, "rb+") as raw:
            data = raw.read()
            if data and not data.endswith(b"\n"):
                raw.truncate(data.rfind(b"\n") + 1)
    except FileNotFoundError:
        pass
    return open(path, "a", encoding="utf-8")


def read_events(path: Path, run_id: str) -> list[dict[str, Any]]:
    """Every readable event in the trace at ``path``, in order (see :func:`read_trace`)."""
    return read_trace(path, run_id)[0]


def read_trace(path: Path, run_id: str) -> tuple[list[dict[str, Any]], int]:
    """``(events, unreadable)``: every readable event at ``path`` in order, and how
    many lines were skipped.

    A partial last line (the writer was killed mid-write) is ignored and not
    counted. Any other line that is not a JSON object of an event's shape (cut or
    garbled on disk, nested too deeply, an integer of too many digits, wrong
    field types) is skipped and counted: one damaged line must not make the run's
    intact state unreadable. A missing or unreadable file raises :class:`RunError`.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise missing_file(run_id, path) from None
    except OSError as exc:
        raise RunError(f"run {run_id!r}: cannot read {path}: {exc}") from None
    lines = text.split("\n")
    lines.pop()  # "" when the file ends with a newline, else a partial last line
    events = []
    unreadable = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
            events.append(checked(event, EVENT, f"run {run_id!r}: {path} line {number}"))
        except (ValueError, RecursionError, RunError):
            unreadable += 1
    return events, unreadable
