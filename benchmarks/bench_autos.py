"""Auto figures: the fixed cost of a run, the cost of a dynamic-agent turn, an idle Auto's memory.

Run: python benchmarks/bench_autos.py

Every model is the scripted model and memory is off, so the figures are the
framework's own: the run folder (SQLite state in WAL mode, the JSONL trace), the
events, the prompts and the saved turns.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from autoplug import Kernel
from autoplug.scripted import ScriptedModel, call


def kernel() -> Kernel:
    home = Path(tempfile.mkdtemp(prefix="bench-autos-"))
    (home / "config.toml").write_text(
        '[memory]\nbackend = "none"\n[limits]\nloop_repeats = 0\niterations = 100\n'
    )
    return Kernel(builtins=["autoplug_autos", "autoplug_files"], home=home)


def one_run(k: Kernel, turns: int) -> float:
    """Seconds for a run of ``turns`` brainstorm turns and a final."""
    replies = [call("brainstorm", thoughts=f"thought {i}") for i in range(turns)]
    model = ScriptedModel([*replies, call("final", answer="done")])
    started = time.perf_counter()
    run = k.run("benchmark task", model=model)
    elapsed = time.perf_counter() - started
    assert run.status == "succeeded", run.reason
    return elapsed


def run_costs() -> None:
    print("== a run with the scripted model (median of 20) ==")
    k = kernel()
    one_run(k, 1)  # warm imports
    base = statistics.median(one_run(k, 0) for _ in range(20))
    long = statistics.median(one_run(k, 50) for _ in range(20))
    print(f"run with one final turn (folder, state, trace, events): {base * 1000:.1f} ms")
    print(f"run with 50 brainstorm turns + final:                    {long * 1000:.1f} ms")
    print(
        f"per dynamic-agent turn (saved, traced, 2 events):        {(long - base) / 50 * 1000:.2f} ms"
    )


def idle_memory() -> None:
    print("\n== memory held per idle Assistant after one turn (100 of them) ==")
    k = kernel()
    cls = k.autos.get("assistant")

    async def make(n: int) -> list:
        chats = []
        for _ in range(n):
            chat = cls(k, model=ScriptedModel([call("final", answer="hi")]))
            await chat.asend("hello")
            chats.append(chat)
        return chats

    asyncio.run(make(2))  # warm
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    chats = asyncio.run(make(100))
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"per idle Assistant: {held / len(chats) / 1024:.1f} KiB (Python objects, tracemalloc)")
    for chat in chats:
        asyncio.run(chat.aclose())


if __name__ == "__main__":
    run_costs()
    idle_memory()
