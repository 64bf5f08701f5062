"""A team over real parts: SIGKILL mid-delegation then `autoplug resume`; children over HTTP.

The subprocess finds the test plugin through a real entry point (a module and a
``.dist-info`` on PYTHONPATH). Its scripted provider answers from the request,
so the killed process and the resuming one need no shared script position.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from openai_server import OpenAIServer, Recorded, Reply, providers_toml

from autoplug.runs import list_runs

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))

PLUGIN = '''
"""Counted tools, two roles and a stateless scripted model for a team."""

import os
import time
from pathlib import Path

from autoplug import Role, hookimpl, tool
from autoplug.scripted import ScriptedModel, call


def _count(name):
    with open(Path(os.environ["TEAMTEST_DIR"]) / f"{name}.txt", "a") as counter:
        counter.write("called\\n")
        counter.flush()
        os.fsync(counter.fileno())


@tool
def quick(label: str) -> str:
    """Mark a label.

    label: what to mark
    """
    _count("quick")
    return label + "-marked"


@tool
def slow(text: str) -> str:
    """Shout a text, slowly.

    text: what to shout
    """
    _count("slow")
    time.sleep(float(os.environ.get("TEAMTEST_SLOW_S", "0")))
    return text.upper()


PLANS = {
    "marker": [{"id": "m", "tool": "quick", "args": {"label": "a"}, "output": "mark"}],
    "shouter": [{"id": "s", "tool": "slow", "args": {"text": "b"}, "output": "shout"}],
}


def reply(request):
    system = request.messages[0].content or ""
    names = {f.name for f in request.functions}
    last = request.messages[-1].content or ""
    for role in PLANS:
        if f"Your role in the team: {role}." in system:
            if "submit_plan" in names:
                return call("submit_plan", steps=PLANS[role])
            if '"subtask"' in last:
                return call("final", answer=role + " done")
            return call("act", subtask=role + " work", assets=[])
    if '"delegated"' in last:
        return call("final", answer="team done")
    return call("delegate", assignments=[
        {"role": "marker", "subtask": "mark a", "assets": []},
        {"role": "shouter", "subtask": "shout b", "assets": []},
    ])


class Provider:
    name = "teamtest"

    def model(self, model_name, config):
        return ScriptedModel(reply, model_id=f"teamtest:{model_name}")


@hookimpl
def register_tools(register):
    register(quick)
    register(slow)


@hookimpl
def register_roles(register):
    register(Role("marker", "marks labels", "You mark.", tools=["quick"]))
    register(Role("shouter", "shouts texts", "You shout.", tools=["slow"]))


@hookimpl
def register_models(register):
    register(Provider())
'''


def install(site: Path) -> None:
    site.mkdir()
    (site / "teamtest_plugin.py").write_text(PLUGIN)
    info = site / "autoplug_teamtest-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: autoplug-teamtest\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoplug]\nteamtest = teamtest_plugin\n")


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_manager_killed_mid_delegation_resumes_without_redoing_a_finished_child(tmp_path):
    site, home, counters = tmp_path / "site", tmp_path / "home", tmp_path / "counters"
    install(site)
    home.mkdir()
    counters.mkdir()
    (home / "config.toml").write_text("[limits]\ntool_timeout_s = 600\n")
    env = dict(
        os.environ,
        AUTOPLUG_HOME=str(home),
        PYTHONPATH=str(site),
        TEAMTEST_DIR=str(counters),
        AUTOPLUG_LOAD_PLUGINS="teamtest,autoplug_autos",
    )
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [AUTOPLUG, "run", "Mark and shout.", "--auto", "manager", "--model", "teamtest:m"]
            + ["--json", "--workspace", str(tmp_path)],
            env=dict(env, TEAMTEST_SLOW_S="300"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:  # one child finished, the other mid-step
            finished = [r for r in list_runs(home) if r["parent"] and r["status"] == "succeeded"]
            if finished and lines(counters / "slow.txt"):
                break
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    runs = {r["team_role"]: r for r in list_runs(home)}
    assert runs[None]["status"] == "interrupted"
    assert runs["marker"]["status"] == "succeeded"
    assert runs["shouter"]["status"] == "interrupted"

    resumed = subprocess.run(
        [AUTOPLUG, "resume", runs[None]["run_id"], "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded" and result["answer"] == "team done"
    assert lines(counters / "quick.txt") == 1  # the finished child's tool ran exactly once
    assert lines(counters / "slow.txt") == 2  # the step in flight ran again
    assert sorted(a["name"] for a in result["assets"]) == ["marker.1.mark", "shouter.1.shout"]
    after = list_runs(home)
    assert len(after) == 3  # no child was started twice
    assert {r["status"] for r in after} == {"succeeded"}
    # The CLI's progress showed the resumed child's lines under its role.
    assert "shouter: resuming run" in resumed.stderr
    assert "shouter| " in resumed.stderr


def loopback_reply(recorded: Recorded) -> Reply:
    """A team over the OpenAI wire: two sleepers, each napping 0.5 s in its own child."""
    body = recorded.body
    messages = body.get("messages") or []
    system = messages[0].get("content") or ""
    last = json.dumps(messages[-1])
    offered = {t["function"]["name"] for t in body.get("tools") or []}
    if "Your role in the team: sleeper." in system:
        if "submit_plan" in offered:
            step = {"id": "n", "tool": "nap", "args": {"seconds": 0.5}, "output": "slept"}
            return Reply.chat(tool_calls=[("submit_plan", {"steps": [step]})])
        if "subtask" in last:
            return Reply.chat(tool_calls=[("final", {"answer": "rested"})])
        return Reply.chat(tool_calls=[("act", {"subtask": "nap", "assets": []})])
    if "delegated" in last:
        return Reply.chat(tool_calls=[("final", {"answer": "both rested"})])
    assignments = [{"role": "sleeper", "subtask": f"nap {k}", "assets": []} for k in (1, 2)]
    return Reply.chat(tool_calls=[("delegate", {"assignments": assignments})])


def test_two_children_over_the_openai_wire_sleep_at_the_same_time(isolated_home):
    from test_team import TeamPlugin

    from autoplug import Kernel
    from autoplug.assets import AssetStore
    from autoplug.runs import runs_dir

    server = OpenAIServer(loopback_reply).start()
    try:
        (isolated_home / "config.toml").write_text(providers_toml("loop", server.url))
        kernel = Kernel(
            plugins=[TeamPlugin()],
            builtins=["autoplug_autos", "autoplug_models"],
            home=isolated_home,
        )
        run = kernel.run("Rest twice.", model="loop:test-model", auto="manager")
    finally:
        server.stop()
    assert run.status == "succeeded" and run.answer == "both rested"
    naps = []
    for child in [r for r in list_runs(isolated_home) if r["parent"] == run.run_id]:
        folder = runs_dir(isolated_home) / child["run_id"] / "assets"
        naps.append(AssetStore.load(folder).get("slept").value)
    first, second = sorted(naps, key=lambda n: n["start"])
    assert second["start"] < first["end"]  # the two naps overlapped in time
    assert len(server.requests) == 2 + 2 * 3  # manager: 2 calls; each child: decide, plan, decide
