"""``autoplug run`` and ``autoplug chat`` as a user runs them: the real console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_cli import last_error_line
from notes_run import NOTES, READ_NOTES
from openai_server import OpenAIServer, Reply, providers_toml
from processes import stderr_until

from autoplug.kernel import NO_MODEL_HELP
from autoplug.runs import list_runs


def autoplug(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 60):
    """Run the real ``autoplug`` command; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


@pytest.fixture
def home(isolated_home: Path) -> Path:
    """AUTOPLUG_HOME with memory off (these tests are about the commands)."""
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    return isolated_home


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text(NOTES)
    return tmp_path


def script(folder: Path, replies: list, name: str = "replies.json") -> str:
    """Write scripted replies; the model id that answers with them."""
    (folder / name).write_text(json.dumps(replies))
    return f"scripted:{name}"


def test_run_with_no_model_exits_2_with_the_ways_to_set_one(home, workspace):
    done = autoplug("run", "Which is the largest planet?", cwd=workspace)
    assert done.returncode == 2
    assert done.stdout == ""
    expected = NO_MODEL_HELP.format(config=home / "config.toml")
    assert expected in done.stderr
    assert "replay:examples/planets.jsonl" in done.stderr
    assert "Traceback" not in done.stderr
    assert list_runs(home) == []  # no run was created


def test_run_prints_the_answer_on_stdout_and_progress_on_stderr(home, workspace):
    model = script(workspace, READ_NOTES)
    done = autoplug("run", "Largest planet?", "--model", model, cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Jupiter\n"
    assert "» act: read the notes" in done.stderr
    assert "  [ ] s1 read_file -> notes" in done.stderr
    assert "  [>] s1 read_file" in done.stderr
    assert "  [x] s1 read_file -> notes" in done.stderr
    assert " succeeded" in done.stderr.splitlines()[-1]


def test_run_json_prints_one_object_with_the_contract_keys(home, workspace):
    done = autoplug(
        "run", "Largest planet?", "--model", script(workspace, READ_NOTES), "--json", cwd=workspace
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result) == ["run_id", "status", "answer", "output", "reason", "assets", "usage"]
    assert result["output"] is None  # no --output-schema
    assert result["status"] == "succeeded" and result["answer"] == "Jupiter"
    assert result["reason"] is None
    assert result["assets"] == [
        {
            "name": "notes",
            "step": "s1",
            "tool": "read_file",
            "type": "text",
            "size": len(NOTES),
            "preview": NOTES,
        }
    ]
    assert result["usage"]["llm_calls"] == 3
    assert [r["run_id"] for r in list_runs(home)] == [result["run_id"]]


def test_a_stopped_run_exits_1_with_the_reason(home, workspace):
    loop = [{"call": "brainstorm", "arguments": {"thoughts": "hmm"}}] * 3
    model = script(workspace, loop)
    done = autoplug("run", "Think", "--model", model, cwd=workspace)
    assert done.returncode == 1
    assert done.stdout == ""
    assert 'stopped: loop detected: brainstorm {"thoughts": "hmm"} decided 3 times' in done.stderr
    as_json = autoplug("run", "Think", "--model", model, "--json", cwd=workspace)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["status"] == "stopped"


def test_a_provider_error_fails_the_run_with_exit_1(home, workspace):
    model = script(workspace, [{"error": "503 service unavailable"}])
    done = autoplug("run", "x", "--model", model, "--json", cwd=workspace)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "failed" and "503 service unavailable" in result["reason"]


ANSWER_42 = [{"call": "final", "arguments": {"answer": "42"}}]


def test_a_runs_folder_that_cannot_be_made_is_a_clear_error(tmp_path, isolated_home):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (isolated_home / "runs").write_text("a file where the runs folder belongs")
    (tmp_path / "r.json").write_text(json.dumps(ANSWER_42))

    proc = autoplug("run", "six times seven?", "--model", "scripted:r.json", cwd=tmp_path)

    assert proc.returncode == 1
    assert last_error_line(proc) == (
        f"error: cannot create a run folder in {isolated_home / 'runs'}: File exists "
        "(it must be a folder autoplug can write)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope:x"], "unknown model provider 'nope'"),
        (["--model", "gpt4"], "must be written provider:model"),
        (["--model", "scripted:r.json", "--workspace", "missing"], "workspace 'missing'"),
        (["--model", "scripted:r.json", "--auto", "nope"], "unknown auto 'nope'"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_line(home, workspace, args, message):
    script(workspace, [], "r.json")
    done = autoplug("run", "x", *args, cwd=workspace)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert list_runs(home) == []


def test_side_effects_are_refused_without_a_terminal_and_approved_with_yes(home, workspace):
    model = script(workspace, WRITE)
    refused = autoplug("run", "Write", "--model", model, cwd=workspace)
    assert refused.returncode == 0
    assert "approval for write_file (s1): refused" in refused.stderr
    assert "has side effects and was not approved" in refused.stderr
    assert (
        refused.stderr.count("hint: tools with side effects run only when approved: add --yes") == 1
    )
    assert not (workspace / "out.txt").exists()
    approved = autoplug("run", "Write", "--model", model, "--yes", cwd=workspace)
    assert approved.returncode == 0
    assert "hint:" not in approved.stderr
    assert (workspace / "out.txt").read_text() == "hi"


def test_workspace_option_confines_file_tools(home, workspace, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "notes.txt").write_text("a decoy in the current directory\n")
    model = script(elsewhere, READ_NOTES)
    done = autoplug(
        "run", "x", "--model", model, "--workspace", str(workspace), "--json", cwd=elsewhere
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["assets"][0]["preview"] == NOTES  # not the decoy


def test_a_recorded_run_replays_without_the_model(home, workspace):
    model = script(workspace, READ_NOTES)
    recorded = autoplug(
        "run", "Largest planet?", "--model", model, "--record", "run.jsonl", cwd=workspace
    )
    assert recorded.returncode == 0, recorded.stderr
    (workspace / "replies.json").unlink()
    replayed = autoplug("run", "Largest planet?", "--model", "replay:run.jsonl", cwd=workspace)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == "Jupiter\n"


def test_autos_json_lists_runner_and_assistant(home, workspace):
    done = autoplug("autos", "--json", cwd=workspace)
    assert done.returncode == 0
    autos = {a["name"]: a for a in json.loads(done.stdout)}
    assert {"runner", "assistant"} <= set(autos)
    assert autos["runner"]["plugin"] == "autoplug_autos"
    assert autos["assistant"]["description"].startswith("Holds a conversation")


def test_chat_answers_each_line_and_keeps_the_conversation(home, workspace):
    replies = [
        Reply.chat(tool_calls=[("final", {"answer": "Hello, Ada."})]),
        Reply.chat(tool_calls=[("final", {"answer": "Your name is Ada."})]),
    ]
    with OpenAIServer(replies) as server:
        (home / "config.toml").write_text(
            '[memory]\nbackend = "none"\n' + providers_toml("local", server.url)
        )
        done = autoplug(
            "chat",
            "--model",
            "local:test-model",
            cwd=workspace,
            stdin="My name is Ada.\n\nWhat is my name?\n/exit\nnever sent\n",
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello, Ada.\nYour name is Ada.\n"
    assert len(server.requests) == 2
    second = server.requests[1].body["messages"][1]["content"]
    assert "User: My name is Ada." in second and "Assistant: Hello, Ada." in second
    assert "autoplug chat --resume" in done.stderr
    runs = list_runs(home)
    assert len(runs) == 1 and runs[0]["auto"] == "assistant"


def test_run_streams_model_text_to_stderr(home, workspace):
    replies = [Reply.chat(text="Let me answer.", tool_calls=[("final", {"answer": "42"})])]
    with OpenAIServer(replies) as server:
        (home / "config.toml").write_text(
            '[memory]\nbackend = "none"\n' + providers_toml("local", server.url)
        )
        done = autoplug("run", "x", "--model", "local:m", "--stream", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42\n"
    assert "Let me answer." in done.stderr
    assert server.requests[0].body.get("stream") is True


def test_ctrl_c_exits_130_and_leaves_the_run_interrupted(home, workspace):
    with OpenAIServer([Reply.hang(30)]) as server:
        (home / "config.toml").write_text(
            '[memory]\nbackend = "none"\n' + providers_toml("local", server.url)
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "autoplug.cli", "run", "x", "--model", "local:m"],
            cwd=workspace,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests, "the run never called the model"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    runs = list_runs(home)
    assert len(runs) == 1 and runs[0]["status"] == "interrupted"
    assert f"autoplug resume {runs[0]['run_id']}" in err


def test_the_readme_replay_example_runs_offline(isolated_home):
    """The README's first command. If it fails after a prompt or tool change, re-record
    the cassette: python examples/record_planets.py"""
    root = Path(__file__).parent.parent
    task = "Which is the largest planet? Check the notes file."
    args = ("--model", "replay:examples/planets.jsonl", "--workspace", "examples/workspace")
    for _ in range(2):  # a second replay must match too (no memories leak into the prompt)
        done = autoplug("run", task, *args, cwd=root)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Jupiter is the largest planet")
    assert "[x] s2 read_file -> notes" in done.stderr


WRITE = [
    {"call": "act", "arguments": {"subtask": "write", "assets": []}},
    {
        "call": "submit_plan",
        "arguments": {
            "steps": [
                {
                    "id": "s1",
                    "tool": "write_file",
                    "args": {"path": "out.txt", "content": "hi"},
                    "output": "w",
                }
            ]
        },
    },
    {"call": "final", "arguments": {"answer": "done"}},
]


@pytest.mark.parametrize(("reply", "written"), [("y", True), ("n", False)])
def test_on_a_terminal_side_effects_are_asked_for(home, workspace, reply, written):
    import pty

    model = script(workspace, WRITE)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplug.cli", "run", "Write", "--model", model],
        cwd=workspace,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    os.write(master, f"{reply}\n".encode())
    out, err = proc.communicate(timeout=30)
    os.close(master)
    assert proc.returncode == 0, err
    assert "tool 'write_file' has side effects; run it with" in err
    assert (workspace / "out.txt").exists() is written
    assert f"approval for write_file (s1): {'approved' if written else 'refused'}" in err


def test_chat_resume_continues_a_saved_conversation(home, workspace):
    first = script(workspace, [{"call": "final", "arguments": {"answer": "Hello, Ada."}}], "a.json")
    done = autoplug("chat", "--model", first, cwd=workspace, stdin="My name is Ada.\n")
    assert done.returncode == 0, done.stderr
    (run,) = list_runs(home)
    with OpenAIServer([Reply.chat(tool_calls=[("final", {"answer": "Ada."})])]) as server:
        (home / "config.toml").write_text(
            '[memory]\nbackend = "none"\n' + providers_toml("local", server.url)
        )
        again = autoplug(
            "chat",
            "--resume",
            run["run_id"],
            "--model",
            "local:m",
            cwd=workspace,
            stdin="What is my name?\n",
        )
    assert again.returncode == 0, again.stderr
    assert again.stdout == "Ada.\n"
    prompt = server.requests[0].body["messages"][1]["content"]
    assert "User: My name is Ada.\nAssistant: Hello, Ada." in prompt
    assert [r["run_id"] for r in list_runs(home)] == [run["run_id"]]


def test_chat_resume_of_an_unknown_run_exits_2(home, workspace):
    done = autoplug("chat", "--resume", "20200101-000000-000000-abcd", cwd=workspace, stdin="")
    assert done.returncode == 2
    assert "unknown run '20200101-000000-000000-abcd'" in done.stderr


def conversation_and_runner_runs(tmp_path: Path, home: Path) -> tuple[str, str]:
    """One Assistant conversation and one Runner run, both failed (so resumable); their ids."""
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (tmp_path / "f.json").write_text(json.dumps([{"error": "the provider is down"}]))
    chat = autoplug("chat", "--model", "scripted:f.json", cwd=tmp_path, stdin="hello\n")
    assert "turn failed" in chat.stderr, chat.stderr
    run = autoplug("run", "task", "--model", "scripted:f.json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    listed = json.loads(autoplug("runs", "--json", cwd=tmp_path).stdout)
    runs = {r["auto"]: r for r in listed}
    assert runs["assistant"]["status"] == runs["runner"]["status"] == "failed"
    return runs["assistant"]["run_id"], runs["runner"]["run_id"]


def test_resume_of_a_conversation_is_bad_usage_and_says_what_to_do(tmp_path, isolated_home):
    conversation, _ = conversation_and_runner_runs(tmp_path, isolated_home)

    proc = autoplug("resume", conversation, cwd=tmp_path)

    assert proc.returncode == 2
    assert last_error_line(proc) == (
        f"error: run {conversation!r} is an Assistant conversation; continue it with "
        f"'autoplug chat --resume {conversation}'"
    )


def test_chat_resume_of_a_runner_run_is_bad_usage(tmp_path, isolated_home):
    _, runner = conversation_and_runner_runs(tmp_path, isolated_home)

    proc = autoplug("chat", "--resume", runner, cwd=tmp_path, stdin="more\n")

    assert proc.returncode == 2
    assert last_error_line(proc) == (
        f"error: run {runner!r} is not a conversation (its Auto is 'runner')"
    )


def test_chat_with_no_model_exits_2(home, workspace):
    done = autoplug("chat", cwd=workspace, stdin="hello\n")
    assert done.returncode == 2
    assert "no model configured" in done.stderr


@pytest.mark.parametrize(
    ("replies", "lines", "status"),
    [
        ([{"error": "the provider is down"}], "hello\n", 1),
        ([{"error": "the provider is down"}, ANSWER_42[0]], "hello\nagain\n", 0),
        (ANSWER_42, "hello\n", 0),
    ],
)
def test_chat_exits_with_the_status_of_its_last_turn(
    tmp_path, isolated_home, replies, lines, status
):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (tmp_path / "r.json").write_text(json.dumps(replies))

    proc = autoplug("chat", "--model", "scripted:r.json", cwd=tmp_path, stdin=lines)

    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("42" in proc.stdout) == (status == 0)


def test_no_memory_runs_and_chats_neither_recall_nor_store(isolated_home, workspace):
    (isolated_home / "config.toml").write_text('[memory]\nembedder = "hashing"\n')
    model = script(workspace, [{"call": "final", "arguments": {"answer": "Jupiter"}}] * 3)

    def stored() -> int:
        listed = autoplug("memory", "list", "--json", cwd=workspace)
        return len(json.loads(listed.stdout))

    out = autoplug("run", "Largest planet?", "--model", model, "--no-memory", cwd=workspace)
    assert out.returncode == 0, out.stderr
    assert stored() == 0
    chat = autoplug("chat", "--model", model, "--no-memory", cwd=workspace, stdin="hi\n")
    assert chat.returncode == 0, chat.stderr
    assert stored() == 0
    remembered = autoplug("run", "Largest planet?", "--model", model, cwd=workspace)
    assert remembered.returncode == 0 and stored() == 1
    again = autoplug("run", "Largest planet?", "--model", model, cwd=workspace)
    assert "recalled 1 memories (1 of the 1 nearest reached min_similarity 0.3)" in again.stderr
    quiet = autoplug("run", "Largest planet?", "--model", model, "--no-memory", cwd=workspace)
    assert "recalled" not in quiet.stderr


def scripted_final(folder: Path) -> str:
    """A scripted model (for commands run in ``folder``) whose one reply answers "done"."""
    return script(folder, [{"call": "final", "arguments": {"answer": "done"}}], "script.json")


def test_bad_memory_setting_stops_run_before_it_starts(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\ntop_k = "x"\n')
    out = autoplug("run", "hi", "--model", scripted_final(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert (
        "[memory] top_k must be a whole number >= 1" in out.stderr and "Traceback" not in out.stderr
    )
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_unknown_memory_backend_is_named_with_the_known_ones(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "nosuch"\n')
    out = autoplug("run", "hi", "--model", scripted_final(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown memory backend 'nosuch'" in out.stderr and "lancedb" in out.stderr


def test_memory_off_runs_without_memory(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    out = autoplug("run", "hi", "--model", scripted_final(tmp_path), cwd=tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, "done")


def test_run_dash_reads_a_task_too_long_for_an_argument_from_stdin(home, workspace):
    model = script(workspace, [{"call": "final", "arguments": {"answer": "read it"}}])
    task = "Summarise this: " + "é lorem ipsum " * 80_000  # over 1 MB, past the shell's limit
    done = autoplug("run", "-", "--model", model, "--json", cwd=workspace, stdin=task)
    assert done.returncode == 0, done.stderr[-500:]
    result = json.loads(done.stdout)
    assert result["answer"] == "read it"
    (run,) = list_runs(home)
    assert run["task"] == task


@pytest.mark.parametrize("stdin", ["", "  \n\t\n"])
def test_run_dash_with_an_empty_stdin_exits_2_in_one_line(home, workspace, stdin):
    model = script(workspace, [{"call": "final", "arguments": {"answer": "never"}}])
    done = autoplug("run", "-", "--model", model, cwd=workspace, stdin=stdin)
    assert done.returncode == 2
    assert done.stderr == "error: the task read from stdin (TASK '-') is empty\n"
    assert list_runs(home) == []


def test_resume_with_model_finishes_a_failed_run_on_another_model(home, workspace):
    down = script(workspace, [{"error": "503 service unavailable"}], "down.json")
    failed = autoplug("run", "Which planet?", "--model", down, cwd=workspace)
    assert failed.returncode == 1
    (run,) = list_runs(home)
    unknown = autoplug("resume", run["run_id"], "--model", "nope:x", cwd=workspace)
    assert unknown.returncode == 2 and "unknown model provider 'nope'" in unknown.stderr
    up = script(workspace, READ_NOTES, "up.json")
    again = autoplug("resume", run["run_id"], "--model", up, "--json", cwd=workspace)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["status"] == "succeeded" and result["answer"] == "Jupiter"
    assert [r["status"] for r in list_runs(home)] == ["succeeded"]


SLEEPY_PLUGIN = '''
"""Tools that sleep past their 1 s timeout: in a thread (sync) or on the loop (async)."""

import os
import time
from pathlib import Path

from autoplug import hookimpl, tool


@tool(timeout=1)
def doze(seconds: float) -> str:
    """Sleep, blocking its thread.

    seconds: how long
    """
    Path(os.environ["SLEEPY_MARK"]).write_text("started")
    time.sleep(seconds)
    return "woke"


@tool(timeout=1)
async def doze_on_loop(seconds: float) -> str:
    """Sleep without awaiting: it blocks the event loop (what async tools must not do).

    seconds: how long
    """
    Path(os.environ["SLEEPY_MARK"]).write_text("started")
    time.sleep(seconds)
    return "woke"


@hookimpl
def register_tools(register):
    register(doze)
    register(doze_on_loop)
'''


@pytest.fixture
def sleepy(home, tmp_path_factory, monkeypatch) -> Path:
    """The sleepy test plugin as a real entry point on PYTHONPATH; returns the start mark."""
    site = tmp_path_factory.mktemp("sleepy_site")
    (site / "sleepy_plugin.py").write_text(SLEEPY_PLUGIN)
    info = site / "autoplug_sleepy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: autoplug-sleepy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoplug]\nsleepy = sleepy_plugin\n")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    mark = site / "started.txt"
    monkeypatch.setenv("SLEEPY_MARK", str(mark))
    return mark


def sleepy_script(folder: Path, tool_name: str) -> str:
    """A scripted model: one act with one step calling ``tool_name`` for 30 s, then final."""
    step = {"id": "nap", "tool": tool_name, "args": {"seconds": 30}, "output": "nap"}
    return script(
        folder,
        [
            {"call": "act", "arguments": {"subtask": "take a nap", "assets": []}},
            {"call": "submit_plan", "arguments": {"steps": [step]}},
            {"call": "final", "arguments": {"answer": "napped"}},
        ],
    )


def test_a_sync_tool_past_its_timeout_is_abandoned_and_the_process_exits(home, workspace, sleepy):
    model = sleepy_script(workspace, "doze")
    started = time.monotonic()
    done = autoplug("run", "nap", "--model", model, "--json", cwd=workspace, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answer"] == "napped"
    # The tool sleeps 30 s; the run must end soon after its 1 s timeout (start-up included).
    assert elapsed < 12, f"took {elapsed:.1f} s"
    assert "its thread was abandoned" in done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    trace = (home / "runs" / run_id / "trace.jsonl").read_text().splitlines()
    failed = [e for e in map(json.loads, trace) if e["type"] == "step_failed"]
    assert [(e["data"]["kind"], e["data"].get("abandoned")) for e in failed] == [("timeout", True)]


def start_sleepy_run(workspace: Path, mark: Path, tool_name: str) -> subprocess.Popen:
    model = sleepy_script(workspace, tool_name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplug.cli", "run", "nap", "--model", model],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the tool never started"
        time.sleep(0.02)
    time.sleep(0.2)  # into the sleep itself
    return proc


def test_ctrl_c_during_a_blocking_tool_names_the_running_step_and_exits_130(
    home, workspace, sleepy
):
    proc = start_sleepy_run(workspace, sleepy, "doze")
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - pressed < 5, err
    assert proc.returncode == 130, err
    assert "still running: nap (doze)" in err
    runs = list_runs(home)
    assert len(runs) == 1 and runs[0]["status"] == "interrupted"
    assert f"autoplug resume {runs[0]['run_id']}" in err


def test_a_second_ctrl_c_exits_at_once_even_when_the_loop_is_blocked(home, workspace, sleepy):
    proc = start_sleepy_run(workspace, sleepy, "doze_on_loop")
    proc.send_signal(signal.SIGINT)
    # The second Ctrl-C only once the first was handled: two sent before the process runs
    # again arrive as one (a POSIX signal is pending or not), and the run would go on.
    said = stderr_until(proc, "(Ctrl-C again to exit now)")
    assert proc.poll() is None, "the blocked loop cannot end the run on the first Ctrl-C"
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=20)
    err = said + rest
    assert time.monotonic() - pressed < 5, err
    assert proc.returncode == 130, err
    assert "still running: nap (doze_on_loop)" in err
    assert "interrupted at once" in err
    runs = list_runs(home)
    assert len(runs) == 1 and runs[0]["status"] == "interrupted"


def test_an_interrupted_run_called_in_process_gives_the_callers_ctrl_c_handler_back(
    isolated_home,
):
    # A caller that runs the command in its own process (click's CliRunner, a notebook,
    # an application) goes on after the 130: its next Ctrl-C must be its own again,
    # not the run's "exit now" handler that ends the whole process with os._exit(130).
    # (Also after an earlier main() call that it caught the SystemExit of.)
    import asyncio

    from autoplug.cli import main
    from autoplug.cli.run import Progress, drive

    with pytest.raises(SystemExit):
        main(["--version"])

    async def work() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C, during the run
        await asyncio.sleep(30)

    mine = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit) as ended:
        drive(None, work(), Progress(), "autoplug resume")
    assert ended.value.code == 130
    assert signal.getsignal(signal.SIGINT) is mine
