"""Batch runs on the local engine: throughput, waiting tools, a slow sync tool's effect.

Prints, for scripted runs (no network, no LLM):

1. tasks/s for 1,000 tasks (one act with one tool step, then final);
2. wall time of 100 tasks whose tool waits 200 ms, at concurrency 10, 50 and 100,
   with a sync tool (``time.sleep``: the kernel runs it in a thread) and an
   async one (``asyncio.sleep``);
3. whether a slow sync tool stalls the others: 100 quick tasks alongside one
   task whose sync tool sleeps 3 s (it releases the GIL) and alongside one whose
   sync tool computes for 3 s (it holds the GIL);
4. the most file descriptors open during a batch, against the concurrency;
5. the alternative not taken, worker processes (``run_one`` in a process pool,
   one task at a time per process): the same waiting and slow-tool cases;
6. with the extra ``ray`` (``--only ray``; last, when Ray is installed), the same batches on a local Ray started for
   it (:func:`ray_figures`): 1,000 scripted tasks, Ray against the local engine
   (Ray's per-task cost), and 100 tasks whose tool waits 200 ms. The workers
   load their kernel from a home, so the waiting tool is a real plugin here
   (an entry point on ``PYTHONPATH``, as a cluster would ship it).

    python benchmarks/bench_batch.py            # everything (about a minute)
    python benchmarks/bench_batch.py --quick    # 200 tasks instead of 1,000
    python benchmarks/bench_batch.py --only ray # only the Ray figures

Figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from autoplug import Kernel, hookimpl, tool
from autoplug.batch.local import open_files_now


@tool
def nap_sync(ms: int) -> str:
    """Wait ``ms`` milliseconds in a sync tool (a thread of its own).

    ms: how long to wait
    """
    time.sleep(ms / 1000)
    return "rested"


@tool
async def nap_async(ms: int) -> str:
    """Wait ``ms`` milliseconds in an async tool.

    ms: how long to wait
    """
    await asyncio.sleep(ms / 1000)
    return "rested"


@tool
def crunch(ms: int) -> int:
    """Compute for ``ms`` milliseconds, holding the GIL.

    ms: how long to compute
    """
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


class BenchTools:
    """The benchmark's tools as a plugin object."""

    name = "bench_batch_tools"

    @hookimpl
    def register_tools(self, register):
        for t in (nap_sync, nap_async, crunch):
            register(t)


def script(folder: Path, tool_name: str, ms: int) -> str:
    """A scripted model id: act, a one-step plan calling ``tool_name(ms)``, final."""
    step = {"id": "s1", "tool": tool_name, "args": {"ms": ms}, "output": "r"}
    replies = [
        {"call": "act", "arguments": {"subtask": "wait", "assets": []}},
        {"call": "submit_plan", "arguments": {"steps": [step]}},
        {"call": "final", "arguments": {"answer": "done"}},
    ]
    path = folder / f"{tool_name}-{ms}.json"
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


def kernel_in(home: Path) -> Kernel:
    """A kernel with the runner, the scripted model and the bench tools; no memory."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    return Kernel(plugins=[BenchTools()], builtins=["autoplug_autos", "autoplug_models"], home=home)


def timed_batch(kernel: Kernel, tasks: list, concurrency: int, model: str) -> tuple[float, list]:
    started = time.perf_counter()
    results = kernel.batch(tasks, model=model, concurrency=concurrency, memory=False)
    took = time.perf_counter() - started
    bad = [r for r in results if r["status"] != "succeeded"]
    if bad:
        sys.exit(f"bench: {len(bad)} tasks did not succeed: {bad[0]}")
    return took, results


def throughput(root: Path, n: int) -> None:
    kernel = kernel_in(root / "throughput")
    model = script(root, "nap_async", 0)
    for concurrency in (1, 8, 32):
        took, _ = timed_batch(kernel, [f"task {i}" for i in range(n)], concurrency, model)
        print(
            f"throughput: {n} tasks at concurrency {concurrency}: {took:.2f} s, {n / took:.0f} tasks/s"
        )


def waiting_tools(root: Path) -> None:
    kernel = kernel_in(root / "waiting")
    for name in ("nap_sync", "nap_async"):
        model = script(root, name, 200)
        for concurrency in (10, 50, 100):
            took, _ = timed_batch(kernel, [f"wait {i}" for i in range(100)], concurrency, model)
            ideal = 100 / concurrency * 0.2
            print(
                f"waiting tools: 100 tasks, {name} 200 ms, concurrency {concurrency}: "
                f"{took:.2f} s (waiting alone: {ideal:.2f} s)"
            )


def slow_sync_tool(root: Path) -> None:
    kernel = kernel_in(root / "slow")
    quick = script(root, "nap_async", 0)
    baseline, _ = timed_batch(kernel, [f"quick {i}" for i in range(100)], 8, quick)
    print(f"slow sync tool: 100 quick tasks alone: {baseline:.2f} s")
    for name in ("nap_sync", "crunch"):
        slow = script(root, name, 3000)
        tasks = [{"task": "slow", "id": "slow", "model": slow}]
        tasks += [{"task": f"quick {i}", "id": f"q{i}"} for i in range(100)]
        quick_done: list[float] = []
        started = time.perf_counter()

        def seen(line: dict, started: float = started, quick_done: list = quick_done) -> None:
            if line["id"] != "slow":
                quick_done.append(time.perf_counter() - started)

        kernel.batch(tasks, model=quick, concurrency=8, memory=False, on_result=seen)
        total = time.perf_counter() - started
        print(
            f"slow sync tool: 100 quick tasks beside one {name} of 3 s: the quick ones done "
            f"after {max(quick_done):.2f} s (whole batch {total:.2f} s)"
        )


def open_files(root: Path) -> None:
    kernel = kernel_in(root / "files")
    model = script(root, "nap_sync", 50)
    for concurrency in (8, 32, 64):
        peak = [0]
        stop = threading.Event()

        def sample(peak: list = peak, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], open_files_now() or 0)
                time.sleep(0.005)

        before = open_files_now() or 0
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timed_batch(kernel, [f"f {i}" for i in range(concurrency * 3)], concurrency, model)
        stop.set()
        sampler.join()
        per_run = (peak[0] - before) / concurrency
        print(
            f"open files: concurrency {concurrency}: {before} before, peak {peak[0]} "
            f"({per_run:.1f} per open run)"
        )


RAY_PLUGIN = '''
"""The Ray benchmark's tool, as an installed plugin: workers load it by entry point."""

import asyncio

from autoplug import hookimpl, tool


@tool
async def nap_async(ms: int) -> str:
    """Wait ``ms`` milliseconds in an async tool.

    ms: how long to wait
    """
    await asyncio.sleep(ms / 1000)
    return "rested"


@hookimpl
def register_tools(register):
    register(nap_async)
'''


def ray_figures(root: Path, n: int) -> None:
    """Ray (a local Ray started here, one task per logical CPU) against the local engine."""
    import os

    import ray

    site = root / "site"
    (site / "autoplug_benchray-0.1.dist-info").mkdir(parents=True)
    (site / "benchray_plugin.py").write_text(RAY_PLUGIN)
    (site / "autoplug_benchray-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: autoplug-benchray\nVersion: 0.1\n"
    )
    (site / "autoplug_benchray-0.1.dist-info" / "entry_points.txt").write_text(
        "[autoplug]\nbenchray = benchray_plugin\n"
    )
    sys.path.insert(0, str(site))
    # Before Ray starts: its workers inherit this environment.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(site), os.environ.get("PYTHONPATH")])
    )
    os.environ["AUTOPLUG_LOAD_PLUGINS"] = "autoplug_autos,autoplug_models,benchray"
    home = root / "ray-home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    os.environ["AUTOPLUG_HOME"] = str(home)
    kernel = Kernel.load(home)
    started = time.perf_counter()
    ray.init(address="local", include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    cpus = int(ray.cluster_resources().get("CPU", 0))
    print(
        f"ray: a local Ray with {cpus} logical CPUs started in {time.perf_counter() - started:.1f} s"
    )
    try:
        quick = script(root, "nap_async", 0)
        waits = script(root, "nap_async", 200)
        for engine, concurrency in (("local", 8), ("ray", cpus), ("ray", 8)):
            tasks = [f"task {i}" for i in range(n)]
            began = time.perf_counter()
            results = kernel.batch(
                tasks, model=quick, concurrency=concurrency, memory=False, engine=engine
            )
            took = time.perf_counter() - began
            ok = sum(r["status"] == "succeeded" for r in results)
            print(
                f"ray: {n} scripted tasks, engine {engine}, concurrency {concurrency}: "
                f"{took:.2f} s, {n / took:.0f} tasks/s ({ok} succeeded; "
                f"{took / n * 1000:.1f} ms a task)"
            )
        for engine, concurrency in (("local", 10), ("ray", cpus), ("ray", 10)):
            tasks = [f"wait {i}" for i in range(100)]
            began = time.perf_counter()
            results = kernel.batch(
                tasks, model=waits, concurrency=concurrency, memory=False, engine=engine
            )
            took = time.perf_counter() - began
            ok = sum(r["status"] == "succeeded" for r in results)
            in_flight = min(concurrency, cpus) if engine == "ray" else concurrency
            print(
                f"ray: 100 tasks whose tool waits 200 ms, engine {engine}, concurrency "
                f"{concurrency} ({in_flight} in flight): {took:.2f} s "
                f"(waiting alone: {100 / in_flight * 0.2:.2f} s; {ok} succeeded)"
            )
    finally:
        ray.shutdown()


def _init_worker(home: str) -> None:
    """A pool process's kernel: the bench tools too (they are no installed entry point)."""
    from autoplug.batch import worker

    worker._KERNELS[home] = kernel_in(Path(home))


def _pool_batch(home: Path, tasks: list, processes: int) -> tuple[float, float]:
    """(kernel loads, wall time) of ``tasks`` over ``processes`` worker processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from autoplug.batch import BatchSettings, run_one
    from autoplug.batch.tasks import tasks_from_python

    settings = BatchSettings(home=str(home), memory=False)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, context, _init_worker, (str(home),)) as pool:
        list(pool.map(_noop, range(processes)))  # every process up, its kernel loaded
        ready = time.perf_counter()
        lines = list(pool.map(run_one, tasks_from_python(tasks), [settings] * len(tasks)))
    bad = [x for x in lines if x["status"] != "succeeded"]
    if bad:
        sys.exit(f"bench: {len(bad)} tasks did not succeed: {bad[0]}")
    return ready - started, time.perf_counter() - ready


def _noop(_: int) -> None:
    time.sleep(0.2)  # long enough that every process of the pool takes one


def processes(root: Path) -> None:
    home = root / "pool"
    kernel_in(home)
    nap = script(root, "nap_sync", 200)
    for count in (2, 10):
        tasks = [{"task": f"wait {i}", "model": nap} for i in range(100)]
        load, took = _pool_batch(home, tasks, count)
        print(
            f"worker processes: 100 tasks, nap_sync 200 ms, {count} processes: {took:.2f} s "
            f"(+ {load:.2f} s starting them)"
        )
    quick = script(root, "nap_async", 0)
    crunch_model = script(root, "crunch", 3000)
    tasks = [{"task": "slow", "id": "slow", "model": crunch_model}]
    tasks += [{"task": f"quick {i}", "id": f"q{i}", "model": quick} for i in range(100)]
    load, took = _pool_batch(home, tasks, 2)
    print(f"worker processes: 100 quick tasks beside one crunch of 3 s, 2 processes: {took:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 tasks instead of 1,000")
    parser.add_argument(
        "--only", help="run one part: throughput, waiting, slow, files, processes, ray"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        parts = {
            "throughput": lambda: throughput(root, 200 if args.quick else 1000),
            "waiting": lambda: waiting_tools(root),
            "slow": lambda: slow_sync_tool(root),
            "files": lambda: open_files(root),
            "processes": lambda: processes(root),
            "ray": lambda: ray_figures(root, 200 if args.quick else 1000),
        }
        for name, part in parts.items():
            if name == "ray" and args.only is None and importlib.util.find_spec("ray") is None:
                print("ray: skipped (pip install 'autoplug[ray]')")
                continue
            if args.only in (None, name):
                part()


if __name__ == "__main__":
    main()
