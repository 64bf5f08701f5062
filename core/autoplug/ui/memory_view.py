"""Memory search for the memory page, writing nothing.

``autoplug memory search`` opens memory through :func:`autoplug.memory.load_memory`,
which on first use chooses the embedder and records the choice. The viewer must
change no config or state, so it builds the same :class:`LongTermMemory` from the
configured embedder, or, when none is configured, from the one that choice would
make (the same rule, without recording it), and searches without counting an
access. An empty store loads neither the backend's library nor the embedder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import AutoplugError
from ..memory import DEFAULT_EMBEDDERS, LongTermMemory, MemorySettings, check_memory_config

#: The most memories one search shows.
MAX_K = 100


@dataclass(frozen=True)
class MemoryAnswer:
    """What a search found (best first), or ``note`` saying why there is nothing to search."""

    query: str
    k: int
    results: tuple[dict[str, Any], ...]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``/memory.json``."""
        return {"query": self.query, "k": self.k, "results": list(self.results), "note": self.note}


def _embedder_name(kernel: Any, settings: MemorySettings) -> str | None:
    if settings.embedder is not None:
        return settings.embedder
    names = kernel.embedders.names()
    for name in (*DEFAULT_EMBEDDERS, *names):
        if name in names:
            check = getattr(kernel.embedders.get(name), "available", None)
            if not callable(check) or check():
                return name
    return None


def open_read_only(kernel: Any) -> tuple[LongTermMemory | None, str | None]:
    """The kernel's long-term memory built without recording anything, or None and why."""
    settings = check_memory_config(kernel)
    if not settings.enabled:
        return None, f"long-term memory is off ([memory] backend = {settings.backend!r})"
    if settings.backend not in kernel.memory_backends:
        return None, f"no memory backend {settings.backend!r} is loaded"
    name = _embedder_name(kernel, settings)
    if name is None or name not in kernel.embedders:
        return None, "no embedder is registered"
    embedder = kernel.embedders.get(name).create(kernel.config)
    backend = kernel.memory_backends.get(settings.backend).create(kernel.config, embedder)
    return LongTermMemory(backend, embedder, settings, embedder_choice=name), None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def search_memory(kernel: Any, query: str, k: int = 10) -> MemoryAnswer:
    """The memories best matching ``query``, best first, with the parts of their score.

    Raises ValueError naming ``k`` when it is out of range; a memory that cannot
    be opened or searched gives an answer whose ``note`` holds the error.
    """
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
    if not query.strip():
        return MemoryAnswer(query, k, ())
    try:
        memory, why = open_read_only(kernel)
        if memory is None:
            return MemoryAnswer(query, k, (), note=why)
        found = memory.search(query, k)
    except AutoplugError as exc:
        return MemoryAnswer(query, k, (), note=str(exc))
    results = tuple({**m.to_dict(), "created": _iso(m.created)} for m in found)
    return MemoryAnswer(query, k, results)
