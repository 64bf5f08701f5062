"""The home's state folder: what autoplug itself decides or caches.

``config.toml`` belongs to the user and is never edited after the template is
written. Choices autoplug makes once (the embedder chosen on first use) and
caches (MCP servers' tool lists, schema verdicts) live in
``$AUTOPLUG_HOME/state/NAME.json`` instead, written atomically, so concurrent
first runs never leave a torn or half-merged file. A setting in the config
always wins over state.

State is a cache: a file that is missing or damaged reads as empty (the value is
decided again), never as an error.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


def state_dir(home: Path) -> Path:
    """The state folder of an autoplug home (``home/state``); not created here."""
    return Path(home) / "state"


def _path(home: Path, name: str) -> Path:
    if not _NAME.match(name) or name.endswith(".") or ".." in name:
        raise ValueError(f"invalid state name {name!r}: lower-case letters, digits, '_', '.', '-'")
    return state_dir(home) / f"{name}.json"


def read_state(home: Path, name: str) -> dict[str, Any]:
    """The JSON object stored as ``name``, or ``{}`` when missing, unreadable or damaged."""
    try:
        data = json.loads(_path(home, name).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(home: Path, name: str, data: dict[str, Any]) -> None:
    """Replace the object stored as ``name`` atomically (a temporary file, then a rename).

    Raises ``OSError`` when the state folder cannot be written.
    """
    path = _path(home, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def _locked(home: Path, name: str) -> Iterator[None]:
    path = _path(home, name).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    import fcntl  # POSIX only; Windows is not supported (README)

    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def update_state(
    home: Path, name: str, update: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """Read, change and write ``name`` under an exclusive lock; returns what was written.

    ``update`` gets the current object (``{}`` when none) and returns the new one.
    Two processes updating at once both see their change land: the second reads
    what the first wrote.
    """
    with _locked(home, name):
        data = update(read_state(home, name))
        write_state(home, name, data)
        return data
