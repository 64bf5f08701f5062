"""A run's status record and ``info()``: the same from all three run stores.

The journal (``RunStore``), an old SQLite folder (``SqliteRunStore``) and a run with
no folder (``MemoryRunStore``) share one implementation (``autoplug.runs.status``);
these tests drive each through the same history and compare what ``info()`` says.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autoplug.errors import RunError
from autoplug.runs import MemoryRunStore, RunStore, SqliteRunStore, list_runs
from autoplug.runs.team import set_parent

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TASK = {"task": "count the planets", "model": "scripted:test", "auto": "runner"}


def three_stores(home: Path) -> dict[str, Any]:
    """A new run in each store, with the same task, model, Auto and workspace."""
    workspace = home.resolve()
    return {
        "journal": RunStore.create(home, **TASK, workspace=workspace),
        "sqlite": SqliteRunStore.create(home, **TASK, workspace=workspace),
        "memory": MemoryRunStore(**TASK, workspace=str(workspace)),
    }


def expected(store: Any, info: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The info() a run of ``TASK`` owned by this process should have, with ``fields``.

    Its times are checked here (UTC ISO, not after now: a local time would be hours off)
    and then taken as given. Now has two seconds of slack: a VM's clock may be stepped
    back between the store's write and this reading, and a time rounded to the
    microsecond may show the next second.
    """
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    for key in ("started", "finished"):
        if info.get(key) is not None:
            assert ISO.match(info[key]) and info[key] <= now, (key, info[key])
    return {
        "run_id": store.run_id,
        "status": "running",
        **TASK,
        "workspace": info["workspace"],
        "started": info["started"],
        "finished": None,
        "reason": None,
        "answer": None,
        "usage": None,
        "parent": None,
        "team_role": None,
        "assignment": None,
        "owner": {"pid": os.getpid(), "host": socket.gethostname()},
        **fields,
    }


def test_every_store_reports_the_same_info_through_the_same_history(tmp_path):
    seen: dict[str, list[dict[str, Any]]] = {}
    for name, store in three_stores(tmp_path).items():
        infos = [store.info()]
        store.set_status("stopped", reason="max_llm_calls reached", usage={"calls": 2})
        infos.append(store.info())
        store.set_status("running")  # resumed: the end is cleared, the usage kept
        infos.append(store.info())
        store.set_status("succeeded", answer="Jupiter")  # no usage: the recorded one stays
        infos.append(store.info())
        store.set_status("succeeded", answer="Jupiter", usage={"calls": 3})
        infos.append(store.info())
        running, stopped, resumed, succeeded, counted = infos
        assert running == expected(store, running), name
        assert running["workspace"] == str(tmp_path.resolve())
        assert stopped == expected(
            store,
            stopped,
            status="stopped",
            finished=stopped["finished"],
            reason="max_llm_calls reached",
            usage={"calls": 2},
        ), name
        assert stopped["finished"] is not None
        assert resumed == expected(store, resumed, usage={"calls": 2}), name
        assert succeeded == expected(
            store,
            succeeded,
            status="succeeded",
            finished=succeeded["finished"],
            answer="Jupiter",
            usage={"calls": 2},
        ), name
        assert counted["usage"] == {"calls": 3}, name
        if store.folder is not None:  # read back from its folder: the same again
            store.close()
            with RunStore.open(tmp_path, store.run_id, read_only=True) as again:
                assert again.info() == counted, name
        seen[name] = [{**i, "run_id": "-", "started": "-", "finished": "-"} for i in infos]
    assert list(seen["journal"][0]) == list(seen["sqlite"][0]) == list(seen["memory"][0])
    assert seen["journal"] == seen["sqlite"] == seen["memory"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_running_run_whose_owner_is_gone_reads_interrupted_in_both_folder_stores(tmp_path):
    stores = three_stores(tmp_path)
    gone = dead_pid()
    journal, old = stores["journal"], stores["sqlite"]
    for store in (journal, old):
        store.close()
    with open(journal.state_path, "a", encoding="utf-8") as state:  # as a killed owner left it
        state.write(json.dumps({"k": "status", "status": "running", "owner_pid": gone}) + "\n")
    with sqlite3.connect(old.state_path) as conn:
        conn.execute("UPDATE run SET owner_pid = ?", (gone,))
    for store in (journal, old):
        with RunStore.open(tmp_path, store.run_id, read_only=True) as again:
            info = again.info()
        owner = {"pid": gone, "host": socket.gethostname()}
        assert info == expected(store, info, status="interrupted", owner=owner)
    assert {r["run_id"]: r["status"] for r in list_runs(tmp_path)} == {
        journal.run_id: "interrupted",
        old.run_id: "interrupted",
    }
    # A run with no folder is owned by this process, alive as long as the run is.
    memory = stores["memory"]
    assert memory.info() == expected(memory, memory.info())


def test_a_child_runs_team_fields_read_the_same_from_a_journal_and_from_memory(tmp_path):
    stores = three_stores(tmp_path)
    for name in ("journal", "memory"):
        store = stores[name]
        set_parent(store, "20261121-130455-123456-ab12", "researcher", "researcher.1")
        info = store.info()
        team = {
            "parent": "20261121-130455-123456-ab12",
            "team_role": "researcher",
            "assignment": "researcher.1",
        }
        assert info == expected(store, info, **team), name
    with pytest.raises(RunError, match="old SQLite format and cannot join a team"):
        set_parent(stores["sqlite"], "20261121-130455-123456-ab12", "researcher", "researcher.1")
    assert stores["sqlite"].info()["parent"] is None


@pytest.mark.parametrize("status", ["done", "", "Running", None])
def test_every_store_refuses_an_unknown_status_with_the_same_message(tmp_path, status):
    messages = set()
    for name, store in three_stores(tmp_path).items():
        with pytest.raises(ValueError) as refused:
            store.set_status(status)
        messages.add(str(refused.value))
        assert store.info()["status"] == "running", name  # nothing was recorded
    assert messages == {
        f"unknown run status {status!r}; known: running, succeeded, failed, stopped, interrupted"
    }


def test_a_memory_runs_started_is_the_time_in_its_run_id():
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store = MemoryRunStore(**TASK, workspace="/w")
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    started = store.info()["started"]
    assert before <= started <= after
    day, clock = store.run_id.split("-")[:2]
    assert started.replace("-", "").replace(":", "") == f"{day}T{clock}Z"
