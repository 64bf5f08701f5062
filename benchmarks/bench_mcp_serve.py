"""MCP server figures: ``autoplug mcp serve`` start (spawn to a listed tool set) and per-call
latency of a read-only builtin (``read_file``) seen by the SDK's client, over stdio and HTTP.

Run: python benchmarks/bench_mcp_serve.py   (needs the mcp extra)
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

CALLS = 300


def setup() -> tuple[dict[str, str], Path]:
    """A home with memory off and a workspace with one small file; the environment."""
    home, workspace = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (workspace / "notes.txt").write_text("Jupiter is the largest planet.\n")
    return {**os.environ, "AUTOPLUG_HOME": str(home)}, workspace


def args(workspace: Path, *extra: str) -> list[str]:
    return ["-m", "autoplug.cli", "mcp", "serve", "--workspace", str(workspace), *extra]


async def calls(session: ClientSession) -> list[float]:
    """Milliseconds per ``read_file`` call, after a warm-up."""
    for _ in range(10):
        await session.call_tool("read_file", {"path": "notes.txt"})
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        await session.call_tool("read_file", {"path": "notes.txt"})
        times.append((time.perf_counter() - start) * 1000)
    return times


def stdio(env: dict[str, str], workspace: Path) -> tuple[float, list[float]]:
    """Seconds from spawn to a listed tool set, and the per-call times, over stdio."""
    params = StdioServerParameters(command=sys.executable, args=args(workspace), env=env)

    async def go() -> tuple[float, list[float]]:
        start = time.perf_counter()
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    await session.list_tools()
                    ready = time.perf_counter() - start
                    return ready, await calls(session)

    return anyio.run(go)


def http(env: dict[str, str], workspace: Path) -> list[float]:
    """Per-call times over streamable HTTP on loopback."""
    from mcp.client.streamable_http import streamable_http_client

    process = subprocess.Popen(
        [sys.executable, *args(workspace, "--http", "127.0.0.1:0")],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    url = ""
    for line in process.stderr:
        found = re.search(r"(http://\S+/mcp)$", line.strip())
        if found:
            url = found.group(1)
            break

    async def go() -> list[float]:
        async with streamable_http_client(url) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                return await calls(session)

    try:
        return anyio.run(go)
    finally:
        process.terminate()
        process.wait(10)


def spread(values: list[Any]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"median {statistics.median(values):.2f}, p5 {q[0]:.2f}, p95 {q[-1]:.2f}"


def main() -> None:
    """Print the figures."""
    env, workspace = setup()
    starts = []
    for _ in range(3):
        ready, per_call = stdio(env, workspace)
        starts.append(ready)
    print(f"stdio: spawn to initialize + tools/list: median {statistics.median(starts):.2f} s")
    print(f"stdio: read_file per call (ms, {CALLS} calls): {spread(per_call)}")
    print(f"http:  read_file per call (ms, {CALLS} calls): {spread(http(env, workspace))}")
    from autoplug import CallContext, Kernel

    kernel = Kernel(builtins=["autoplug_files"], home=Path(env["AUTOPLUG_HOME"]))
    context = CallContext(workspace=workspace)

    async def door() -> list[float]:
        times = []
        for _ in range(CALLS):
            start = time.perf_counter()
            await kernel.tools.acall("read_file", {"path": "notes.txt"}, context=context)
            times.append((time.perf_counter() - start) * 1000)
        return times

    print(f"in process: kernel.tools.acall (ms): {spread(anyio.run(door))}")


if __name__ == "__main__":
    main()
