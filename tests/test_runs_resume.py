"""Kill `autoplug run` with SIGKILL mid-step, then `autoplug resume` it.

The subprocess finds the test plugin through a real entry point: a module and a
tiny ``.dist-info`` (METADATA + entry_points.txt) in a folder on PYTHONPATH, so
importlib.metadata discovers it exactly as an installed plugin, with no pip.
The plugin gives two tools that count their calls in files (a fast one, and a
slow one that sleeps after counting) and a model provider ``killtest`` whose
scripted replies are a function of the request, so the killed process and the
resuming one need no shared script position.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from old_folders import asset_records, to_schema_2
from openai_server import OpenAIServer, Recorded, Reply, providers_toml

from autoplug.assets import INLINE_MAX

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))

PLUGIN = '''
"""A test plugin: counted tools and a stateless scripted model."""

import os
import time
from pathlib import Path

from autoplug import hookimpl, tool
from autoplug.scripted import ScriptedModel, call


def _count(name: str) -> None:
    with open(Path(os.environ["KILLTEST_DIR"]) / f"{name}.txt", "a") as counter:
        counter.write("called\\n")
        counter.flush()
        os.fsync(counter.fileno())


@tool
def fast_step(label: str) -> str:
    """Mark a label as done.

    label: what to mark
    """
    _count("fast")
    # Padded past the size kept inside the manifest, when a test needs an asset file to lose.
    return f"{label}-done" + "." * int(os.environ.get("KILLTEST_PAD", "0"))


@tool
def slow_step(text: str) -> str:
    """Shout a text, slowly.

    text: what to shout
    """
    _count("slow")
    time.sleep(float(os.environ.get("KILLTEST_SLOW_S", "0")))
    return text.rstrip(".").upper() + "!"


@tool(side_effects=True)
def side_step(text: str) -> str:
    """Send a text somewhere, slowly (a side effect: each call counts).

    text: what to send
    """
    _count("side")
    time.sleep(float(os.environ.get("KILLTEST_SLOW_S", "0")))
    return text.upper() + "!"


PLAN = __PLAN__
if os.environ.get("KILLTEST_SECOND_TOOL"):
    PLAN[1]["tool"] = os.environ["KILLTEST_SECOND_TOOL"]
ANSWER = __ANSWER__
SUBTASK = __SUBTASK__


def reply(request):
    if any(f.name == "submit_plan" for f in request.functions):
        return call("submit_plan", steps=PLAN)
    seen = " ".join(m.content or "" for m in request.messages)
    if "A-DONE!" in seen:
        return call("final", answer=ANSWER)
    return call("act", subtask=SUBTASK, assets=[])


class Provider:
    name = "killtest"

    def model(self, model_name, config):
        return ScriptedModel(reply, model_id=f"killtest:{model_name}")


@hookimpl
def register_tools(register):
    register(fast_step)
    register(slow_step)
    register(side_step)


@hookimpl
def register_models(register):
    register(Provider())
'''


# The model's choices, shared by the plugin's scripted provider and the loopback server.
PLAN = [
    {"id": "first", "tool": "fast_step", "args": {"label": "a"}, "output": "marked"},
    {
        "id": "second",
        "tool": "slow_step",
        "args": {"text": {"$asset": "marked"}},
        "output": "shouted",
    },
]
ANSWER = "The result is A-DONE!"
SUBTASK = "mark a, then shout it"


def loopback_reply(recorded: Recorded) -> Reply:
    """The loopback server's answer: stateless, like the plugin's scripted model."""
    body = recorded.body
    offered = {t["function"]["name"] for t in body.get("tools") or []}
    if "submit_plan" in offered:
        return Reply.chat(tool_calls=[("submit_plan", {"steps": PLAN})])
    if "A-DONE!" in json.dumps(body.get("messages")):
        return Reply.chat(tool_calls=[("final", {"answer": ANSWER})])
    return Reply.chat(tool_calls=[("act", {"subtask": SUBTASK, "assets": []})])


def install_plugin(site: Path) -> None:
    """Make ``killtest_plugin`` a real ``autoplug`` entry point for Pythons with ``site`` on PYTHONPATH."""
    site.mkdir()
    code = PLUGIN.replace("__PLAN__", repr(PLAN)).replace("__ANSWER__", repr(ANSWER))
    (site / "killtest_plugin.py").write_text(code.replace("__SUBTASK__", repr(SUBTASK)))
    info = site / "autoplug_killtest-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: autoplug-killtest\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoplug]\nkilltest = killtest_plugin\n")


@pytest.fixture(params=["plugin", "loopback"])
def setup(request, tmp_path):
    """Folders, config and environment for a subprocess run; ``model`` is the model id.

    ``plugin``: the test plugin's scripted provider. ``loopback``: the builtin
    OpenAI-compatible provider against a loopback server in this process.
    """
    site, home, counters, workspace = (tmp_path / n for n in ("site", "home", "counters", "ws"))
    install_plugin(site)
    for folder in (home, counters, workspace):
        folder.mkdir()
    # Generous tool timeout: the slow step must still be in flight when it is killed.
    config = "[limits]\ntool_timeout_s = 600\n"
    plugins = "killtest,autoplug_autos"
    model = "killtest:m"
    if request.param == "loopback":
        server = OpenAIServer(loopback_reply).start()
        request.addfinalizer(server.stop)
        config = providers_toml("loop", server.url) + "\n" + config
        plugins += ",autoplug_models"
        model = "loop:test-model"
    (home / "config.toml").write_text(config)
    env = dict(
        os.environ,
        AUTOPLUG_HOME=str(home),
        PYTHONPATH=str(site),
        KILLTEST_DIR=str(counters),
        AUTOPLUG_LOAD_PLUGINS=plugins,
    )
    return Setup(env, counters, workspace, tmp_path, model)


@dataclass
class Setup:
    """What a test needs to start, kill and resume a run."""

    env: dict[str, str]
    counters: Path
    workspace: Path
    tmp_path: Path
    model: str


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTOPLUG, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def start_and_kill_in_slow_step(setup: Setup) -> str:
    """Start `autoplug run`, SIGKILL it while the slow step sleeps; return the run id."""
    env, counters = setup.env, setup.counters
    log = setup.tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [AUTOPLUG, "run", "Mark a and shout it.", "--model", setup.model, "--json"]
            + ["--workspace", str(setup.workspace)],
            env=dict(env, KILLTEST_SLOW_S="300"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while lines(counters / "slow.txt") == 0:  # poll: the slow step has started
            assert proc.poll() is None, f"run ended before the slow step: {log.read_text()}"
            assert time.monotonic() < deadline, f"slow step never started: {log.read_text()}"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    listed = json.loads(cli(env, "runs", "--json").stdout)
    assert len(listed) == 1
    return listed[0]["run_id"]


def test_a_killed_run_is_interrupted_and_resume_finishes_it_without_redoing_steps(setup):
    env, counters = setup.env, setup.counters
    run_id = start_and_kill_in_slow_step(setup)

    listed = json.loads(cli(env, "runs", "--json").stdout)
    assert listed[0]["status"] == "interrupted"
    shown = json.loads(cli(env, "runs", "show", run_id, "--json").stdout)
    assert shown["acts"][0]["subtask"] == "mark a, then shout it"
    steps = {s["id"]: s["status"] for s in shown["acts"][0]["steps"]}
    assert steps == {"first": "succeeded", "second": "pending"}
    assert (lines(counters / "fast.txt"), lines(counters / "slow.txt")) == (1, 1)

    resumed = cli(env, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["run_id"] == run_id
    assert result["status"] == "succeeded"
    assert result["answer"] == "The result is A-DONE!"
    assert {a["name"] for a in result["assets"]} >= {"marked", "shouted"}
    # The finished step ran exactly once; the one in flight ran again.
    assert lines(counters / "fast.txt") == 1
    assert lines(counters / "slow.txt") == 2

    listed = json.loads(cli(env, "runs", "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in listed] == [(run_id, "succeeded")]
    # The transcript spans both processes: each step once, in act 1 (the reused step
    # is not repeated; the attempt killed in flight never ended).
    told = json.loads(cli(env, "runs", "show", run_id, "--transcript", "--json").stdout)
    steps = [(e["act"], e["step"], e["status"]) for e in told if e["kind"] == "step"]
    assert steps == [(1, "first", "succeeded"), (1, "second", "succeeded")]
    assert told[-1]["kind"] == "model" and told[-1]["agent"] == "dynamic"
    again = cli(env, "resume", run_id)
    assert again.returncode == 2 and "already succeeded" in again.stderr


def test_resume_prints_the_answer_on_stdout_without_json(setup):
    env, counters = setup.env, setup.counters
    run_id = start_and_kill_in_slow_step(setup)
    resumed = cli(env, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "The result is A-DONE!"
    assert "Traceback" not in resumed.stderr
    assert (lines(counters / "fast.txt"), lines(counters / "slow.txt")) == (1, 2)


def test_the_plugin_folder_is_a_real_entry_point(setup):
    """Guards the harness itself: the subprocess lists the test plugin's tools."""
    env = setup.env
    result = cli(env, "tools", "--json")
    assert result.returncode == 0, result.stderr
    names = {t["name"] for t in json.loads(result.stdout)}
    assert {"fast_step", "slow_step", "side_step"} <= names


@pytest.mark.parametrize("setup", ["plugin"], indirect=True)
def test_two_resumes_started_together_have_one_winner_and_run_each_step_once(setup):
    env = dict(setup.env, KILLTEST_SECOND_TOOL="side_step")
    counters = setup.counters
    proc = subprocess.Popen(
        [AUTOPLUG, "run", "Mark a and send it.", "--model", setup.model, "--yes"]
        + ["--workspace", str(setup.workspace)],
        env=dict(env, KILLTEST_SLOW_S="300"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while lines(counters / "side.txt") == 0:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run_id = json.loads(cli(env, "runs", "--json").stdout)[0]["run_id"]
    # The side step takes 3 s in the resumers: the loser arrives while the winner holds it.
    command = [AUTOPLUG, "resume", run_id, "--yes", "--json"]
    racers = [
        subprocess.Popen(
            command,
            env=dict(env, KILLTEST_SLOW_S="3"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    ended = [(p.returncode, out, err) for p in racers for out, err in [p.communicate(timeout=60)]]
    codes = sorted(code for code, _, _ in ended)
    assert codes == [0, 2], ended
    loser = next(err for code, _, err in ended if code == 2)
    winner_pid = next(p.pid for p in racers if p.returncode == 0)
    # The loser is refused by the claim ("is being run by pid N on ...") or, arriving once
    # the winner's claim is on record, by resume's own check ("is still running (pid N on").
    assert f"is being run by pid {winner_pid} on " in loser or (
        f"is still running (pid {winner_pid} on " in loser
    ), loser
    # Killed once in the side step, so it ran twice in all: once there, once in the winner.
    assert (lines(counters / "fast.txt"), lines(counters / "side.txt")) == (1, 2)
    trace = Path(env["AUTOPLUG_HOME"]) / "runs" / run_id / "trace.jsonl"
    seqs = [json.loads(line)["seq"] for line in trace.read_text().splitlines()]
    assert len(seqs) == len(set(seqs)), "duplicate sequence numbers in the trace"


@pytest.mark.parametrize("setup", ["plugin"], indirect=True)
def test_a_killed_run_with_only_small_assets_has_no_assets_folder_and_resumes_with_them(setup):
    env, counters = setup.env, setup.counters
    run_id = start_and_kill_in_slow_step(setup)
    folder = Path(env["AUTOPLUG_HOME"]) / "runs" / run_id
    # The first step's asset is a record of the journal, on disk with its step's record.
    assert not (folder / "assets").exists()
    assert [(r["name"], r["value"]) for r in asset_records(folder)] == [("marked", "a-done")]
    resumed = cli(env, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["status"] == "succeeded"
    assert {a["name"]: a["preview"] for a in report["assets"]} == {
        "marked": "a-done",
        "shouted": "A-DONE!",
    }
    # The finished step was not redone: its asset came back from the journal.
    assert (lines(counters / "fast.txt"), lines(counters / "slow.txt")) == (1, 2)
    assert not (folder / "assets").exists()
    assert [r["name"] for r in asset_records(folder)] == ["marked", "shouted"]


@pytest.mark.parametrize("setup", ["plugin"], indirect=True)
def test_an_old_folder_with_an_asset_manifest_still_resumes_and_keeps_its_format(setup):
    env, counters = setup.env, setup.counters
    run_id = start_and_kill_in_slow_step(setup)
    folder = Path(env["AUTOPLUG_HOME"]) / "runs" / run_id
    to_schema_2(folder)  # as the previous autoplug wrote it: assets/manifest.jsonl
    manifest = folder / "assets" / "manifest.jsonl"
    assert len(manifest.read_text().splitlines()) == 1
    shown = json.loads(cli(env, "runs", "show", run_id, "--json").stdout)
    assert [a["name"] for a in shown["assets"]] == ["marked"]
    resumed = cli(env, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
    assert (lines(counters / "fast.txt"), lines(counters / "slow.txt")) == (1, 2)
    # A folder of schema 2 goes on with its own manifest, not journal records.
    names = [json.loads(line)["name"] for line in manifest.read_text().splitlines()]
    assert names == ["marked", "shouted"]
    assert asset_records(folder) == []
    shown = json.loads(cli(env, "runs", "show", run_id, "--json").stdout)
    assert [a["preview"] for a in shown["assets"]] == ["a-done", "A-DONE!"]


@pytest.mark.parametrize("setup", ["plugin"], indirect=True)
def test_resume_reruns_a_step_whose_asset_file_is_gone_when_it_has_no_side_effects(setup):
    env, counters = setup.env, setup.counters
    env["KILLTEST_PAD"] = str(INLINE_MAX)  # a value this big is in a file of its own
    run_id = start_and_kill_in_slow_step(setup)
    assets = Path(env["AUTOPLUG_HOME"]) / "runs" / run_id / "assets"
    entries = asset_records(assets.parent)  # a big asset: its record names its file
    (marked,) = [a["file"] for a in entries if a["name"] == "marked"]
    (assets / marked).unlink()
    resumed = cli(env, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
    # fast_step has no side effects: it ran again to make its lost asset again.
    assert (lines(counters / "fast.txt"), lines(counters / "slow.txt")) == (2, 2)


@pytest.mark.parametrize("setup", ["plugin"], indirect=True)
def test_a_garbled_trace_line_is_skipped_counted_and_the_run_resumes(setup):
    env = setup.env
    run_id = start_and_kill_in_slow_step(setup)
    trace = Path(env["AUTOPLUG_HOME"]) / "runs" / run_id / "trace.jsonl"
    kept = trace.read_text().splitlines()
    assert len(kept) > 3
    kept[2] = kept[2][: len(kept[2]) // 2] + "\x00garbage"  # damaged in the middle
    trace.write_text("\n".join(kept) + "\n")
    shown = cli(env, "runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "trace:  1 unreadable line(s) of trace.jsonl skipped" in shown.stdout
    as_json = json.loads(cli(env, "runs", "show", run_id, "--json").stdout)
    assert as_json["unreadable_trace_lines"] == 1
    resumed = cli(env, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
