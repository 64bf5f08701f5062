"""The value types of long-term memory and the protocols a backend and an embedder follow.

Backends and embedders arrive through the ``register_memory_backends`` and
``register_embedders`` hooks as *factories*: objects with a ``name`` and a
``create(...)`` method that builds the real thing only when memory is first used,
so that loading plugins never imports LanceDB or a sentence model.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

KINDS = ("task", "answer", "observation", "fact")
"""The kinds of memory: a task given, its answer, what a step observed, a plain fact."""

DEFAULT_MIN_SIMILARITY = 0.3
"""Recall's cosine floor for an embedder that declares no ``min_similarity`` of its own."""

ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
"""Memory ids are 16 lower-case hex digits (random), safe to quote in a filter."""


@dataclass(frozen=True)
class NewMemory:
    """Something to remember: text, kind (task, answer, observation, fact), source run, importance."""

    text: str
    kind: str = "fact"
    source_run: str | None = None
    importance: float = 0.5


@dataclass(frozen=True)
class Recalled:
    """A memory retrieved for a query, with its blended score and the parts of it."""

    id: str
    text: str
    kind: str
    score: float
    similarity: float
    importance: float
    recency: float
    created: float
    source_run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class Recollection:
    """What one recall found: the memories kept and how many passed the similarity floor.

    ``searched``: nearest candidates looked at; ``passed``: how many of them reached
    ``min_similarity`` (before ``top_k`` and the token bound); ``memories``: those kept.
    """

    memories: list[Recalled]
    searched: int
    passed: int
    min_similarity: float


@dataclass(frozen=True)
class MemoryRecord:
    """One stored memory, without its vector. Times are Unix seconds (UTC)."""

    id: str
    text: str
    kind: str
    source_run: str | None
    created: float
    importance: float
    access_count: int
    last_access: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    """A memory found by vector search, with its cosine similarity to the query."""

    record: MemoryRecord
    similarity: float


@dataclass(frozen=True)
class Pruned:
    """A memory removed by pruning and why: ``"age"`` or ``"capacity"``."""

    record: MemoryRecord
    reason: str


@dataclass(frozen=True)
class PrunePolicy:
    """What pruning removes.

    ``capacity``: at most this many memories stay, the best by retention
    (importance and recency); ``max_age_days``: a memory not used (created,
    recalled or reinforced) for longer goes, unless its importance is at least
    ``keep_importance``.
    """

    capacity: int
    max_age_days: float
    keep_importance: float = 0.8


@dataclass(frozen=True)
class TableInfo:
    """One table of a backend: the embedder and dimension its vectors come from, its size."""

    table: str
    embedder: str
    dimension: int
    count: int


@dataclass(frozen=True)
class BackendStats:
    """What ``stats()`` reports: where the store is, the current table and every table."""

    location: str
    table: str
    tables: list[TableInfo]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of a fixed dimension.

    ``name`` identifies the vector space (two embedders with one name must give
    comparable vectors): it names the backend's table together with ``dimension``.
    Vectors are unit length so that a dot product is the cosine similarity.
    An embedder may declare ``min_similarity``: the cosine below which a memory is
    unrelated to a query in its vector space (recall's floor; default
    :data:`DEFAULT_MIN_SIMILARITY`; ``[memory] min_similarity`` overrides it).
    """

    name: str

    @property
    def dimension(self) -> int:
        """The length of every vector."""
        ...

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order; batched internally."""
        ...


class EmbedderFactory(Protocol):
    """What ``register_embedders`` registers.

    ``create(config)`` must be cheap (no model load); an optional
    ``available() -> bool`` says whether it can work here, used when choosing
    the default embedder on first use.
    """

    name: str

    def create(self, config: Any) -> Embedder:
        """An embedder for the kernel's :class:`autoplug.config.Config`."""
        ...


class MemoryBackend(Protocol):
    """A vector store of memories: one table per embedder name and dimension.

    ``is_empty()`` must be cheap and import nothing heavy: recall on an empty
    store never loads the backend's library or the embedder.
    """

    name: str

    def is_empty(self) -> bool:
        """True when the current embedder's table holds nothing (cheap)."""
        ...

    def count(self) -> int:
        """How many memories the current table holds."""
        ...

    def add(self, records: list[MemoryRecord], vectors: list[list[float]]) -> None:
        """Store new memories with their vectors."""
        ...

    def search(self, vector: list[float], limit: int, kind: str | None = None) -> list[Candidate]:
        """The ``limit`` nearest memories by cosine similarity, optionally of one kind."""
        ...

    def list(self) -> list[MemoryRecord]:
        """Every memory of the current table, newest first."""
        ...

    def touch(self, ids: builtins.list[str], now: float) -> None:
        """Count one more access of each id and set its last access to ``now``."""
        ...

    def reinforce(self, id: str, importance: float, now: float) -> None:
        """Set a memory's importance, count an access and set its last access to ``now``."""
        ...

    def forget(self, id: str) -> bool:
        """Delete the memory ``id`` from whichever table holds it; False when none does."""
        ...

    def prune(self, policy: PrunePolicy, now: float) -> builtins.list[Pruned]:
        """Apply ``policy`` to the current table; return what went."""
        ...

    def stats(self) -> BackendStats:
        """Where the store is, the current table, and every table with its size."""
        ...


class MemoryBackendFactory(Protocol):
    """What ``register_memory_backends`` registers; ``create`` must be cheap."""

    name: str

    def create(self, config: Any, embedder: Embedder) -> MemoryBackend:
        """A backend storing vectors of ``embedder`` under the kernel's config."""
        ...


def table_name(embedder: str, dimension: int) -> str:
    """The table for an embedder name and dimension, e.g. ``minilm_384``.

    Characters other than letters, digits and ``-`` become ``-``, so ``_``
    only ever separates the name from the dimension.
    """
    return f"{safe_name(embedder)}_{int(dimension)}"


def safe_name(embedder: str) -> str:
    """An embedder name made safe for a table or folder name."""
    return re.sub(r"[^A-Za-z0-9-]", "-", embedder) or "embedder"


def split_table_name(table: str) -> tuple[str, int]:
    """``(embedder, dimension)`` from a table name made by :func:`table_name`."""
    name, _, dim = table.rpartition("_")
    return (name, int(dim)) if dim.isdigit() else (table, 0)
