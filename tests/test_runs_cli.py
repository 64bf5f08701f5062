"""`autoplug runs`, `runs show`, `runs prune` and `resume`'s refusals, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from old_folders import to_schema_2

from autoplug.assets import AssetStore
from autoplug.events import Event
from autoplug.runs import RunStore, utc_iso

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))


def autoplug(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AUTOPLUG_HOME=str(home), AUTOPLUG_LOAD_PLUGINS="")
    return subprocess.run(
        [AUTOPLUG, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def finished_run(home: Path, task: str = "Which planet is largest?") -> RunStore:
    """A succeeded run with one act, a two-step plan, both steps done and their assets."""
    store = RunStore.create(home, task=task, model="scripted:test", auto="runner", workspace=home)
    plan = {
        "steps": [
            {"id": "read", "tool": "read_file", "args": {"path": "notes.txt"}, "output": "notes"},
            {
                "id": "count",
                "tool": "word_count",
                "args": {"text": {"$asset": "notes"}},
                "output": "words",
            },
        ]
    }
    store.save_decision(
        {
            "iteration": 1,
            "function": "act",
            "arguments": {"subtask": "read the notes", "assets": []},
            "observation": "{}",
            "act_no": 1,
        }
    )
    store.checkpoint.save_plan(1, plan)
    assets = AssetStore(store.assets_dir, log=store.asset_log)
    assets.put("notes", "Jupiter is the largest planet.", step="read", tool="read_file")
    store.checkpoint.save_step(1, "read", {"status": "succeeded", "asset": "notes", "error": None})
    assets.put("words", {"count": 5}, step="count", tool="word_count")
    store.checkpoint.save_step(1, "count", {"status": "succeeded", "asset": "words", "error": None})
    store.save_decision(
        {"iteration": 2, "function": "final", "arguments": {"answer": "Jupiter"}, "observation": ""}
    )
    store.set_status("succeeded", answer="Jupiter", usage={"calls": 3, "input_tokens": 120})
    store.close()
    return store


def test_runs_json_on_an_empty_home_is_an_empty_array(tmp_path):
    result = autoplug(tmp_path, "runs", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_runs_json_lists_runs_newest_first_with_their_fields(tmp_path):
    first = finished_run(tmp_path, task="first task")
    second = RunStore.create(
        tmp_path, task="second task", model="m:x", auto="runner", workspace=tmp_path
    )
    result = autoplug(tmp_path, "runs", "--json")
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    assert [r["run_id"] for r in runs] == [second.run_id, first.run_id]
    assert runs[1]["status"] == "succeeded" and runs[1]["task"] == "first task"
    assert runs[1]["model"] == "scripted:test"
    assert runs[1]["started"].endswith("Z")
    # The test process owns the second run and is alive while the CLI looks.
    assert runs[0]["status"] == "running"
    assert set(runs[0]) == {
        "run_id",
        "status",
        "task",
        "model",
        "auto",
        "started",
        "finished",
        "reason",
        "parent",
        "error",
    }
    assert runs[0]["parent"] is None  # a run that is no manager's child


def test_runs_table_shows_each_run_and_reports_a_corrupt_one_on_stderr(tmp_path):
    good = finished_run(tmp_path, task="a good task")
    broken = finished_run(tmp_path, task="to be broken")
    broken.state_path.write_bytes(b"\x00garbage" * 64)
    result = autoplug(tmp_path, "runs")
    assert result.returncode == 0, result.stderr
    assert "RUN_ID" in result.stdout and "a good task" in result.stdout
    assert good.run_id in result.stdout
    assert f"{broken.run_id}" in result.stdout and "corrupt" in result.stdout
    assert "state.jsonl" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_json_gives_plan_steps_assets_answer_and_usage(tmp_path):
    store = finished_run(tmp_path)
    result = autoplug(tmp_path, "runs", "show", store.run_id, "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["run_id"] == store.run_id and shown["status"] == "succeeded"
    assert shown["answer"] == "Jupiter"
    assert shown["usage"] == {"calls": 3, "input_tokens": 120}
    [act] = shown["acts"]
    assert act["act"] == 1 and act["subtask"] == "read the notes"
    assert [(s["id"], s["tool"], s["status"], s["asset"]) for s in act["steps"]] == [
        ("read", "read_file", "succeeded", "notes"),
        ("count", "word_count", "succeeded", "words"),
    ]
    assert [a["name"] for a in shown["assets"]] == ["notes", "words"]
    assert shown["assets"][0]["preview"].startswith("Jupiter is")
    assert [d["function"] for d in shown["decisions"]] == ["act", "final"]


def test_runs_show_marks_a_planned_step_that_never_finished_as_pending(tmp_path):
    store = RunStore.create(tmp_path, task="t", model="m", auto="runner", workspace=tmp_path)
    # The act was in flight: no saved decision, only its plan event in the trace.
    store.append_event(Event(type="plan", run_id=store.run_id, seq=1, data={"subtask": "nap"}))
    store.checkpoint.save_plan(
        1, {"steps": [{"id": "slow", "tool": "sleep", "args": {}, "output": "z"}]}
    )
    result = autoplug(tmp_path, "runs", "show", store.run_id, "--json")
    assert result.returncode == 0, result.stderr
    [act] = json.loads(result.stdout)["acts"]
    assert act["subtask"] == "nap"
    assert act["steps"][0]["status"] == "pending"


def test_runs_show_text_names_the_steps_and_the_answer(tmp_path):
    store = finished_run(tmp_path)
    result = autoplug(tmp_path, "runs", "show", store.run_id)
    assert result.returncode == 0, result.stderr
    assert "act 1: read the notes" in result.stdout
    assert "word_count" in result.stdout and "succeeded" in result.stdout
    assert "answer:\nJupiter" in result.stdout


def test_runs_show_an_unknown_run_exits_2_naming_it(tmp_path):
    result = autoplug(tmp_path, "runs", "show", "20990101-000000-000000-abcd")
    assert result.returncode == 2
    assert "unknown run '20990101-000000-000000-abcd'" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_a_corrupt_run_exits_1_naming_the_file(tmp_path):
    store = finished_run(tmp_path)
    store.state_path.write_bytes(b"this is not a journal\n" * 20)
    result = autoplug(tmp_path, "runs", "show", store.run_id)
    assert result.returncode == 1
    assert str(store.state_path) in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_a_corrupt_asset_record_names_the_journal(tmp_path):
    store = finished_run(tmp_path)
    assert not store.assets_dir.exists()  # small assets: records of the journal, no folder
    with open(store.state_path, "a") as journal:
        journal.write('{"k":"asset","name":7,"type":"text","size":1,"value":"x"}\n')
    result = autoplug(tmp_path, "runs", "show", store.run_id)
    assert result.returncode == 1
    assert f"corrupt asset manifest {store.state_path}" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_an_old_folders_corrupt_asset_manifest_names_the_file(tmp_path):
    store = finished_run(tmp_path)
    to_schema_2(store.folder)
    manifest = store.assets_dir / "manifest.jsonl"
    assert manifest.is_file()
    manifest.write_text("{ half written\n")
    result = autoplug(tmp_path, "runs", "show", store.run_id)
    assert result.returncode == 1
    assert manifest.name in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_an_old_folder_lists_its_manifests_assets(tmp_path):
    store = finished_run(tmp_path)
    to_schema_2(store.folder)
    result = autoplug(tmp_path, "runs", "show", store.run_id, "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [a["name"] for a in shown["assets"]] == ["notes", "words"]
    assert shown["assets"][0]["preview"] == "Jupiter is the largest planet."


def make_old(store: RunStore, days: float, *, ended: bool = True) -> None:
    stamp = utc_iso(time.time() - days * 86400)
    record = {"k": "status", "status": store.info()["status"], "started": stamp}
    record["finished"] = stamp if ended else None
    with open(store.state_path, "a") as journal:
        journal.write(json.dumps(record) + "\n")


def test_runs_prune_deletes_only_runs_older_than_the_age_given(tmp_path):
    old = finished_run(tmp_path, task="old")
    make_old(old, 45)
    recent = finished_run(tmp_path, task="recent")
    result = autoplug(tmp_path, "runs", "prune", "--older-than", "30d")
    assert result.returncode == 0, result.stderr
    assert f"deleted {old.run_id}" in result.stdout
    assert "1 run(s) deleted" in result.stdout
    assert not old.folder.exists() and recent.folder.exists()
    again = autoplug(tmp_path, "runs", "prune", "--older-than", "30d", "--json")
    assert json.loads(again.stdout) == {"deleted": []}


def test_runs_prune_never_deletes_a_run_whose_owner_is_alive(tmp_path):
    live = RunStore.create(tmp_path, task="live", model="m", auto="runner", workspace=tmp_path)
    make_old(live, 400, ended=False)
    result = autoplug(tmp_path, "runs", "prune", "--older-than", "1s")
    assert result.returncode == 0, result.stderr
    assert "no runs older than 1s" in result.stdout
    assert live.folder.exists()


@pytest.mark.parametrize("bad", ["30", "30x", "d", "-5d", "thirty days"])
def test_runs_prune_with_a_bad_age_exits_2_naming_it(tmp_path, bad):
    finished_run(tmp_path)
    result = autoplug(tmp_path, "runs", "prune", "--older-than", bad)
    assert result.returncode == 2
    assert f"invalid --older-than value {bad!r}" in result.stderr
    assert len(list((tmp_path / "runs").iterdir())) == 1  # nothing deleted


def test_resume_an_unknown_run_exits_2_naming_it(tmp_path):
    result = autoplug(tmp_path, "resume", "20990101-000000-000000-abcd")
    assert result.returncode == 2
    assert "unknown run '20990101-000000-000000-abcd'" in result.stderr
    assert "Traceback" not in result.stderr


def test_resume_a_succeeded_run_exits_2_saying_so(tmp_path):
    store = finished_run(tmp_path)
    result = autoplug(tmp_path, "resume", store.run_id)
    assert result.returncode == 2
    assert "already succeeded" in result.stderr
    assert result.stdout == ""


def test_resume_a_run_whose_owner_is_alive_exits_2(tmp_path):
    store = RunStore.create(tmp_path, task="t", model="m", auto="runner", workspace=tmp_path)
    result = autoplug(tmp_path, "resume", store.run_id)
    assert result.returncode == 2
    assert "still running" in result.stderr and str(os.getpid()) in result.stderr


def test_resume_a_stopped_run_exits_2_naming_the_guard(tmp_path):
    store = RunStore.create(tmp_path, task="t", model="m", auto="runner", workspace=tmp_path)
    store.set_status("stopped", reason="llm_calls limit reached: 100 model calls")
    result = autoplug(tmp_path, "resume", store.run_id)
    assert result.returncode == 2
    assert "stopped by a guard (llm_calls limit reached" in result.stderr


def test_runs_show_skips_a_garbled_trace_line_and_shows_the_count(tmp_path):
    store = finished_run(tmp_path)
    store.trace_path.write_text('{"type": "plan", "data": {}}\n{oops\n')
    result = autoplug(tmp_path, "runs", "show", store.run_id)
    assert result.returncode == 0, result.stderr
    assert "1 unreadable line(s) of trace.jsonl skipped" in result.stdout
    assert "Traceback" not in result.stderr
    listed = autoplug(tmp_path, "runs", "--json")  # the listing does not need the trace
    assert json.loads(listed.stdout)[0]["status"] == "succeeded"


def test_resume_of_a_conversation_interrupted_in_its_first_turn_points_at_chat_resume(tmp_path):
    store = RunStore.create(tmp_path, task="hi", model="m", auto="assistant", workspace=tmp_path)
    store.set_status("interrupted", reason="interrupted by the user")
    store.close()
    env = dict(os.environ, AUTOPLUG_HOME=str(tmp_path), AUTOPLUG_LOAD_PLUGINS="autoplug_autos")
    result = subprocess.run(
        [AUTOPLUG, "resume", store.run_id], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 2
    assert f"continue it with 'autoplug chat --resume {store.run_id}'" in result.stderr
    assert result.stdout == ""
