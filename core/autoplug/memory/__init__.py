"""Long-term memory: the backend and embedder protocols, scoring, and the store the Autos use.

``open_memory(kernel)`` gives the kernel's :class:`LongTermMemory`, or None when
memory is off or no backend plugin is loaded, so the Autos work without it.
Opening is cheap: no backend library and no model is imported until a memory is
stored or a non-empty store is searched.

On first use with no ``[memory] embedder`` set, the embedder is chosen —
``minilm`` when its packages are installed, else ``hashing`` — and kept in the
home's state folder (:mod:`autoplug.memory.choice`); the config file is never
edited, and a ``[memory] embedder`` set there always wins.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from ..errors import UsageError
from .choice import DEFAULT_EMBEDDERS, chosen_embedder, configured_embedder
from .guard import GuardedBackend, MemoryStoreError
from .records import (
    DEFAULT_MIN_SIMILARITY,
    KINDS,
    BackendStats,
    Candidate,
    Embedder,
    EmbedderFactory,
    MemoryBackend,
    MemoryBackendFactory,
    MemoryRecord,
    NewMemory,
    Pruned,
    PrunePolicy,
    Recalled,
    Recollection,
    TableInfo,
    safe_name,
    split_table_name,
    table_name,
)
from .scoring import DEFAULT_WEIGHTS, Weights, blend, rank, recency, select_pruned
from .settings import MemorySettings
from .store import CONSOLIDATE_AT, REINFORCE_STEP, LongTermMemory

# One LongTermMemory per kernel, so a run's recall and remember share a loaded model
# (and the in-process backend its contents); dropped with the kernel.
_OPENED: weakref.WeakKeyDictionary[Any, LongTermMemory] = weakref.WeakKeyDictionary()
_OPENING = threading.Lock()


def open_memory(kernel: Any) -> LongTermMemory | None:
    """The kernel's long-term memory, or None when it is off or no backend is loaded.

    None when ``[memory] backend`` is ``"none"``/``"off"``, names a backend no
    loaded plugin registers (e.g. ``autoplug_memory`` disabled), or no embedder is
    registered. Raises :class:`autoplug.ConfigError` for an invalid ``[memory]``
    value and :class:`autoplug.UsageError` for an unknown or unusable embedder.
    """
    settings = check_memory_config(kernel)
    if not settings.enabled or settings.backend not in kernel.memory_backends:
        return None
    if configured_embedder(kernel) is None and not kernel.embedders.names():
        return None
    return load_memory(kernel)


def memory_wanted(kernel: Any) -> bool:
    """Whether :func:`open_memory` would open a store (cheap: nothing is loaded).

    A bad ``[memory]`` setting counts as wanted, so that opening reports it.
    """
    try:
        settings = check_memory_config(kernel)
    except Exception:
        return True
    if not settings.enabled or settings.backend not in kernel.memory_backends:
        return False
    return configured_embedder(kernel) is not None or bool(kernel.embedders.names())


def memory_if_open(kernel: Any) -> LongTermMemory | None:
    """The kernel's memory when it is already open (no thread needed to get it), else None.

    Not under the opening lock: a loop must not wait while another thread opens it.
    """
    return _OPENED.get(kernel)


def check_memory_config(kernel: Any) -> MemorySettings:
    """The checked ``[memory]`` settings; cheap (imports nothing heavy).

    Raises :class:`autoplug.ConfigError` for an invalid value, and
    :class:`autoplug.UsageError` when ``[memory] backend`` names a backend that no
    loaded plugin registers while others do (a typo). A backend missing because no
    memory plugin is loaded at all means memory is off, not an error.
    """
    settings = MemorySettings.from_config(kernel.config)
    explicit = "backend" in kernel.config.section("memory")
    known = kernel.memory_backends.names()
    if settings.enabled and explicit and known and settings.backend not in known:
        raise UsageError(
            f"unknown memory backend {settings.backend!r} ([memory] backend in "
            f"{kernel.config.path}); known: {', '.join(known)}"
        )
    return settings


def load_memory(kernel: Any) -> LongTermMemory:
    """Like :func:`open_memory`, but raise a :class:`UsageError` saying why when unavailable."""
    with _OPENING:
        cached = _OPENED.get(kernel)
        if cached is not None:
            return cached
        config = kernel.config
        settings = MemorySettings.from_config(config)
        if not settings.enabled:
            raise UsageError(
                f"long-term memory is off ([memory] backend = {settings.backend!r} "
                f"in {config.path})"
            )
        if settings.backend not in kernel.memory_backends:
            known = (
                ", ".join(kernel.memory_backends.names()) or "none (is autoplug_memory disabled?)"
            )
            raise UsageError(
                f"unknown memory backend {settings.backend!r} ([memory] backend in "
                f"{config.path}); known: {known}"
            )
        choice = chosen_embedder(kernel)
        if choice not in kernel.embedders:
            known = ", ".join(kernel.embedders.names()) or "none"
            where = (
                f"[memory] embedder in {config.path}"
                if settings.embedder is not None
                else f"chosen on first use, kept in {config.home / 'state' / 'memory.json'}; "
                f"set [memory] embedder in {config.path} to change it"
            )
            raise UsageError(f"unknown embedder {choice!r} ({where}); known: {known}")
        embedder = kernel.embedders.get(choice).create(config)
        backend = GuardedBackend(
            kernel.memory_backends.get(settings.backend).create(config, embedder)
        )
        memory = LongTermMemory(backend, embedder, settings, embedder_choice=choice)
        _OPENED[kernel] = memory
        return memory


def format_memories(recalled: list[Recalled]) -> str:
    """Memories as prompt text, one line each."""
    return "\n".join(f"- ({m.kind}) {m.text}" for m in recalled)


__all__ = [
    "CONSOLIDATE_AT",
    "DEFAULT_EMBEDDERS",
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_WEIGHTS",
    "KINDS",
    "REINFORCE_STEP",
    "BackendStats",
    "Candidate",
    "Embedder",
    "EmbedderFactory",
    "LongTermMemory",
    "MemoryBackend",
    "MemoryBackendFactory",
    "MemoryRecord",
    "MemoryStoreError",
    "GuardedBackend",
    "MemorySettings",
    "NewMemory",
    "Pruned",
    "PrunePolicy",
    "Recalled",
    "Recollection",
    "TableInfo",
    "check_memory_config",
    "Weights",
    "blend",
    "chosen_embedder",
    "format_memories",
    "load_memory",
    "open_memory",
    "rank",
    "recency",
    "safe_name",
    "select_pruned",
    "split_table_name",
    "table_name",
]
