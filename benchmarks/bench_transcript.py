"""What recording the transcript costs: storage (parts stored once) and time per model call.

A scripted run of 24 brainstorm turns and a final answer (the dynamic agent resends
its whole history every turn), then an 8-act run (the planner's prompt recurs).
Prints the bytes a per-call copy of every message would take against what the
content-addressed ``prompt_parts`` table holds, the time one call's record takes,
and the time ``transcript()`` takes to read the run back.

    python benchmarks/bench_transcript.py
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from autoplug import Kernel
from autoplug.llm import canonical_json
from autoplug.runs import RunStore, transcript
from autoplug.runs.exchanges import ExchangeLog
from autoplug.scripted import ScriptedModel, call


def measure(home: Path, label: str, replies: list) -> None:
    kernel = Kernel(builtins=["autoplug_autos", "autoplug_files"], home=home)
    timings: list[float] = []
    original = ExchangeLog.save

    def timed(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        original(self, *args, **kwargs)
        timings.append(time.perf_counter() - started)

    ExchangeLog.save = timed  # type: ignore[method-assign]
    try:
        result = kernel.run("count to many", model=ScriptedModel(replies), workspace=home)
    finally:
        ExchangeLog.save = original  # type: ignore[method-assign]
    state = home / "runs" / str(result.run_id) / "state.sqlite"
    conn = sqlite3.connect(state)
    stored = sum(len(p.encode()) for (p,) in conn.execute("SELECT part FROM prompt_parts"))
    calls = [json.loads(r[0]) for r in conn.execute("SELECT parts FROM model_calls")]
    conn.close()
    with RunStore.open(home, str(result.run_id)) as store:
        messages = store.exchanges.messages()
    # What a copy of every message of every call would take.
    naive = sum(len(canonical_json(messages[i]).encode()) for c in calls for i in c)
    with RunStore.open(home, str(result.run_id)) as store:
        started = time.perf_counter()
        entries = transcript(store)
        read_ms = (time.perf_counter() - started) * 1000
    print(
        f"{label}: {len(calls)} calls, {len(entries)} entries; messages sent {naive:,} B, "
        f"stored {stored:,} B ({naive / stored:.1f}x less); record per call median "
        f"{statistics.median(timings) * 1e6:.0f} µs (max {max(timings) * 1e6:.0f}); "
        f"transcript() {read_ms:.1f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        turns = [call("brainstorm", thoughts=f"thought {i} " * 40) for i in range(24)]
        measure(Path(tmp) / "a", "25 turns", [*turns, call("final", answer="done")])
    with tempfile.TemporaryDirectory() as tmp:
        replies = []
        for i in range(8):
            replies.append(call("act", subtask=f"list the folder, pass {i}", assets=[]))
            step = {"id": "s1", "tool": "list_files", "args": {}, "output": f"listing{i}"}
            replies.append(call("submit_plan", steps=[step]))
        replies.append(call("final", answer="done"))
        measure(Path(tmp) / "b", "8 acts", replies)


if __name__ == "__main__":
    main()
