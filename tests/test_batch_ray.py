"""``autoplug batch --engine ray``: real Ray, real subprocesses, the loopback OpenAI-wire server.

The Ray tests (marked slow) start one real Ray cluster for the module
(``ray start --head --num-cpus 2``, its workers with a home of their own, so
run folders must travel back to the driver) and one CLI run that starts a
local Ray itself (its workers share the driver's home). The loopback server
answers per task; a task named ``victim`` hangs on a chosen request until the
test kills the worker process running it (found as the run's recorded owner).

The tests of the folder shipping and of the worker's choice of home need no
Ray: they run in every venv.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Recorded, Reply, providers_toml

from autoplug.batch.ray_engine import (
    MARKER_PREFIX,
    land_folder,
    pack_folder,
    worker_home,
)
from autoplug.errors import AutoplugError
from autoplug.runs import RunStore, list_runs

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))
RAY = str(Path(sys.executable).with_name("ray"))
PLUGINS = "autoplug_models,autoplug_autos,autoplug_files"
MODEL = "loop:test-model"
PLAN = [{"id": "look", "tool": "list_files", "args": {"path": "."}, "output": "listing"}]


# -- shipping a run folder back (no Ray) --------------------------------------------


def _run(home: Path, task: str = "a task") -> RunStore:
    return RunStore.create(home, task=task, model="m:x", auto="runner", workspace=home)


def test_a_shipped_run_folder_lands_in_the_drivers_home_with_its_final_status(tmp_path):
    worker, driver = tmp_path / "worker", tmp_path / "driver"
    with _run(worker, "count the files") as store:
        store.set_status("succeeded", answer="3 files", usage={"llm_calls": 1})
        run_id = store.run_id
    land_folder(driver, run_id, pack_folder(worker / "runs" / run_id))

    [listed] = list_runs(driver)
    assert (listed["run_id"], listed["status"], listed["task"]) == (
        run_id,
        "succeeded",
        "count the files",
    )
    assert listed["answer"] == "3 files"
    # Landing again keeps the run already there.
    land_folder(driver, run_id, b"not even a tar file")
    assert [r["status"] for r in list_runs(driver)] == ["succeeded"]


def test_a_shipped_run_that_had_not_ended_lands_interrupted_never_running(tmp_path):
    worker, driver = tmp_path / "worker", tmp_path / "driver"
    store = _run(worker)  # still open and owned by this (living) process: `running`
    assert store.info()["status"] == "running"
    land_folder(driver, store.run_id, pack_folder(store.folder))
    store.close()

    [listed] = list_runs(driver)
    assert listed["status"] == "interrupted"
    assert "Ray worker" in listed["reason"]


def test_a_shipped_folder_with_a_bad_run_id_or_a_path_out_of_it_is_refused(tmp_path):
    driver = tmp_path / "driver"
    with pytest.raises(AutoplugError, match="bad id '../escape'"):
        land_folder(driver, "../escape", b"")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"owned"
        member = tarfile.TarInfo("../../outside.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(tarfile.TarError):
        land_folder(driver, "20260101-000000-000000-abcd", buffer.getvalue())
    assert not (tmp_path / "outside.txt").exists()
    assert list((driver / "runs").iterdir()) == []  # no half-made or staging folder left


def test_a_worker_sees_the_drivers_marker_in_a_shared_home_and_ships_nothing(tmp_path, monkeypatch):
    driver = tmp_path / "driver"
    (driver / "state").mkdir(parents=True)
    (driver / "state" / f"{MARKER_PREFIX}tok.json").write_text("{}")
    monkeypatch.delenv("AUTOPLUG_HOME", raising=False)
    assert worker_home(str(driver), "tok", "model = 'x'\n") == (driver, True)
    assert not (driver / "config.toml").exists()  # a shared home's config is the driver's own
    # Another batch's token is not this one's: not shared.
    assert worker_home(str(driver), "other", None) == (driver, False)


def test_a_workers_own_home_gets_the_drivers_config_only_when_it_has_none(tmp_path, monkeypatch):
    own = tmp_path / "own"
    monkeypatch.setenv("AUTOPLUG_HOME", str(own))
    assert worker_home(str(tmp_path / "driver"), "tok", "model = 'a:b'\n") == (own, False)
    assert (own / "config.toml").read_text() == "model = 'a:b'\n"
    (own / "config.toml").write_text("model = 'the:workers'\n")
    worker_home(str(tmp_path / "driver"), "tok", "model = 'a:b'\n")
    assert (own / "config.toml").read_text() == "model = 'the:workers'\n"


def test_a_worker_without_the_drivers_home_uses_a_scratch_home_that_follows_its_config(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("AUTOPLUG_HOME", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    missing = str(tmp_path / "not-on-this-worker")
    home, shared = worker_home(missing, "tok", "model = 'a:b'\n")
    assert not shared and home.parent == tmp_path / "tmp" / "autoplug-ray"
    assert (home / "config.toml").read_text() == "model = 'a:b'\n"
    assert worker_home(missing, "tok", "model = 'c:d'\n")[0] == home
    assert (home / "config.toml").read_text() == "model = 'c:d'\n"


# -- real Ray ---------------------------------------------------------------------


class Model:
    """The loopback server's answers, a function of each request (as a retry needs).

    Every task (``task-NN``) answers ``final`` at once. ``victim`` acts first (a
    one-step plan over ``list_files``); once its history holds that act, it
    answers ``final`` — or hangs while ``hang`` is set, for the test to kill the
    worker mid-task. ``planner`` counts the plans asked for, per task.
    """

    SUBTASK = "list the victim files"

    def __init__(self) -> None:
        self.url = ""  # the server's, once it listens
        self.lock = threading.Lock()
        self.dynamic: Counter[str] = Counter()
        self.planner: Counter[str] = Counter()
        self.hang = threading.Event()

    def __call__(self, recorded: Recorded) -> Reply:
        body = recorded.body
        seen = json.dumps(body.get("messages"))
        found = re.search(r"\b(task-\d+|victim)\b", seen)
        name = found.group(1) if found else "?"
        offered = {t["function"]["name"] for t in body.get("tools") or []}
        with self.lock:
            if "submit_plan" in offered:
                self.planner[name] += 1
                return Reply.chat(tool_calls=[("submit_plan", {"steps": PLAN})])
            self.dynamic[name] += 1
        if name == "victim" and self.SUBTASK not in seen:
            return Reply.chat(tool_calls=[("act", {"subtask": self.SUBTASK, "assets": []})])
        if name == "victim" and self.hang.is_set():
            return Reply.hang(120)
        return Reply.chat(tool_calls=[("final", {"answer": f"answer of {name}"})])


@pytest.fixture(scope="module")
def ray_needed():
    pytest.importorskip("ray", reason="the Ray tests need the extra: pip install 'autoplug[ray]'")


@pytest.fixture(scope="module")
def model(ray_needed):
    answers = Model()
    server = OpenAIServer(answers).start()
    answers.url = server.url
    yield answers
    server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AUTOPLUG_"))}
    env.update(AUTOPLUG_HOME=str(home), AUTOPLUG_LOAD_PLUGINS=PLUGINS, **extra)
    return env


@pytest.fixture(scope="module")
def cluster(model, tmp_path_factory):
    """A real Ray head (2 CPUs) whose workers keep runs in a home of their own."""
    root = tmp_path_factory.mktemp("cluster")
    worker = root / "worker-home"
    worker.mkdir()
    port = _free_port()
    log = open(root / "ray.log", "w")  # noqa: SIM115 (open for the module's length)
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--num-cpus", "2", "--port", str(port)]
        + ["--node-ip-address", "127.0.0.1", "--include-dashboard", "false"]
        + ["--disable-usage-stats"],
        # A loopback test cluster: no token to hand to every driver.
        env=_env(worker, RAY_AUTH_MODE="disabled"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: ended as one below
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in (root / "ray.log").read_text():
        assert head.poll() is None, (root / "ray.log").read_text()
        assert time.monotonic() < deadline, "ray start did not come up in 120 s"
        time.sleep(0.2)
    yield address, worker
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
    log.close()


def _driver(tmp_path: Path, model: Model, tasks: list[dict]) -> tuple[Path, Path]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(providers_toml("loop", model.url))
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "notes.txt").write_text("notes")
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return home, tasks_file


def _batch(home: Path, tasks_file: Path, *args: str, **popen: object) -> list[str]:
    out = tasks_file.with_name("results.jsonl")
    return [AUTOPLUG, "batch", str(tasks_file), "--engine", "ray", "--output", str(out)] + [
        "--model",
        MODEL,
        "--workspace",
        str(tasks_file.with_name("ws")),
        "--json",
        *args,
    ]


def _cli(home: Path, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=_env(home), capture_output=True, text=True, timeout=timeout, check=False
    )


def _results(tasks_file: Path) -> list[dict]:
    path = tasks_file.with_name("results.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def _runs(home: Path) -> list[dict]:
    listed = _cli(home, [AUTOPLUG, "runs", "--json"], timeout=60)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def _owner_of(home: Path, task: str, deadline_s: float = 120) -> tuple[str, int]:
    """``(run_id, owner pid)`` of the run of ``task`` in ``home``, once it is there."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for folder in sorted((home / "runs").glob("*/")):
            try:
                with RunStore.open(home, folder.name, read_only=True) as store:
                    info = store.info()
            except AutoplugError:
                continue  # not written yet, or written half
            if info["task"] == task:
                return folder.name, info["owner"]["pid"]
        time.sleep(0.1)
    raise AssertionError(f"no run of {task!r} in {home} after {deadline_s} s")


def _wait_for(check, what: str, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, f"{what}: not after {deadline_s} s"
        time.sleep(0.05)


@pytest.mark.slow
def test_twenty_tasks_on_a_ray_cluster_all_land_in_the_drivers_home_and_a_rerun_skips_them(
    cluster, model, tmp_path
):
    address, worker = cluster
    tasks = [{"id": f"t{n}", "task": f"Answer task-{n:02d}."} for n in range(20)]
    home, tasks_file = _driver(tmp_path, model, tasks)
    argv = _batch(home, tasks_file, "--ray-address", address, "--concurrency", "4")
    first = _cli(home, argv)
    assert first.returncode == 0, first.stderr

    lines = _results(tasks_file)
    assert sorted(line["id"] for line in lines) == sorted(t["id"] for t in tasks)
    assert {line["status"] for line in lines} == {"succeeded"}
    by_id = {line["id"]: line for line in lines}
    assert by_id["t7"]["answer"] == "answer of task-07"
    # Every run was made on a worker (its own home) and came back with its final status.
    listed = {r["run_id"]: r for r in _runs(home)}
    assert set(listed) == {line["run_id"] for line in lines}
    assert {r["status"] for r in listed.values()} == {"succeeded"}
    assert {r["run_id"] for r in list_runs(worker)} >= set(listed)
    shown = _cli(home, [AUTOPLUG, "runs", "show", by_id["t3"]["run_id"], "--json"], timeout=60)
    assert shown.returncode == 0 and json.loads(shown.stdout)["answer"] == "answer of task-03"
    assert not list((home / "state").glob(f"{MARKER_PREFIX}*"))  # the marker is gone

    again = _cli(home, argv)
    assert again.returncode == 0, again.stderr
    assert "skipping 20 task(s)" in again.stderr
    assert len(_results(tasks_file)) == 20  # nothing ran again
    assert len(_runs(home)) == 20


@pytest.mark.slow
def test_a_worker_killed_mid_task_is_retried_by_ray_from_the_start_and_the_task_succeeds(
    cluster, model, tmp_path
):
    address, worker = cluster
    tasks = [{"id": "v", "task": "Look at the victim files."}] + [
        {"id": f"t{n}", "task": f"Answer task-{n:02d}."} for n in range(3)
    ]
    home, tasks_file = _driver(tmp_path, model, tasks)
    model.dynamic.clear()
    model.planner.clear()
    model.hang.set()
    argv = _batch(home, tasks_file, "--ray-address", address)
    log = tmp_path / "batch.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(argv, env=_env(home), stdout=subprocess.DEVNULL, stderr=err)
    try:
        first_run, pid = _owner_of(worker, "Look at the victim files.")
        _wait_for(lambda: model.dynamic["victim"] >= 2, "the victim's second model call")
        model.hang.clear()  # the retry is answered
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=240) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    line = {r["id"]: r for r in _results(tasks_file)}["v"]
    assert line["status"] == "succeeded" and line["answer"] == "answer of victim"
    # Retried from the start: a second run (its plan made again), the first one left
    # interrupted on the worker, never landed in the driver's home.
    assert line["run_id"] != first_run
    assert model.planner["victim"] == 2
    statuses = {r["run_id"]: r["status"] for r in _runs(home)}
    assert statuses[line["run_id"]] == "succeeded"
    assert first_run not in statuses
    assert "running" not in statuses.values()
    assert {r["run_id"]: r["status"] for r in list_runs(worker)}[first_run] == "interrupted"


@pytest.mark.slow
def test_without_an_address_a_local_ray_starts_and_a_retry_in_the_shared_home_resumes_the_run(
    model, tmp_path
):
    tasks = [{"id": "v", "task": "Look at the victim files."}] + [
        {"id": f"t{n}", "task": f"Answer task-{n:02d}."} for n in range(2)
    ]
    home, tasks_file = _driver(tmp_path, model, tasks)
    model.dynamic.clear()
    model.planner.clear()
    model.hang.set()
    log = tmp_path / "batch.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            _batch(home, tasks_file), env=_env(home), stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        first_run, pid = _owner_of(home, "Look at the victim files.", deadline_s=180)
        _wait_for(lambda: model.dynamic["victim"] >= 2, "the victim's second model call")
        model.hang.clear()
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=240) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    line = {r["id"]: r for r in _results(tasks_file)}["v"]
    assert line["status"] == "succeeded" and line["answer"] == "answer of victim"
    # The workers share the driver's home: the retry resumed the same run, its act
    # (the plan and the list_files step) kept, not made again.
    assert line["run_id"] == first_run
    assert model.planner["victim"] == 1
    listed = _runs(home)
    assert sorted(r["status"] for r in listed) == ["succeeded"] * 3
    events = [json.loads(e) for e in (home / "runs" / first_run / "trace.jsonl").open()]
    assert "run_resumed" in [e["type"] for e in events]
    assert not list((home / "state" / "ray-attempts").glob("*"))


@pytest.mark.slow
def test_ctrl_c_cancels_the_outstanding_ray_tasks_and_the_same_command_continues(
    cluster, model, tmp_path
):
    address, worker = cluster
    tasks = [{"id": f"t{n}", "task": f"Answer task-{n:02d}."} for n in range(2)] + [
        {"id": "v", "task": "Look at the victim files, then stop."}
    ]
    home, tasks_file = _driver(tmp_path, model, tasks)
    model.dynamic.clear()
    model.hang.set()
    argv = _batch(home, tasks_file, "--ray-address", address)
    log = tmp_path / "batch.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(argv, env=_env(home), stdout=subprocess.DEVNULL, stderr=err)
    try:
        first_run, _ = _owner_of(worker, "Look at the victim files, then stop.")
        _wait_for(
            lambda: (
                len(_results(tasks_file)) == 2
                if tasks_file.with_name("results.jsonl").exists()
                else False
            ),
            "the two quick tasks' lines",
        )
        _wait_for(lambda: model.dynamic["victim"] >= 2, "the victim's second model call")
        time.sleep(0.5)  # its second model call is in flight, hanging
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130, log.read_text()
    finally:
        model.hang.clear()
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    stderr = log.read_text()
    assert "continue the batch with: autoplug batch" in stderr
    lines = _results(tasks_file)
    assert [(line["id"], line["status"]) for line in lines][-1] == ("v", "interrupted")
    # The cancelled Ray task recorded its run interrupted on the worker (not left running).
    assert {r["run_id"]: r["status"] for r in list_runs(worker)}[first_run] == "interrupted"

    again = _cli(home, argv)
    assert again.returncode == 0, again.stderr
    assert "skipping 2 task(s)" in again.stderr
    final = {line["id"]: line for line in _results(tasks_file)}
    assert {i: line["status"] for i, line in final.items()} == dict.fromkeys(
        ("t0", "t1", "v"), "succeeded"
    )
    assert "running" not in {r["status"] for r in _runs(home)}


def test_a_ray_address_where_nothing_listens_fails_at_once_with_one_line(ray_needed, tmp_path):
    home, tasks_file = tmp_path / "home", tmp_path / "tasks.jsonl"
    home.mkdir()
    tasks_file.write_text('{"task": "Answer task-01."}\n')
    closed = _free_port()  # bound and released: nothing listens there now
    argv = [AUTOPLUG, "batch", str(tasks_file), "--engine", "ray", "--model", "scripted:x.json"]
    started = time.monotonic()
    done = _cli(home, [*argv, "--ray-address", f"127.0.0.1:{closed}"], timeout=60)
    assert done.returncode == 1
    assert f"cannot connect to Ray at '127.0.0.1:{closed}'" in done.stderr
    assert "ray start --head" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30  # not Ray's minutes of retries
    bad = _cli(home, [*argv, "--ray-address", "no-port-here"], timeout=60)
    assert bad.returncode == 2 and "is not HOST:PORT" in bad.stderr
    assert not (tmp_path / "home" / "runs").exists()  # nothing ran
