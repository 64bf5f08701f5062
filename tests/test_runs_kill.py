"""kill -9 at random moments of a many-step run: no finished step is ever redone.

A real subprocess runs a 60-step chain of a side-effect tool that appends its
step number to a counter file; the test SIGKILLs it at a random moment, reads
which steps the run's journal holds as finished, resumes (killing again), and at
the end checks every step ran, and that no step the journal held as finished
at a kill ran again after it. Only the one step in flight at a kill may run twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from autoplug.runs import RunStore

STEPS = 60

SCRIPT = r'''
import asyncio, os, random, sys, time
from pathlib import Path
from autoplug import Kernel, hookimpl, tool
from autoplug.autos import aresume_run
from autoplug.scripted import ScriptedModel, call

N = int(os.environ["KILL_STEPS"])
COUNTER = os.environ["KILL_COUNTER"]


@tool(side_effects=True)
def tick(n: int, prev: str = "") -> str:
    """Count one tick (a side effect: every call is written down).

    n: the tick's number
    prev: what the tick before returned
    """
    fd = os.open(COUNTER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{n}\n".encode())
    os.close(fd)
    time.sleep(random.random() * 0.006)
    return "ALL-DONE" if n == N else f"tick-{n}"


class Ticks:
    @hookimpl
    def register_tools(self, register):
        register(tick)


PLAN = [{"id": "t1", "tool": "tick", "args": {"n": 1}, "output": "a1"}] + [
    {"id": f"t{n}", "tool": "tick", "args": {"n": n, "prev": {"$asset": f"a{n - 1}"}},
     "output": f"a{n}"}
    for n in range(2, N + 1)
]


def reply(request):
    if any(f.name == "submit_plan" for f in request.functions):
        return call("submit_plan", steps=PLAN)
    if "tick-1" in " ".join(m.content or "" for m in request.messages):  # the act reported
        return call("final", answer="done")
    return call("act", subtask="tick them all", assets=[])


def started(event):
    if event.type in ("run_started", "run_resumed"):
        print(event.run_id, flush=True)


kernel = Kernel(plugins=[Ticks()], builtins=["autoplug_autos"], home=Path(sys.argv[1]))
model = ScriptedModel(reply, model_id="scripted:ticks")
if sys.argv[2] == "run":
    result = kernel.run("tick", model=model, approve=True, on_event=started)
else:
    result = asyncio.run(
        aresume_run(kernel, sys.argv[2], model=model, approve=True, on_event=started)
    )
print(result.status, flush=True)
'''


def counts(counter: Path) -> Counter:
    if not counter.exists():
        return Counter()
    text = counter.read_text()
    return Counter(int(n) for n in text.split("\n")[:-1])  # a cut last line is not a tick


def finished_steps(home: Path, run_id: str) -> set[int]:
    with RunStore.open(home, run_id, read_only=True) as store:
        return {int(step[1:]) for _, step, rec in store.steps() if rec["status"] == "succeeded"}


def status(home: Path, run_id: str) -> str:
    with RunStore.open(home, run_id, read_only=True) as store:
        return store.info()["status"]


def start(home: Path, what: str, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(home), what],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline().strip()
    assert line, "the run printed no run id"
    return proc, line


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_kill_9_at_random_moments_never_redoes_a_finished_step(tmp_path, seed):
    rng = random.Random(seed)
    home, counter = tmp_path / "home", tmp_path / "ticks.txt"
    env = {**os.environ, "KILL_STEPS": str(STEPS), "KILL_COUNTER": str(counter)}
    proc, run_id = start(home, "run", env)
    kills = []  # (finished steps per the journal, tick counts) at each kill
    ended = False  # the run had ended (its journal says succeeded) before a kill landed
    for _ in range(3):
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is not None:
            break  # it finished before this kill
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append((finished_steps(home, run_id), counts(counter)))
        if status(home, run_id) == "succeeded":
            ended = True  # nothing is left to resume (a resume would be refused)
            break
        proc, resumed = start(home, run_id, env)
        assert resumed == run_id
    if not ended:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip().endswith("succeeded"), out
    assert status(home, run_id) == "succeeded"
    final = counts(counter)
    assert set(final) == set(range(1, STEPS + 1))  # every step ran
    for finished, at_kill in kills:
        assert all(at_kill[n] >= 1 for n in finished)  # a recorded step had run
        redone = {n: (at_kill[n], final[n]) for n in finished if final[n] != at_kill[n]}
        assert not redone, f"finished steps ran again after a kill: {redone}"
    # Only a step in flight at some kill may have run twice.
    assert sum(final.values()) - STEPS <= len(kills)
    assert kills, "no kill landed: the run was faster than every delay"
