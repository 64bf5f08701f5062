"""The JSONL trace of a run: one event a line, readable after a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from ..errors import RunError
from .shapes import EVENT, checked


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
    """Every event in the trace at ``path``, in order.

    A partial last line (the writer was killed mid-write) is ignored; any
    other line that is not a JSON object raises :class:`RunError` naming the
    file and line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"run {run_id!r} is corrupt: {path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"run {run_id!r}: cannot read {path}: {exc}") from None
    lines = text.split("\n")
    lines.pop()  # "" when the file ends with a newline, else a partial last line
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except RecursionError:
            raise RunError(f"run {run_id!r}: {path} line {number} is nested too deeply") from None
        except ValueError as exc:
            detail = " ".join(str(exc).split())[:200]
            raise RunError(f"run {run_id!r}: {path} line {number} is not JSON: {detail}") from None
        if not isinstance(event, dict):
            raise RunError(f"run {run_id!r}: {path} line {number} is not a JSON object")
        events.append(checked(event, EVENT, f"run {run_id!r}: {path} line {number}"))
    return events
