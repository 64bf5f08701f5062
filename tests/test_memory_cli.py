"""``autoplug memory search|list|forget|prune|stats`` through the real console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from homes import memory_home

from autoplug import Kernel
from autoplug.memory import NewMemory, open_memory

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def autoplug(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the console script with ``home`` as AUTOPLUG_HOME."""
    return subprocess.run(
        [AUTOPLUG, *args],
        env={**os.environ, "AUTOPLUG_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def home(tmp_path):
    """A home whose config picks the hashing embedder, holding three memories (one old)."""
    kernel = Kernel(builtins=["autoplug_memory"], home=memory_home(tmp_path, embedder="hashing"))
    memory = open_memory(kernel)
    now = time.time()
    memory.clock = lambda: now - 500 * 86_400
    memory.remember([NewMemory("an ancient note nobody needs", "observation", importance=0.2)])
    memory.clock = lambda: now
    memory.remember(
        [
            NewMemory("The capital of Norway is Oslo", "fact", source_run="run-1"),
            NewMemory("Tests must pass before merging", "fact", importance=0.9),
        ]
    )
    return tmp_path


def test_search_json_lists_best_matches_with_score_parts(home):
    out = autoplug(home, "memory", "search", "capital of Norway", "--json", "-k", "2")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert len(found) == 2
    assert found[0]["text"] == "The capital of Norway is Oslo"
    assert found[0]["source_run"] == "run-1"
    assert set(found[0]) == {
        "id",
        "text",
        "kind",
        "score",
        "similarity",
        "importance",
        "recency",
        "created",
        "source_run",
    }
    assert ISO.match(found[0]["created"])
    assert found[0]["score"] >= found[1]["score"]


def test_search_table_shows_ids_and_text(home):
    out = autoplug(home, "memory", "search", "Oslo")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["ID", "SCORE", "SIM/IMP/REC", "KIND", "TEXT"]
    assert "The capital of Norway is Oslo" in out.stdout.splitlines()[1]


@pytest.mark.parametrize("k", ["0", "-3"])
def test_search_rejects_a_non_positive_k(home, k):
    out = autoplug(home, "memory", "search", "Oslo", "-k", k)
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: -k must be a positive integer, got {k}"


def test_search_rejects_a_blank_query(home):
    out = autoplug(home, "memory", "search", "  ")
    assert out.returncode == 2
    assert "QUERY is empty" in out.stderr


def test_search_on_an_empty_store_prints_an_empty_array(tmp_path):
    out = autoplug(tmp_path, "memory", "search", "anything", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_list_json_is_newest_first_with_iso_times(home):
    out = autoplug(home, "memory", "list", "--json")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["text"] for r in records][-1] == "an ancient note nobody needs"
    assert len(records) == 3
    assert all(ISO.match(r["created"]) and ISO.match(r["last_access"]) for r in records)
    assert records[0]["access_count"] == 0


def test_forget_deletes_one_memory(home):
    records = json.loads(autoplug(home, "memory", "list", "--json").stdout)
    target = records[0]["id"]
    out = autoplug(home, "memory", "forget", target)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"forgot {target}"
    left = json.loads(autoplug(home, "memory", "list", "--json").stdout)
    assert target not in [r["id"] for r in left] and len(left) == 2


def test_forget_an_unknown_id_exits_2_naming_it(home):
    out = autoplug(home, "memory", "forget", "0123456789abcdef")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: no memory with id '0123456789abcdef' (see `autoplug memory list`)"
    )


def test_prune_says_what_went(home):
    out = autoplug(home, "memory", "prune")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert re.match(r"^removed [0-9a-f]{16} \(age\): an ancient note nobody needs$", lines[0])
    assert lines[-1] == "pruned 1 memories; 2 remain"


def test_prune_json_lists_removed_memories_with_reasons(home):
    out = autoplug(home, "memory", "prune", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [(r["text"], r["reason"]) for r in report["removed"]] == [
        ("an ancient note nobody needs", "age")
    ]
    assert report["remaining"] == 2
    again = json.loads(autoplug(home, "memory", "prune", "--json").stdout)
    assert again == {"removed": [], "remaining": 2}


def test_stats_json_names_embedder_and_tables(home):
    out = autoplug(home, "memory", "stats", "--json")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["backend"] == "lancedb"
    assert stats["embedder"] == "hashing"
    assert stats["count"] == 3
    assert stats["location"] == str(home / "memory")


def test_stats_lists_memories_stored_by_another_embedder(home):
    # Switch to the openai embedder (its dimension set, so stats sends no request);
    # the memories the hashing embedder stored are listed, not hidden.
    (home / "config.toml").write_text(
        (home / "config.toml")
        .read_text()
        .replace(
            'embedder = "hashing"',
            'embedder = "openai"\nembedder_base_url = "http://127.0.0.1:9/v1"\n'
            "embedder_dimension = 16",
        )
    )
    out = autoplug(home, "memory", "stats")
    assert out.returncode == 0, out.stderr
    assert "embedder: openai (16 dimensions)" in out.stdout
    assert "memories: 0 in table openai-text-embedding-3-small_16" in out.stdout
    assert "  hashing_384: 3 (hashing, 384 dimensions)" in out.stdout


def test_memory_commands_exit_2_when_memory_is_off(tmp_path):
    (tmp_path / "config.toml").write_text('[memory]\nbackend = "none"\n')
    out = autoplug(tmp_path, "memory", "stats")
    assert out.returncode == 2
    assert "error: long-term memory is off ([memory] backend = 'none'" in out.stderr


def test_memory_commands_exit_2_when_the_memory_plugin_is_not_loaded(tmp_path):
    out = autoplug(tmp_path, "memory", "list", env={"AUTOPLUG_LOAD_PLUGINS": "autoplug_files"})
    assert out.returncode == 2
    assert "unknown memory backend 'lancedb'" in out.stderr
    assert "is autoplug_memory disabled?" in out.stderr


def test_invalid_memory_setting_exits_2_naming_the_key(tmp_path):
    (tmp_path / "config.toml").write_text('[memory]\ncapacity = "lots"\n')
    out = autoplug(tmp_path, "memory", "stats")
    assert out.returncode == 2
    assert '[memory] capacity must be a whole number >= 1, not "lots"' in out.stderr
