"""``LongTermMemory``: what the Autos and the CLI use — recall, remember, list, forget, prune, stats.

It joins one backend and one embedder. Recall takes the nearest candidates by
vector similarity from the backend, rescores them with the blend of
:mod:`autoplug.memory.scoring` and keeps the best ``k`` within a token bound.
Remember consolidates: a new memory nearly identical to a stored one of the same
kind reinforces that one instead of adding a duplicate.
"""

from __future__ import annotations

import builtins
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import UsageError
from .records import (
    DEFAULT_MIN_SIMILARITY,
    ID_PATTERN,
    KINDS,
    Embedder,
    MemoryBackend,
    MemoryRecord,
    NewMemory,
    Pruned,
    PrunePolicy,
    Recalled,
    Recollection,
)
from .scoring import DEFAULT_WEIGHTS, Weights, rank, within_tokens
from .settings import MemorySettings

CONSOLIDATE_AT = 0.95
"""Cosine similarity at or above which a new memory reinforces an old one of the same kind."""

REINFORCE_STEP = 0.1
"""How much a reinforcement raises importance (from the larger of old and new, capped at 1)."""

MIN_CANDIDATES = 50
"""Recall rescores at least this many (and at least 4*k) nearest candidates."""

MAX_TEXT_CHARS = 4000
"""Longer texts are cut to this length (with an ellipsis) before they are stored."""


def new_id() -> str:
    """A random 16-hex-digit memory id."""
    return secrets.token_hex(8)


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False))


class LongTermMemory:
    """Long-term memory over one backend and one embedder.

    ``recall`` and ``remember`` are blocking (the Autos run them in a worker
    thread); calls are serialised by a lock. ``clock`` gives the current Unix time
    (tests replace it to age memories).

    :param backend: a :class:`MemoryBackend`.
    :param embedder: an :class:`Embedder`.
    :param settings: the checked ``[memory]`` settings.
    :param embedder_choice: the configured embedder name (``[memory] embedder``).
    """

    def __init__(
        self,
        backend: MemoryBackend,
        embedder: Embedder,
        settings: MemorySettings,
        *,
        embedder_choice: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.settings = settings
        self.embedder_choice = embedder_choice or embedder.name
        self.clock = clock
        self.weights: Weights = replace(DEFAULT_WEIGHTS, half_life_days=settings.half_life_days)
        self._lock = threading.RLock()
        self._warm_thread: threading.Thread | None = None

    # -- the embedder ---------------------------------------------------------

    def warm(self) -> None:
        """Start loading the embedder's model in a background thread (once), if it has one.

        The thread is not a daemon: a process that exits meanwhile waits for the
        load to finish rather than killing an import half-way.
        """
        load = getattr(self.embedder, "load", None)
        if load is None or self._warm_thread is not None:
            return

        def quietly() -> None:
            try:
                load()
            except Exception:  # the same error is raised again, clearly, at the real use
                pass

        self._warm_thread = threading.Thread(target=quietly, name="autoplug-embedder-warmup")
        self._warm_thread.start()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors = self.embedder.embed(texts)
        dim = self.embedder.dimension
        if len(vectors) != len(texts) or any(len(v) != dim for v in vectors):
            raise UsageError(
                f"embedder {self.embedder.name!r} returned {len(vectors)} vectors for "
                f"{len(texts)} texts, or vectors whose length is not its dimension {dim}"
            )
        return vectors

    # -- recall ---------------------------------------------------------------

    @property
    def min_similarity(self) -> float:
        """Recall's cosine floor: ``[memory] min_similarity``, else the embedder's own."""
        if self.settings.min_similarity is not None:
            return self.settings.min_similarity
        return float(getattr(self.embedder, "min_similarity", DEFAULT_MIN_SIMILARITY))

    def recall(
        self,
        query: str,
        k: int | None = None,
        max_tokens: int | None = None,
        *,
        touch: bool = True,
        exclude_run: str | None = None,
    ) -> list[Recalled]:
        """The best ``k`` memories for ``query`` within ``max_tokens``, best first.

        Only memories at least :attr:`min_similarity` similar to the query count.
        See :meth:`recollect`, which also says how many passed that floor.
        """
        return self.recollect(query, k, max_tokens, touch=touch, exclude_run=exclude_run).memories

    def recollect(
        self,
        query: str,
        k: int | None = None,
        max_tokens: int | None = None,
        *,
        touch: bool = True,
        exclude_run: str | None = None,
        floor: float | None = None,
    ) -> Recollection:
        """Recall with its counts: how many candidates were searched and passed the floor.

        Defaults come from ``[memory] top_k``, ``max_prompt_tokens`` and
        :attr:`min_similarity` (``floor`` overrides the last). On an empty store
        this returns at once, loading neither the backend's library nor the
        embedder. With ``touch`` the returned memories count an access (their
        recency is refreshed). Memories stored by the run ``exclude_run`` are left
        out (a conversation never recalls its own turns).
        """
        k = self.settings.top_k if k is None else k
        max_tokens = self.settings.max_prompt_tokens if max_tokens is None else max_tokens
        floor = self.min_similarity if floor is None else floor
        if k < 1:
            raise UsageError(f"k must be a positive integer, got {k}")
        if not query.strip():
            return Recollection([], 0, 0, floor)
        with self._lock:
            if self.backend.is_empty():
                return Recollection([], 0, 0, floor)
            vector = self._embed([query])[0]
            candidates = self.backend.search(vector, max(4 * k, MIN_CANDIDATES))
            if exclude_run is not None:
                candidates = [c for c in candidates if c.record.source_run != exclude_run]
            passing = [c for c in candidates if c.similarity >= floor]
            ranked = rank(passing, self.clock(), self.weights)[:k]
            found = within_tokens(ranked, max_tokens)
            if touch and found:
                self.backend.touch([m.id for m in found], self.clock())
            return Recollection(found, len(candidates), len(passing), floor)

    def search(self, query: str, k: int | None = None) -> list[Recalled]:
        """The best ``k`` memories for ``query`` at any similarity, with no token bound.

        For looking into memory (``autoplug memory search``): it ignores
        ``min_similarity`` and does not count an access.
        """
        return self.recollect(query, k, max_tokens=10**12, touch=False, floor=-1.0).memories

    # -- remember -------------------------------------------------------------

    def remember(self, items: list[NewMemory]) -> list[str]:
        """Store ``items``, consolidating near-duplicates; the ids stored or reinforced.

        Blank texts are skipped. A text longer than ``MAX_TEXT_CHARS`` is cut. An
        item whose cosine similarity to a stored memory (or an earlier item of the
        same call) of the same kind is at least ``CONSOLIDATE_AT`` reinforces it:
        importance up by ``REINFORCE_STEP``, one more access, recency refreshed.
        Ids are returned once each, in the order first met. When the store grows
        past ``[memory] capacity`` the prune policy is applied.
        """
        items = [_checked(item) for item in items if item.text.strip()]
        if not items:
            return []
        with self._lock:
            vectors = self._embed([item.text for item in items])
            now = self.clock()
            had_memories = not self.backend.is_empty()
            ids: list[str] = []
            fresh: list[MemoryRecord] = []
            fresh_vectors: list[list[float]] = []
            for item, vector in zip(items, vectors, strict=True):
                same = next(
                    (
                        i
                        for i, (rec, vec) in enumerate(zip(fresh, fresh_vectors, strict=True))
                        if rec.kind == item.kind and _dot(vec, vector) >= CONSOLIDATE_AT
                    ),
                    None,
                )
                if same is not None:
                    rec = fresh[same]
                    fresh[same] = replace(
                        rec,
                        importance=_raised(rec.importance, item.importance),
                        access_count=rec.access_count + 1,
                    )
                    ids.append(rec.id)
                    continue
                if had_memories:
                    near = self.backend.search(vector, 1, kind=item.kind)
                    if near and near[0].similarity >= CONSOLIDATE_AT:
                        old = near[0].record
                        self.backend.reinforce(
                            old.id, _raised(old.importance, item.importance), now
                        )
                        ids.append(old.id)
                        continue
                record = MemoryRecord(
                    id=new_id(),
                    text=item.text,
                    kind=item.kind,
                    source_run=item.source_run,
                    created=now,
                    importance=float(item.importance),
                    access_count=0,
                    last_access=now,
                )
                fresh.append(record)
                fresh_vectors.append(vector)
                ids.append(record.id)
            if fresh:
                self.backend.add(fresh, fresh_vectors)
            if self.backend.count() > self.settings.capacity:
                self.prune()
        return list(dict.fromkeys(ids))

    # -- maintenance ----------------------------------------------------------

    def list(self) -> list[MemoryRecord]:
        """Every memory of the current embedder's table, newest first."""
        with self._lock:
            return [] if self.backend.is_empty() else self.backend.list()

    def forget(self, memory_id: str) -> bool:
        """Delete one memory by id (from any table); False when there is none."""
        if not ID_PATTERN.match(memory_id):
            return False
        with self._lock:
            return self.backend.forget(memory_id)

    @property
    def policy(self) -> PrunePolicy:
        """The prune policy from ``[memory] capacity`` and ``max_age_days``."""
        return PrunePolicy(capacity=self.settings.capacity, max_age_days=self.settings.max_age_days)

    def prune(self) -> builtins.list[Pruned]:
        """Apply the capacity and age policy to the current table; what went."""
        with self._lock:
            if self.backend.is_empty():
                return []
            return self.backend.prune(self.policy, self.clock())

    def stats(self) -> dict[str, Any]:
        """Backend, embedder, the current table and its size, and every other table.

        Memories stored by other embedders (or dimensions) stay in their own
        tables: they are listed here, never searched with the current one.
        """
        with self._lock:
            info = self.backend.stats()
        tables = [
            {
                "table": t.table,
                "embedder": t.embedder,
                "dimension": t.dimension,
                "count": t.count,
                "current": t.table == info.table,
            }
            for t in info.tables
        ]
        current = next((t["count"] for t in tables if t["current"]), 0)
        return {
            "backend": self.backend.name,
            "embedder": self.embedder_choice,
            "dimension": self.embedder.dimension,
            "location": info.location,
            "table": info.table,
            "count": current,
            "other_count": sum(t["count"] for t in tables if not t["current"]),
            "tables": tables,
            "top_k": self.settings.top_k,
            "max_prompt_tokens": self.settings.max_prompt_tokens,
            "capacity": self.settings.capacity,
            "max_age_days": self.settings.max_age_days,
        }


def _raised(old: float, new: float) -> float:
    return min(1.0, max(old, new) + REINFORCE_STEP)


def _checked(item: NewMemory) -> NewMemory:
    if item.kind not in KINDS:
        raise UsageError(f"memory kind {item.kind!r} is not one of {', '.join(KINDS)}")
    importance = item.importance
    if isinstance(importance, bool) or not isinstance(importance, int | float):
        raise UsageError(f"memory importance must be a number in [0, 1], got {importance!r}")
    if not 0.0 <= importance <= 1.0:
        raise UsageError(f"memory importance must be in [0, 1], got {importance}")
    text = item.text.strip()
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1] + "…"
    return replace(item, text=text)
