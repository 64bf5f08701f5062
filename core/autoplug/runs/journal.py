"""Append-only JSON-lines files, opened only for the moment of each write.

A run's state (``state.jsonl``), its trace and its asset manifest are journals:
each change is one line appended with a single ``write`` to a descriptor opened
``O_APPEND`` and closed at once. When ``write`` returns, the line is in the
operating system's hands, so a ``kill -9`` of the process a moment later cannot
lose it (see docs/runs.md on why this, and not ``fsync``, is the guarantee).
Holding no descriptor between writes keeps the open files of a process flat
however many runs are live.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def dumps(value: Any) -> str:
    """One record as compact JSON (never a newline inside: ``json`` escapes them)."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def append(path: Path | str, data: bytes) -> None:
    """Append ``data`` (whole lines) to ``path``, creating it; one open, write, close."""
    fd = os.open(path, _FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def cut_partial_line(path: Path | str) -> None:
    """Cut off a partial last line (a writer killed mid-line), so appends start clean."""
    try:
        with open(path, "rb+") as raw:
            size = raw.seek(0, os.SEEK_END)
            if size == 0:
                return
            raw.seek(size - 1)
            if raw.read(1) == b"\n":
                return
            raw.seek(0)
            data = raw.read()
            raw.truncate(data.rfind(b"\n") + 1)
    except FileNotFoundError:
        pass


def os_problem(exc: OSError) -> str:
    """What went wrong, in words; running out of descriptors is said as that."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        try:
            import resource

            limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            where = f"this process may open {limit} (ulimit -n)"
        except (ImportError, OSError, ValueError):
            where = "the limit is reached"
        scope = "the system" if exc.errno == errno.ENFILE else "the process"
        return f"too many open files in {scope}; {where}"
    return exc.strerror or str(exc)


def lines(path: Path) -> list[str]:
    """The complete lines of ``path`` (a partial last line is left out)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = text.split("\n")
    found.pop()  # "" when the file ends with a newline, else a partial last line
    return found
