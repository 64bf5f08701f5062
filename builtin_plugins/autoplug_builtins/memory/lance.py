"""The ``lancedb`` memory backend: an embedded LanceDB database in ``$AUTOPLUG_HOME/memory``.

One table per embedder name and dimension (``minilm_384``, ``hashing_384``, ...),
so changing embedders never mixes vectors. A table exists only while it holds a
memory — the last forget or prune drops it — so "no table folder for this
embedder" means an empty store, checked without importing lancedb.

Search is exact (brute force over the table). Once a table holds
``INDEX_MIN_ROWS``, ``prune`` builds a vector index (slow: tens of seconds at
100k on two cores, so never during a run's remember; :mod:`.index` says how it
is built and searched). Rows added after the index are searched exactly until
the next compaction folds them in. Every ``COMPACT_EVERY`` table versions a write also
compacts the table and removes versions older than ``KEEP_VERSIONS``.
"""

from __future__ import annotations

import builtins
from datetime import timedelta
from pathlib import Path
from typing import Any

from autoplug.memory import (
    BackendStats,
    Candidate,
    MemoryRecord,
    Pruned,
    PrunePolicy,
    TableInfo,
    safe_name,
    select_pruned,
    split_table_name,
    table_name,
)

from .index import DEFAULT_INDEX, PLANS, IndexPlan

COLUMNS = [
    "id",
    "text",
    "kind",
    "source_run",
    "created",
    "importance",
    "access_count",
    "last_access",
]
INDEX_MIN_ROWS = 50_000
CONSISTENCY_INTERVAL = timedelta(seconds=5)
DELETE_CHUNK = 500
COMPACT_EVERY = 50
KEEP_VERSIONS = timedelta(hours=1)


def schema(dimension: int, embedder: str) -> Any:
    """The Arrow schema of a memory table, with the embedder in its metadata."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("source_run", pa.string()),
            pa.field("created", pa.float64(), nullable=False),
            pa.field("importance", pa.float64(), nullable=False),
            pa.field("access_count", pa.int64(), nullable=False),
            pa.field("last_access", pa.float64(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dimension)),
        ],
        metadata={"embedder": embedder, "dimension": str(dimension)},
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _record(row: dict[str, Any]) -> MemoryRecord:
    return MemoryRecord(
        id=row["id"],
        text=row["text"],
        kind=row["kind"],
        source_run=row["source_run"],
        created=float(row["created"]),
        importance=float(row["importance"]),
        access_count=int(row["access_count"]),
        last_access=float(row["last_access"]),
    )


class LanceBackend:
    """Memories in LanceDB tables under ``folder``; nothing is imported until first needed."""

    name = "lancedb"

    def __init__(self, folder: Path, embedder: Any, *, index_min_rows: int = INDEX_MIN_ROWS):
        self.folder = Path(folder)
        self.embedder = embedder
        self.index_min_rows = index_min_rows
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._index: dict[str, tuple[IndexPlan, int] | None] = {}  # table -> (plan, rows)

    @property
    def table(self) -> str:
        """The current embedder's table name."""
        return table_name(self.embedder.name, self.embedder.dimension)

    # -- cheap checks (no lancedb) -----------------------------------------

    def tables_on_disk(self) -> list[str]:
        """Names of the tables in the folder, sorted (reads the folder only)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(".lance")] for p in self.folder.glob("*.lance") if p.is_dir())

    def is_empty(self) -> bool:
        """True when no table of the current embedder exists (tables hold at least one row)."""
        prefix = safe_name(self.embedder.name)
        return not any(split_table_name(t)[0] == prefix for t in self.tables_on_disk())

    # -- lancedb ----------------------------------------------------------------

    def _connect(self) -> Any:
        if self._db is None:
            import lancedb

            self.folder.mkdir(parents=True, exist_ok=True)
            # See other processes' writes (a CLI command, another run) within a few
            # seconds, rather than paying a manifest check on every single read.
            self._db = lancedb.connect(
                str(self.folder), read_consistency_interval=CONSISTENCY_INTERVAL
            )
        return self._db

    def _open(self, name: str | None = None, *, create: bool = False) -> Any:
        name = name or self.table
        if name not in self.tables_on_disk():
            self._tables.pop(name, None)
            if not create:
                return None
            embedder, dimension = self.embedder.name, self.embedder.dimension
            self._tables[name] = self._connect().create_table(
                name, schema=schema(dimension, embedder), exist_ok=True
            )
        elif name not in self._tables:
            self._tables[name] = self._connect().open_table(name)
        return self._tables[name]

    def _drop_if_empty(self, name: str, table: Any) -> None:
        if table.count_rows() == 0:
            self._connect().drop_table(name)
            self._tables.pop(name, None)
            self._index.pop(name, None)

    def _plan(self, name: str, table: Any) -> tuple[IndexPlan, int] | None:
        """The plan of ``name``'s vector index and the rows it was built on (cached)."""
        if name not in self._index:
            found = [i for i in table.list_indices() if "vector" in i.columns]
            kind = found[0].index_type if found else None
            self._index[name] = (PLANS[kind], table.count_rows()) if kind in PLANS else None
        return self._index[name]

    def count(self) -> int:
        """How many memories the current table holds."""
        table = self._open()
        return 0 if table is None else table.count_rows()

    def add(self, records: list[MemoryRecord], vectors: list[list[float]]) -> None:
        """Append records with their vectors; build the index once the table is large."""
        import pyarrow as pa

        if not records:
            return
        import numpy as np

        table = self._open(create=True)
        columns: dict[str, Any] = {c: [getattr(r, c) for r in records] for c in COLUMNS}
        # Through one flat float32 array: pyarrow converts nested Python lists slowly.
        flat = np.asarray(vectors, dtype=np.float32).reshape(-1)
        columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, self.embedder.dimension)
        table.add(pa.Table.from_pydict(columns, schema=table.schema))
        # Every write (a recall's access counts too) makes a version with small files;
        # compacting now and then keeps scans fast without a maintenance command.
        if table.version % COMPACT_EVERY == 0:
            table.optimize(cleanup_older_than=KEEP_VERSIONS)

    def build_index(self, kind: str = DEFAULT_INDEX) -> None:
        """Build (or rebuild) the current table's vector index (see :mod:`.index`)."""
        table = self._open()
        if table is None:
            return
        rows = table.count_rows()
        plan = PLANS[kind]
        # With a config, create_index's first argument names the column.
        table.create_index(
            "vector", replace=True, config=plan.config(rows, self.embedder.dimension)
        )
        self._index[self.table] = (plan, rows)

    def search(self, vector: list[float], limit: int, kind: str | None = None) -> list[Candidate]:
        """The ``limit`` nearest memories by cosine similarity, optionally of one kind."""
        table = self._open()
        if table is None:
            return []
        query = (
            table.search(vector, vector_column_name="vector")
            .distance_type("cosine")
            .limit(limit)
            .select([*COLUMNS, "_distance"])
        )
        if kind is not None:
            query = query.where(f"kind = {_quote(kind)}", prefilter=True)
        indexed = self._plan(self.table, table)
        if indexed is not None:
            plan, rows = indexed
            query = plan.tune(query, rows, limit)
        return [Candidate(_record(row), 1.0 - float(row["_distance"])) for row in query.to_list()]

    def list(self) -> list[MemoryRecord]:
        """Every memory of the current table, newest first."""
        table = self._open()
        if table is None:
            return []
        rows = table.search().select(COLUMNS).limit(None).to_arrow().to_pylist()
        return sorted((_record(r) for r in rows), key=lambda r: -r.created)

    def touch(self, ids: builtins.list[str], now: float) -> None:
        """One more access for each id, last access ``now`` (one update for all)."""
        table = self._open()
        if table is None or not ids:
            return
        table.update(
            where=f"id IN ({', '.join(_quote(i) for i in ids)})",
            values_sql={"access_count": "access_count + 1", "last_access": repr(float(now))},
        )

    def reinforce(self, id: str, importance: float, now: float) -> None:
        """Set importance, count an access, refresh recency."""
        table = self._open()
        if table is None:
            return
        table.update(
            where=f"id = {_quote(id)}",
            values_sql={
                "importance": repr(float(importance)),
                "access_count": "access_count + 1",
                "last_access": repr(float(now)),
            },
        )

    def forget(self, id: str) -> bool:
        """Delete ``id`` from whichever table holds it (the current one first)."""
        names = self.tables_on_disk()
        names.sort(key=lambda n: n != self.table)
        for name in names:
            table = self._open(name)
            if table is not None and table.count_rows(f"id = {_quote(id)}"):
                table.delete(f"id = {_quote(id)}")
                self._drop_if_empty(name, table)
                return True
        return False

    def prune(self, policy: PrunePolicy, now: float) -> builtins.list[Pruned]:
        """Apply ``policy`` to the current table, then compact it and update its index."""
        table = self._open()
        if table is None:
            return []
        pruned = select_pruned(self.list(), policy, now)
        ids = [p.record.id for p in pruned]
        for start in range(0, len(ids), DELETE_CHUNK):
            chunk = ids[start : start + DELETE_CHUNK]
            table.delete(f"id IN ({', '.join(_quote(i) for i in chunk)})")
        rows = table.count_rows()
        if rows == 0:
            self._drop_if_empty(self.table, table)
        elif rows >= self.index_min_rows and self._plan(self.table, table) is None:
            table.optimize(cleanup_older_than=KEEP_VERSIONS)
            self.build_index()
        else:
            table.optimize(cleanup_older_than=KEEP_VERSIONS)
        return pruned

    def stats(self) -> BackendStats:
        """Every table in the folder with its embedder, dimension and size."""
        tables = []
        for name in self.tables_on_disk():
            table = self._open(name)
            meta = table.schema.metadata or {}
            embedder, dimension = split_table_name(name)
            tables.append(
                TableInfo(
                    table=name,
                    embedder=meta.get(b"embedder", embedder.encode()).decode(),
                    dimension=int(meta.get(b"dimension", str(dimension).encode())),
                    count=table.count_rows(),
                )
            )
        return BackendStats(location=str(self.folder), table=self.table, tables=tables)
