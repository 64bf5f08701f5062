"""Scale figures: per-step cost, a run's fixed cost, a thousand concurrent runs.

Run: python benchmarks/bench_scale.py [--quick] [--peers]

- per tool step through the public ``kernel.run``, with a run folder and with
  ``persist=False``, for plans of 20 / 1,000 / 10,000 steps (a chain, each step
  reading the one before, and a fan-in, every step feeding a last one);
- the fixed cost of a run that makes no step (median), with and without a folder;
- 1,000 concurrent 3-step runs in one process under ``ulimit -n 256``: how many
  succeeded, runs/s, the peak of open files and the peak RSS;
- ``--peers``: the same concurrent runs for peer frameworks installed in
  ``/work/venvs/peers-scale`` (a line says which are missing).

Every model is the scripted model: the figures are autoplug's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PEERS_PYTHON = Path("/work/venvs/peers-scale/bin/python")


def kernel(home: Path):
    from autoplug import Kernel, hookimpl, tool

    @tool
    def echo(n: int, prev: str = "") -> str:
        """Return a short text for step ``n``.

        n: the step's number
        prev: what an earlier step returned
        """
        return f"v{n}"

    @tool
    def gather(items: list) -> int:
        """Count the items.

        items: what to count
        """
        return len(items)

    class Bench:
        @hookimpl
        def register_tools(self, register):
            register(echo)
            register(gather)

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    return Kernel(plugins=[Bench()], builtins=["autoplug_autos"], home=home)


def plan(steps: int, shape: str) -> list[dict]:
    """A plan of ``steps`` steps: a chain, or independent steps feeding one last step."""
    if shape == "chain":
        out = [{"id": "s1", "tool": "echo", "args": {"n": 1}, "output": "a1"}]
        out += [
            {
                "id": f"s{n}",
                "tool": "echo",
                "args": {"n": n, "prev": {"$asset": f"a{n - 1}"}},
                "output": f"a{n}",
            }
            for n in range(2, steps + 1)
        ]
        return out
    out = [
        {"id": f"s{n}", "tool": "echo", "args": {"n": n}, "output": f"a{n}"}
        for n in range(1, steps)
    ]
    refs = [{"$asset": f"a{n}"} for n in range(1, steps)]
    out.append({"id": "last", "tool": "gather", "args": {"items": refs}, "output": "all"})
    return out


def script(steps: list[dict] | None):
    from autoplug.scripted import ScriptedModel, call

    if not steps:
        return ScriptedModel([call("final", answer="done")])
    return ScriptedModel(
        [
            call("act", subtask="do the steps", assets=[]),
            call("submit_plan", steps=steps),
            call("final", answer="done"),
        ]
    )


def per_step(k, steps: int, shape: str, persist: bool) -> float:
    """Microseconds per step of one run of ``steps`` steps, less a no-step run's cost."""
    the_plan = plan(steps, shape)
    base = min(_timed(k, None, persist) for _ in range(3))
    runs = 3 if steps <= 1000 else 1
    total = min(_timed(k, the_plan, persist) for _ in range(runs))
    return (total - base) / steps * 1e6


def can_skip_folder() -> bool:
    """Whether this autoplug has ``persist=False`` (an older one, measured for "before", not)."""
    import inspect

    from autoplug import Kernel

    return "persist" in inspect.signature(Kernel.run).parameters


def _timed(k, steps, persist: bool) -> float:
    options = {} if persist else {"persist": False}
    start = time.perf_counter()
    result = k.run("bench", model=script(steps), **options)
    elapsed = time.perf_counter() - start
    assert result.status == "succeeded", result.reason
    return elapsed


def fixed_cost(k, persist: bool, runs: int) -> float:
    """Median milliseconds of a run that answers at once."""
    for _ in range(5):
        _timed(k, None, persist)
    return statistics.median(_timed(k, None, persist) for _ in range(runs)) * 1000


def persistence(steps: int) -> float:
    """Microseconds of the disk work of one step: its asset, six events, its record."""
    from autoplug.assets import AssetStore
    from autoplug.events import Event
    from autoplug.runs import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = RunStore.create(home, task="t", model="m", auto="runner", workspace=home)
        assets = AssetStore(store.assets_dir)
        start = time.perf_counter()
        for n in range(steps):
            assets.put(f"a{n}", f"value {n}", step=f"s{n}", tool="echo")
            for kind in ("step_started", "tool_call", "tool_result", "asset_stored"):
                store.append_event(Event(kind, store.run_id, 6 * n, data={"step": f"s{n}"}))
            store.checkpoint.save_step(1, f"s{n}", {"status": "succeeded", "asset": f"a{n}"})
            store.append_event(Event("step_finished", store.run_id, 6 * n + 5, data={}))
        elapsed = time.perf_counter() - start
        store.close()
    return elapsed / steps * 1e6


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def concurrent(home: Path, count: int, persist: bool) -> dict:
    """``count`` concurrent 3-step runs in this process (run under a lowered ulimit)."""
    import resource

    k = kernel(home)
    peak = [open_files()]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], open_files())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    steps = plan(3, "chain")

    async def all_runs() -> list:
        return await asyncio.gather(
            *(
                k.arun(f"task {i}", model=script(steps), **({} if persist else {"persist": False}))
                for i in range(count)
            ),
            return_exceptions=True,
        )

    start = time.perf_counter()
    results = asyncio.run(all_runs())
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    ok = sum(1 for r in results if not isinstance(r, BaseException) and r.status == "succeeded")
    errors = sorted({str(r)[:160] for r in results if isinstance(r, BaseException)})
    return {
        "succeeded": ok,
        "runs_per_s": count / wall,
        "peak_open_files": peak[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "errors": errors[:3],
    }


def under_ulimit(limit: int, count: int, persist: bool) -> dict:
    """:func:`concurrent` in a fresh process whose open-files limit is ``limit``."""
    home = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    code = (
        "import json, resource, sys; sys.path.insert(0, sys.argv[1]);"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}));"
        "import bench_scale as b; from pathlib import Path;"
        "print(json.dumps(b.concurrent(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1')))"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(Path(__file__).parent),
            str(home),
            str(count),
            "1" if persist else "0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"succeeded": 0, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def peers(count: int) -> None:
    print("\n== peers: concurrent 3-tool-step runs (their own scripted models) ==")
    if not PEERS_PYTHON.exists():
        print(f"skipped: no peer venv at {PEERS_PYTHON.parent.parent}")
        return
    for name in ("agno", "langgraph", "pydantic_ai"):
        found = subprocess.run(
            [str(PEERS_PYTHON), "-c", f"import {name}"], capture_output=True, check=False
        )
        if found.returncode != 0:
            print(f"{name:12} skipped: not installed in {PEERS_PYTHON.parent.parent}")
            continue
        print(f"{name:12} installed; its driver is not written yet (see docs/performance.md)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller plans and fewer runs")
    parser.add_argument("--peers", action="store_true", help="also measure peer frameworks")
    parser.add_argument("--concurrent", type=int, default=1000, help="concurrent runs")
    args = parser.parse_args()
    sizes = (20, 1000) if args.quick else (20, 1000, 10000)
    with tempfile.TemporaryDirectory() as tmp:
        k = kernel(Path(tmp) / "home")
        print("== run fixed cost (a run that answers at once; median) ==")
        runs = 50 if args.quick else 200
        print(f"with a run folder   {fixed_cost(k, True, runs):7.2f} ms")
        skip = can_skip_folder()
        if skip:
            print(f"persist=False       {fixed_cost(k, False, runs):7.2f} ms")
        print("\n== the disk work of one step (asset, 5 events, record), µs per step ==")
        for steps in (20, 1000) if args.quick else (20, 1000, 5000):
            print(f"{steps:>6} steps   {persistence(steps):7.0f}")
        print("\n== per tool step, public kernel.run (µs per step) ==")
        print(f"{'steps':>6} {'shape':>6} {'folder':>9} {'persist=False':>14}")
        for steps in sizes:
            for shape in ("chain", "fanin"):
                with_folder = per_step(k, steps, shape, True)
                without = f"{per_step(k, steps, shape, False):14.0f}" if skip else f"{'n/a':>14}"
                print(f"{steps:>6} {shape:>6} {with_folder:9.0f} {without}")
    print(f"\n== {args.concurrent} concurrent 3-step runs, one process, ulimit -n 256 ==")
    for persist in (True, False) if can_skip_folder() else (True,):
        found = under_ulimit(256, args.concurrent, persist)
        label = "with folders " if persist else "persist=False"
        if "runs_per_s" not in found:
            print(f"{label}  failed: {found.get('error')}")
            continue
        print(
            f"{label}  succeeded {found['succeeded']}/{args.concurrent}  "
            f"{found['runs_per_s']:6.0f} runs/s  peak open files {found['peak_open_files']}  "
            f"peak RSS {found['peak_rss_mb']:.0f} MB"
            + (f"  errors: {found['errors']}" if found["errors"] else "")
        )
    if args.peers:
        peers(args.concurrent)


if __name__ == "__main__":
    main()
