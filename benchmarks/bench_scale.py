"""Scale figures: per-step cost, a run's fixed cost, a thousand concurrent runs.

Run: python benchmarks/bench_scale.py [--quick] [--peers]

- per tool step through the public ``kernel.run``, with a run folder and with
  ``persist=False``, for plans of 20 / 1,000 / 10,000 steps (a chain, each step
  reading the one before, and a fan-in, every step feeding a last one);
- beside them, in the same run, what makes the chain's figure readable on any
  machine: the floor of a bare asyncio thread hop (a worker thread fed by a
  ``SimpleQueue``, answering by ``call_soon_threadsafe``: the least a sync tool's
  step pays for its worker thread) and the same chain with an async tool (no hop);
- the fixed cost of a run that makes no step (median), with and without a folder;
- 1,000 concurrent 3-step runs in one process under ``ulimit -n 256``: how many
  succeeded, runs/s, the peak of open files and the peak RSS; ``persist=False``
  also with ``gc.freeze()`` after the warm-up run (what an application that runs
  many runs may choose; autoplug does not), and the time the garbage collector
  took, by generation;
- ``--peers``: peer frameworks, run by the Python of their own environment
  (``--peers-python``, default ``/work/venvs/peers-fast/bin/python``; a line says
  which are missing): per tool step with persistence — agno with its ``SqliteDb``
  and langgraph with its ``SqliteSaver`` (a 20-step run, each step a model turn
  and an instant tool, a new session or thread each run) — and 1,000 concurrent
  3-step pydantic-ai runs under ``ulimit -n 256`` (it keeps no state on disk).
  The peers' environment needs ``pip install agno sqlalchemy greenlet aiosqlite
  langgraph langgraph-checkpoint-sqlite pydantic-ai-slim``.

Every model is a scripted model (autoplug's, or one written here for each peer):
the figures are the frameworks' own cost. Times are process CPU time.
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

PEERS_PYTHON = Path("/work/venvs/peers-fast/bin/python")
PEER_STEPS = 20  # tool steps of a peer's run for the per-step figure


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
    async def aecho(n: int, prev: str = "") -> str:
        """Return a short text for step ``n`` (the async twin of ``echo``).

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
            register(aecho)
            register(gather)

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    return Kernel(plugins=[Bench()], builtins=["autoplug_autos"], home=home)


def plan(steps: int, shape: str, tool: str = "echo") -> list[dict]:
    """A plan of ``steps`` steps: a chain, or independent steps feeding one last step.

    ``tool`` is the chain's tool: ``echo`` (sync: a worker thread's hop a step)
    or ``aecho`` (async, the same work without the hop).
    """
    if shape == "chain":
        out = [{"id": "s1", "tool": tool, "args": {"n": 1}, "output": "a1"}]
        out += [
            {
                "id": f"s{n}",
                "tool": tool,
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


def per_step(k, steps: int, shape: str, persist: bool, tool: str = "echo") -> float:
    """µs of CPU per step of a run of ``steps`` steps, less a no-step run's cost (medians)."""
    the_plan = plan(steps, shape, tool)
    base = statistics.median(_timed(k, None, persist) for _ in range(7))
    total = statistics.median(_timed(k, the_plan, persist) for _ in range(3))
    return (total - base) / steps * 1e6


def can_skip_folder() -> bool:
    """Whether this autoplug has ``persist=False`` (an older one, measured for "before", not)."""
    import inspect

    from autoplug import Kernel

    return "persist" in inspect.signature(Kernel.run).parameters


def _timed(k, steps, persist: bool) -> float:
    """Process CPU seconds of one public ``kernel.run`` (its tool threads included)."""
    options = {} if persist else {"persist": False}
    start = time.process_time()
    result = k.run("bench", model=script(steps), **options)
    elapsed = time.process_time() - start
    assert result.status == "succeeded", result.reason
    return elapsed


def fixed_cost(k, persist: bool, runs: int) -> float:
    """Median milliseconds of CPU of a run that answers at once."""
    for _ in range(5):
        _timed(k, None, persist)
    return statistics.median(_timed(k, None, persist) for _ in range(runs)) * 1000


def persistence(steps: int) -> float:
    """Microseconds of the disk work of one step: its asset, five events, its record.

    In an event loop, as a run does it, each step two of the loop's turns (a sync
    tool's step: its start, then its result): events wait for the end of a turn.
    """
    from autoplug.assets import AssetStore
    from autoplug.events import Event
    from autoplug.runs import RunStore

    async def run(store, assets) -> float:
        start = time.process_time()
        for n in range(steps):
            store.append_event(Event("step_started", store.run_id, 6 * n, data={"step": f"s{n}"}))
            store.append_event(Event("tool_call", store.run_id, 6 * n + 1, data={"step": f"s{n}"}))
            await asyncio.sleep(0)
            store.append_event(Event("tool_result", store.run_id, 6 * n + 2, data={}))
            assets.put(f"a{n}", f"value {n}", step=f"s{n}", tool="echo")
            store.append_event(Event("asset_stored", store.run_id, 6 * n + 3, data={}))
            store.checkpoint.save_step(1, f"s{n}", {"status": "succeeded", "asset": f"a{n}"})
            store.append_event(Event("step_finished", store.run_id, 6 * n + 5, data={}))
            await asyncio.sleep(0)
        return time.process_time() - start

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = RunStore.create(home, task="t", model="m", auto="runner", workspace=home)
        assets = AssetStore(store.assets_dir, log=store.asset_log)
        elapsed = asyncio.run(run(store, assets))
        store.close()
    return elapsed / steps * 1e6


def hop_floor(hops: int = 3000, rounds: int = 5) -> float:
    """µs of CPU of a bare asyncio thread hop (median of ``rounds``), on this machine now.

    The loop hands a job to a waiting worker thread through a ``SimpleQueue``;
    the worker runs it and settles the loop's future by ``call_soon_threadsafe``.
    """
    import queue

    jobs: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        while True:
            item = jobs.get()
            if item is None:
                return
            loop, future = item
            loop.call_soon_threadsafe(future.set_result, "x")

    async def chain() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(hops):
            future = loop.create_future()
            jobs.put((loop, future))
            await future

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    spent = []
    for _ in range(rounds):
        start = time.process_time()
        asyncio.run(chain())
        spent.append(time.process_time() - start)
    jobs.put(None)
    thread.join()
    return statistics.median(spent) / hops * 1e6


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def concurrent(
    home: Path, count: int, persist: bool, freeze: bool = False, sample: bool = True
) -> dict:
    """``count`` concurrent 3-step runs in this process (run under a lowered ulimit).

    One run goes first, untimed: the modules a run imports on first use are a
    process's cost once, not each run's. ``freeze``: ``gc.freeze()`` after it.
    ``sample``: a thread counts the open files meanwhile (off for instruction counts).
    """
    import gc
    import resource

    k = kernel(home)
    options = {} if persist else {"persist": False}
    warm = k.run("warm up", model=script(plan(3, "chain")), **options)
    assert warm.status == "succeeded", warm.reason
    if freeze:
        gc.collect()
        gc.freeze()
    collected = [0.0, 0.0, 0.0]
    began = [0.0]

    def timed_gc(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.process_time()
        else:
            collected[info["generation"]] += time.process_time() - began[0]

    gc.callbacks.append(timed_gc)
    peak = [open_files()]
    done = threading.Event()

    def sampling() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], open_files())
            time.sleep(0.002)

    sampler = threading.Thread(target=sampling, daemon=True)
    if sample:
        sampler.start()
    steps = plan(3, "chain")

    async def all_runs() -> list:
        return await asyncio.gather(
            *(k.arun(f"task {i}", model=script(steps), **options) for i in range(count)),
            return_exceptions=True,
        )

    start, cpu = time.perf_counter(), time.process_time()
    results = asyncio.run(all_runs())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    gc.callbacks.remove(timed_gc)
    done.set()
    if sample:
        sampler.join()
    ok = sum(1 for r in results if not isinstance(r, BaseException) and r.status == "succeeded")
    errors = sorted({str(r)[:160] for r in results if isinstance(r, BaseException)})
    return {
        "succeeded": ok,
        "runs_per_s": count / wall,
        "cpu_ms_per_run": cpu / count * 1000,
        "gc_ms_per_run": [spent / count * 1000 for spent in collected],
        "peak_open_files": peak[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "errors": errors[:3],
    }


def under_ulimit(limit: int, count: int, persist: bool, freeze: bool = False) -> dict:
    """:func:`concurrent` in a fresh process whose open-files limit is ``limit``."""
    home = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    code = (
        "import json, resource, sys; sys.path.insert(0, sys.argv[1]);"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}));"
        "import bench_scale as b; from pathlib import Path;"
        "print(json.dumps(b.concurrent(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1',"
        " sys.argv[5] == '1')))"
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
            "1" if freeze else "0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"succeeded": 0, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- peers (these functions run in the peers' Python, never importing autoplug) ---------


def peer_agno(steps: int) -> dict:
    """agno: an Agent with a scripted Model and an instant tool, its state in a SqliteDb."""
    from dataclasses import dataclass

    from agno.agent import Agent
    from agno.db.sqlite import SqliteDb
    from agno.models.base import Model
    from agno.models.response import ModelResponse

    @dataclass
    class Scripted(Model):
        id: str = "scripted"
        name: str = "scripted"
        provider: str = "bench"

        def invoke(self, messages=None, **_: object) -> ModelResponse:
            turn = sum(1 for m in messages if m.role == "assistant")
            if turn < steps:
                call = {"name": "noop", "arguments": json.dumps({"i": turn})}
                return ModelResponse(
                    role="assistant",
                    tool_calls=[{"id": f"c{turn}", "type": "function", "function": call}],
                )
            return ModelResponse(role="assistant", content="done")

        async def ainvoke(self, *args: object, **kwargs: object) -> ModelResponse:
            return self.invoke(*args, **kwargs)

        def invoke_stream(self, *args: object, **kwargs: object):
            raise NotImplementedError

        def ainvoke_stream(self, *args: object, **kwargs: object):
            raise NotImplementedError

        def _parse_provider_response(self, response, **_: object):
            return response

        def _parse_provider_response_delta(self, response):
            return response

    def noop(i: int) -> int:
        """Return i at once."""
        return i

    folder = tempfile.mkdtemp(prefix="bench-agno-")
    out = {}
    for label, db in (
        ("with SqliteDb", SqliteDb(db_file=os.path.join(folder, "agno.db"))),
        ("in memory", None),
    ):
        agent = Agent(model=Scripted(), tools=[noop], db=db, telemetry=False)
        assert agent.run("bench").content == "done"
        out[label] = _peer_per_step(lambda a=agent: a.run("bench").content == "done", steps)
    return out


def peer_langgraph(steps: int) -> dict:
    """langgraph: a scripted model node and the prebuilt ToolNode, checkpointed by SqliteSaver."""
    import sqlite3

    from bench_peers import langgraph_graph
    from langgraph.checkpoint.sqlite import SqliteSaver

    graph = langgraph_graph(steps)
    folder = tempfile.mkdtemp(prefix="bench-langgraph-")
    conn = sqlite3.connect(os.path.join(folder, "graph.db"), check_same_thread=False)
    out = {}
    threads = iter(range(10**9))
    for label, app in (
        ("with SqliteSaver", graph.compile(checkpointer=SqliteSaver(conn))),
        ("in memory", graph.compile()),
    ):

        def run(app=app) -> bool:
            config = {"configurable": {"thread_id": f"t{next(threads)}"}}
            final = app.invoke(
                {"messages": [("user", "bench")]}, {**config, "recursion_limit": 9 * steps}
            )
            return final["messages"][-1].content == "done"

        assert run()
        out[label] = _peer_per_step(run, steps)
    return out


def peer_pydantic_ai_concurrent(count: int) -> dict:
    """pydantic-ai: ``count`` concurrent 3-tool-step runs of one Agent (a FunctionModel)."""
    import resource

    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import FunctionModel

    def noop(i: int) -> str:
        """Return a short text for step i."""
        return f"v{i}"

    def model(messages: list, info: object) -> ModelResponse:
        turn = len(messages) // 2
        if turn < 3:
            return ModelResponse(parts=[ToolCallPart("noop", {"i": turn}, tool_call_id=f"c{turn}")])
        return ModelResponse(parts=[TextPart("done")])

    agent = Agent(FunctionModel(model), tools=[noop])

    async def all_runs() -> list:
        return await asyncio.gather(
            *(agent.run(f"task {i}") for i in range(count)), return_exceptions=True
        )

    peak = [open_files()]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], open_files())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    results = asyncio.run(all_runs())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    sampler.join()
    ok = sum(1 for r in results if not isinstance(r, BaseException) and r.output == "done")
    return {
        "succeeded": ok,
        "runs_per_s": count / wall,
        "cpu_ms_per_run": cpu / count * 1000,
        "peak_open_files": peak[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _peer_per_step(run, steps: int, rounds: int = 5) -> float:
    """Median µs of CPU per step over ``rounds`` runs of ``steps`` steps."""
    spent = []
    for _ in range(rounds):
        start = time.process_time()
        assert run()
        spent.append(time.process_time() - start)
    return statistics.median(spent) / steps * 1e6


PEER_MODULES = {
    "agno": ("agno", "agno.db.sqlite"),
    "langgraph": ("langgraph", "langgraph.checkpoint.sqlite"),
    "pydantic-ai": ("pydantic_ai",),
}


def run_peer(python: Path, name: str, arg: int, limit: int | None = None) -> dict:
    """One peer's figures from ``python`` (in a process of its own, with ``limit`` open files)."""
    found = subprocess.run(
        [str(python), "-c", "; ".join(f"import {m}" for m in PEER_MODULES[name])],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        last = (found.stderr.strip().splitlines() or ["?"])[-1]
        return {"skipped": f"not installed in {python.parent.parent} ({last[:120]})"}
    prefix = [] if limit is None else ["prlimit", f"--nofile={limit}:{limit}"]
    out = subprocess.run(
        [*prefix, str(python), __file__, "--peer", name, "--peer-arg", str(arg)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"failed": (out.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def peers(python: Path, count: int) -> None:
    """Print the peers' figures beside autoplug's (see the module's docstring)."""
    print(f"\n== peers (from {python}) ==")
    if not python.exists():
        print(f"skipped: no peer Python at {python}")
        return
    print(f"per tool step with persistence, a {PEER_STEPS}-step run (µs per step, CPU):")
    for name in ("agno", "langgraph"):
        found = run_peer(python, name, PEER_STEPS)
        if "skipped" in found or "failed" in found:
            print(f"  {name:12} {found.get('skipped') or 'failed: ' + found['failed']}")
            continue
        print(f"  {name:12} " + "  ".join(f"{k} {v:7.0f}" for k, v in found.items()))
    print(f"{count} concurrent 3-step runs, ulimit -n 256:")
    found = run_peer(python, "pydantic-ai", count, limit=256)
    if "skipped" in found or "failed" in found:
        print(f"  pydantic-ai  {found.get('skipped') or 'failed: ' + found['failed']}")
        return
    print(
        f"  pydantic-ai  succeeded {found['succeeded']}/{count}  {found['runs_per_s']:6.0f} runs/s  "
        f"{found['cpu_ms_per_run']:.2f} ms CPU a run  peak open files {found['peak_open_files']}  "
        f"peak RSS {found['peak_rss_mb']:.0f} MB"
    )


def one_measurement(count: int, fixed: int) -> None:
    """``count`` concurrent ``persist=False`` runs, or ``fixed`` blocking runs that answer at once."""
    with tempfile.TemporaryDirectory() as tmp:
        if fixed:
            k = kernel(Path(tmp) / "home")
            print(f"persist=False fixed cost {fixed_cost(k, False, fixed):.3f} ms")
            return
        found = concurrent(Path(tmp) / "home", count, False, sample=False)
        print(
            f"persist=False  succeeded {found['succeeded']}/{count}  "
            f"{found['runs_per_s']:.0f} runs/s  {found['cpu_ms_per_run']:.3f} ms CPU a run"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller plans and fewer runs")
    parser.add_argument("--peers", action="store_true", help="also measure peer frameworks")
    parser.add_argument("--only-peers", action="store_true", help="measure only the peers")
    parser.add_argument("--concurrent", type=int, default=1000, help="concurrent runs")
    parser.add_argument("--peers-python", type=Path, default=PEERS_PYTHON, help="the peers' Python")
    parser.add_argument("--peer", help=argparse.SUPPRESS)  # run inside the peers' Python
    parser.add_argument("--peer-arg", type=int, default=0, help=argparse.SUPPRESS)
    # For instruction counts (callgrind: count N and 2N, take the difference): one
    # measurement in this process, with no ulimit child, no peer and nothing else.
    parser.add_argument(
        "--one-concurrent", action="store_true", help="only --concurrent persist=False runs, here"
    )
    parser.add_argument(
        "--one-fixed", type=int, default=0, help="only this many persist=False fixed-cost runs"
    )
    args = parser.parse_args()
    if args.one_concurrent or args.one_fixed:
        one_measurement(args.concurrent, args.one_fixed)
        return
    if args.peer:
        drivers = {
            "agno": peer_agno,
            "langgraph": peer_langgraph,
            "pydantic-ai": peer_pydantic_ai_concurrent,
        }
        print(json.dumps(drivers[args.peer](args.peer_arg)))
        return
    if args.only_peers:
        peers(args.peers_python, args.concurrent)
        return
    sizes = (20, 1000) if args.quick else (20, 1000, 10000)
    with tempfile.TemporaryDirectory() as tmp:
        k = kernel(Path(tmp) / "home")
        print("== run fixed cost (a run that answers at once; median CPU) ==")
        runs = 50 if args.quick else 200
        print(f"with a run folder   {fixed_cost(k, True, runs):7.2f} ms")
        skip = can_skip_folder()
        if skip:
            print(f"persist=False       {fixed_cost(k, False, runs):7.2f} ms")
        print("\n== the disk work of one step (asset, 5 events, record), µs of CPU per step ==")
        for steps in (20, 1000) if args.quick else (20, 1000, 5000):
            print(f"{steps:>6} steps   {persistence(steps):7.0f}")
        print("\n== per tool step, public kernel.run (µs of CPU per step, medians) ==")
        print(
            f"a bare asyncio thread hop on this machine now: {hop_floor():.0f} µs of CPU "
            "(a sync tool's step makes one; 'achain' is the chain with an async tool: none)"
        )
        print(f"{'steps':>6} {'shape':>6} {'folder':>9} {'persist=False':>14}")
        for steps in sizes:
            for shape, tool in (("chain", "echo"), ("achain", "aecho"), ("fanin", "echo")):
                form = "chain" if shape == "achain" else shape
                with_folder = per_step(k, steps, form, True, tool)
                without = (
                    f"{per_step(k, steps, form, False, tool):14.0f}" if skip else f"{'n/a':>14}"
                )
                print(f"{steps:>6} {shape:>6} {with_folder:9.0f} {without}")
    print(f"\n== {args.concurrent} concurrent 3-step runs, one process, ulimit -n 256 ==")
    cases = [(True, False)]
    if can_skip_folder():
        cases += [(False, False), (False, True)]
    for persist, freeze in cases:
        found = under_ulimit(256, args.concurrent, persist, freeze)
        label = "with folders " if persist else "persist=False"
        label += "  gc.freeze()" if freeze else ""
        if "runs_per_s" not in found:
            print(f"{label}  failed: {found.get('error')}")
            continue
        print(
            f"{label}  succeeded {found['succeeded']}/{args.concurrent}  "
            f"{found['runs_per_s']:6.0f} runs/s  "
            f"{found.get('cpu_ms_per_run', float('nan')):.2f} ms CPU a run  "
            f"peak open files {found['peak_open_files']}  "
            f"peak RSS {found['peak_rss_mb']:.0f} MB"
            + (
                "  GC ms a run by generation "
                + "/".join(f"{ms:.2f}" for ms in found["gc_ms_per_run"])
                if "gc_ms_per_run" in found
                else ""
            )
            + (f"  errors: {found['errors']}" if found["errors"] else "")
        )
    if args.peers:
        peers(args.peers_python, args.concurrent)


if __name__ == "__main__":
    main()
