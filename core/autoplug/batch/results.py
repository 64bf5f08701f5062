"""The ``--output`` file of a batch: its only record (DESIGN "Beyond one machine").

Result lines are appended and flushed as tasks finish, so a batch killed at any
moment loses at most the line being written. Reading it back, the last line of
an id wins; the ids whose last line succeeded are skipped by a rerun. A line
that does not parse (one torn by a kill) is ignored: its task simply runs again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import UsageError


@dataclass
class Record:
    """What an existing output file says: the last line of each id, and the lines it could not read."""

    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreadable: list[int] = field(default_factory=list)

    def succeeded(self) -> set[str]:
        """The ids whose last line succeeded (a rerun skips them)."""
        return {i for i, line in self.last.items() if line.get("status") == "succeeded"}

    def interrupted(self) -> dict[str, str]:
        """Id -> run id, of the ids whose last line is an interrupted run (a rerun finishes it)."""
        return {
            i: line["run_id"]
            for i, line in self.last.items()
            if line.get("status") == "interrupted" and isinstance(line.get("run_id"), str)
        }


def read_results(path: str | Path) -> Record:
    """The record of the output file ``path`` (empty when it does not exist yet).

    Raises :class:`UsageError` when the path exists but cannot be read as a file.
    """
    file = Path(path).expanduser()
    record = Record()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return record
    except IsADirectoryError:
        raise UsageError(f"--output {str(file)!r} is a folder") from None
    except OSError as exc:
        raise UsageError(f"cannot read --output {str(file)!r}: {exc.strerror}") from None
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            record.unreadable.append(number)
            continue
        if not isinstance(line, dict) or not isinstance(line.get("id"), str):
            record.unreadable.append(number)
            continue
        record.last[line["id"]] = line
    return record


def dumps_line(line: dict[str, Any]) -> str:
    """One result line as compact JSON (a value JSON cannot hold is written as its text)."""
    try:
        return json.dumps(line, ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as exc:
        fallback = {**line, "answer": None, "output": None}
        fallback["status"] = "failed"
        fallback["reason"] = f"the result cannot be written as JSON: {exc}"
        return json.dumps(fallback, ensure_ascii=False, default=str)


class ResultWriter:
    """Appends result lines to a file (or a text stream), flushing each one.

    A file whose last line was torn (no final newline) gets a newline first, so
    the next line is whole.
    """

    def __init__(self, path: str | Path | None = None, stream: IO[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self._own = self.path is not None
        if self.path is not None:
            torn = _ends_torn(self.path)
            try:
                self._out: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise UsageError(
                    f"cannot write --output {str(self.path)!r}: {exc.strerror}"
                ) from None
            if torn:
                self._out.write("\n")
        elif stream is not None:
            self._out = stream
        else:
            raise ValueError("ResultWriter needs a path or a stream")
        self.written = 0

    def write(self, line: dict[str, Any]) -> None:
        """Append ``line`` and flush it to the operating system."""
        self._out.write(dumps_line(line) + "\n")
        self._out.flush()
        self.written += 1

    def close(self) -> None:
        """Close the file (a stream given is left open)."""
        if self._own:
            self._out.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_torn(path: Path) -> bool:
    """True when ``path`` exists, is not empty and does not end with a newline."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False
    except OSError:
        return False
