"""The tasks of a batch: the lines of a TASKS.jsonl file, or items given from Python.

Each line is a JSON object ``{"task": ..., "id"?: ..., "model"?: ..., "auto"?:
..., "output_schema"?: {...}}`` (DESIGN "Beyond one machine"). A line that is
not one — bad JSON, not UTF-8, no task, an unknown key, an unusable schema —
becomes a :class:`BadLine` naming its line number and what is wrong; the other
lines still run. Blank lines are skipped (they keep their number).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

#: The keys a line may have.
KNOWN_KEYS = ("task", "id", "model", "auto", "output_schema")


@dataclass(frozen=True)
class BatchTask:
    """One task of a batch.

    :param line: its line number in the input (1-based; the item's position from Python).
    :param id: its id, a string (the line number when the line gives none).
    :param task: the task text.
    :param model: the line's model id, or None for the batch's.
    :param auto: the line's Auto name, or None for the batch's.
    :param output_schema: the JSON Schema its answer must match, or None.
    """

    line: int
    id: str
    task: str
    model: str | None
    auto: str | None
    output_schema: dict[str, Any] | None


@dataclass(frozen=True)
class BadLine:
    """An input line that is not a task: its number and a one-line reason."""

    line: int
    error: str


def read_tasks(
    path_or_lines: str | Path | Iterable[str | bytes],
) -> tuple[list[BatchTask], list[BadLine]]:
    """The tasks of a TASKS.jsonl file (a path) or of its lines, and the lines that are not tasks.

    Raises :class:`UsageError` only when a path cannot be read at all.
    """
    if isinstance(path_or_lines, (str, Path)):
        path = Path(path_or_lines).expanduser()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"tasks file {str(path)!r} does not exist") from None
        except IsADirectoryError:
            raise UsageError(f"tasks file {str(path)!r} is a folder") from None
        except OSError as exc:
            raise UsageError(f"cannot read tasks file {str(path)!r}: {exc.strerror}") from None
        lines: Iterable[str | bytes] = data.split(b"\n")
    else:
        lines = path_or_lines
    tasks: list[BatchTask] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            bad.append(BadLine(number, f"not UTF-8 (byte {exc.start + 1} of the line)"))
            continue
        text = text.strip().removeprefix("\ufeff") if number == 1 else text.strip()
        if not text:
            continue
        try:
            tasks.append(task_from_line(number, _parse(text)))
        except ValueError as exc:
            bad.append(BadLine(number, str(exc)))
    return tasks, bad


def _parse(text: str) -> Any:
    from .. import safejson

    try:
        return safejson.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None


def task_from_line(line: int, data: Any) -> BatchTask:
    """The :class:`BatchTask` of one parsed line; ValueError with a one-line reason if it is not one."""
    if isinstance(data, str):
        data = {"task": data}  # only from Python: a JSONL line must be an object
    if not isinstance(data, dict):
        raise ValueError(f'must be a JSON object like {{"task": "..."}}, not {_kind(data)}')
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(map(repr, unknown))}; the keys are {', '.join(KNOWN_KEYS)}"
        )
    task = data.get("task")
    if not isinstance(task, str) or not task.strip():
        what = "missing" if "task" not in data else f"not a non-empty string ({_kind(task)})"
        raise ValueError(f"'task' is {what}")
    return BatchTask(
        line=line,
        id=_task_id(data.get("id", line)),
        task=task,
        model=_name(data, "model"),
        auto=_name(data, "auto"),
        output_schema=_schema(data.get("output_schema")),
    )


def _task_id(value: Any) -> str:
    """A line's id as a string: a number is written as its decimal string."""
    if isinstance(value, bool):
        raise ValueError("'id' must be a string or a number, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("'id' must be a finite number")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("'id' is an empty string")
        if len(value) > 1000:
            raise ValueError(f"'id' is {len(value)} characters long; at most 1000")
        return value
    raise ValueError(f"'id' must be a string or a number, not {_kind(value)}")


def _name(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string, not {_kind(value)}")
    return value


def _schema(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"'output_schema' must be a JSON Schema object, not {_kind(value)}")
    from ..output import output_schema_from

    try:
        output_schema_from(value)
    except UsageError as exc:
        raise ValueError(f"'output_schema': {exc}") from None
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def duplicate_ids(tasks: Iterable[BatchTask]) -> list[str]:
    """The ids given to more than one task, in the order they first appear."""
    from collections import Counter

    tasks = list(tasks)
    counts = Counter(t.id for t in tasks)
    return list(dict.fromkeys(t.id for t in tasks if counts[t.id] > 1))


def where_duplicated(tasks: Iterable[BatchTask], task_id: str) -> list[int]:
    """The line numbers of the tasks with id ``task_id``."""
    return [t.line for t in tasks if t.id == task_id]


def tasks_from_python(items: Iterable[Any]) -> list[BatchTask]:
    """Tasks from strings or line-shaped dicts (``kernel.batch``); the position is the line.

    Raises :class:`UsageError` naming the first bad item (by its 0-based index)
    or the repeated ids, before anything runs.
    """
    if isinstance(items, (str, bytes, dict)):
        raise UsageError("kernel.batch(tasks): tasks must be a list of strings or dicts")
    tasks: list[BatchTask] = []
    for index, item in enumerate(items):
        try:
            tasks.append(task_from_line(index + 1, item))
        except ValueError as exc:
            raise UsageError(f"kernel.batch(tasks): item {index}: {exc}") from None
    repeated = duplicate_ids(tasks)
    if repeated:
        raise UsageError(
            f"kernel.batch(tasks): duplicate id(s) {', '.join(map(repr, repeated[:10]))}"
        )
    return tasks
