"""The own act against smooth-operator-core, run in alternation in one process.

Each pair runs autoplug's own-act loop of ``bench_peers.py`` (20 instant tool steps,
each its own ``act``) and then smooth-operator-core's run of the same task, and
prints quantiles of µs per step (thread CPU time) and of the pairs' ratios. A
ratio of runs made side by side swings less than one of two separate medians.
Needs smooth-operator-core (see docs/performance.md for the peers' environment)::

    PYTHONPATH=core:builtin_plugins python benchmarks/bench_own_act_pair.py [PAIRS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_peers  # noqa: E402


def runs() -> tuple:
    """The own-act run and smooth-operator-core's run, as bench_peers builds them."""
    made = []
    bench_peers.wall_us = lambda run, repeat=3: made.append(run) or 1.0
    bench_peers.best_us = lambda *a, **k: 1.0
    bench_peers.best_async_us = lambda *a, **k: 1.0
    bench_peers.autoplug_figures()
    own = made[-1]
    bench_peers.smooth_operator()
    return own, made[-1]


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    own, smooth = runs()
    mine, theirs = [], []
    for _ in range(pairs):
        for run, into in ((own, mine), (smooth, theirs)):
            start = time.thread_time()
            run()
            into.append((time.thread_time() - start) * 1e6 / bench_peers.STEPS)

    def quantiles(values: list[float]) -> str:
        ordered = sorted(values)
        return " ".join(f"{ordered[int(len(ordered) * f)]:.1f}" for f in (0, 0.25, 0.5, 0.75))

    print(f"own act, µs a step (min q25 median q75)   {quantiles(mine)}")
    print(f"smooth-operator-core                      {quantiles(theirs)}")
    ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
    print(f"pair ratio                                {quantiles(ratios)}")
    ratio = statistics.median(mine) / statistics.median(theirs)
    print(f"ratio of medians {ratio:.2f}, of the fastest runs {min(mine) / min(theirs):.2f}")


if __name__ == "__main__":
    main()
