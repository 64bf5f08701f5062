"""autoplug's fast path side by side with peer frameworks, as ratios within one run.

Run: python benchmarks/bench_peers.py [--rounds 5]

The peers live in their own environment (CI does not install them; see
docs/performance.md for the commands):

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install -e '.[dev]' \\
        smooai-smooth-operator-core pydantic-ai-slim langgraph smolagents agno \\
        openai-agents llm
    /tmp/peers/bin/python benchmarks/bench_peers.py

Each framework gets its own scripted/fake model and an instant tool, and runs
the same task: 20 tool steps, then a final answer. A peer that is not installed,
or cannot run offline, is skipped with a line saying so. Every figure is measured
in each of ``--rounds`` rounds, the frameworks interleaved, and the median
printed: the machine is shared, so compare the ratios, not the absolute times.

A run driven by ``asyncio.run`` is driven through a coroutine that returns None:
on Python 3.11, ``asyncio.run`` restores its SIGINT handler through
``signal.signal``, which builds (and discards) an error message holding the
``repr`` of the main task, and so of the value it returned (here a report, a
result object): a cost of the harness that grows with that value, not of the
framework.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = 20  # instant tool steps per run


def best_us(func: Callable[[], Any], number: int, repeat: int = 3) -> float:
    """Best of ``repeat`` batches of ``number`` calls, µs per call (process CPU time)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            func()
        best = min(best, time.process_time() - start)
    return best / number * 1e6


def best_async_us(make: Callable[[], Any], number: int, repeat: int = 3) -> float:
    """Like :func:`best_us` for ``await make()`` inside one event loop."""

    async def batches() -> float:
        best = float("inf")
        for _ in range(repeat):
            start = time.process_time()
            for _ in range(number):
                await make()
            best = min(best, time.process_time() - start)
        return best

    return asyncio.run(batches()) / number * 1e6


def wall_us(run: Callable[[], Any], repeat: int = 3) -> float:
    """Best process CPU time of ``repeat`` calls of ``run``, µs (instant tools: no waiting)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best * 1e6


# -- autoplug ----------------------------------------------------------------------


def autoplug_figures() -> dict[str, float]:
    """Every autoplug figure of the issue's table, µs (cold start in ms)."""
    from dataclasses import dataclass

    from autoplug import Kernel, hookimpl, tool
    from autoplug.agents.context import MemoryCheckpointer, RunContext
    from autoplug.agents.dynamic import DynamicAgent
    from autoplug.agents.static import StaticAgent
    from autoplug.assets import AssetStore
    from autoplug.scripted import ScriptedModel, call

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @tool
    async def aadd(a: int, b: int) -> int:
        """Add two integers, async."""
        return a + b

    @tool
    async def noop(i: int) -> int:
        """Return i at once."""
        return i

    class Bench:
        name = "bench"

        @hookimpl
        def register_tools(self, register: Any) -> None:
            for made in (add, aadd, noop):
                register(made)

    home = tempfile.mkdtemp()
    kernel = Kernel(plugins=[Bench()], builtins=True, home=home)
    args = {"a": 2, "b": 3}
    out: dict[str, float] = {}

    @dataclass(frozen=True)
    class Result:
        ok: bool
        value: Any = None
        error: str | None = None

    def floor() -> Any:
        if type(args) is dict:  # a bare door: look-up, type check, call, one frozen result
            return Result(True, add.func(**args))
        return None

    out["floor door"] = best_us(floor, 50_000)
    out["door"] = best_us(lambda: kernel.tools.call("add", args), 50_000)
    out["acall async"] = best_async_us(lambda: kernel.tools.acall("aadd", args), 50_000)

    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)

    async def hop() -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, add.func, 2, 3)

    out["thread hop"] = best_async_us(hop, 2_000)
    out["acall sync"] = best_async_us(lambda: kernel.tools.acall("add", args), 2_000)
    pool.shutdown()

    def ctx(replies: Any) -> RunContext:
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

    plan = [
        {"id": f"s{i}", "tool": "noop", "args": {"i": i}, "output": f"o{i}"} for i in range(STEPS)
    ]

    async def plan_once() -> None:
        report = await StaticAgent(ctx([call("submit_plan", steps=plan)])).run("b", [], 1)
        assert report["status"] == "succeeded", report

    def one_plan() -> None:
        asyncio.run(plan_once())

    out["step, one plan"] = wall_us(one_plan, 5) / STEPS

    script: list[Any] = []
    for i in range(STEPS):
        script.append(call("act", subtask=f"step {i}", assets=[]))
        script.append(
            call(
                "submit_plan",
                steps=[{"id": "s", "tool": "noop", "args": {"i": i}, "output": f"o{i}"}],
            )
        )
    script.append(call("final", answer="done"))

    async def acts_once() -> None:
        run_ctx = ctx(list(script))
        run_ctx.limits["max_iterations"] = STEPS + 5
        status, _, reason = await DynamicAgent(run_ctx, StaticAgent(run_ctx)).run()
        assert status == "succeeded", reason

    def acts() -> None:
        asyncio.run(acts_once())

    out["step, own act"] = wall_us(acts, 5) / STEPS
    return out


def plan_phases(rounds: int = 15) -> dict[str, float]:
    """Where autoplug's step of one plan goes: µs per step of each phase (best of ``rounds``).

    ``planning`` is the planner's request, the scripted reply and the plan's checks;
    ``prompt`` and ``checks`` are parts of it. Each phase runs in one event loop, so
    ``asyncio.run`` (a new loop per run, paid by every peer driven that way) is apart.
    """
    from autoplug import Kernel, hookimpl, tool
    from autoplug.agents.context import MemoryCheckpointer, RunContext
    from autoplug.agents.executor import Executor
    from autoplug.agents.plan_checks import check_plan, structure_errors
    from autoplug.agents.planner import make_plan, planner_messages
    from autoplug.agents.report import build_report
    from autoplug.assets import AssetStore
    from autoplug.scripted import ScriptedModel, call

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

    def ctx(replies: Any = ()) -> RunContext:
        return RunContext(
            kernel=kernel,
            model=ScriptedModel(list(replies)),
            run_id=None,
            task="bench",
            workspace=Path(home),
            assets=AssetStore(),
            checkpoint=MemoryCheckpointer(),
            limits=dict(kernel.config.limits),
        )

    steps = [
        {"id": f"s{i}", "tool": "noop", "args": {"i": i}, "output": f"o{i}"} for i in range(STEPS)
    ]
    loop = asyncio.new_event_loop()
    analysis, _ = check_plan(steps, kernel.tools, [])
    done = ctx()
    outcomes = loop.run_until_complete(Executor(done, "b", 1, analysis).run())

    async def nothing() -> None:
        return None

    phases: dict[str, Callable[[], Any]] = {
        "planning": lambda: loop.run_until_complete(
            make_plan(ctx([call("submit_plan", steps=steps)]), "b", [])
        ),
        "  prompt": lambda: planner_messages(done, "b", []),
        "  checks": lambda: (
            structure_errors({"steps": steps}),
            check_plan(steps, kernel.tools, []),
        ),
        "execution": lambda: loop.run_until_complete(Executor(ctx(), "b", 1, analysis).run()),
        "report": lambda: build_report("b", outcomes, done.assets),
        "asyncio.run": lambda: asyncio.run(nothing()),
    }
    best = {name: float("inf") for name in phases}
    for _ in range(rounds):
        for name, phase in phases.items():  # interleaved: a busy moment hits all alike
            start = time.process_time()
            for _ in range(10):
                phase()
            best[name] = min(best[name], time.process_time() - start)
    loop.close()
    return {name: value / 10 / STEPS * 1e6 for name, value in best.items()}


# -- peers -------------------------------------------------------------------------


def smooth_operator() -> dict[str, float]:
    """smooth-operator-core: one model turn per tool step, its MockLlmProvider."""
    from smooth_operator_core import AgentOptions, FunctionTool, MockLlmProvider, SmoothAgent

    async def noop(args: dict[str, Any]) -> str:
        return str(args["i"])

    tool = FunctionTool(
        name="noop",
        description="Return i at once.",
        parameters={
            "type": "object",
            "properties": {"i": {"type": "integer"}},
            "required": ["i"],
        },
        func=noop,
    )

    async def run_once() -> None:
        provider = MockLlmProvider()
        for i in range(STEPS):
            provider.push_tool_call(f"c{i}", "noop", json.dumps({"i": i}))
        provider.push_text("done")
        options = AgentOptions(tools=[tool], max_iterations=STEPS + 5)
        result = await SmoothAgent(provider, options).run("bench")
        assert result.text == "done"

    def run() -> None:
        asyncio.run(run_once())

    return {"step": wall_us(run, 5) / STEPS}


def pydantic_ai() -> dict[str, float]:
    """pydantic-ai: a FunctionModel that calls the tool once a turn; and validate + call."""
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import FunctionModel

    def noop(i: int) -> int:
        """Return i at once."""
        return i

    def model(messages: list[Any], info: Any) -> ModelResponse:
        turn = len(messages) // 2
        if turn < STEPS:
            return ModelResponse(parts=[ToolCallPart("noop", {"i": turn}, tool_call_id=f"c{turn}")])
        return ModelResponse(parts=[TextPart("done")])

    agent = Agent(FunctionModel(model), tools=[noop])

    def run() -> None:
        assert agent.run_sync("bench").output == "done"

    out = {"step": wall_us(run, 5) / STEPS}
    from pydantic import TypeAdapter

    def add(a: int, b: int) -> int:
        return a + b

    from typing_extensions import TypedDict  # pydantic's choice on Python < 3.12

    class Args(TypedDict):
        a: int
        b: int

    adapter = TypeAdapter(Args)
    payload = {"a": 2, "b": 3}
    out["validate + call"] = best_us(lambda: add(**adapter.validate_python(payload)), 50_000)
    return out


def langgraph_graph(steps: int) -> Any:
    """A langgraph graph (not compiled) of a scripted model node that calls ``noop``
    once a turn for ``steps`` turns, then answers "done", and its prebuilt ToolNode.
    bench_scale.py compiles it with a checkpointer too."""
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool as lc_tool
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    @lc_tool
    def noop(i: int) -> int:
        """Return i at once."""
        return i

    def model(state: MessagesState) -> dict[str, Any]:
        turn = sum(1 for m in state["messages"] if isinstance(m, AIMessage))
        if turn < steps:
            call = {"name": "noop", "args": {"i": turn}, "id": f"c{turn}", "type": "tool_call"}
            return {"messages": [AIMessage(content="", tool_calls=[call])]}
        return {"messages": [AIMessage(content="done")]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", model)
    graph.add_node("tools", ToolNode([noop]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph


def langgraph() -> dict[str, float]:
    """langgraph: a graph of a scripted model node and its prebuilt ToolNode."""
    app = langgraph_graph(STEPS).compile()

    def run() -> None:
        final = app.invoke({"messages": [("user", "bench")]}, {"recursion_limit": 3 * STEPS})
        assert final["messages"][-1].content == "done"

    return {"step": wall_us(run, 5) / STEPS}


def smolagents() -> dict[str, float]:
    """smolagents: a ToolCallingAgent and a Model subclass that answers with tool calls."""
    import warnings

    from smolagents import Model, ToolCallingAgent
    from smolagents import tool as smol_tool
    from smolagents.models import (
        ChatMessage,
        ChatMessageToolCall,
        ChatMessageToolCallFunction,
        MessageRole,
    )

    def noop(i: int) -> int:
        """Return i at once.

        Args:
            i: the number to return.
        """
        return i

    with warnings.catch_warnings():  # "decorators other than @tool": this module's annotations
        warnings.simplefilter("ignore")
        noop = smol_tool(noop)

    class Scripted(Model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(model_id="scripted")
            self.turn = 0

        def generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            turn, self.turn = self.turn, self.turn + 1
            name, arguments = (
                ("noop", {"i": turn}) if turn < STEPS else ("final_answer", {"answer": "done"})
            )
            function = ChatMessageToolCallFunction(name=name, arguments=arguments)
            call = ChatMessageToolCall(function=function, id=f"c{turn}", type="function")
            return ChatMessage(role=MessageRole.ASSISTANT, content="", tool_calls=[call])

    def run() -> None:
        agent = ToolCallingAgent(
            tools=[noop], model=Scripted(), max_steps=STEPS + 5, verbosity_level=0
        )
        assert agent.run("bench") == "done"

    return {"step": wall_us(run, 5) / STEPS}


def agno() -> dict[str, float]:
    """agno: an Agent with telemetry off and a Model subclass that returns tool calls."""
    from dataclasses import dataclass

    from agno.agent import Agent
    from agno.models.base import Model
    from agno.models.response import ModelResponse

    def noop(i: int) -> int:
        """Return i at once."""
        return i

    @dataclass
    class Scripted(Model):  # type: ignore[misc]
        id: str = "scripted"
        name: str = "Scripted"
        provider: str = "scripted"

        def _turn(self, messages: Any) -> Any:
            turn = sum(1 for m in messages if m.role == "assistant")
            if turn < STEPS:
                arguments = json.dumps({"i": turn})
                function = {"name": "noop", "arguments": arguments}
                call = {"id": f"c{turn}", "type": "function", "function": function}
                return ModelResponse(role="assistant", content="", tool_calls=[call])
            return ModelResponse(role="assistant", content="done")

        def invoke(self, messages: Any = None, **kwargs: Any) -> Any:
            return self._turn(messages)

        async def ainvoke(self, messages: Any = None, **kwargs: Any) -> Any:
            return self._turn(messages)

        def invoke_stream(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        def ainvoke_stream(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        def _parse_provider_response(self, response: Any, **kwargs: Any) -> Any:
            return response

        def _parse_provider_response_delta(self, response: Any) -> Any:
            return response

    def run() -> None:
        agent = Agent(model=Scripted(), tools=[noop], telemetry=False)
        assert agent.run("bench").content == "done"

    return {"step": wall_us(run, 5) / STEPS}


def openai_agents() -> dict[str, float]:
    """openai-agents: the Runner, tracing off, and a Model that returns function calls."""
    from agents import Agent, Runner, function_tool, set_tracing_disabled
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    set_tracing_disabled(True)  # offline: no trace exporter

    @function_tool
    def noop(i: int) -> int:
        """Return i at once."""
        return i

    class Scripted(Model):  # type: ignore[misc]
        def __init__(self) -> None:
            self.turn = 0

        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            turn, self.turn = self.turn, self.turn + 1
            if turn < STEPS:
                out: list[Any] = [
                    ResponseFunctionToolCall(
                        type="function_call",
                        call_id=f"c{turn}",
                        name="noop",
                        arguments=json.dumps({"i": turn}),
                        id=f"fc{turn}",
                        status="completed",
                    )
                ]
            else:
                text = ResponseOutputText(type="output_text", text="done", annotations=[])
                out = [
                    ResponseOutputMessage(
                        type="message", id="m", role="assistant", status="completed", content=[text]
                    )
                ]
            return ModelResponse(output=out, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    async def run_once() -> None:
        agent = Agent(name="bench", model=Scripted(), tools=[noop])
        result = await Runner.run(agent, "bench", max_turns=STEPS + 5)
        assert result.final_output == "done"

    def run() -> None:
        asyncio.run(run_once())

    return {"step": wall_us(run, 5) / STEPS}


PEERS: dict[str, tuple[str, Callable[[], dict[str, float]]]] = {
    "smooth-operator-core": ("smooth_operator_core", smooth_operator),
    "pydantic-ai": ("pydantic_ai", pydantic_ai),
    "langgraph": ("langgraph", langgraph),
    "smolagents": ("smolagents", smolagents),
    "agno": ("agno", agno),
    "openai-agents": ("agents", openai_agents),
}


def cold_start_ms(args: list[str], runs: int = 9) -> float:
    """Median CPU time (user + system) of a fresh process running ``args``, ms."""
    # Bytecode caches as a user's install has them (this machine's shells may set
    # PYTHONDONTWRITEBYTECODE, which would make every start compile every module).
    env = {**os.environ, "AUTOPLUG_HOME": tempfile.mkdtemp()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(args, capture_output=True, env=env, check=False)  # writes the caches
    import resource

    def used() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    times = []
    for _ in range(runs):
        before = used()
        subprocess.run(args, capture_output=True, env=env, check=False)
        times.append(used() - before)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds

    import importlib.util

    available = {}
    for label, (module, measure) in PEERS.items():
        if importlib.util.find_spec(module) is None:
            print(f"skipped {label}: not installed")
        else:
            available[label] = measure

    samples: dict[str, list[float]] = {}
    for number in range(rounds):
        print(f"round {number + 1}/{rounds}", file=sys.stderr)
        for name, value in autoplug_figures().items():
            samples.setdefault(f"autoplug {name}", []).append(value)
        for label, measure in available.items():
            try:
                figures = measure()
            except Exception as exc:  # a peer's API moved: say so, measure the rest
                print(f"skipped {label}: {type(exc).__name__}: {exc}")
                available = {k: v for k, v in available.items() if k != label}
                continue
            for name, value in figures.items():
                samples.setdefault(f"{label} {name}", []).append(value)
    med = {name: statistics.median(values) for name, values in samples.items()}

    def line(name: str, base: str | None = None) -> None:
        if name not in med:
            return
        ratio = f"  {med[name] / med[base]:5.2f}x {base}" if base and base in med else ""
        print(f"{name:44s} {med[name]:9.2f} µs{ratio}")

    print(f"\n== medians of {rounds} rounds (process CPU time) ==")
    line("autoplug floor door")
    line("autoplug door", "autoplug floor door")
    line("pydantic-ai validate + call", "autoplug door")
    line("autoplug acall async", "autoplug floor door")
    line("autoplug thread hop")
    line("autoplug acall sync", "autoplug thread hop")
    line("autoplug step, one plan")
    line("autoplug step, own act")
    for label in PEERS:
        line(f"{label} step", "autoplug step, one plan")
    if "smooth-operator-core step" in med:
        line("autoplug step, own act", "smooth-operator-core step")

    print("\n== autoplug's step of one plan, by phase (µs per step, best of 15) ==")
    for name, value in plan_phases().items():
        print(f"{name:44s} {value:9.2f} µs")

    exe = Path(sys.executable).parent
    print("\n== cold start, CPU ms (median of 9 fresh processes) ==")
    plain = cold_start_ms([sys.executable, "-c", "pass"])
    ours = cold_start_ms([str(exe / "autoplug"), "tools"])
    print(f"python -c pass       {plain:7.1f} ms")
    print(f"autoplug tools       {ours:7.1f} ms")
    llm = exe / "llm" if (exe / "llm").exists() else shutil.which("llm")
    if llm:
        theirs = cold_start_ms([str(llm), "tools", "list"])
        print(f"llm tools list       {theirs:7.1f} ms   autoplug tools = {ours / theirs:.2f}x")
    else:
        print("skipped llm tools list: llm is not installed")


if __name__ == "__main__":
    main()
