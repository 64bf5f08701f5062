"""The runs page's data (autoplug.ui.listing) and the read-only run store it reads through."""

from __future__ import annotations

import os

import pytest
from ui_helpers import snapshot

from autoplug.errors import RunError
from autoplug.events import Event
from autoplug.runs import RunStore, runs_dir
from autoplug.ui.listing import RunIndex


def made(home, task, status="succeeded", usage=None):
    store = RunStore.create(home, task=task, model="m:x", auto="runner", workspace=home)
    if status != "running":
        store.set_status(status, usage=usage)
    run_id = store.run_id
    store.close()
    return run_id


def test_pages_run_newest_first_and_the_cursor_continues_where_the_page_ended(tmp_path):
    ids = [made(tmp_path, f"task {i}") for i in range(7)]
    index = RunIndex(tmp_path)
    first = index.page(limit=3)
    assert [r["run_id"] for r in first.runs] == ids[::-1][:3]
    assert first.count == 7 and first.next == ids[-3]
    second = index.page(limit=3, before=first.next)
    third = index.page(limit=3, before=second.next)
    assert [r["run_id"] for r in second.runs + third.runs] == ids[::-1][3:]
    assert third.next is None


def test_a_filter_pages_through_matching_runs_only(tmp_path):
    ids = [made(tmp_path, f"Task {i}", "failed" if i % 2 else "succeeded") for i in range(9)]
    page = RunIndex(tmp_path).page(status="failed", limit=2)
    assert [r["run_id"] for r in page.runs] == [ids[7], ids[5]]
    rest = RunIndex(tmp_path).page(status="failed", limit=2, before=page.next)
    assert [r["run_id"] for r in rest.runs] == [ids[3], ids[1]]
    assert RunIndex(tmp_path).page(q="TASK 4").runs[0]["run_id"] == ids[4]


def test_a_row_carries_tokens_cost_and_duration_from_the_usage(tmp_path):
    usage = {
        "llm_calls": 3,
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
        "usd": 0.5,
    }
    made(tmp_path, "priced", usage=usage)
    (row,) = RunIndex(tmp_path).page().runs
    assert (row["tokens"], row["usd"]) == (120, 0.5)
    assert row["duration_s"] is not None and row["duration_s"] >= 0


def test_a_corrupt_folder_is_listed_as_corrupt_without_hiding_the_others(tmp_path):
    good = made(tmp_path, "good")
    broken = runs_dir(tmp_path) / "20991231-000000-000000-dead"
    broken.mkdir()
    (broken / "state.sqlite").write_bytes(b"not a database at all" * 100)
    rows = RunIndex(tmp_path).page().runs
    assert [(r["run_id"], r["status"]) for r in rows] == [
        (broken.name, "corrupt"),
        (good, "succeeded"),
    ]
    assert "corrupt" in rows[0]["error"] or "not a database" in rows[0]["error"]


def test_the_cache_sees_a_run_that_changed_and_one_that_was_deleted(tmp_path):
    run_id = made(tmp_path, "first", status="failed")
    index = RunIndex(tmp_path)
    assert index.page().runs[0]["status"] == "failed"
    with RunStore.open(tmp_path, run_id) as store:
        store.set_status("succeeded")
    assert index.page().runs[0]["status"] == "succeeded"
    other = made(tmp_path, "second")
    assert [r["run_id"] for r in index.page().runs] == [other, run_id]
    import shutil

    shutil.rmtree(runs_dir(tmp_path) / other)
    assert [r["run_id"] for r in index.page().runs] == [run_id]


def test_a_running_row_is_read_again_each_time(tmp_path):
    run_id = made(tmp_path, "still going", status="running")
    index = RunIndex(tmp_path)
    assert index.row(run_id)["status"] == "running"  # this process owns it
    with open(runs_dir(tmp_path) / run_id / "state.jsonl", "a") as journal:
        journal.write('{"k": "status", "status": "running", "owner_pid": 999999999}\n')
    assert index.row(run_id)["status"] == "interrupted"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"status": "done"}, "unknown status 'done'"), ({"limit": 0}, "limit must be between")],
)
def test_bad_page_parameters_are_refused_naming_them(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunIndex(tmp_path).page(**kwargs)


def test_a_home_without_runs_is_an_empty_page(tmp_path):
    page = RunIndex(tmp_path / "nothing").page()
    assert (page.runs, page.count, page.next) == ((), 0, None)


# -- RunStore.open(read_only=True) ------------------------------------------------------


def test_reading_a_finished_run_read_only_changes_nothing_in_its_folder(tmp_path):
    run_id = made(tmp_path, "finished")
    folder = runs_dir(tmp_path) / run_id
    before = snapshot(folder)
    with RunStore.open(tmp_path, run_id, read_only=True) as store:
        assert store.info()["task"] == "finished"
        store.plans(), store.steps(), store.decisions(), store.conversation(), store.events()
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == [  # no asset stored: no assets/
        "owner.lock",
        "state.jsonl",
        "trace.jsonl",
    ]


def test_a_read_only_store_refuses_writes_naming_the_file(tmp_path):
    run_id = made(tmp_path, "finished")
    with RunStore.open(tmp_path, run_id, read_only=True) as store:
        with pytest.raises(RunError, match="cannot write .*state.jsonl: opened read-only"):
            store.set_status("failed")
    with RunStore.open(tmp_path, run_id) as store:
        assert store.info()["status"] == "succeeded"


def test_a_read_only_reader_sees_what_a_live_writer_committed(tmp_path):
    writer = RunStore.create(tmp_path, task="live", model="m:x", auto="runner", workspace=tmp_path)
    writer.save_decision({"iteration": 1, "function": "brainstorm", "arguments": {}})
    writer.append_event(Event("run_started", writer.run_id, 1, data={}))
    with RunStore.open(tmp_path, writer.run_id, read_only=True) as reader:
        assert [d["iteration"] for d in reader.decisions()] == [1]
        assert reader.info()["status"] == "running"
        assert [e["type"] for e in reader.events()] == ["run_started"]
    writer.save_decision({"iteration": 2, "function": "brainstorm", "arguments": {}})
    with RunStore.open(tmp_path, writer.run_id, read_only=True) as reader:
        assert [d["iteration"] for d in reader.decisions()] == [1, 2]
    writer.close()


def test_a_home_path_with_uri_characters_opens_both_ways_and_nothing_lands_beside_it(tmp_path):
    home = tmp_path / "odd ?#% home"
    run_id = made(home, "odd", status="failed")
    with RunStore.open(home, run_id, read_only=True) as store:
        assert store.info()["status"] == "failed"
    # Unquoted, '?' ended the file name: SQLite opened a stray database 'odd ' instead.
    assert [p.name for p in tmp_path.iterdir()] == [home.name]


def test_warm_reads_every_row_so_a_later_search_opens_no_database(tmp_path):
    ids = [made(tmp_path, f"task {i}") for i in range(5)]
    index = RunIndex(tmp_path)
    assert index.warm() == 5
    # Damage a journal in place, keeping its size and time (as if nothing wrote it):
    # the warmed rows answer without opening it again.
    state = runs_dir(tmp_path) / ids[0] / "state.jsonl"
    before = state.stat()
    state.write_bytes(b"x" * before.st_size)
    os.utime(state, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert [r["status"] for r in index.page(q="task").runs] == ["succeeded"] * 5
    assert RunIndex(tmp_path).row(ids[0])["status"] == "corrupt"  # a fresh index reads it
