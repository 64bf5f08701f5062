"""Tools for the agents' protocol tests: a large result, a strict consumer, a labeller, a timed wait.

The tests of several modules (the static agent's plan, fill and execution, the
dynamic agent, replay, the Assistant) drive real runs over these tools with the
scripted model. ``SEEN`` records what ``label`` was called with; ``DELAYS`` sets
how long each ``wait`` takes (the ``no_delays_left_behind`` fixture in
conftest.py empties it around a test).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from autoplug import Kernel, hookimpl, tool
from autoplug.agents.context import MemoryCheckpointer, RunContext
from autoplug.agents.static import StaticAgent
from autoplug.assets import AssetStore
from autoplug.scripted import ScriptedModel

DELAYS: dict[str, float] = {}

SEEN: list[dict[str, Any]] = []


class AgentTools:
    """Tools for the protocol tests: a large result, a strict consumer, a timed step."""

    name = "agenttools"

    @hookimpl
    def register_tools(self, register: Any) -> None:
        @tool
        def numbers(n: int = 20000) -> list:
            """A long list of numbers.

            n: how many
            """
            return list(range(n))

        @tool
        def count(text: str) -> int:
            """Count the characters of a text.

            text: the text
            """
            return len(text)

        @tool
        def label(text: str, style: str = "plain") -> str:
            """Label a text.

            text: the text
            style: plain or loud
            """
            SEEN.append({"text": text, "style": style})
            return text.upper() if style == "loud" else text

        @tool
        async def wait(name: str) -> str:
            """Wait as long as the test says, then return a text.

            name: which wait
            """
            await asyncio.sleep(DELAYS.get(name, 0.0))
            return f"waited for {name}"

        for each in (numbers, count, label, wait):
            register(each)


def agent_ctx(tmp_path: Path, replies: Any, assets: AssetStore | None = None) -> RunContext:
    """A run context over :class:`AgentTools` whose model answers with ``replies``."""
    kernel = Kernel(plugins=[AgentTools()], home=tmp_path / "home")
    return RunContext(
        kernel=kernel,
        model=ScriptedModel(replies),
        run_id=None,
        task="the task",
        workspace=tmp_path,
        assets=assets if assets is not None else AssetStore(),
        checkpoint=MemoryCheckpointer(),
    )


def step(id_: str, tool_: str, args: dict, output: str, **more: Any) -> dict:
    """One step of a plan."""
    return {"id": id_, "tool": tool_, "args": args, "output": output, **more}


def act(ctx: RunContext, names: list[str] | None = None) -> dict:
    """The static agent's report of one act on "the subtask", passed the assets ``names``."""
    return asyncio.run(StaticAgent(ctx).run("the subtask", names or [], 1))
