"""Long-term memory: the backend and embedder protocols, scoring, and the store the Autos use.

(Interface stub; the memory issue fills it in.) ``open_memory(kernel)`` returns
None when no memory backend is available, so the Autos work without memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def open_memory(kernel: Any) -> Any:
    """The kernel's long-term memory (``recall``/``remember``), or None when none is configured."""
    return None


def format_memories(recalled: list[Recalled]) -> str:
    """Memories as prompt text, one line each."""
    return "\n".join(f"- ({m.kind}) {m.text}" for m in recalled)
