"""Agent figures: model calls and prompt tokens (static agent vs a plain ReAct loop),
the wall time of a fan-out plan, and the framework's overhead per step.

Run: python benchmarks/bench_agents.py

Every model is the scripted model, so no figure depends on a provider; prompt
tokens are its estimate (a quarter of the characters of the serialized messages
and offered functions), the same for both agents.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from autoplug import ChatRequest, FunctionSpec, Kernel, Message, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call

FILLER = (
    "The survey covers its history, the main figures, the open questions and the sources "
    "that a careful reader would check next; each paragraph is a few sentences long. "
)


@tool
def lookup(topic: str) -> dict:
    """Look a topic up: a summary and related topics.

    topic: what to look up
    """
    return {
        "topic": topic,
        "summary": f"{topic}: " + FILLER * 5,  # about 900 characters, a modest search result
        "related": [f"{topic}-a", f"{topic}-b"],
    }


@tool
async def slow(label: str) -> str:
    """Wait 200 ms, then return the label."""
    await asyncio.sleep(0.2)
    return label


@tool
async def noop(i: int) -> int:
    """Return i at once (async)."""
    return i


@tool
def noop_sync(i: int) -> int:
    """Return i at once (a sync tool, run in a worker thread)."""
    return i


class BenchTools:
    """The benchmark's tools."""

    name = "bench"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        for made in (lookup, slow, noop, noop_sync):
            register(made)


def kernel() -> Kernel:
    return Kernel(plugins=[BenchTools()], builtins=["autoplug_autos"], home=tempfile.mkdtemp())


# -- the task: n lookups, the second half following a related topic of the first half --


def topics(n: int) -> list[str]:
    return [f"topic{i}" for i in range(n)]


def react_script(n: int) -> list[Any]:
    """What a ReAct model calls: one lookup per turn (reading earlier results), then final."""
    first = topics(n)[: (n + 1) // 2]
    second = [f"{first[i % len(first)]}-a" for i in range(n - len(first))]
    return [call("lookup", topic=t) for t in first + second] + [call("final", answer="done")]


def static_steps(n: int, fill_every: int = 0) -> list[dict]:
    """The same work as one plan: the second half reads the first half's results."""
    first = topics(n)[: (n + 1) // 2]
    steps = [
        {"id": f"s{i}", "tool": "lookup", "args": {"topic": t}, "output": f"r{i}"}
        for i, t in enumerate(first)
    ]
    for j in range(n - len(first)):
        source = f"r{j % len(first)}"
        k = len(first) + j
        if fill_every and j % fill_every == 0:
            args = {"topic": {"$fill": f"the first related topic of {source}"}}
            steps.append(
                {
                    "id": f"s{k}",
                    "tool": "lookup",
                    "args": args,
                    "output": f"r{k}",
                    "inputs": [source],
                }
            )
        else:
            args = {"topic": {"$asset": source, "path": "/related/0"}}
            steps.append({"id": f"s{k}", "tool": "lookup", "args": args, "output": f"r{k}"})
    return steps


def static_replies(n: int, fill_every: int = 0) -> Any:
    """The scripted model of a Runner: act, submit_plan, fills, final (by request content)."""

    def reply(request: ChatRequest) -> Any:
        offered = [f.name for f in request.functions]
        if offered == ["submit_plan"]:
            return call("submit_plan", steps=static_steps(n, fill_every))
        if offered == ["lookup"]:
            source = request.messages[-1].content.split("first related topic of ")[1].split("\n")[0]
            return call("lookup", topic=f"topic{int(source[1:])}-a")
        if any(m.role == "tool" for m in request.messages):
            return call("final", answer="done")
        return call("act", subtask=f"look up {n} topics and what they relate to", assets=[])

    return reply


async def react_loop(k: Kernel, model: ScriptedModel, task: str) -> tuple[int, int]:
    """A plain ReAct loop: one tool call per turn, the whole transcript resent each turn.

    Returns (model calls, prompt tokens).
    """
    functions = tuple(
        FunctionSpec(k.tools.model_name(t), t.description, t.parameters) for t in k.tools.all()
    ) + (
        FunctionSpec(
            "final",
            "Give the final answer.",
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
            },
        ),
    )
    messages = [
        Message("system", "You are an agent. Call one tool per turn; call final with the answer."),
        Message("user", task),
    ]
    calls = tokens = 0
    while True:
        response = await model.complete(ChatRequest(messages=tuple(messages), functions=functions))
        calls += 1
        tokens += response.usage.input_tokens
        (fc,) = response.function_calls
        if fc.name == "final":
            return calls, tokens
        result = await k.tools.acall(fc.name, fc.arguments)
        messages.append(Message("assistant", None, function_calls=(fc,)))
        messages.append(Message("tool", json.dumps(result.to_dict()), call_id=fc.id, name=fc.name))


def calls_and_tokens() -> None:
    print("== model calls and prompt tokens per task (scripted model's estimate) ==")
    print(
        f"{'tool calls':>10} | {'ReAct calls':>11} {'tokens':>8} | {'static calls':>12} {'tokens':>8} {'ratio':>6} | {'static+fills':>12} {'tokens':>8} {'ratio':>6}"
    )
    for n in (3, 6, 12):
        k = kernel()
        task = f"look up {n} topics and what they relate to"
        react_calls, react_tokens = asyncio.run(react_loop(k, ScriptedModel(react_script(n)), task))
        row = [f"{n:>10} | {react_calls:>11} {react_tokens:>8}"]
        for fill_every in (0, 3):
            result = k.run(
                task,
                model=ScriptedModel(static_replies(n, fill_every)),
                workspace=tempfile.mkdtemp(),
            )
            assert result.status == "succeeded", result
            usage = result.usage
            ratio = react_tokens / usage["input_tokens"]
            row.append(f"{usage['llm_calls']:>12} {usage['input_tokens']:>8} {ratio:>5.1f}x")
        print(" | ".join(row))
    print("static+fills: every third step of the second half leaves its argument as $fill")


def static_ctx(k: Kernel, replies: Any, **limits: Any) -> RunContext:
    return RunContext(
        kernel=k,
        model=ScriptedModel(replies),
        run_id=None,
        task="bench",
        workspace=Path(tempfile.mkdtemp()),
        assets=AssetStore(),
        checkpoint=MemoryCheckpointer(),
        limits={**k.config.limits, **limits},
    )


def fan_out() -> None:
    print("\n== fan-out: 8 independent tools that each wait 200 ms ==")
    k = kernel()
    steps = [
        {"id": f"s{i}", "tool": "slow", "args": {"label": f"l{i}"}, "output": f"o{i}"}
        for i in range(8)
    ]
    for concurrency in (8, 4):
        times = []
        for _ in range(5):
            ctx = static_ctx(k, [call("submit_plan", steps=steps)], concurrency=concurrency)
            start = time.perf_counter()
            report = asyncio.run(StaticAgent(ctx).run("fan out", [], 1))
            times.append(time.perf_counter() - start)
            assert report["status"] == "succeeded"
        print(
            f"static agent, concurrency {concurrency}:  {statistics.median(times) * 1000:7.1f} ms (median of 5)"
        )
    script = [call("slow", label=f"l{i}") for i in range(8)] + [call("final", answer="x")]
    start = time.perf_counter()
    asyncio.run(react_loop(k, ScriptedModel(script), "fan out"))
    print(f"plain ReAct loop (one call per turn): {(time.perf_counter() - start) * 1000:7.1f} ms")


def overhead() -> None:
    print("\n== framework overhead per step (scripted model, instant tools) ==")
    k = kernel()
    n = 400
    for name, chained in (("noop", False), ("noop_sync", False), ("noop", True)):
        steps = []
        for i in range(n):
            arg = {"$asset": f"o{i - 1}"} if chained and i else i
            steps.append({"id": f"s{i}", "tool": name, "args": {"i": arg}, "output": f"o{i}"})
        best = float("inf")
        for _ in range(5):
            ctx = static_ctx(k, [call("submit_plan", steps=steps)])
            start = time.perf_counter()
            report = asyncio.run(StaticAgent(ctx).run("overhead", [], 1))
            best = min(best, time.perf_counter() - start)
            assert report["status"] == "succeeded"
        shape = "a chain ($asset)" if chained else "independent"
        kind = "sync tool" if name == "noop_sync" else "async tool"
        print(
            f"static agent, in memory, {kind:10} {shape:16}: {best / n * 1e6:7.1f} µs/step ({n} steps, plan check included)"
        )

    # A whole Runner run: run folder, SQLite checkpoints, JSONL trace, assets on disk.
    steps = [{"id": f"s{i}", "tool": "noop", "args": {"i": i}, "output": f"o{i}"} for i in range(n)]

    def reply(request: ChatRequest) -> Any:
        if [f.name for f in request.functions] == ["submit_plan"]:
            return call("submit_plan", steps=steps)
        if any(m.role == "tool" for m in request.messages):
            return call("final", answer="done")
        return call("act", subtask="many steps", assets=[])

    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = k.run("many steps", model=ScriptedModel(reply), workspace=tempfile.mkdtemp())
        times.append(time.perf_counter() - start)
        assert result.status == "succeeded"
    print(
        f"whole Runner run with its run folder, async tool: {min(times) / n * 1e6:7.1f} µs/step ({n} steps, best of 3)"
    )


def main() -> None:
    calls_and_tokens()
    fan_out()
    overhead()


if __name__ == "__main__":
    main()
