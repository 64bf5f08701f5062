"""The ``inprocess`` memory backend: tables of records and vectors in dicts, exact search.

Nothing is written to disk; what it holds is gone when the process exits. Meant
for tests and throw-away runs; it behaves like the LanceDB backend otherwise.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Any

from autoplug.memory import (
    BackendStats,
    Candidate,
    MemoryRecord,
    Pruned,
    PrunePolicy,
    TableInfo,
    select_pruned,
    split_table_name,
    table_name,
)


class InProcessBackend:
    """Memories in this process, one dict per embedder table; exact cosine search."""

    name = "inprocess"

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self._tables: dict[str, dict[str, tuple[MemoryRecord, list[float]]]] = {}

    @property
    def table(self) -> str:
        """The current embedder's table name."""
        return table_name(self.embedder.name, self.embedder.dimension)

    def _rows(self) -> dict[str, tuple[MemoryRecord, list[float]]]:
        return self._tables.setdefault(self.table, {})

    def is_empty(self) -> bool:
        """True when the current table holds nothing."""
        return not self._tables.get(self.table)

    def count(self) -> int:
        """How many memories the current table holds."""
        return len(self._tables.get(self.table, {}))

    def add(self, records: list[MemoryRecord], vectors: list[list[float]]) -> None:
        """Store records with their vectors."""
        rows = self._rows()
        for record, vector in zip(records, vectors, strict=True):
            rows[record.id] = (record, list(vector))

    def search(self, vector: list[float], limit: int, kind: str | None = None) -> list[Candidate]:
        """The ``limit`` most similar memories (exact dot product of unit vectors)."""
        found = [
            Candidate(rec, sum(a * b for a, b in zip(vec, vector, strict=False)))
            for rec, vec in self._tables.get(self.table, {}).values()
            if kind is None or rec.kind == kind
        ]
        found.sort(key=lambda c: -c.similarity)
        return found[:limit]

    def list(self) -> list[MemoryRecord]:
        """Every memory of the current table, newest first."""
        records = [rec for rec, _ in self._tables.get(self.table, {}).values()]
        return sorted(records, key=lambda r: -r.created)

    def touch(self, ids: builtins.list[str], now: float) -> None:
        """One more access for each id, last access ``now``."""
        rows = self._rows()
        for memory_id in ids:
            if memory_id in rows:
                rec, vec = rows[memory_id]
                rows[memory_id] = (
                    replace(rec, access_count=rec.access_count + 1, last_access=now),
                    vec,
                )

    def reinforce(self, id: str, importance: float, now: float) -> None:
        """Set importance, count an access, refresh recency."""
        rows = self._rows()
        if id in rows:
            rec, vec = rows[id]
            rows[id] = (
                replace(
                    rec, importance=importance, access_count=rec.access_count + 1, last_access=now
                ),
                vec,
            )

    def forget(self, id: str) -> bool:
        """Delete ``id`` from whichever table holds it."""
        for rows in self._tables.values():
            if rows.pop(id, None) is not None:
                return True
        return False

    def prune(self, policy: PrunePolicy, now: float) -> builtins.list[Pruned]:
        """Apply ``policy`` to the current table."""
        pruned = select_pruned(self.list(), policy, now)
        rows = self._rows()
        for item in pruned:
            rows.pop(item.record.id, None)
        return pruned

    def stats(self) -> BackendStats:
        """Every non-empty table and its size."""
        tables = []
        for name, rows in sorted(self._tables.items()):
            if rows:
                embedder, dimension = split_table_name(name)
                tables.append(TableInfo(name, embedder, dimension, len(rows)))
        return BackendStats(location="(in process)", table=self.table, tables=tables)
