"""Long-term memory at scale: insert throughput, search latency and recall@10 in LanceDB.

Synthetic 384-dimensional unit vectors (the size of all-MiniLM-L6-v2's): 200
topic centres plus variation in a 32-dimensional subspace (sentence embeddings
have a low intrinsic dimension) plus a little noise; queries are fresh draws
from the same mixture. A query's nearest neighbours have cosine ~0.45-0.6 and
the 10th and 11th differ by ~0.006, so recall@10 is a strict measure. Every search goes through the
``lancedb`` backend's own ``search`` (the path recall uses), for limit 10 and
for limit 50 (recall's candidate count), against:

- exact search: the backend with no index (LanceDB's brute-force scan), and a
  NumPy matrix product over all vectors for reference;
- the backend's two index plans (autoplug_builtins/memory/index.py): IVF-HNSW-SQ
  and IVF-PQ, each searched with several shares of partitions probed
  (``nprobes``) and numbers of candidates re-ranked by exact distance (refine;
  0: none).

recall@10 is the share of the exact top 10 the indexed search returns.
Run: ``python benchmarks/bench_memory.py [--sizes 10000,100000] [--queries 200]``.
Figures go to docs/performance.md ("Memory"); nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from autoplug.memory import MemoryRecord
from autoplug_builtins.memory.index import DEFAULT_INDEX, PLANS
from autoplug_builtins.memory.lance import LanceBackend

DIM = 384


class SyntheticEmbedder:
    """Names the table; the vectors come from :func:`clustered`."""

    name = "synthetic"
    dimension = DIM

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError


def clustered(
    n: int, rng: np.random.Generator, basis: np.ndarray, centres: np.ndarray
) -> np.ndarray:
    """``n`` unit vectors: a topic centre, plus variation along a 32-dimensional
    subspace (sentence embeddings have a low intrinsic dimension), plus a little noise."""
    picks = centres[rng.integers(0, len(centres), n)]
    latent = rng.normal(size=(n, basis.shape[0])) @ basis
    noise = rng.normal(scale=0.05 / np.sqrt(DIM), size=(n, DIM))
    vectors = picks + 0.5 * latent + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def records(start: int, count: int, now: float) -> list[MemoryRecord]:
    return [
        MemoryRecord(f"{i:016x}", f"memory number {i}", "fact", None, now, 0.5, 0, now)
        for i in range(start, start + count)
    ]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Median and p95, in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def timed_searches(
    backend: LanceBackend, queries: np.ndarray, limit: int
) -> tuple[list[list[str]], float, float]:
    ids, times = [], []
    for q in queries:
        t = time.perf_counter()
        found = backend.search(q.tolist(), limit)
        times.append(time.perf_counter() - t)
        ids.append([c.record.id for c in found])
    p50, p95 = percentiles(times)
    return ids, p50, p95


def recall_at_10(found: list[list[str]], exact: list[list[str]]) -> float:
    hits = sum(len(set(f[:10]) & set(e[:10])) for f, e in zip(found, exact, strict=True))
    return hits / (10 * len(exact))


def bench_size(n: int, n_queries: int, folder: Path, rng: np.random.Generator) -> None:
    centres = rng.normal(size=(200, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    basis = rng.normal(size=(32, DIM)) / np.sqrt(32 * DIM) * 4
    data = clustered(n, rng, basis, centres)
    queries = clustered(n_queries, rng, basis, centres)
    backend = LanceBackend(folder / f"n{n}", SyntheticEmbedder(), index_min_rows=10**12)
    now = time.time()
    import lancedb  # noqa: F401  (its import, ~1 s, is not part of the insert figure)

    batch = 5000
    t = time.perf_counter()
    for start in range(0, n, batch):
        backend.add(records(start, min(batch, n - start), now), data[start : start + batch])
    elapsed = time.perf_counter() - t
    print(f"\n== {n:,} memories ==")
    print(f"insert (batches of {batch}): {n / elapsed:,.0f} memories/s ({elapsed:.1f} s)")

    numpy_times = []
    for q in queries:
        t1 = time.perf_counter()
        np.argpartition(-(data @ q), 10)[:10]
        numpy_times.append(time.perf_counter() - t1)
    p50, p95 = percentiles(numpy_times)
    print(f"numpy brute force, top 10:       p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")

    exact10, p50, p95 = timed_searches(backend, queries, 10)
    print(f"lancedb exact (no index), k=10:  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
    _, p50, p95 = timed_searches(backend, queries, 50)
    print(f"lancedb exact (no index), k=50:  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")

    table = backend.table
    sweeps = {
        "IvfHnswSq": ((0.5, 0), (0.75, 0), (1.0, 0)),
        "IvfPq": ((0.6, 0), (0.4, 200), (0.6, 200), (0.8, 200)),
    }
    for kind, settings in sweeps.items():
        t = time.perf_counter()
        backend.build_index(kind)
        default = PLANS[kind]
        print(
            f"{kind} index build ({default.partitions(n)} partitions): "
            f"{time.perf_counter() - t:.1f} s"
        )
        for fraction, refine in settings:
            plan = replace(default, probe_fraction=fraction, refine_candidates=refine)
            backend._index[table] = (plan, n)
            found, p50, p95 = timed_searches(backend, queries, 10)
            _, p50_50, p95_50 = timed_searches(backend, queries, 50)
            mark = "  <- the backend's plan" if plan == default else ""
            mark += " (default index)" if mark and kind == DEFAULT_INDEX else ""
            print(
                f"  nprobes={plan.probes(n):<3} refine~{refine:<3}: k=10 p50 {p50:6.2f} ms "
                f"p95 {p95:6.2f} ms | k=50 p50 {p50_50:6.2f} ms p95 {p95_50:6.2f} ms | "
                f"recall@10 {recall_at_10(found, exact10):.3f}{mark}"
            )

    # The per-run path: a remember of a few memories at a time into the large table.
    t = time.perf_counter()
    rounds = 50
    extra = clustered(3 * rounds, rng, basis, centres)
    for r in range(rounds):
        backend.add(records(n + 3 * r, 3, now), extra[3 * r : 3 * r + 3].tolist())
    elapsed = time.perf_counter() - t
    print(f"insert 3 at a time (as after a run): {elapsed / rounds * 1000:.1f} ms per add")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(size, args.queries, Path(tmp), rng)


if __name__ == "__main__":
    main()
