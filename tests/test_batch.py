"""Batch runs from Python: the input lines, the results record, the local engine, Kernel.batch."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug import Auto, Kernel, hookimpl, tool
from autoplug.batch import BatchSettings, BatchTask, arun_one, read_tasks, tasks_from_python
from autoplug.batch.local import FILES_PER_RUN, FILES_RESERVED, concurrency_for_open_files
from autoplug.batch.progress import BatchProgress
from autoplug.batch.results import ResultWriter, read_results
from autoplug.batch.tasks import duplicate_ids
from autoplug.errors import UsageError
from autoplug.runs import list_runs

# -- the input lines ----------------------------------------------------------------


def test_read_tasks_gives_each_line_its_fields_and_the_line_number_as_default_id(tmp_path):
    path = tmp_path / "tasks.jsonl"
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    path.write_text(
        "\n".join(
            [
                json.dumps({"task": "first"}),
                "",
                json.dumps({"task": "third", "id": "t3", "model": "scripted:x", "auto": "runner"}),
                json.dumps({"task": "fourth", "output_schema": schema}),
            ]
        )
        + "\n"
    )
    tasks, bad = read_tasks(path)
    assert bad == []
    assert tasks == [
        BatchTask(1, "1", "first", None, None, None),
        BatchTask(3, "t3", "third", "scripted:x", "runner", None),
        BatchTask(4, "4", "fourth", None, None, schema),
    ]


@pytest.mark.parametrize(("given_id", "written"), [(7, "7"), (7.0, "7"), (2.5, "2.5"), ("a", "a")])
def test_a_numeric_id_is_written_as_its_decimal_string(given_id, written):
    tasks, bad = read_tasks([json.dumps({"task": "x", "id": given_id})])
    assert bad == [] and tasks[0].id == written


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b'["task"]', "must be a JSON object"),
        (b'{"id": "a"}', "'task' is missing"),
        (b'{"task": "  "}', "'task' is not a non-empty string"),
        (b'{"task": "x", "taks": 1}', "unknown key(s) 'taks'"),
        (b'{"task": "x", "id": true}', "not a boolean"),
        (b'{"task": "x", "id": ""}', "'id' is an empty string"),
        (b'{"task": "x", "model": 3}', "'model' must be a non-empty string"),
        (b'{"task": "x", "output_schema": {"type": "nope"}}', "'output_schema'"),
        (b'{"task": "x", "output_schema": []}', "must be a JSON Schema object"),
        (b'{"task": "\xff"}', "not UTF-8"),
        (b'{"task": "x", "id": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_a_bad_line_is_reported_with_its_number_and_the_rest_still_read(line, says):
    tasks, bad = read_tasks([b'{"task": "before"}', line, b'{"task": "after"}'])
    assert [t.task for t in tasks] == ["before", "after"]
    assert [t.line for t in tasks] == [1, 3]
    assert len(bad) == 1 and bad[0].line == 2
    assert says in bad[0].error and "\n" not in bad[0].error


def test_reading_a_missing_tasks_file_is_a_usage_error_naming_it(tmp_path):
    with pytest.raises(UsageError, match="nope.jsonl' does not exist"):
        read_tasks(tmp_path / "nope.jsonl")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
_line = st.one_of(
    st.binary(max_size=30),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"task": st.text(max_size=8)},
        optional={"id": st.one_of(st.text(max_size=4), st.integers(), st.booleans())},
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=12))
def test_every_non_blank_line_is_either_a_task_or_a_bad_line_with_its_number(lines):
    lines = [line.replace(b"\n", b" ") for line in lines]
    tasks, bad = read_tasks(lines)
    non_blank = [n for n, line in enumerate(lines, start=1) if line.strip()]
    seen = sorted([t.line for t in tasks] + [b.line for b in bad])
    # A non-blank line may still decode to nothing but whitespace (a BOM, a lone space).
    assert set(seen) <= set(non_blank) and len(seen) == len(set(seen))
    for task in tasks:
        assert isinstance(task.id, str) and task.id and task.task.strip()
    for line in bad:
        assert line.error and "\n" not in line.error


def test_duplicate_ids_names_each_repeated_id_once_in_order():
    tasks, _ = read_tasks(
        [json.dumps(x) for x in ({"task": "a", "id": "b"}, {"task": "b"}, {"task": "c", "id": 2})]
        + [json.dumps({"task": "d", "id": "b"}), json.dumps({"task": "e", "id": "b"})]
    )
    assert duplicate_ids(tasks) == ["b", "2"]


def test_tasks_from_python_refuses_a_bad_item_or_a_repeated_id_naming_it():
    assert [t.id for t in tasks_from_python(["a", {"task": "b", "id": "x"}])] == ["1", "x"]
    with pytest.raises(UsageError, match="item 1: 'task' is missing"):
        tasks_from_python(["a", {"id": "x"}])
    with pytest.raises(UsageError, match="duplicate id"):
        tasks_from_python([{"task": "a", "id": "2"}, "b"])
    with pytest.raises(UsageError, match="a list of strings or dicts"):
        tasks_from_python("one task")


# -- the results record -------------------------------------------------------------


def test_the_last_line_of_an_id_wins_and_a_torn_line_is_ignored(tmp_path):
    out = tmp_path / "results.jsonl"
    with ResultWriter(out) as writer:
        writer.write({"id": "a", "status": "failed"})
        writer.write({"id": "b", "status": "succeeded"})
        writer.write({"id": "a", "status": "succeeded"})
        writer.write({"id": "b", "status": "interrupted"})
    with open(out, "a") as f:
        f.write('{"id": "c", "status": "succ')  # killed mid-line
    record = read_results(out)
    assert record.succeeded() == {"a"}
    assert record.unreadable == [5]
    with ResultWriter(out) as writer:  # a torn last line gets a newline first
        writer.write({"id": "c", "status": "succeeded"})
    assert read_results(out).succeeded() == {"a", "c"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["succeeded", "failed"]))))
def test_reading_back_what_was_written_gives_each_ids_last_status(tmp_path_factory, writes):
    out = tmp_path_factory.mktemp("record") / "r.jsonl"
    with ResultWriter(out) as writer:
        for task_id, status in writes:
            writer.write({"id": task_id, "status": status, "answer": "ü\u2028"})
    last = dict(writes)
    assert read_results(out).succeeded() == {i for i, s in last.items() if s == "succeeded"}


# -- running: Kernel.batch and the worker -------------------------------------------


@tool
async def wait_ms(ms: int) -> str:
    """Wait, then say which wait it was.

    ms: milliseconds
    """
    WaitLog.now += 1
    WaitLog.peak = max(WaitLog.peak, WaitLog.now)
    await asyncio.sleep(0 if WaitLog.hurry else ms / 1000)
    WaitLog.now -= 1
    return f"waited {ms}"


class WaitLog:
    now = 0
    peak = 0
    hurry = False  # skip the waits (a rerun after an interruption)


class Crash(Auto):
    """An Auto with a bug."""

    name = "crash"

    async def solve(self, ctx, memories):
        raise RuntimeError("boom")


class BatchPlugin:
    name = "batch_test_plugin"

    @hookimpl
    def register_tools(self, register):
        register(wait_ms)

    @hookimpl
    def register_autos(self, register):
        register(Crash)


def waiting_script(folder: Path, ms: int) -> str:
    step = {"id": "s1", "tool": "wait_ms", "args": {"ms": ms}, "output": "w"}
    replies = [
        {"call": "act", "arguments": {"subtask": "wait", "assets": []}},
        {"call": "submit_plan", "arguments": {"steps": [step]}},
        {"call": "final", "arguments": {"answer": f"waited {ms}"}},
    ]
    path = folder / f"wait-{ms}.json"
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


@pytest.fixture
def kernel(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    WaitLog.now = WaitLog.peak = 0
    WaitLog.hurry = False
    return Kernel(
        plugins=[BatchPlugin()], builtins=["autoplug_autos", "autoplug_models"], home=home
    )


def test_kernel_batch_returns_the_results_in_input_order_whatever_order_they_end(kernel, tmp_path):
    slow, fast = waiting_script(tmp_path, 300), waiting_script(tmp_path, 0)
    ended: list[str] = []
    results = kernel.batch(
        [{"task": "slow", "model": slow}, "fast one", {"task": "fast two", "id": "two"}],
        model=fast,
        on_result=lambda line: ended.append(line["id"]),
    )
    assert [r["id"] for r in results] == ["1", "2", "two"]
    assert ended[-1] == "1"  # it ended last, yet comes first
    assert [r["answer"] for r in results] == ["waited 300", "waited 0", "waited 0"]
    assert all(
        list(r) == ["id", "run_id", "status", "answer", "output", "reason", "usage"]
        for r in results
    )
    assert all(r["status"] == "succeeded" and r["usage"]["llm_calls"] == 3 for r in results)
    assert {r["run_id"] for r in results} == {r["run_id"] for r in list_runs(kernel.home)}


def test_no_more_runs_than_the_concurrency_are_open_at_once(kernel, tmp_path):
    model = waiting_script(tmp_path, 50)
    results = kernel.batch([f"t{i}" for i in range(12)], model=model, concurrency=3)
    assert all(r["status"] == "succeeded" for r in results)
    assert WaitLog.peak == 3


def test_an_unknown_model_or_auto_or_a_buggy_auto_fails_that_task_only(kernel, tmp_path):
    model = waiting_script(tmp_path, 0)
    results = kernel.batch(
        [
            "fine",
            {"task": "x", "model": "nosuch:model"},
            {"task": "y", "auto": "nosuch"},
            {"task": "z", "auto": "crash"},
        ],
        model=model,
    )
    assert [r["status"] for r in results] == ["succeeded", "failed", "failed", "failed"]
    assert "unknown model provider 'nosuch'" in results[1]["reason"]
    assert results[1]["run_id"] is None
    assert "unknown auto 'nosuch'" in results[2]["reason"]
    assert "internal error: RuntimeError: boom" in results[3]["reason"]
    assert results[3]["run_id"] is not None  # the run existed and records its failure
    crashed = {r["run_id"]: r for r in list_runs(kernel.home)}[results[3]["run_id"]]
    assert crashed["status"] == "failed"


def test_every_auto_runs_in_a_batch_and_a_schema_gives_output(kernel, tmp_path):
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps([{"call": "final", "arguments": {"answer": {"n": 3}}}]))
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    results = kernel.batch(
        [
            {"task": "count", "auto": "runner", "output_schema": schema},
            {"task": "count", "auto": "assistant", "output_schema": schema},
        ],
        model=f"scripted:{answer}",
    )
    assert [(r["status"], r["output"]) for r in results] == [("succeeded", {"n": 3})] * 2
    autos = sorted(r["auto"] for r in list_runs(kernel.home))
    assert autos == ["assistant", "runner"]


def test_kernel_batch_with_output_skips_the_ids_that_succeeded(kernel, tmp_path):
    out = tmp_path / "results.jsonl"
    model = waiting_script(tmp_path, 0)
    first = kernel.batch(["a", {"task": "b", "model": "nosuch:m"}], model=model, output=out)
    assert [r["status"] for r in first] == ["succeeded", "failed"]
    again = kernel.batch(["a", "b"], model=model, output=out)
    assert again[0] == first[0]  # the recorded line, not a new run
    assert again[1]["status"] == "succeeded"
    assert len(list_runs(kernel.home)) == 2
    assert len(out.read_text().splitlines()) == 3


def interrupt_batch(kernel, tasks, model, out) -> None:
    """Start ``kernel.abatch``, cancel it once every task's tool is waiting."""

    async def go() -> None:
        work = asyncio.ensure_future(kernel.abatch(tasks, model=model, output=out))
        while WaitLog.now < len(tasks):
            await asyncio.sleep(0.01)
        work.cancel()
        with pytest.raises(asyncio.CancelledError):
            await work

    asyncio.run(go())


def test_a_rerun_finishes_the_interrupted_runs_instead_of_starting_new_ones(kernel, tmp_path):
    out = tmp_path / "results.jsonl"
    model = waiting_script(tmp_path, 30_000)
    interrupt_batch(kernel, ["first", "second"], model, out)
    record = read_results(out)
    assert {line["status"] for line in record.last.values()} == {"interrupted"}
    before = {r["run_id"]: r["status"] for r in list_runs(kernel.home)}
    assert set(before.values()) == {"interrupted"} and set(before) == set(
        record.interrupted().values()
    )

    WaitLog.hurry, WaitLog.now = True, 0
    # "second" was edited since: its old run is of another task, so it starts afresh.
    results = kernel.batch(["first", "second, edited"], model=model, output=out)
    assert [r["status"] for r in results] == ["succeeded", "succeeded"]
    assert results[0]["run_id"] == record.interrupted()["1"]
    assert results[1]["run_id"] not in before
    statuses = {r["run_id"]: r["status"] for r in list_runs(kernel.home)}
    assert statuses[results[0]["run_id"]] == "succeeded"
    assert statuses[record.interrupted()["2"]] == "interrupted"
    assert len(statuses) == 3


def test_kernel_batch_refuses_bad_usage_before_anything_runs(kernel):
    with pytest.raises(UsageError, match="duplicate id"):
        kernel.batch([{"task": "a", "id": "2"}, "b"])
    with pytest.raises(UsageError, match="concurrency must be"):
        kernel.batch(["a"], concurrency=0)
    with pytest.raises(UsageError, match="unknown engine 'spark'"):
        kernel.batch(["a"], engine="spark")
    assert list_runs(kernel.home) == []


def test_kernel_batch_inside_a_loop_says_to_await_abatch(kernel, tmp_path):
    from autoplug.errors import BlockingCallInLoop

    async def inside() -> list:
        with pytest.raises(BlockingCallInLoop, match="kernel.abatch"):
            kernel.batch(["a"])
        return await kernel.abatch(["a"], model=waiting_script(tmp_path, 0))

    assert asyncio.run(inside())[0]["status"] == "succeeded"


def test_arun_one_never_raises_for_a_bad_workspace(kernel, tmp_path):
    settings_ = BatchSettings(
        home=str(kernel.home), model=waiting_script(tmp_path, 0), workspace=str(tmp_path / "none")
    )
    line = asyncio.run(arun_one(kernel, BatchTask(1, "1", "x", None, None, None), settings_))
    assert line["status"] == "failed" and "is not a folder" in line["reason"]


def test_run_one_runs_a_task_in_a_fresh_process_from_the_home_alone(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps([{"call": "final", "arguments": {"answer": "hi"}}]))
    code = (
        "import json, pickle, sys\n"
        "from autoplug.batch import BatchSettings, BatchTask, run_one\n"
        f"s = pickle.loads(pickle.dumps(BatchSettings(home={str(home)!r}, model='scripted:{answer}')))\n"
        "lines = [run_one(BatchTask(i, str(i), 'say hi', None, None, None), s) for i in (1, 2)]\n"
        "lines.append(run_one(BatchTask(3, '3', 'x', 'nosuch:m', None, None), s))\n"
        "print(json.dumps(lines))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AUTOPLUG_HOME"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = json.loads(done.stdout)
    assert [(x["id"], x["status"], x["answer"]) for x in lines[:2]] == [
        ("1", "succeeded", "hi"),
        ("2", "succeeded", "hi"),
    ]
    assert lines[2]["status"] == "failed" and "nosuch" in lines[2]["reason"]
    assert {r["run_id"] for r in list_runs(home)} == {lines[0]["run_id"], lines[1]["run_id"]}


def test_concurrency_is_lowered_to_what_the_open_files_limit_allows():
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))\n"
        "from autoplug.batch.local import concurrency_for_open_files\n"
        "print(concurrency_for_open_files(1000))\n"
        "print(concurrency_for_open_files(4))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lowered, kept = done.stdout.splitlines()
    allowed, note = ast.literal_eval(lowered)
    in_use = int(re.search(r"\((\d+) in use", note).group(1))
    assert allowed == (256 - in_use - FILES_RESERVED) // FILES_PER_RUN
    assert f"lowered from 1000 to {allowed}" in note and "256" in note
    assert kept == "(4, None)"
    assert concurrency_for_open_files(1)[0] == 1


def test_the_batch_package_is_not_imported_at_kernel_start():
    code = "import sys; from autoplug import Kernel; Kernel.load(); print('autoplug.batch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


# -- progress -----------------------------------------------------------------------


def _line(task_id: str, status: str, reason: str | None = None, tokens: int = 10) -> dict:
    usage = {"llm_calls": 1, "total_tokens": tokens, "input_tokens": tokens, "usd": 0.5}
    return {
        "id": task_id,
        "run_id": f"r-{task_id}",
        "status": status,
        "reason": reason,
        "usage": usage,
    }


def test_progress_off_a_terminal_is_a_line_per_task_with_counts_rate_and_eta():
    import io

    out = io.StringIO()
    progress = BatchProgress(total=3, stream=out, live=False, bad_lines=1, skipped=2)
    for _ in range(3):
        progress.start()
    progress.end(_line("a", "succeeded"))
    progress.end(_line("b", "failed", "model said no\nat length"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/3] a succeeded (run r-a); 0 failed, 2 running, ")
    assert "tasks/s, ETA " in lines[0]
    assert lines[1].startswith(
        "[2/3] b failed (run r-b): model said no at length; 1 failed, 1 running"
    )
    progress.end(_line("c", "succeeded"))
    summary = progress.summary()
    assert summary["statuses"] == {"failed": 1, "succeeded": 2} and summary["done"] == 3
    assert summary["usage"]["total_tokens"] == 30 and summary["usage"]["usd"] == 1.5
    assert (summary["skipped"], summary["bad_lines"]) == (2, 1)
    text = progress.summary_text()
    assert "1 failed, 2 succeeded, 2 skipped (already succeeded), 1 bad line(s)" in text
    assert "3 model calls, 30 tokens, $1.5000" in text


def test_progress_on_a_terminal_redraws_one_line_and_keeps_failures_above_it():
    import io

    out = io.StringIO()
    progress = BatchProgress(total=2, stream=out, live=True)
    progress.start()
    progress.start()
    progress.end(_line("a", "succeeded"))
    progress.end(_line("b", "stopped", "iterations limit"))
    progress.finish_line()
    text = out.getvalue()
    assert text.count("\r\x1b[2K") >= 3
    assert "batch: 1/2 done, 0 failed, 1 running" in text
    assert "b stopped (run r-b): iterations limit\n" in text
    assert text.endswith("batch: 2/2 done, 1 failed, 0 running, " + text.rsplit("running, ", 1)[1])
    assert text.endswith("\n")
