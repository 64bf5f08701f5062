"""MCP client figures: server cold start, per-call latency through the door vs the bare SDK,
and ``autoplug tools`` with three configured (cached) servers vs none.

Run: python benchmarks/bench_mcp.py   (needs the mcp extra and mcp-server-time)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TIME_ARGS = ["-m", "mcp_server_time", "--local-timezone", "UTC"]
CALL = ("get_current_time", {"timezone": "Europe/Oslo"})


def table(name: str) -> str:
    return f"[mcp.{name}]\ncommand = {json.dumps(sys.executable)}\nargs = {json.dumps(TIME_ARGS)}\n"


def home_with(*tables: str) -> Path:
    home = Path(tempfile.mkdtemp())
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n' + "".join(tables))
    return home


def cold_start(runs: int = 5) -> tuple[float, float]:
    """Median seconds to start mcp-server-time and list its tools: a fresh autoplug process
    (``mcp refresh``, SDK import included), and a new connection in a warm process."""
    exe = os.path.join(os.path.dirname(sys.executable), "autoplug")
    home = home_with(table("time"))
    env = {**os.environ, "AUTOPLUG_HOME": str(home)}
    cli = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([exe, "mcp", "refresh"], env=env, capture_output=True, check=True)
        cli.append(time.perf_counter() - start)
    from autoplug import Kernel

    warm = []
    for _ in range(runs):
        kernel = Kernel(builtins=["autoplug_mcp"], home=home)
        kernel.mcp.runtime()  # the loop thread and the SDK import, outside the timing
        start = time.perf_counter()
        kernel.mcp.refresh()
        warm.append(time.perf_counter() - start)
        kernel.close()
    return statistics.median(cli), statistics.median(warm)


async def interleaved(kernel: Any, calls: int) -> tuple[list[float], list[float]]:
    """Alternate one bare SDK call and one call through the door on the same session.

    The bare call is ``session.call_tool`` timed inside the MCP loop thread (the
    SDK alone); the door's is ``kernel.tools.acall`` timed by the caller
    (validation, approval, hooks, the hop to the loop thread and back, the
    result's conversion). One server process serves both, so both see the same
    noise of a shared machine.
    """
    runtime = kernel.mcp.runtime()
    session = runtime.connections["mcp_time"].session

    async def bare_call() -> float:
        start = time.perf_counter()
        await session.call_tool(*CALL)
        return time.perf_counter() - start

    bare, door = [], []
    for _ in range(calls):
        bare.append(await asyncio.wrap_future(runtime.submit(bare_call())))
        start = time.perf_counter()
        assert (await kernel.tools.acall(*CALL)).ok
        door.append(time.perf_counter() - start)
    return bare, door


def per_call(calls: int) -> tuple[float, float, float]:
    """Median ms of a bare SDK call, a door acall, and a blocking door call."""
    from autoplug import Kernel

    home = home_with(table("time"))
    with Kernel(builtins=["autoplug_mcp"], home=home) as kernel:
        kernel.mcp.refresh()
        kernel.tools.call(*CALL)  # the connection is up
        bare, door = asyncio.run(interleaved(kernel, calls))
        blocking = []
        for _ in range(calls):
            start = time.perf_counter()
            assert kernel.tools.call(*CALL).ok
            blocking.append(time.perf_counter() - start)
    return tuple(statistics.median(x) * 1000 for x in (bare, door, blocking))  # type: ignore[return-value]


def tools_listing(runs: int = 15) -> tuple[float, float]:
    """Median ms of ``autoplug tools`` with no MCP server, and with three cached servers."""
    exe = os.path.join(os.path.dirname(sys.executable), "autoplug")
    none = home_with()
    three = home_with(table("one"), table("two"), table("three"))
    env3 = {**os.environ, "AUTOPLUG_HOME": str(three)}
    subprocess.run([exe, "mcp", "refresh"], env=env3, capture_output=True, check=True)
    figures = []
    for home in (none, three):
        env = {**os.environ, "AUTOPLUG_HOME": str(home)}
        subprocess.run([exe, "tools"], env=env, capture_output=True, check=True)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([exe, "tools"], env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        figures.append(statistics.median(times) * 1000)
    return figures[0], figures[1]


def main() -> None:
    calls = 500
    cli, warm = cold_start()
    print("== server cold start: mcp-server-time, initialize + tools/list (median of 5) ==")
    print(f"autoplug mcp refresh (fresh process)  {cli * 1000:7.0f} ms")
    print(f"new connection in a warm process      {warm * 1000:7.0f} ms")
    b, a, d = per_call(calls)
    print(f"== per call: get_current_time, median of {calls}, bare and door interleaved ==")
    print(f"bare SDK session.call_tool             {b:7.3f} ms")
    print(f"door, kernel.tools.acall               {a:7.3f} ms  ({(a / b - 1) * 100:+.1f} %)")
    print(f"door, kernel.tools.call (blocking)     {d:7.3f} ms  ({(d / b - 1) * 100:+.1f} %)")
    none, three = tools_listing()
    print("== autoplug tools (median of 15) ==")
    print(f"no MCP server                          {none:7.1f} ms")
    print(f"three cached servers                   {three:7.1f} ms  ({three - none:+.1f} ms)")


if __name__ == "__main__":
    main()
