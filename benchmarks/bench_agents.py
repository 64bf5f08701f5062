"""Agent figures: prompt tokens against a real ReAct agent, the wall time of a
fan-out plan, and the framework's overhead per step.

Run: pip install -e '.[bench]' && python benchmarks/bench_agents.py

Prompt tokens: the same task (n lookups, the second half reading the first half's
results), the same one tool, the same tool results and the same model choices for
both agents, each talking over real HTTP to a loopback OpenAI-wire server
(benchmarks/wire_server.py) that records every request body. The baseline is an
unmodified pydantic-ai ``Agent`` offered only ``lookup`` (a minimal ReAct loop over
the same wire when pydantic-ai is not installed). Tokens are counted over the
recorded bodies with the o200k tokenizer (``bpe-openai``, whose vocabulary ships in
its wheel): every message and every offered function, as a provider bills them.
The other figures use the scripted model, so no figure depends on a provider.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autoplug import ChatRequest, FunctionSpec, Kernel, Message, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel, call

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wire_server import RecordingServer  # noqa: E402

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


# -- prompt tokens: autoplug against a real ReAct agent, both over the OpenAI wire --
#
# The task: look up n topics, the second half following a related topic of the first
# half. Both agents get the same one tool (`lookup`), the same tool results and the
# same scripted model choices, served by a loopback server that records every request
# body; the tokens are counted over those bodies with the o200k tokenizer.

SIZES = (1, 2, 3, 6, 12, 24)


def topics(n: int) -> list[str]:
    """The topics of a task of n lookups: the first half, then a related topic of each."""
    first = [f"topic{i}" for i in range((n + 1) // 2)]
    return first + [f"{first[j % len(first)]}-a" for j in range(n - len(first))]


def lookup_result(topic: str) -> dict:
    """What `lookup` returns for ``topic`` (the same for both agents)."""
    return {
        "topic": topic,
        "summary": f"{topic}: " + FILLER * 5,  # about 900 characters, a modest search result
        "related": [f"{topic}-a", f"{topic}-b"],
    }


def task_text(n: int) -> str:
    return f"Look up {n} topics (the first {(n + 1) // 2}, then a related topic of each) and say what they relate to."


@tool(name="lookup")
def task_lookup(topic: str) -> dict:
    """Look a topic up: a summary and related topics.

    topic: what to look up
    """
    return lookup_result(topic)


class TaskTools:
    """The token benchmark's only tool."""

    name = "task"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(task_lookup)


def plan_steps(n: int, fill_every: int = 0) -> list[dict]:
    """The task as one plan: the second half reads the first half's results."""
    first = topics(n)[: (n + 1) // 2]
    steps = [
        {"id": f"s{i}", "tool": "lookup", "args": {"topic": t}, "output": f"r{i}"}
        for i, t in enumerate(first)
    ]
    for j in range(n - len(first)):
        source, k = f"r{j % len(first)}", len(first) + j
        step: dict[str, Any] = {"id": f"s{k}", "tool": "lookup", "output": f"r{k}"}
        if fill_every and j % fill_every == 0:
            step["args"] = {"topic": {"$fill": f"the first related topic of {source}"}}
            step["inputs"] = [source]
        else:
            step["args"] = {"topic": {"$asset": source, "path": "/related/0"}}
        steps.append(step)
    return steps


def autoplug_reply(n: int, fill_every: int) -> Any:
    """The model's choices for autoplug: act, submit_plan, the fills, final."""
    first = topics(n)[: (n + 1) // 2]

    def reply(body: dict) -> Any:
        offered = [t["function"]["name"] for t in body.get("tools", [])]
        if offered == ["submit_plan"]:
            return None, [("submit_plan", {"steps": plan_steps(n, fill_every)})]
        if offered == ["lookup"]:
            text = "\n".join(str(m.get("content") or "") for m in body["messages"])
            source = int(re.search(r"first related topic of r(\d+)", text).group(1))
            return None, [("lookup", {"topic": f"{first[source]}-a"})]
        if any(m["role"] == "tool" for m in body["messages"]):
            return None, [("final", {"answer": "done"})]
        return None, [("act", {"subtask": task_text(n), "assets": []})]

    return reply


def react_reply(n: int) -> Any:
    """A ReAct model's choices: one lookup per turn (reading the results so far), then text."""
    order = topics(n)

    def reply(body: dict) -> Any:
        done = sum(m["role"] == "tool" for m in body["messages"])
        if done < n:
            return None, [("lookup", {"topic": order[done]})]
        return "done", []

    return reply


def encoder() -> Any:
    """The o200k tokenizer (``bpe-openai``, vocabulary in the wheel), or None."""
    try:
        import bpe_openai
    except ImportError:
        return None
    return bpe_openai.get_encoding("o200k_base")


def request_tokens(body: dict, enc: Any) -> int:
    """The prompt tokens of one chat request: its messages and the tools it offers.

    The same count for both agents: per message 3 tokens of framing, its role, its
    text and each tool call's name and arguments; per offered tool its function
    object (name, description, parameters) as compact JSON; 3 to prime the reply.
    """

    def count(text: str) -> int:
        return len(enc.encode(text)) if enc is not None else (len(text) + 3) // 4

    total = 3
    for message in body["messages"]:
        content = message.get("content") or ""
        if isinstance(content, list):  # content parts
            content = "".join(part.get("text", "") for part in content)
        total += 3 + count(message["role"]) + count(content)
        for made in message.get("tool_calls") or []:
            total += 3 + count(made["function"]["name"]) + count(made["function"]["arguments"])
    for offered in body.get("tools") or []:
        total += count(json.dumps(offered["function"], separators=(",", ":")))
    return total


def react_baseline(url: str, task: str) -> str:
    """Run the baseline ReAct agent against ``url``; returns which agent it was.

    A real pydantic-ai ``Agent`` (the ``bench`` extra) when installed, offered only
    ``lookup``; otherwise a minimal ReAct loop over the same wire.
    """
    try:
        from pydantic_ai import Agent
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider
    except ImportError:
        return plain_react(url, task)

    def lookup(topic: str) -> dict:
        """Look a topic up: a summary and related topics.

        Args:
            topic: what to look up
        """
        return lookup_result(topic)

    model = OpenAIChatModel("bench-model", provider=OpenAIProvider(base_url=url, api_key="bench"))
    agent = Agent(model, tools=[lookup])
    agent.run_sync(task)
    import pydantic_ai

    return f"pydantic-ai {pydantic_ai.__version__} Agent"


def plain_react(url: str, task: str) -> str:
    """A minimal ReAct loop (no system prompt, results as bare JSON), for when pydantic-ai is absent."""
    import httpx

    spec = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a topic up: a summary and related topics.",
            "parameters": {
                "type": "object",
                "properties": {"topic": {"type": "string", "description": "what to look up"}},
                "required": ["topic"],
            },
        },
    }
    messages: list[dict] = [{"role": "user", "content": task}]
    while True:
        body = {"model": "bench-model", "messages": messages, "tools": [spec]}
        reply = httpx.post(f"{url}/chat/completions", json=body).json()
        message = reply["choices"][0]["message"]
        if not message.get("tool_calls"):
            return "a plain ReAct loop (pip install -e '.[bench]' for pydantic-ai)"
        messages.append(message)
        for call_ in message["tool_calls"]:
            result = lookup_result(**json.loads(call_["function"]["arguments"]))
            messages.append(
                {"role": "tool", "tool_call_id": call_["id"], "content": json.dumps(result)}
            )


def autoplug_run(n: int, fill_every: int) -> tuple[int, int, list[dict]]:
    """One autoplug run of the task over the wire: (model calls, prompt tokens, bodies)."""
    home = Path(tempfile.mkdtemp())
    with RecordingServer(autoplug_reply(n, fill_every)) as server:
        (home / "config.toml").write_text(
            f'[memory]\nbackend = "none"\n[providers.bench]\nbase_url = "{server.url}"\n'
        )
        k = Kernel(plugins=[TaskTools()], builtins=["autoplug_autos", "autoplug_models"], home=home)
        result = k.run(task_text(n), model="bench:bench-model", workspace=tempfile.mkdtemp())
        assert result.status == "succeeded", result
    return len(server.bodies), sum(request_tokens(b, ENC) for b in server.bodies), server.bodies


def react_run(n: int) -> tuple[int, int, str]:
    """One baseline ReAct run of the task: (model calls, prompt tokens, which agent)."""
    with RecordingServer(react_reply(n)) as server:
        agent = react_baseline(server.url, task_text(n))
    return len(server.bodies), sum(request_tokens(b, ENC) for b in server.bodies), agent


ENC = encoder()


def calls_and_tokens() -> None:
    tokenizer = "o200k (bpe-openai)" if ENC is not None else "characters / 4 (no bpe-openai)"
    rows = []
    agent = ""
    for n in SIZES:
        react_calls, react_tokens, agent = react_run(n)
        row = [n, react_calls, react_tokens]
        for fill_every in (0, 3):
            calls, tokens, _ = autoplug_run(n, fill_every)
            row += [calls, tokens, tokens / react_tokens]
        rows.append(row)
    print(f"== prompt tokens per task: autoplug vs {agent}; tokenizer {tokenizer} ==")
    print(
        f"{'tool calls':>10} | {'ReAct calls':>11} {'tokens':>7} | {'autoplug calls':>14} "
        f"{'tokens':>7} {'÷ ReAct':>8} {'fewer':>6} | {'with fills':>10} {'tokens':>7} {'÷ ReAct':>8}"
    )
    for n, rc, rt, ac, at, ar, fc, ft, fr in rows:
        print(
            f"{n:>10} | {rc:>11} {rt:>7} | {ac:>14} {at:>7} {ar:>7.2f}x {1 / ar:>5.1f}x | "
            f"{fc:>10} {ft:>7} {fr:>7.2f}x"
        )
    print("with fills: every third step of the second half leaves its argument as $fill")


def fixed_cost() -> None:
    """The tokens of each autoplug request of a one-lookup task: where the fixed cost goes."""
    _, _, bodies = autoplug_run(1, 0)
    print("\n== autoplug's requests for one tool call ==")
    for body in bodies:
        offered = ",".join(t["function"]["name"] for t in body.get("tools", []))
        tools_only = request_tokens({"messages": [], "tools": body.get("tools")}, ENC) - 3
        print(
            f"offering {offered:24} {request_tokens(body, ENC):>5} tokens "
            f"({tools_only} of them the offered functions)"
        )


def without_instructions(body: dict) -> dict:
    """``body`` with nothing but the protocol: no system prompt (the planner keeps its
    catalog lines), no function descriptions. What the request would cost if every
    instruction were free: a floor no wording can go below."""
    body = json.loads(json.dumps(body))
    for offered in body.get("tools") or []:
        offered["function"].pop("description", None)
    messages = body["messages"]
    if messages and messages[0]["role"] == "system":
        text = messages.pop(0)["content"]
        if [t["function"]["name"] for t in body.get("tools") or []] == ["submit_plan"]:
            catalog = [line for line in text.splitlines() if line.startswith(("- ", "  "))]
            messages.insert(0, {"role": "system", "content": "\n".join(catalog)})
    return body


def token_floor() -> None:
    """The floor of the dual agent's protocol against ReAct, at 1, 2 and 3 tool calls."""
    print("\n== the protocol's floor: autoplug's requests without any instruction ==")
    print(
        f"{'tool calls':>10} | {'ReAct':>6} | {'autoplug':>8} {'÷ ReAct':>8} | {'floor':>6} {'÷ ReAct':>8}"
    )
    for n in (1, 2, 3):
        _, react_tokens, _ = react_run(n)
        _, tokens, bodies = autoplug_run(n, 0)
        floor = sum(request_tokens(without_instructions(b), ENC) for b in bodies)
        print(
            f"{n:>10} | {react_tokens:>6} | {tokens:>8} {tokens / react_tokens:>7.2f}x | "
            f"{floor:>6} {floor / react_tokens:>7.2f}x"
        )
    print("floor: the same requests with no system prompt and no function descriptions")


async def react_loop(k: Kernel, model: ScriptedModel, task: str) -> tuple[int, int]:
    """A plain ReAct loop for the fan-out timing: one tool call per turn, transcript resent."""
    functions = tuple(
        FunctionSpec(k.tools.model_name(t), t.description, t.parameters) for t in k.tools.all()
    ) + (FunctionSpec("final", "Give the final answer.", {"type": "object", "properties": {}}),)
    messages = [Message("user", task)]
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
        messages.append(Message("tool", json.dumps(result.value), call_id=fc.id, name=fc.name))


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
    fixed_cost()
    token_floor()
    fan_out()
    overhead()


if __name__ == "__main__":
    main()
