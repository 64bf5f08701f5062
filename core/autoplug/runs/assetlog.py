"""A run's asset entries as records of its journal (``state.jsonl``), from schema 3 on.

A run folder of schema 3 keeps no ``assets/manifest.jsonl``: each stored asset
is an ``{"k": "asset", "name", "type", "step", "tool", "size", "value" | "file"}``
record of the run's journal, the last of a name winning. The line goes out
with the run's other lines (:mod:`.writer`): it waits for the end of the loop's
turn or the next checkpoint of the journal, whichever comes first — and since a
step's record is a checkpoint of the same file, written after its asset's line
in one ``write``, a step on disk always has its asset on disk. So a run whose
assets are all small makes no ``assets/`` folder and opens no file for them;
a big asset still gets a file of its own under ``assets/`` (made for the first
one), written before its record.

A run's :class:`~.store.RunStore` hands its :class:`AssetLog` (``store.asset_log``)
to the run's asset store explicitly: ``AssetStore(store.assets_dir, log=store.asset_log)``.
Its records then wait in the store's own writer, ahead of the step's record. An
asset store given no log, for a schema-3 folder (a run not open in this process),
gets one of its own from :func:`folder_log` whose records are written at once —
with nothing to keep them in order with a step's record, they must not wait;
for an older folder or a folder of one's own, None (the asset manifest, as before).
There is no registry of live runs: a second store of a run in the same process
(opened again, or resumed) writes through its own log, never another's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RunError
from .journal import lines, os_problem
from .writer import RunWriter

JOURNAL_FILE = "state.jsonl"
#: The schema from which a journal holds its run's asset records.
ASSET_SCHEMA = 3
#: How every asset record's line starts (the journal's lines are written by :func:`.journal.line`).
ASSET_PREFIX = '{"k":"asset"'


class AssetLog:
    """Where the asset records of one run go: its journal, through its :class:`.writer.RunWriter`.

    Holds the writer, not the store: an ended run's store is not kept alive by an
    asset store still pointing at its log.
    """

    __slots__ = ("_flush", "_write", "path")

    def __init__(self, path: str, write: Callable[..., None], flush: Callable[[], None]) -> None:
        self.path = path  # the journal (state.jsonl), as text
        self._write = write
        self._flush = flush

    def append(self, data: bytes, *, durable: bool) -> None:
        """Send the asset record ``data`` (one whole line) to the journal.

        ``durable``: on disk when this returns (a replaced version's file is to be
        deleted next); else with the journal's next checkpoint or by the end of the
        loop's turn. Raises :class:`RunError` naming the file when it cannot be written.
        """
        self._write(self.path, data, durable=durable)

    def flush(self) -> None:
        """Write the journal's waiting lines (before its asset records are read back)."""
        self._flush()


def journal_schema(path: Path) -> int | None:
    """The ``schema`` of the journal ``path`` (its first record's), or None when it has none."""
    try:
        with open(path, "rb") as raw:
            first = raw.readline()
    except OSError:
        return None
    try:
        record = json.loads(first)
    except (ValueError, RecursionError):
        return None
    version = record.get("schema") if isinstance(record, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def folder_log(assets_dir: str) -> AssetLog | None:
    """A log of its own for the asset store of ``assets_dir`` given none by a live store.

    For a schema-3 run folder: an :class:`AssetLog` writing every record at once
    (durable), since no step record of this writer follows it; None for an older
    folder or a folder of one's own (the asset manifest).
    """
    journal = Path(assets_dir).parent / JOURNAL_FILE
    version = journal_schema(journal)
    if version is None or version < ASSET_SCHEMA:
        return None
    path = str(journal)

    def failed(where: str, exc: OSError) -> RunError:
        return RunError(f"cannot write {where}: {os_problem(exc)}")

    writer = RunWriter(threading.Lock(), failed)

    def at_once(where: str, data: bytes, *, durable: bool) -> None:
        writer.write(where, data, durable=True)

    return AssetLog(path, at_once, writer.flush)


def entries(journal: Path) -> list[tuple[int, Any, Path]]:
    """The asset records of ``journal`` in order, as ``(line number, record, journal)``.

    A partial last line (a writer killed mid-line) is left out; an asset record that
    is not JSON raises :class:`RunError` naming the file and its line.
    """
    try:
        found = lines(journal)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunError(f"cannot read {journal}: {os_problem(exc)}") from None
    records: list[tuple[int, Any, Path]] = []
    for number, text in enumerate(found, 1):
        if not text.startswith(ASSET_PREFIX):
            continue
        try:
            records.append((number, json.loads(text), journal))
        except (ValueError, RecursionError) as exc:
            raise RunError(
                f"corrupt asset record {journal}: line {number}: {str(exc)[:200]}"
            ) from None
    return records
