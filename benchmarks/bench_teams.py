"""Team figures: the manager's overhead per child, and the wall time of children that wait.

Run: python benchmarks/bench_teams.py

1. Delegation overhead per child: a manager delegates N assignments to a role
   whose child plans one instant tool step; the scripted model answers at once,
   so the time is the framework's (run folders, SQLite, events, asset imports).
   Reported per child, against a plain Runner doing the same one-step act.
2. Eight children whose one step waits 200 ms (an async tool), with
   ``[limits] children`` = 1, 4 and 8: the target is about one wait with 8.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from autoplug import Kernel, Role, hookimpl, tool
from autoplug.scripted import ScriptedModel, call


@tool
def instant(i: int) -> int:
    """Return i at once.

    i: a number
    """
    return i


@tool
async def wait(label: str) -> str:
    """Wait 200 ms, then return the label.

    label: any text
    """
    await asyncio.sleep(0.2)
    return label


class Bench:
    @hookimpl
    def register_tools(self, register):
        register(instant)
        register(wait)

    @hookimpl
    def register_roles(self, register):
        register(Role("quick", "does one instant step", "You are quick.", tools=["instant"]))
        register(Role("waiter", "waits 200 ms", "You wait.", tools=["wait"]))


STEPS = {
    "quick": [{"id": "s1", "tool": "instant", "args": {"i": 1}, "output": "one"}],
    "waiter": [{"id": "s1", "tool": "wait", "args": {"label": "w"}, "output": "waited"}],
}


def model(role: str, children: int) -> ScriptedModel:
    def reply(request):
        names = {f.name for f in request.functions}
        system = request.messages[0].content or ""
        last = request.messages[-1].content or ""
        mine = next((r for r in STEPS if f"Your role in the team: {r}." in system), None)
        if "submit_plan" in names:
            return call("submit_plan", steps=STEPS[mine or role])
        if mine is not None or "delegate" not in names:  # a child, or a plain Runner
            if '"subtask"' in last:
                return call("final", answer="done")
            return call("act", subtask="the step", assets=[])
        if '"delegated"' in last:
            return call("final", answer="team done")
        assignments = [
            {"role": role, "subtask": f"part {k}", "assets": []} for k in range(children)
        ]
        return call("delegate", assignments=assignments)

    return ScriptedModel(reply)


def kernel(home: Path, children: int) -> Kernel:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f"[limits]\nchildren = {children}\n")
    return Kernel(plugins=[Bench()], builtins=["autoplug_autos"], home=home)


def timed(k: Kernel, auto: str, m: ScriptedModel) -> float:
    start = time.perf_counter()
    result = k.run("Do the parts.", model=m, auto=auto, memory=False)
    elapsed = time.perf_counter() - start
    assert result.status == "succeeded", result.reason
    return elapsed


def overhead(root: Path) -> None:
    runner = [timed(kernel(root / f"r{i}", 4), "runner", model("quick", 0)) for i in range(5)]
    base = statistics.median(runner)
    print(f"a Runner with one instant step (3 model calls): {base * 1000:.1f} ms (median of 5)")
    for n in (1, 4, 16):
        times = [
            timed(kernel(root / f"m{n}-{i}", 4), "manager", model("quick", n)) for i in range(3)
        ]
        total = statistics.median(times)
        manager_alone = base  # the manager's own 2 calls and folder cost about a Runner's
        per_child = (total - manager_alone) / n
        print(
            f"manager with {n:2d} children of one instant step: {total * 1000:7.1f} ms "
            f"-> {per_child * 1000:.1f} ms per child (a child is a Runner: ~{base * 1000:.1f} ms)"
        )


def waiting(root: Path) -> None:
    for limit in (1, 4, 8):
        times = [
            timed(kernel(root / f"w{limit}-{i}", limit), "manager", model("waiter", 8))
            for i in range(3)
        ]
        print(
            f"8 children each waiting 200 ms, children = {limit}: {statistics.median(times):.2f} s "
            f"(median of 3; one wait is 0.20 s)"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        overhead(root)
        waiting(root)


if __name__ == "__main__":
    main()
