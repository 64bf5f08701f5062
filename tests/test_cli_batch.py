"""``autoplug batch`` as a user runs it: the real console script in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import stderr_until

from autoplug.runs import list_runs

NAP_PLUGIN = '''
import atexit, os, time, uuid
from pathlib import Path
from autoplug import hookimpl, tool

if os.environ.get("NAP_LINGER"):  # a process that takes its time to end after the command
    atexit.register(time.sleep, float(os.environ["NAP_LINGER"]))

@tool
def nap(seconds: float) -> str:
    """Sleep (a sync tool), leaving a mark when it starts; it also prints to stdout.

    seconds: how long, unless NAP_SECONDS says otherwise
    """
    Path(os.environ["NAP_MARKS"], uuid.uuid4().hex).write_text("started")
    print("noise from a tool")
    time.sleep(float(os.environ.get("NAP_SECONDS", seconds)))
    return "rested"

@tool(timeout=1)
async def nap_on_loop(seconds: float) -> str:
    """Sleep without awaiting: it blocks the event loop (what async tools must not do).

    seconds: how long
    """
    Path(os.environ["NAP_MARKS"], uuid.uuid4().hex).write_text("started")
    time.sleep(seconds)
    return "rested"

@hookimpl
def register_tools(register):
    register(nap)
    register(nap_on_loop)
'''


@pytest.fixture
def home(isolated_home: Path) -> Path:
    """AUTOPLUG_HOME with memory off (these tests are about the command)."""
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    return isolated_home


@pytest.fixture
def marks(home, tmp_path_factory, monkeypatch) -> Path:
    """The nap plugin as a real entry point on PYTHONPATH; returns the folder of its marks."""
    site = tmp_path_factory.mktemp("nap_site")
    (site / "nap_plugin.py").write_text(NAP_PLUGIN)
    info = site / "autoplug_nap-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: autoplug-nap\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoplug]\nnap = nap_plugin\n")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    folder = tmp_path_factory.mktemp("marks")
    monkeypatch.setenv("NAP_MARKS", str(folder))
    return folder


def autoplug(*args: str, cwd: Path, timeout: float = 120, **popen: object):
    """Run the real ``autoplug`` command; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def script(folder: Path, replies: list, name: str = "replies.json") -> str:
    (folder / name).write_text(json.dumps(replies))
    return f"scripted:{name}"


def step_script(folder: Path, tool: str, args: dict, name: str = "replies.json") -> str:
    """act, a one-step plan calling ``tool``, final."""
    step = {"id": "s1", "tool": tool, "args": args, "output": "out"}
    return script(
        folder,
        [
            {"call": "act", "arguments": {"subtask": f"use {tool}", "assets": []}},
            {"call": "submit_plan", "arguments": {"steps": [step]}},
            {"call": "final", "arguments": {"answer": "done"}},
        ],
        name,
    )


def write_tasks(folder: Path, lines: list) -> Path:
    path = folder / "tasks.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def last_lines(path: Path) -> dict[str, dict]:
    last: dict[str, dict] = {}
    for line in path.read_text().splitlines():
        data = json.loads(line)
        last[data["id"]] = data
    return last


def test_batch_appends_a_result_line_per_task_and_prints_a_summary(home, tmp_path):
    (tmp_path / "notes.txt").write_text("Jupiter\n")
    model = step_script(tmp_path, "read_file", {"path": "notes.txt"})
    write_tasks(
        tmp_path, [{"task": "read", "id": "a"}, {"task": "read"}, {"task": "read", "id": 9}]
    )
    done = autoplug(
        "batch", "tasks.jsonl", "--model", model, "--output", "out.jsonl", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["statuses"] == {"succeeded": 3} and summary["total"] == 3
    assert summary["usage"]["llm_calls"] == 9 and summary["bad_lines"] == 0
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(x["id"] for x in lines) == ["2", "9", "a"]
    assert all(
        list(x) == ["id", "run_id", "status", "answer", "output", "reason", "usage"] for x in lines
    )
    assert {x["run_id"] for x in lines} == {r["run_id"] for r in list_runs(home)}
    # Not a terminal: one progress line per finished task, then the summary line.
    assert done.stderr.count("succeeded (run ") == 3 and "[3/3]" in done.stderr
    assert "batch: 3 succeeded" in done.stderr


def test_results_on_stdout_stay_json_lines_when_a_tool_prints(home, tmp_path, marks):
    model = step_script(tmp_path, "nap", {"seconds": 0})
    write_tasks(tmp_path, [{"task": "nap"}, {"task": "nap"}])
    done = autoplug("batch", "tasks.jsonl", "--model", model, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["status"] for x in done.stdout.splitlines()] == ["succeeded"] * 2
    assert "noise from a tool" in done.stderr


def test_a_malformed_line_a_duplicate_id_and_an_unknown_model(home, tmp_path):
    model = script(tmp_path, [{"call": "final", "arguments": {"answer": "ok"}}])
    lines = [
        {"task": "one", "id": "x"},
        '{"task": "two", ',  # line 2: malformed
        {"task": "three", "model": "nosuch:model"},
        {"task": "four", "id": "x"},  # a duplicate of line 1
        {"task": "five"},
    ]
    write_tasks(tmp_path, lines)
    args = ("batch", "tasks.jsonl", "--model", model, "--output", "out.jsonl")
    refused = autoplug(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert "duplicate id(s): 'x' on lines 1, 4; nothing was run" in refused.stderr
    assert not (tmp_path / "out.jsonl").exists() and list_runs(home) == []

    lines[3] = {"task": "four", "id": "y"}
    write_tasks(tmp_path, lines)
    done = autoplug(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "error: tasks.jsonl line 2: not valid JSON" in done.stderr
    last = last_lines(tmp_path / "out.jsonl")
    assert sorted(last) == ["3", "5", "x", "y"]
    assert (
        last["3"]["status"] == "failed" and "unknown model provider 'nosuch'" in last["3"]["reason"]
    )
    assert {i: last[i]["answer"] for i in ("5", "x", "y")} == dict.fromkeys(("5", "x", "y"), "ok")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--auto", "nosuch"), "unknown auto 'nosuch'"),
        (("--model", "nosuch:m"), "unknown model provider 'nosuch'"),
        (("--ray-address", "1.2.3.4:6379"), "--ray-address needs --engine ray"),
        (("--workspace", "missing"), "'missing' is not a folder"),
        (("--concurrency", "0"), "--concurrency"),
        (("--output", "tasks.jsonl"), "is the tasks file itself"),
    ],
)
def test_bad_batch_wide_options_exit_2_before_anything_runs(home, tmp_path, extra, says):
    model = script(tmp_path, [{"call": "final", "arguments": {"answer": "ok"}}])
    write_tasks(tmp_path, [{"task": "one"}])
    args = ("--model", model, *extra) if "--model" not in extra else extra
    done = autoplug("batch", "tasks.jsonl", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert list_runs(home) == []


def test_a_batch_with_no_model_anywhere_exits_2(home, tmp_path):
    write_tasks(tmp_path, [{"task": "one"}, {"task": "two"}])
    done = autoplug("batch", "tasks.jsonl", cwd=tmp_path)
    assert done.returncode == 2
    assert "no model for line 1 and 1 more" in done.stderr
    missing = autoplug("batch", "nope.jsonl", cwd=tmp_path)
    assert missing.returncode == 2 and "tasks file 'nope.jsonl' does not exist" in missing.stderr


def test_ctrl_c_leaves_every_started_run_interrupted_and_the_same_command_finishes(
    home, tmp_path, marks, monkeypatch
):
    model = step_script(tmp_path, "nap", {"seconds": 30})
    write_tasks(tmp_path, [{"task": f"nap {i}", "id": f"n{i}"} for i in range(6)])
    command = [
        "batch",
        "tasks.jsonl",
        "--model",
        model,
        "--output",
        "out.jsonl",
        "--concurrency",
        "3",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplug.cli", *command],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the tools never started"
        time.sleep(0.05)
    time.sleep(0.2)
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - pressed < 10, err
    assert proc.returncode == 130, err
    runs = list_runs(home)
    assert len(runs) == 3 and {r["status"] for r in runs} == {"interrupted"}
    last = last_lines(tmp_path / "out.jsonl")
    assert {x["status"] for x in last.values()} == {"interrupted"} and len(last) == 3
    assert {x["run_id"] for x in last.values()} == {r["run_id"] for r in runs}
    assert "3 started run(s) left interrupted" in err
    assert f"continue the batch with: autoplug {' '.join(command)}" in err

    interrupted = {i: x["run_id"] for i, x in last.items()}

    monkeypatch.setenv("NAP_SECONDS", "0")
    again = autoplug(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    last = last_lines(tmp_path / "out.jsonl")
    assert sorted(last) == [f"n{i}" for i in range(6)]
    assert {x["status"] for x in last.values()} == {"succeeded"}
    # The interrupted runs were finished, not started again.
    assert {i: last[i]["run_id"] for i in interrupted} == interrupted
    third = autoplug(*command, cwd=tmp_path)
    assert third.returncode == 0 and "skipping 6 task(s) already succeeded" in third.stderr
    runs = list_runs(home)
    assert len(runs) == 6 and {r["status"] for r in runs} == {"succeeded"}


def start_napping_batch(folder: Path, marks: Path, model: str) -> subprocess.Popen:
    """``autoplug batch`` of ``folder``'s tasks.jsonl in a subprocess, once its tool has started."""
    command = ["batch", "tasks.jsonl", "--model", model, "--output", "out.jsonl"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplug.cli", *command],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(marks.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the tool never started"
        time.sleep(0.05)
    return proc


def test_a_second_ctrl_c_exits_at_once_and_the_run_still_reads_interrupted(home, tmp_path, marks):
    # The tool blocks the event loop: the first Ctrl-C cannot end the batch, the second must.
    model = step_script(tmp_path, "nap_on_loop", {"seconds": 30})
    write_tasks(tmp_path, [{"task": "nap"}])
    proc = start_napping_batch(tmp_path, marks, model)
    proc.send_signal(signal.SIGINT)
    # The second once the first was handled: two sent before the process runs again
    # arrive as one (a POSIX signal is pending or not).
    said = stderr_until(proc, "(Ctrl-C again to exit now)")
    assert proc.poll() is None, "the blocked loop cannot end the batch on the first Ctrl-C"
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=30)
    err = said + rest
    assert proc.returncode == 130, err
    assert time.monotonic() - pressed < 10, "the second Ctrl-C waited for the tool"
    assert "interrupted at once; continue the batch with: autoplug batch tasks.jsonl" in err
    runs = list_runs(home)
    assert len(runs) == 1 and runs[0]["status"] == "interrupted"


def test_a_ctrl_c_while_an_interrupted_batch_is_ending_still_exits_130_at_once(
    home, tmp_path, marks, monkeypatch
):
    monkeypatch.setenv("NAP_LINGER", "30")
    model = step_script(tmp_path, "nap", {"seconds": 30})
    write_tasks(tmp_path, [{"task": "nap"}])
    proc = start_napping_batch(tmp_path, marks, model)
    proc.send_signal(signal.SIGINT)
    said = stderr_until(proc, "started run(s) left interrupted; continue the batch with")
    # The command has returned; the process lingers at its exit. Another Ctrl-C there.
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=20)
    err = said + rest
    assert proc.returncode == 130, err
    assert time.monotonic() - pressed < 10, "the second Ctrl-C waited for the process's end"
    assert (
        "interrupted at once" in err and "Traceback" not in err and "KeyboardInterrupt" not in err
    )


def test_engine_ray_without_ray_installed_says_how_to_install_it(home, tmp_path):
    import importlib.util

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("ray is installed here; its engine is tested with it")
    model = script(tmp_path, [{"call": "final", "arguments": {"answer": "ok"}}])
    write_tasks(tmp_path, [{"task": "one"}])
    done = autoplug("batch", "tasks.jsonl", "--model", model, "--engine", "ray", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "pip install 'autoplug[ray]'" in done.stderr and "Traceback" not in done.stderr
    assert list_runs(home) == []


@pytest.mark.slow
def test_a_thousand_tasks_under_an_open_files_limit_of_256_all_succeed(home, tmp_path):
    import resource

    (tmp_path / "notes.txt").write_text("Jupiter\n")
    model = step_script(tmp_path, "read_file", {"path": "notes.txt"})
    write_tasks(tmp_path, [{"task": f"read {i}"} for i in range(1000)])

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    done = autoplug(
        "batch",
        "tasks.jsonl",
        "--model",
        model,
        "--output",
        "out.jsonl",
        "--concurrency",
        "100",
        "--json",
        cwd=tmp_path,
        timeout=600,
        preexec_fn=low_limit,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "concurrency lowered from 100" in done.stderr
    last = last_lines(tmp_path / "out.jsonl")
    assert len(last) == 1000 and {x["status"] for x in last.values()} == {"succeeded"}
    assert json.loads(done.stdout)["statuses"] == {"succeeded": 1000}


def test_an_interrupted_batch_called_in_process_gives_the_callers_ctrl_c_handler_back(
    home, tmp_path, marks, monkeypatch
):
    # click's CliRunner runs the command in this process, which goes on after the 130: its
    # Ctrl-C handler must be its own again, not the batch's "exit now" (os._exit(130)).
    import threading

    from click.testing import CliRunner

    from autoplug.cli import build_cli

    monkeypatch.syspath_prepend(os.environ["PYTHONPATH"].split(os.pathsep)[0])
    monkeypatch.chdir(tmp_path)
    model = step_script(tmp_path, "nap", {"seconds": 5})  # (its thread is abandoned)
    write_tasks(tmp_path, [{"task": "nap"}])

    def press_once_the_tool_started() -> None:
        deadline = time.monotonic() + 60
        while not list(marks.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_once_the_tool_started, daemon=True)
    mine = signal.getsignal(signal.SIGINT)
    presser.start()
    result = CliRunner().invoke(
        build_cli(), ["batch", "tasks.jsonl", "--model", model, "--output", "out.jsonl"]
    )
    presser.join(60)
    assert result.exit_code == 130, result.output
    assert signal.getsignal(signal.SIGINT) is mine
