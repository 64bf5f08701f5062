"""Python lines executed per own-act step, by file and by function (settrace, 5 runs).

Usage: ``PYTHONPATH=core:builtin_plugins python benchmarks/own_act_lines.py``
"""

import asyncio
import collections
import runpy
import sys

sys.argv = ["own.py", "0"]
g = runpy.run_path("benchmarks/own_act_loop.py")
once = g["once"]
cnt = collections.Counter()
fcnt = collections.Counter()


def tr(frame, event, arg):
    if event == "call":
        fcnt[(frame.f_code.co_filename.split("/")[-1], frame.f_code.co_name)] += 1
    if event == "line":
        cnt[(frame.f_code.co_filename.split("/")[-1], frame.f_code.co_name)] += 1
    return tr


asyncio.run(once())
sys.settrace(tr)
for _ in range(5):
    asyncio.run(once())
sys.settrace(None)
tot = sum(cnt.values())
print("lines per step", tot / 100)
byfile = collections.Counter()
for (f, _n), c in cnt.items():
    byfile[f] += c
for f, c in byfile.most_common(20):
    print(f"{c / 100:8.1f} {f}")
print()
for (f, n), c in cnt.most_common(45):
    print(f"{c / 100:8.1f} lines {fcnt[(f, n)] / 100:5.2f} calls  {f}:{n}")
