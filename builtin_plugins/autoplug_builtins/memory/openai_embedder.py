"""The ``openai`` embedder: any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

Configured in ``[memory]``:

- ``embedder_base_url``: default ``$OPENAI_BASE_URL``, else ``https://api.openai.com/v1``;
- ``embedder_model``: default ``text-embedding-3-small``;
- ``embedder_api_key_env``: the variable holding the key, default ``OPENAI_API_KEY``
  (no key set: no ``Authorization`` header, as local servers expect);
- ``embedder_dimension``: the vectors' length; when unset, one probe request finds it;
- ``embedder_batch_size``: texts per request, default 64; ``embedder_timeout_s``: default 30.

The embedder's name is ``openai-MODEL``, so each model gets its own table.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from autoplug import ConfigError, ModelError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "text-embedding-3-small"
#: Retries of one request (429, 5xx, a dropped connection), and the longest
#: ``Retry-After`` waited for.
MAX_RETRIES = 3
MAX_RETRY_WAIT_S = 30.0


class OpenAIEmbedder:
    """Embeds texts by calling an OpenAI-compatible embeddings endpoint over httpx.

    Failed requests are retried as the chat models' are (``retries`` counts them).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        dimension: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
        max_retries: int = MAX_RETRIES,
        backoff_s: float = 0.5,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.retries = 0
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai-{model}"
        self.api_key = api_key
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self._dimension = dimension

    @classmethod
    def from_config(cls, config: Any) -> OpenAIEmbedder:
        """Build from ``[memory] embedder_*`` keys; ConfigError naming a bad one."""
        values = config.memory
        where = f"in config file {config.path}"

        def text(key: str, default: str) -> str:
            value = values.get(key, default)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"[memory] {key} must be a non-empty string ({where})")
            return value

        def positive(key: str, default: Any) -> Any:
            # Its type and range are the config's rules (MEMORY_KEYS), checked at load.
            return values.get(key, default)

        key_env = text("embedder_api_key_env", "OPENAI_API_KEY")
        dimension = positive("embedder_dimension", None)
        return cls(
            base_url=text(
                "embedder_base_url", os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
            ),
            model=text("embedder_model", DEFAULT_MODEL),
            api_key=os.environ.get(key_env) or None,
            dimension=int(dimension) if dimension else None,
            batch_size=int(positive("embedder_batch_size", 64)),
            timeout_s=float(positive("embedder_timeout_s", 30.0)),
        )

    @property
    def dimension(self) -> int:
        """The vectors' length: configured, else found by embedding one probe text."""
        if self._dimension is None:
            self._dimension = len(self._request(["dimension probe"])[0])
        return self._dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, ``batch_size`` texts per request."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors += self._request(texts[start : start + self.batch_size])
        return vectors

    def _request(self, batch: list[str]) -> list[list[float]]:
        import httpx

        from ..models.retry import backoff, classify, is_loopback, server_message

        url = f"{self.base_url}/embeddings"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        attempt = 0
        while True:
            # The chat models' retry policy (models/retry.py): only what can pass later.
            wait: float | None = None
            try:
                response = httpx.post(
                    url,
                    json={"model": self.model, "input": batch},
                    headers=headers,
                    timeout=self.timeout_s,
                )
            except httpx.HTTPError as exc:
                refused = isinstance(exc, httpx.ConnectError) and is_loopback(url)
                error = ModelError(
                    f"embeddings request to {url} failed: {exc}"
                    + ("; is the server running?" if refused else ""),
                    retryable=not refused,
                )
                if refused or attempt >= self.max_retries:
                    raise error from None
            else:
                if response.status_code == 200:
                    break
                verdict = classify(response.status_code, response.headers, response.text)
                error = ModelError(
                    f"embeddings endpoint {url} answered HTTP {response.status_code}: "
                    f"{server_message(response.text)}",
                    retryable=verdict.retry,
                )
                if not verdict.retry or attempt >= self.max_retries:
                    raise error
                wait = verdict.wait
                if wait is not None and wait > MAX_RETRY_WAIT_S:
                    raise error
            self.retries += 1
            time.sleep(wait if wait is not None else backoff(attempt, self.backoff_s, 8.0))
            attempt += 1
        try:
            data = sorted(response.json()["data"], key=lambda d: d.get("index", 0))
            vectors = [[float(x) for x in item["embedding"]] for item in data]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ModelError(
                f"embeddings endpoint {url} sent a malformed answer "
                "(expected {'data': [{'embedding': [...], 'index': i}]})"
            ) from None
        if len(vectors) != len(batch):
            raise ModelError(
                f"embeddings endpoint {url} returned {len(vectors)} vectors for {len(batch)} texts"
            )
        return [_unit(v) for v in vectors]


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
