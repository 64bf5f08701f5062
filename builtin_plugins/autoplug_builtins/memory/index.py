"""Vector index plans for the LanceDB backend: how an index is built and searched.

Measured at 100,000 synthetic 384-d memories on two cores
(benchmarks/bench_memory.py, figures in docs/performance.md): recall@10 is
bounded mostly by the share of IVF partitions probed, and scanning a partition
is cheap, so both plans probe most partitions.

- ``IvfHnswSq`` (the default): IVF with an HNSW graph per partition over 8-bit
  scalar-quantised vectors; one partition per 6,000 vectors, 3/4 of them probed.
- ``IvfPq``: IVF with product quantisation (48 sub-vectors for 384-d); one
  partition per 3,000 vectors, 60% probed, and a refine step re-ranking about
  200 candidates by exact distance, without which PQ's approximate distances
  cost recall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexPlan:
    """One way to index and search: LanceDB's index type and how it is tuned."""

    kind: str
    rows_per_partition: int
    probe_fraction: float
    refine_candidates: int = 0

    def partitions(self, rows: int) -> int:
        """IVF partitions for ``rows`` vectors: one per ``rows_per_partition``, 8 to 256."""
        return min(256, max(8, rows // self.rows_per_partition))

    def probes(self, rows: int) -> int:
        """Partitions searched per query."""
        return max(1, round(self.partitions(rows) * self.probe_fraction))

    def refine_factor(self, limit: int) -> int:
        """How many times ``limit`` candidates the refine step re-ranks (about
        ``refine_candidates`` whatever the limit); 0 for no refine step."""
        if not self.refine_candidates:
            return 0
        return max(1, -(-self.refine_candidates // max(1, limit)))

    def config(self, rows: int, dimension: int) -> Any:
        """The ``lancedb.index`` config to build this index over ``rows`` vectors."""
        from lancedb.index import HnswSq, IvfPq

        if self.kind == "IvfPq":
            return IvfPq(
                distance_type="cosine",
                num_partitions=self.partitions(rows),
                num_sub_vectors=max(1, dimension // 8),
                max_iterations=20,
            )
        return HnswSq(
            distance_type="cosine", num_partitions=self.partitions(rows), max_iterations=20
        )

    def tune(self, query: Any, rows: int, limit: int) -> Any:
        """``query`` with this plan's search parameters."""
        query = query.nprobes(self.probes(rows))
        if self.kind == "IvfHnswSq":
            query = query.ef(max(100, 2 * limit))
        factor = self.refine_factor(limit)
        return query.refine_factor(factor) if factor else query


PLANS = {
    "IvfHnswSq": IndexPlan("IvfHnswSq", rows_per_partition=6_000, probe_fraction=0.75),
    "IvfPq": IndexPlan(
        "IvfPq", rows_per_partition=3_000, probe_fraction=0.6, refine_candidates=200
    ),
}
DEFAULT_INDEX = "IvfHnswSq"
