"""Kernel figures: CLI cold start and the cost of one validated call through the door.

Run: python benchmarks/bench_kernel.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit


def cold_start(args: list[str], runs: int = 15) -> float:
    """Median wall time of a fresh process running ``args``, in seconds."""
    env = {**os.environ, "AUTOPLUG_HOME": tempfile.mkdtemp()}
    # With bytecode caches, as an install has them: without, every start compiles every module.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(args, capture_output=True, env=env, check=True)  # writes the caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_call(stmt, number: int = 50_000, repeat: int = 5) -> float:
    """Best-of-``repeat`` time of one call, in microseconds."""
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "autoplug")
    print("== cold start (median of 15 runs) ==")
    print(
        f"python -c pass              {cold_start([sys.executable, '-c', 'pass']) * 1000:7.1f} ms"
    )
    print(
        f"python -c 'import autoplug' {cold_start([sys.executable, '-c', 'import autoplug']) * 1000:7.1f} ms"
    )
    print(f"autoplug --help             {cold_start([exe, '--help']) * 1000:7.1f} ms")
    print(f"autoplug tools              {cold_start([exe, 'tools']) * 1000:7.1f} ms")

    from jsonschema import Draft202012Validator

    from autoplug import Kernel, hookimpl, tool
    from autoplug.registry import ToolRegistry

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    class Plugin:
        name = "bench"

        @hookimpl
        def register_tools(self, register):
            register(add)

    bare = ToolRegistry()
    bare.add(add, "bench")
    kernel = Kernel(plugins=[Plugin()], home=tempfile.mkdtemp())
    args = {"a": 2, "b": 3}
    validator = Draft202012Validator(add.parameters)
    registered = kernel.tools.get("add")
    registered.violations(args)  # compile once
    with_hooks = Kernel(plugins=[Plugin()], builtins=True, home=tempfile.mkdtemp())

    print("\n== one call of add(a, b), microseconds (best of 5 x 50k) ==")
    print(f"plain function call                 {per_call(lambda: add.func(2, 3)):6.2f}")
    print(f"jsonschema validator.is_valid       {per_call(lambda: validator.is_valid(args)):6.2f}")
    print(
        f"jsonschema validator.iter_errors    {per_call(lambda: list(validator.iter_errors(args))):6.2f}"
    )
    print(
        f"door's compiled fast check          {per_call(lambda: registered.violations(args)):6.2f}"
    )
    print(f"ToolRegistry.call, no hook relay    {per_call(lambda: bare.call('add', args)):6.2f}")
    print(
        f"kernel.tools.call (pluggy hooks)    {per_call(lambda: kernel.tools.call('add', args)):6.2f}"
    )
    print(
        f"kernel.tools.call, all builtins     {per_call(lambda: with_hooks.tools.call('bench.add', args)):6.2f}"
    )

    @tool
    async def aadd(a: int, b: int) -> int:
        """Add two integers, async, returning without suspending."""
        return a + b

    bare.add(aadd, "bench")

    async def acalls(n: int = 50_000) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await bare.acall("aadd", args)
        return (time.perf_counter() - start) / n * 1e6

    import asyncio

    print(
        f"acall, async tool, no suspension    {min(asyncio.run(acalls()) for _ in range(5)):6.2f}"
    )
    bad = {"a": "x", "b": 3}
    print(
        f"invalid call (full error report)    {per_call(lambda: kernel.tools.call('add', bad), number=5000):6.2f}"
    )


if __name__ == "__main__":
    main()
