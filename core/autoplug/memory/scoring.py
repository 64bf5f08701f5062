"""Scoring memories: the Generative Agents blend of similarity, importance and recency.

``score = 0.6 * similarity + 0.2 * importance + 0.2 * recency``, each part in [0, 1]:

- similarity: the cosine similarity of the query and the memory, negatives as 0;
- importance: given when stored (0..1), raised each time a near-duplicate reinforces it;
- recency: ``0.5 ** (days since last access / half_life_days)``, half-life 30 days
  by default; a recall or a reinforcement counts as an access.

Generative Agents (Park et al., 2023) weights the three equally after min-max
normalising each over the candidates; we keep absolute parts (so a score means the
same thing from one query to the next) and give similarity the larger weight, so
that a relevant old memory outranks an irrelevant recent one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import Candidate, MemoryRecord, Pruned, PrunePolicy, Recalled

DAY = 86_400.0


@dataclass(frozen=True)
class Weights:
    """The blend's weights and the recency half-life, in days."""

    similarity: float = 0.6
    importance: float = 0.2
    recency: float = 0.2
    half_life_days: float = 30.0


DEFAULT_WEIGHTS = Weights()


def recency(last_access: float, now: float, half_life_days: float) -> float:
    """Exponential decay from 1 (just used) halving every ``half_life_days``."""
    age_days = max(0.0, now - last_access) / DAY
    return 0.5 ** (age_days / half_life_days)


def blend(similarity: float, importance: float, recent: float, weights: Weights) -> float:
    """The weighted score of the three parts (similarity below 0 counts as 0)."""
    return (
        weights.similarity * max(0.0, similarity)
        + weights.importance * importance
        + weights.recency * recent
    )


def rank(
    candidates: list[Candidate], now: float, weights: Weights = DEFAULT_WEIGHTS
) -> list[Recalled]:
    """Candidates scored by the blend, best first (ties: the newer first)."""
    scored = []
    for cand in candidates:
        rec = cand.record
        recent = recency(rec.last_access, now, weights.half_life_days)
        score = blend(cand.similarity, rec.importance, recent, weights)
        scored.append(
            Recalled(
                id=rec.id,
                text=rec.text,
                kind=rec.kind,
                score=round(score, 6),
                similarity=round(cand.similarity, 6),
                importance=round(rec.importance, 6),
                recency=round(recent, 6),
                created=rec.created,
                source_run=rec.source_run,
            )
        )
    scored.sort(key=lambda r: (-r.score, -r.created))
    return scored


def estimate_tokens(text: str) -> int:
    """A rough token count: four characters a token."""
    return len(text) // 4


def within_tokens(recalled: list[Recalled], max_tokens: int) -> list[Recalled]:
    """The ranked memories that fit in ``max_tokens`` together, in rank order.

    A memory too long for what is left is skipped, so one long memory does not
    shut out the shorter ones after it.
    """
    kept, used = [], 0
    for memory in recalled:
        cost = estimate_tokens(memory.text)
        if used + cost <= max_tokens:
            kept.append(memory)
            used += cost
    return kept


def retention(record: MemoryRecord, now: float, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """How worth keeping a memory is without a query: importance and recency, blended."""
    total = weights.importance + weights.recency
    recent = recency(record.last_access, now, weights.half_life_days)
    return (weights.importance * record.importance + weights.recency * recent) / total


def select_pruned(
    records: list[MemoryRecord],
    policy: PrunePolicy,
    now: float,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[Pruned]:
    """What ``policy`` removes from ``records``: first by age, then by capacity.

    Age: unused for more than ``max_age_days`` and importance below
    ``keep_importance``. Capacity: of the rest, all but the ``capacity`` best by
    :func:`retention` (ties: the newer stays).
    """
    cutoff = now - policy.max_age_days * DAY
    pruned: list[Pruned] = []
    kept: list[MemoryRecord] = []
    for rec in records:
        if rec.last_access < cutoff and rec.importance < policy.keep_importance:
            pruned.append(Pruned(rec, "age"))
        else:
            kept.append(rec)
    if len(kept) > policy.capacity:
        kept.sort(key=lambda r: (retention(r, now, weights), r.created), reverse=True)
        pruned += [Pruned(rec, "capacity") for rec in kept[policy.capacity :]]
    return pruned
