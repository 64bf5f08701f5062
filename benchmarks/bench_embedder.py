"""The minilm embedder: import and load cost, throughput, and what a run waits for.

Each figure that depends on a cold process is measured in a fresh interpreter
(``python -c``), several times; the first of them may also pay for a cold disk
cache. Throughput is measured on 1,000 synthetic sentences of 8 to 30 words,
batch size 32, on the CPU. Finally the cost of the first recall in a fresh
process: on an empty store (loads nothing) and on a store with memories (pays
the import and the load).

Run: ``python benchmarks/bench_embedder.py [--sentences 1000] [--repeat 3]``.
Figures go to docs/performance.md ("Memory"); nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

IMPORT = """
import time, os
os.environ["HF_HUB_OFFLINE"] = "1"
t = time.perf_counter()
import sentence_transformers
t1 = time.perf_counter()
from autoplug_builtins.memory.minilm import load_model
model = load_model()
t2 = time.perf_counter()
model.encode(["warm up"], show_progress_bar=False)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t, "load": t2 - t1, "first_encode": t3 - t2}))
"""

FIRST_RECALL = """
import time, sys, json
t0 = time.perf_counter()
from autoplug import Kernel
from autoplug.memory import open_memory
memory = open_memory(Kernel.load())
t1 = time.perf_counter()
found = memory.recall("how do I deploy the service?")
t2 = time.perf_counter()
print(json.dumps({"open": t1 - t0, "recall": t2 - t1, "found": len(found),
                  "torch_loaded": "torch" in sys.modules, "lancedb_loaded": "lancedb" in sys.modules}))
"""

WORDS = (
    "deploy service database backup test build release user config error log network cache "
    "memory model agent task plan step tool file report answer question search page server "
    "request timeout retry budget token cost index table vector query result"
).split()


def fresh(code: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a new interpreter; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def sentences(n: int) -> list[str]:
    rng = random.Random(3)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))) + "." for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t = time.perf_counter()
    import autoplug_builtins.memory  # noqa: F401

    print(f"import autoplug_builtins.memory: {(time.perf_counter() - t) * 1000:.1f} ms")

    runs = [fresh(IMPORT) for _ in range(args.repeat)]
    for key in ("import", "load", "first_encode"):
        values = [r[key] for r in runs]
        print(
            f"fresh process, {key:<13}: first {values[0]:.2f} s, "
            f"median {statistics.median(values):.2f} s over {len(values)}"
        )

    from autoplug_builtins.memory.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.load()
    texts = sentences(args.sentences)
    embedder.embed(texts[:64])
    t = time.perf_counter()
    embedder.embed(texts)
    elapsed = time.perf_counter() - t
    print(f"throughput, batch 32: {len(texts) / elapsed:,.0f} sentences/s ({elapsed:.1f} s)")
    singles = []
    for text in texts[:50]:
        t = time.perf_counter()
        embedder.embed([text])
        singles.append(time.perf_counter() - t)
    print(f"one query sentence: p50 {statistics.median(singles) * 1000:.1f} ms")

    with tempfile.TemporaryDirectory() as home:
        env = {"AUTOPLUG_HOME": home}
        empty = fresh(FIRST_RECALL, env)
        print(
            f"first recall, empty store: open {empty['open'] * 1000:.0f} ms, recall "
            f"{empty['recall'] * 1000:.1f} ms (torch loaded: {empty['torch_loaded']}, "
            f"lancedb loaded: {empty['lancedb_loaded']})"
        )
        fresh(
            "from autoplug import Kernel\nfrom autoplug.memory import open_memory, NewMemory\n"
            "open_memory(Kernel.load()).remember([NewMemory('deploy with make release', 'fact')])\n"
            "print('{}')",
            env,
        )
        full = fresh(FIRST_RECALL, env)
        print(
            f"first recall, non-empty store: open {full['open'] * 1000:.0f} ms, recall "
            f"{full['recall']:.2f} s (found {full['found']})"
        )


if __name__ == "__main__":
    main()
