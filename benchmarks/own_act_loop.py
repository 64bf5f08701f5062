"""The own-act loop of bench_peers.py as a script, for callgrind and line counts.

Usage: ``python benchmarks/own_act_loop.py RUNS [new|reused]`` (20 acts a run, two
runs of warm-up first; ``ABL=...`` makes a part trivial, to measure its share).
"""

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from autoplug import Kernel, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.dynamic import DynamicAgent
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call

STEPS = 20
RUNS = int(sys.argv[1])
NEW = sys.argv[2] == "new" if len(sys.argv) > 2 else True


@tool
async def noop(i: int) -> int:
    """Return i at once."""
    return i


class Bench:
    name = "bench"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(noop)


home = tempfile.mkdtemp()
kernel = Kernel(plugins=[Bench()], builtins=True, home=home)


def ctx(replies):
    return RunContext(
        kernel=kernel,
        model=ScriptedModel(replies),
        run_id=None,
        task="bench",
        workspace=Path(home),
        assets=AssetStore(),
        checkpoint=MemoryCheckpointer(),
        limits=dict(kernel.config.limits),
    )


def make_script():
    script = []
    for i in range(STEPS):
        script.append(call("act", subtask=f"step {i}", assets=[]))
        script.append(
            call(
                "submit_plan",
                steps=[{"id": "s", "tool": "noop", "args": {"i": i}, "output": f"o{i}"}],
            )
        )
    script.append(call("final", answer="done"))
    return script


shared = make_script()

ABL = os.environ.get("ABL", "")
if "resp" in ABL:
    import autoplug.scripted as S
    from autoplug.llm import ChatResponse, FunctionCall, Usage

    U = Usage(1, 1)

    def fast(reply, model_id, request, sizes=None):
        r = FunctionCall(reply.name, reply.arguments, "call_0")
        return ChatResponse(None, (r,), "tool_calls", U, model_id)

    S.as_response = fast
if "usable" in ABL:
    import autoplug.agents.context as C

    C.usable_response = lambda r: r
if "sleep" in ABL:
    import autoplug.agents.dynamic as D

    class A:
        @staticmethod
        async def sleep(x):
            pass

    D.asyncio = A
if "catkey" in ABL:
    import autoplug.agents.planner as PL

    orig = PL._catalog_key
    memo = {}

    def ck(tools):
        if id(tools) not in memo:
            memo[id(tools)] = orig(tools)
        return memo[id(tools)]

    PL._catalog_key = ck
if "canon" in ABL:
    import autoplug.agents.dynamic as D

    D.canonical_json = lambda a: a["subtask"]
if "report" in ABL:
    import autoplug.agents.dynamic as D

    D.render_report = lambda r: '{"subtask": "x"}'
if "emit" in ABL:
    import autoplug.agents.context as C

    ev = C.Event("x", None, 0, 0.0, {})
    C.RunContext.emit = lambda self, t, **d: ev


async def once():
    run_ctx = ctx(make_script() if NEW else list(shared))
    run_ctx.limits["max_iterations"] = STEPS + 5
    status, _, reason = await DynamicAgent(run_ctx, StaticAgent(run_ctx)).run()
    assert status == "succeeded", reason


for _ in range(2):  # warm-up
    asyncio.run(once())
for _ in range(RUNS):
    asyncio.run(once())
