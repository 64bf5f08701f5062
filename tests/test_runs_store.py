"""The run folder: the state journal, status and owners, the trace, corrupt and old folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplug.errors import RunError
from autoplug.events import Event
from autoplug.runs import (
    RUN_ID_RE,
    RunStore,
    SqliteRunStore,
    UnknownRunError,
    list_runs,
    new_run_id,
    process_start_time,
    prune_runs,
)
from autoplug.runs.journal import HANDLES, HANDLES_MAX


def make(home: Path, task: str = "count the planets") -> RunStore:
    return RunStore.create(home, task=task, model="scripted:test", auto="runner", workspace=home)


def make_legacy(home: Path, task: str = "count the planets") -> SqliteRunStore:
    """A run folder of the first format (``state.sqlite``), as older autoplugs made them."""
    return SqliteRunStore.create(
        home, task=task, model="scripted:test", auto="runner", workspace=home
    )


def write_record(store: RunStore, record: dict) -> RunStore:
    """Append ``record`` to the run's journal as another writer would; the run reread."""
    with open(store.state_path, "a", encoding="utf-8") as journal:
        journal.write(json.dumps(record) + "\n")
    return RunStore.open(store.folder.parent.parent, store.run_id, read_only=True)


def set_owner(store: RunStore, pid: int, start: str | None, host: str | None = None) -> RunStore:
    owner = {"owner_pid": pid, "owner_start": start}
    if host is not None:
        owner["owner_host"] = host
    return write_record(store, {"k": "status", "status": "running", **owner})


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- ids and creation -------------------------------------------------------------


def test_run_ids_match_the_format_and_sort_by_time():
    ids = [new_run_id()]
    while len(ids) < 5:
        # Poll until the clock (microseconds) has moved on: each id then holds a later time.
        later = new_run_id()
        if later[:22] != ids[-1][:22]:
            ids.append(later)
    assert all(RUN_ID_RE.match(i) for i in ids)
    assert sorted(ids) == ids
    assert len(set(ids)) == 5


def test_create_makes_the_folder_with_a_running_row_owned_by_this_process(tmp_path):
    store = make(tmp_path)
    assert store.folder == tmp_path / "runs" / store.run_id
    assert (store.folder / "state.jsonl").is_file()
    assert not (store.folder / "state.sqlite").exists()
    assert (store.folder / "trace.jsonl").is_file()
    assert not store.assets_dir.exists()  # made by the first asset stored, not before
    info = store.info()
    assert info["status"] == "running"
    assert info["task"] == "count the planets"
    assert info["model"] == "scripted:test" and info["auto"] == "runner"
    assert info["workspace"] == str(tmp_path.resolve())
    assert info["owner"]["pid"] == os.getpid()
    assert info["started"].endswith("Z") and info["finished"] is None
    assert not list((tmp_path / "runs").glob(".*"))  # the staging folder was renamed away


def test_live_runs_hold_a_bounded_number_of_files_open_however_many(tmp_path):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd to count open files")
    HANDLES.close_all()
    before = set(os.listdir("/proc/self/fd"))
    stores = [make(tmp_path) for _ in range(3 * HANDLES_MAX)]
    for store in stores:
        for n in range(3):
            store.checkpoint.save_step(1, f"s{n}", {"status": "succeeded"})
            store.append_event(Event(type="step_finished", run_id=store.run_id, seq=n))
    # The kept journal descriptors of all runs together, and one process lock for the home.
    assert len(set(os.listdir("/proc/self/fd")) - before) <= HANDLES_MAX + 1
    assert len(HANDLES) == HANDLES_MAX
    for store in stores:  # every write still reached its file, evicted or not
        again = RunStore.open(tmp_path, store.run_id)
        assert [s for _, s, _ in again.steps()] == ["s0", "s1", "s2"]
        assert [e["seq"] for e in again.events()] == [0, 1, 2]
        store.close()
    assert len(set(os.listdir("/proc/self/fd")) - before) <= 1


def test_a_lone_run_keeps_its_journals_open_between_writes_and_closes_them_at_its_end(tmp_path):
    HANDLES.close_all()
    store = make(tmp_path)
    store.checkpoint.save_step(1, "s1", {"status": "succeeded"})
    store.append_event(Event(type="step_finished", run_id=store.run_id, seq=1))
    assert str(store.state_path) in HANDLES and str(store.trace_path) in HANDLES
    store.close()
    assert str(store.state_path) not in HANDLES and str(store.trace_path) not in HANDLES
    assert len(HANDLES) == 0


def test_a_record_written_before_a_kill_is_read_back(tmp_path):
    """A child process writes through kept descriptors and is SIGKILLed with them open."""
    code = (
        "import os, sys; from pathlib import Path; from autoplug.runs import RunStore;"
        "s = RunStore.create(Path(sys.argv[1]), task='t', model='m', auto='runner',"
        " workspace=Path(sys.argv[1]));"
        "[s.checkpoint.save_step(1, f's{n}', {'status': 'succeeded'}) for n in range(50)];"
        "print(s.run_id, flush=True); os.kill(os.getpid(), 9)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    again = RunStore.open(tmp_path, done.stdout.strip())
    assert [s for _, s, _ in again.steps()] == [f"s{n}" for n in range(50)]
    assert again.info()["status"] == "interrupted"


def test_running_out_of_descriptors_closes_the_kept_ones_and_tries_again(tmp_path):
    import resource

    stores = [make(tmp_path) for _ in range(4)]
    HANDLES.close_all()  # a new run keeps its journals' descriptors: start with none kept
    for store in stores:
        store.append_event(Event(type="step_finished", run_id=store.run_id, seq=1))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Fill every free descriptor number below the highest in use, then allow no more.
    top = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    fillers = []
    while (fd := os.open(os.devnull, os.O_RDONLY)) < top:
        fillers.append(fd)
    os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (top + 1, hard))  # no descriptor left
    try:
        stores[0].checkpoint.save_step(1, "s1", {"status": "succeeded"})
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for fd in fillers:
            os.close(fd)
    assert len(HANDLES) == 1  # the others were closed to make room
    assert [s for _, s, _ in RunStore.open(tmp_path, stores[0].run_id).steps()] == ["s1"]
    for store in stores:
        store.close()


def test_an_old_sqlite_folder_opens_lists_and_resumes_as_before(tmp_path):
    old = make_legacy(tmp_path)
    old.checkpoint.save_step(1, "s1", {"status": "succeeded", "asset": "notes"})
    old.close()
    with sqlite3.connect(old.state_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = RunStore.open(tmp_path, old.run_id)
    assert isinstance(again, SqliteRunStore)
    assert again.checkpoint.finished_step(1, "s1")["asset"] == "notes"
    assert list_runs(tmp_path)[0]["status"] == "running"  # its owner (this process) lives
    again.claim()
    again.set_status("succeeded", answer="done")
    assert RunStore.open(tmp_path, old.run_id, read_only=True).info()["answer"] == "done"


# -- checkpoints --------------------------------------------------------------------


def test_plans_and_steps_survive_reopening(tmp_path):
    store = make(tmp_path)
    plan = {"steps": [{"id": "s1", "tool": "read", "args": {}, "output": "notes"}]}
    store.checkpoint.save_plan(1, plan)
    store.checkpoint.save_step(1, "s1", {"status": "succeeded", "asset": "notes", "error": None})
    store.close()
    again = RunStore.open(tmp_path, store.run_id)
    assert again.checkpoint.saved_plan(1) == plan
    assert again.checkpoint.finished_step(1, "s1")["asset"] == "notes"
    assert again.checkpoint.saved_plan(2) is None
    assert again.checkpoint.finished_step(1, "s2") is None


def test_saving_a_step_or_decision_again_keeps_one_row(tmp_path):
    store = make(tmp_path)
    for attempt in range(5):
        store.checkpoint.save_step(1, "s1", {"status": "failed", "error": f"try {attempt}"})
        store.checkpoint.save_plan(1, {"steps": [], "attempt": attempt})
        store.save_decision({"iteration": 1, "function": "brainstorm", "arguments": {}})
    again = RunStore.open(tmp_path, store.run_id, read_only=True)
    assert len(again.steps()) == 1
    assert len(again.plans()) == 1
    assert len(again.decisions()) == 1
    assert again.checkpoint.finished_step(1, "s1")["error"] == "try 4"


def test_decisions_come_back_in_order(tmp_path):
    store = make(tmp_path)
    for i in (2, 1, 3):
        store.save_decision(
            {
                "iteration": i,
                "function": "act",
                "arguments": {"subtask": f"t{i}"},
                "observation": "",
            }
        )
    store.save_decision({"function": "final", "arguments": {"answer": "x"}})  # no iteration
    assert [d.get("iteration") for d in store.decisions()] == [1, 2, 3, None]
    assert store.decisions()[-1]["function"] == "final"


def test_conversation_is_replaced_as_a_whole(tmp_path):
    store = make(tmp_path)
    store.save_conversation([{"role": "user", "content": "hi"}, {"role": "assistant"}])
    store.save_conversation([{"role": "user", "content": "hello"}])
    assert store.conversation() == [{"role": "user", "content": "hello"}]
    again = RunStore.open(tmp_path, store.run_id, read_only=True)
    assert again.conversation() == [{"role": "user", "content": "hello"}]


def test_one_store_written_from_many_threads_keeps_every_step(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = make(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(lambda i: store.checkpoint.save_step(1, f"s{i}", {"status": "ok"}), range(200))
        )
    assert len(store.steps()) == 200


# -- status and owners ------------------------------------------------------------


def test_set_status_records_the_end(tmp_path):
    store = make(tmp_path)
    store.set_status("succeeded", answer="Jupiter", usage={"calls": 3})
    info = store.info()
    assert info["status"] == "succeeded"
    assert info["answer"] == "Jupiter" and info["usage"] == {"calls": 3}
    assert info["finished"] is not None and info["reason"] is None


def test_set_status_rejects_an_unknown_status(tmp_path):
    store = make(tmp_path)
    with pytest.raises(ValueError, match="'done'"):
        store.set_status("done")


def test_a_running_run_whose_process_died_is_interrupted(tmp_path):
    code = (
        "import sys; from pathlib import Path; from autoplug.runs import RunStore;"
        "s = RunStore.create(Path(sys.argv[1]), task='t', model='m', auto='runner',"
        " workspace=Path('.')); print(s.run_id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    run_id = out.stdout.strip()
    with RunStore.open(tmp_path, run_id) as store:
        assert store.info()["status"] == "interrupted"
        assert not store.owner_alive()
    assert list_runs(tmp_path)[0]["status"] == "interrupted"


def test_a_dead_pid_is_interrupted(tmp_path):
    store = make(tmp_path)
    store = set_owner(store, dead_pid(), None)
    assert store.info()["status"] == "interrupted"


def test_a_reused_pid_is_not_taken_for_the_owner(tmp_path):
    store = make(tmp_path)
    if process_start_time(os.getpid()) is None:
        pytest.skip("no /proc: process start times are not available")
    # Our own (live) pid, but a different start time: some other process had it.
    store = set_owner(store, os.getpid(), "1")
    assert store.info()["status"] == "interrupted"


def test_an_owner_on_another_host_counts_as_alive(tmp_path):
    store = make(tmp_path)
    store = set_owner(store, dead_pid(), None, host="elsewhere")
    assert store.info()["status"] == "running"


def test_running_again_makes_this_process_the_owner(tmp_path):
    store = make(tmp_path)
    store.set_status("stopped")
    set_owner(store, dead_pid(), None)
    store = RunStore.open(tmp_path, store.run_id)
    store.set_status("running")
    info = store.info()
    assert info["status"] == "running" and info["owner"]["pid"] == os.getpid()


# -- the trace ----------------------------------------------------------------------


def test_events_are_appended_as_json_lines(tmp_path):
    store = make(tmp_path)
    store.append_event(Event(type="run_started", run_id=store.run_id, seq=1, data={"task": "t"}))
    store.append_event(Event(type="answer", run_id=store.run_id, seq=2, data={"answer": "x"}))
    lines = store.trace_path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["run_started", "answer"]
    assert [e["seq"] for e in store.events()] == [1, 2]


def test_a_partial_last_trace_line_is_ignored_and_cut_before_appending(tmp_path):
    store = make(tmp_path)
    store.append_event(Event(type="run_started", run_id=store.run_id, seq=1))
    store.close()
    with open(store.trace_path, "a") as trace:
        trace.write('{"type": "step_sta')  # the writer was killed mid-line
    again = RunStore.open(tmp_path, store.run_id)
    assert [e["type"] for e in again.events()] == ["run_started"]
    again.append_event(Event(type="answer", run_id=store.run_id, seq=2))
    assert [e["type"] for e in again.events()] == ["run_started", "answer"]


def test_garbled_trace_lines_are_skipped_and_counted(tmp_path):
    store = make(tmp_path)
    store.trace_path.write_text(
        '{"type": "run_started"}\nnot json at all\n[1]\n{"type": 5}\n'
        + "[" * 100000
        + '\n{"type": "x"}\n{"type": "cut'
    )
    assert [e["type"] for e in store.events()] == ["run_started", "x"]
    assert store.unreadable_trace_lines() == 4  # the partial last line is not counted


# -- corrupt and unknown runs ------------------------------------------------------


def test_an_unknown_run_id_is_a_usage_error_naming_it(tmp_path):
    with pytest.raises(UnknownRunError, match="'20990101-000000-000000-abcd'") as info:
        RunStore.open(tmp_path, "20990101-000000-000000-abcd")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("bad", ["../etc", ".hidden", "", "a/b"])
def test_a_run_id_that_is_a_path_is_refused(tmp_path, bad):
    with pytest.raises(UnknownRunError, match="not a run id"):
        RunStore.open(tmp_path, bad)


def test_a_missing_state_file_names_the_file(tmp_path):
    store = make(tmp_path)
    store.close()
    store.state_path.unlink()
    with pytest.raises(RunError, match=r"state\.jsonl is missing"):
        RunStore.open(tmp_path, store.run_id)
    assert not store.state_path.exists()  # opening did not create an empty one


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "holds no run record"),
        (b"garbage " * 200 + b"\n", "line 1 is not valid JSON"),
        (b"[1, 2]\n", "line 1 is corrupt: expected a record"),
        (b'{"k": "step", "act": 1, "id": "s1", "record": {}}\n', "first record is not the run"),
        (b"[" * 100000 + b"\n", "line 1 is nested too deeply"),
    ],
)
def test_a_garbled_journal_names_the_file_and_line(tmp_path, content, expected):
    store = make(tmp_path)
    store.close()
    store.state_path.write_bytes(content)
    with pytest.raises(RunError, match=r"state\.jsonl") as info:
        RunStore.open(tmp_path, store.run_id)
    assert store.run_id in str(info.value) and expected in str(info.value)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"k": "step", "act": "1", "id": "s1", "record": {}}, "act number or step id"),
        ({"k": "step", "act": 1, "id": "s1", "record": {"status": 5}}, "'status' should be text"),
        ({"k": "decision", "iteration": 2, "record": []}, "expected an object, found a list"),
        ({"k": "plan", "act": 1, "plan": {"steps": [{"id": []}]}}, "'id' should be"),
        ({"k": "status", "status": "done"}, "unknown status 'done'"),
        ({"k": "status", "status": "failed", "task": 7}, "'task' should be text"),
        ({"k": "conversation", "messages": {}}, "the conversation is not a list"),
        ({"k": "call", "seq": "x", "parts": []}, "a model call without"),
    ],
)
def test_a_damaged_journal_record_names_the_line_and_field(tmp_path, record, expected):
    store = make(tmp_path)
    store.close()
    with pytest.raises(RunError, match="state.jsonl line 2") as info:
        again = write_record(store, record)
        again.steps(), again.decisions(), again.plans(), again.conversation()
    assert expected in str(info.value)


def test_a_partial_last_journal_line_is_ignored_and_cut_when_the_run_is_claimed(tmp_path):
    store = make(tmp_path)
    store.checkpoint.save_step(1, "s1", {"status": "succeeded"})
    store.close()
    with open(store.state_path, "a") as journal:
        journal.write('{"k": "step", "act": 1, "id": "s2", "rec')  # killed mid-line
    again = RunStore.open(tmp_path, store.run_id)
    assert [s for _, s, _ in again.steps()] == ["s1"]
    again.claim()
    again.checkpoint.save_step(1, "s3", {"status": "succeeded"})
    reread = RunStore.open(tmp_path, store.run_id, read_only=True)
    assert [s for _, s, _ in reread.steps()] == ["s1", "s3"]


def test_a_journal_of_a_newer_schema_is_refused_naming_it(tmp_path):
    store = make(tmp_path)
    store.close()
    text = store.state_path.read_text().replace('"schema":3', '"schema":99')
    store.state_path.write_text(text)
    with pytest.raises(RunError, match=r"newer autoplug \(schema 99 > 3\)"):
        RunStore.open(tmp_path, store.run_id)


def test_a_read_only_store_refuses_writes_naming_the_file(tmp_path):
    store = make(tmp_path)
    viewer = RunStore.open(tmp_path, store.run_id, read_only=True)
    with pytest.raises(RunError, match="cannot write .*state.jsonl: opened read-only"):
        viewer.save_decision({"iteration": 1, "function": "final", "arguments": {}})


def test_a_missing_legacy_state_file_names_the_file(tmp_path):
    store = make_legacy(tmp_path)
    store.close()
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
        (store.folder / name).unlink(missing_ok=True)
    with pytest.raises(RunError, match=r"state\.jsonl is missing"):
        RunStore.open(tmp_path, store.run_id)
    assert not (store.folder / "state.sqlite").exists()  # opening did not create an empty one


@pytest.mark.parametrize("content", [b"", b"garbage " * 200, b"SQLite format 3\x00" + b"\xff" * 90])
def test_a_garbled_legacy_state_file_names_the_file(tmp_path, content):
    store = make_legacy(tmp_path)
    store.close()
    for name in ("state.sqlite-wal", "state.sqlite-shm"):
        (store.folder / name).unlink(missing_ok=True)
    store.state_path.write_bytes(content)
    with pytest.raises(RunError, match=r"state\.sqlite") as info:
        RunStore.open(tmp_path, store.run_id)
    assert store.run_id in str(info.value)


def test_a_legacy_state_file_with_no_run_row_names_the_file(tmp_path):
    store = make_legacy(tmp_path)
    with sqlite3.connect(store.state_path) as conn:
        conn.execute("DELETE FROM run")
    store.close()
    with pytest.raises(RunError, match="holds no run row"):
        RunStore.open(tmp_path, store.run_id)


def test_a_corrupt_folder_is_listed_and_does_not_break_the_listing(tmp_path):
    good = make(tmp_path, task="good one")
    good.set_status("succeeded", answer="ok")
    broken = make(tmp_path, task="broken one")
    broken.close()
    broken.state_path.write_bytes(b"not a journal" * 100)
    (tmp_path / "runs" / "20000101-000000-000000-dead").mkdir()  # a half-made folder
    listing = list_runs(tmp_path)
    by_id = {e["run_id"]: e for e in listing}
    assert by_id[good.run_id]["status"] == "succeeded"
    assert by_id[broken.run_id]["status"] == "corrupt"
    assert "state.jsonl" in by_id[broken.run_id]["error"]
    assert by_id["20000101-000000-000000-dead"]["status"] == "corrupt"
    assert [e["run_id"] for e in listing] == sorted(by_id, reverse=True)


def test_listing_an_empty_home_gives_nothing(tmp_path):
    assert list_runs(tmp_path) == []


# -- concurrent runs -----------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from autoplug.events import Event
from autoplug.runs import RunStore
store = RunStore.create(Path(sys.argv[1]), task=sys.argv[2], model="m", auto="runner",
                        workspace=Path("."))
for i in range(150):
    store.checkpoint.save_step(1, f"s{i}", {"status": "succeeded", "asset": f"a{i}"})
    store.append_event(Event(type="step_finished", run_id=store.run_id, seq=i))
    store.save_decision({"iteration": i, "function": "brainstorm", "arguments": {}})
store.set_status("succeeded", answer=sys.argv[2])
print(store.run_id)
"""


def test_two_processes_writing_runs_at_once_leave_both_intact(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), f"task {n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    run_ids = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    for n, run_id in enumerate(run_ids, 1):
        with RunStore.open(tmp_path, run_id) as store:
            assert store.info()["answer"] == f"task {n}"
            assert len(store.steps()) == 150
            assert len(store.events()) == 150
            assert len(store.decisions()) == 150
    assert {e["run_id"] for e in list_runs(tmp_path)} == set(run_ids)
    assert all(e["status"] == "succeeded" for e in list_runs(tmp_path))


def test_two_stores_written_from_two_threads_at_once_stay_apart(tmp_path):
    import threading

    stores = [make(tmp_path, task=f"task {n}") for n in (1, 2)]

    def write(store: RunStore) -> None:
        for i in range(150):
            store.checkpoint.save_step(1, f"s{i}", {"status": "succeeded"})
            store.append_event(Event(type="step_finished", run_id=store.run_id, seq=i))

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in stores:
        assert len(store.steps()) == 150
        assert {e["run_id"] for e in store.events()} == {store.run_id}
    assert len(list_runs(tmp_path)) == 2


# -- retention --------------------------------------------------------------------------


def age(store: RunStore, days: float) -> None:
    """Move a run's start and end ``days`` into the past."""
    from autoplug.runs import utc_iso

    stamp = utc_iso(time.time() - days * 86400)
    ended = store.info()["finished"] is not None
    write_record(
        store,
        {"k": "status", "status": store._row["status"], "started": stamp}
        | ({"finished": stamp} if ended else {}),
    )


def test_prune_deletes_old_ended_runs_and_keeps_recent_and_live_ones(tmp_path):
    old = make(tmp_path, task="old")
    old.set_status("succeeded", answer="x")
    age(old, 40)
    old_dead = make(tmp_path, task="old interrupted")
    old_dead = set_owner(old_dead, dead_pid(), None)
    age(old_dead, 40)
    recent = make(tmp_path, task="recent")
    recent.set_status("failed", reason="boom")
    live = make(tmp_path, task="live")  # owned by this (live) process
    age(live, 40)
    deleted = prune_runs(tmp_path, 30 * 86400)
    assert set(deleted) == {old.run_id, old_dead.run_id}
    assert not old.folder.exists() and not old_dead.folder.exists()
    assert {e["run_id"] for e in list_runs(tmp_path)} == {recent.run_id, live.run_id}


def test_prune_never_deletes_a_running_run_even_at_age_zero(tmp_path):
    live = make(tmp_path)
    ended = make(tmp_path)
    ended.set_status("stopped", reason="llm_calls limit reached")
    # Its end is stored to the second, rounded down, so it is already in the past.
    assert prune_runs(tmp_path, 0) == [ended.run_id]
    assert live.folder.exists()


# -- where there is no /proc (macOS) --------------------------------------------------


@pytest.fixture
def no_proc(monkeypatch, tmp_path):
    """The owner check as on macOS: /proc is missing, so ``ps`` tells start times."""
    from autoplug.runs import owners

    if shutil.which("ps") is None:
        pytest.skip("no ps command here")
    monkeypatch.setattr(owners, "PROC", tmp_path / "no-proc")


def test_without_proc_a_live_owner_is_alive_and_its_start_time_comes_from_ps(no_proc, tmp_path):
    start = process_start_time(os.getpid())
    assert start is not None and not start.isdigit()  # ps's lstart, not /proc's ticks
    store = make(tmp_path)  # recorded with the ps start time
    assert store.info()["status"] == "running"
    assert store.owner_alive()


def test_without_proc_a_reused_pid_and_a_dead_pid_are_not_the_owner(no_proc, tmp_path):
    store = make(tmp_path)
    assert set_owner(store, os.getpid(), "Thu Jan  1 00:00:00 1970").info()["status"] == (
        "interrupted"
    )
    assert set_owner(store, dead_pid(), None).info()["status"] == "interrupted"


def test_without_proc_the_check_sends_no_signal_that_could_stop_a_process(no_proc, tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        store = make(tmp_path)
        store = set_owner(store, sleeper.pid, process_start_time(sleeper.pid))
        for _ in range(3):
            assert store.info()["status"] == "running"
        assert sleeper.poll() is None  # still running: signal 0 delivers nothing
    finally:
        sleeper.kill()
        sleeper.wait()


# -- open files ------------------------------------------------------------------------

MANY_RUNS = r"""
import asyncio, json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from autoplug import Kernel, hookimpl, tool
from autoplug.scripted import ScriptedModel, call


@tool
def echo(n: int) -> str:
    '''Echo a number.

    n: the number
    '''
    return f"v{n}"


class Echo:
    @hookimpl
    def register_tools(self, register):
        register(echo)


home = Path(sys.argv[1])
home.mkdir()
(home / "config.toml").write_text('[memory]\nbackend = "none"\n')
kernel = Kernel(plugins=[Echo()], builtins=["autoplug_autos"], home=home)
steps = [{"id": f"s{n}", "tool": "echo", "args": {"n": n}, "output": f"a{n}"} for n in (1, 2, 3)]


def model():
    return ScriptedModel([call("act", subtask="echo", assets=[]), call("submit_plan", steps=steps),
                          call("final", answer="done")])


async def main():
    runs = [kernel.arun(f"task {i}", model=model()) for i in range(int(sys.argv[2]))]
    return await asyncio.gather(*runs, return_exceptions=True)


results = asyncio.run(main())
print(json.dumps([r.status if hasattr(r, "status") else repr(r) for r in results]))
"""


@pytest.mark.slow
def test_a_thousand_concurrent_runs_all_succeed_under_ulimit_256(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", MANY_RUNS, str(tmp_path / "home"), "1000"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    statuses = json.loads(out.stdout.splitlines()[-1])
    assert statuses == ["succeeded"] * 1000, sorted(set(statuses))[:3]
    listing = list_runs(tmp_path / "home")
    assert len(listing) == 1000 and {e["status"] for e in listing} == {"succeeded"}
    assert all(
        len(RunStore.open(tmp_path / "home", e["run_id"]).steps()) == 3 for e in listing[:20]
    )


OUT_OF_FILES = r"""
import os, resource, sys
from pathlib import Path
from autoplug.errors import RunError
from autoplug.runs import RunStore
home = Path(sys.argv[1])
RunStore.create(home, task="t", model="m", auto="runner", workspace=home).close()  # the process lock
held = []
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
try:
    RunStore.create(home, task="t", model="m", auto="runner", workspace=home)
except RunError as exc:
    print(exc)
"""


def test_running_out_of_open_files_is_reported_as_that_not_as_an_unwritable_folder(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", OUT_OF_FILES, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    message = out.stdout.strip()
    assert message.startswith(f"cannot create a run folder in {tmp_path / 'runs'}"), message
    assert "too many open files in the process; this process may open 64 (ulimit -n)" in message
    assert "not writable" not in message and "autoplug can write" not in message


# -- a journal cut at any byte (a kill mid-write) reads as a prefix of what was saved ---


SAVES = st.lists(
    st.tuples(
        st.sampled_from(["step", "decision", "plan"]),
        st.integers(1, 4),
        st.text(alphabet='ab\n"\\é', max_size=6),
    ),
    max_size=12,
)


def snapshot_of(store) -> tuple:
    return (store.steps(), store.decisions(), store.plans())


@settings(max_examples=60, deadline=None)
@given(saves=SAVES, fraction=st.floats(0, 1))
def test_a_journal_cut_anywhere_reads_as_the_state_after_its_last_whole_line(saves, fraction):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = make(home)
        states = [(store.state_path.stat().st_size, snapshot_of(store))]
        for kind, key, text in saves:
            if kind == "step":
                store.checkpoint.save_step(1, f"s{key}", {"status": "succeeded", "error": text})
            elif kind == "decision":
                store.save_decision({"iteration": key, "function": "act", "observation": text})
            else:
                store.checkpoint.save_plan(key, {"steps": [], "note": text})
            states.append((store.state_path.stat().st_size, snapshot_of(store)))
        store.close()
        data = store.state_path.read_bytes()
        cut = int(len(data) * fraction)
        store.state_path.write_bytes(data[:cut])
        whole = [state for size, state in states if size <= cut]
        if not whole:  # the run record itself was cut: a clear error, never a crash
            with pytest.raises(RunError, match="holds no run record"):
                RunStore.open(home, store.run_id)
            return
        again = RunStore.open(home, store.run_id, read_only=True)
        assert snapshot_of(again) == whole[-1]


def test_a_new_run_is_claimed_before_its_folder_is_visible(tmp_path):
    store = make(tmp_path)
    lock = (store.folder / "owner.lock").read_text()
    assert lock.startswith(f"pid {os.getpid()} on ") and len(lock) == 512
    code = (
        "import sys; from pathlib import Path; from autoplug.runs import RunStore;"
        "RunStore.open(Path(sys.argv[1]), sys.argv[2]).claim()"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), store.run_id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert other.returncode == 1
    assert f"is being run by pid {os.getpid()} on " in other.stderr
    store.close()  # released: now another process may take it over
    again = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), store.run_id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr


def test_a_run_is_created_after_its_runs_folder_was_removed(tmp_path):
    home = tmp_path / "home"
    options = dict(task="t", model="m", auto="runner", workspace=tmp_path)
    RunStore.create(home, **options).close()
    shutil.rmtree(home)  # a home removed while the process lives
    store = RunStore.create(home, **options)
    store.close()
    assert store.folder.parent.is_dir() and (store.folder / "state.jsonl").is_file()


def test_an_ended_runs_store_is_freed_at_once_without_the_garbage_collector(tmp_path):
    import gc
    import weakref

    store = make(tmp_path)
    store.checkpoint.save_step(1, "s1", {"status": "succeeded"})
    store.exchanges.save(
        1,
        agent="planner",
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        reply={"content": "ok"},
        usage={},
        duration_s=0.1,
    )
    store.append_event(Event(type="step_finished", run_id=store.run_id, seq=1))
    store.close()
    gone = weakref.ref(store)
    gc.disable()
    try:
        del store
        assert gone() is None  # no reference cycle holds it until a collection
    finally:
        gc.enable()


def test_a_workspace_path_that_is_not_utf8_is_refused_naming_it_and_leaves_nothing(tmp_path):
    home = tmp_path / "home"
    odd = Path(os.fsdecode(b"/tmp/w\xffx"))  # a Linux file name may be any bytes
    with pytest.raises(RunError, match=r"its workspace '/tmp/w\\udcffx' is not valid UTF-8"):
        RunStore.create(home, task="t", model="scripted:test", auto="runner", workspace=odd)
    runs = home / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []  # no half-made hidden folder


def test_a_workspace_path_with_odd_but_valid_characters_is_recorded_as_it_is(tmp_path):
    odd = tmp_path / "a b\n\u00e9\U0001f600 'q\""
    odd.mkdir()
    store = RunStore.create(tmp_path, task="t", model="scripted:test", auto="runner", workspace=odd)
    store.close()
    with RunStore.open(tmp_path, store.run_id, read_only=True) as again:
        assert again.info()["workspace"] == str(odd)


def test_reading_a_run_whose_folder_is_deleted_midway_says_so_and_remakes_nothing(tmp_path):
    from autoplug.assets import AssetStore
    from autoplug.cli.runs import show_run

    store = make(tmp_path)
    AssetStore(store.assets_dir, log=store.asset_log).put("big", b"\x00" * 9000, step="s")
    store.checkpoint.save_step(1, "s", {"status": "succeeded", "asset": "big", "error": None})
    store.append_event(Event("step_finished", store.run_id, 1, data={}))
    store.close()
    reader = RunStore.open(tmp_path, store.run_id, read_only=True)  # read, then deleted
    shutil.rmtree(store.folder)
    gone = rf"unknown run '{store.run_id}': its folder {store.folder} is gone"
    for read in (reader.events, reader.unreadable_trace_lines, lambda: show_run(reader)):
        with pytest.raises(UnknownRunError, match=gone):
            read()
    with pytest.raises(RunError, match=rf"cannot read the assets in .*: {store.folder} is gone"):
        AssetStore.load(reader.assets_dir)
    with pytest.raises(UnknownRunError, match=f"unknown run '{store.run_id}'"):
        RunStore.open(tmp_path, store.run_id)
    assert not store.folder.exists()  # no reader made any of it again
    assert list_runs(tmp_path) == []
