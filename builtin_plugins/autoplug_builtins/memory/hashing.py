"""The ``hashing`` embedder: feature hashing of words and word pairs, no model.

Each distinct lower-cased word adds 1 and each distinct pair of neighbouring
words adds 0.5 to one of ``dimension`` buckets, with a sign, both taken from a
BLAKE2b hash of the feature (stable across processes, unlike ``hash()``); the vector is then
normalised to unit length. Texts that share words are similar; synonyms are not.
"""

from __future__ import annotations

import hashlib
import math
import re

WORD = re.compile(r"\w+")


def hash_vector(text: str, dimension: int) -> list[float]:
    """The unit hashing vector of ``text`` (a fixed unit vector for a text with no words)."""
    words = WORD.findall(text.lower())
    # Each distinct feature counts once, so a repeated stop word does not dominate.
    features = {w: 1.0 for w in words}
    features.update({f"{a} {b}": 0.5 for a, b in zip(words, words[1:], strict=False)})
    if not features:
        features = {"\x00empty": 1.0}
    vector = [0.0] * dimension
    for feature, weight in features.items():
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        sign = 1.0 if value >> 63 else -1.0
        vector[value % dimension] += sign * weight
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class HashingEmbedder:
    """Deterministic, model-free embedder for tests and minimal installs (384 dimensions)."""

    name = "hashing"
    min_similarity = 0.3
    """Recall's cosine floor: unrelated texts share stop words, so they sit at 0.1-0.3
    (benchmarks/bench_memory_quality.py; docs/performance.md)."""

    def __init__(self, dimension: int = 384) -> None:
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """The length of every vector."""
        return self._dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""
        return [hash_vector(text, self._dimension) for text in texts]
