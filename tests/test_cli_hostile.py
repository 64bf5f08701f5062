"""Hostile input and damaged state answered by the CLI with one ``error:`` line, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_cli import last_error_line, one_line_error, run_autoplug
from notes_run import READ_NOTES
from plugin_packages import make_package, pip_install_target

from autoplug import Kernel
from autoplug.memory import NewMemory, open_memory

HOSTILE = '''
import click
from autoplug import hookimpl, tool


@tool
def huge() -> int:
    """An integer JSON cannot print."""
    return 10**5000


@hookimpl
def register_tools(register):
    register(huge)


@hookimpl
def register_commands(cli):
    @cli.command("boom")
    def boom():
        raise RuntimeError("a bug in a plugin command\\nspanning lines")
'''


@pytest.fixture(scope="module")
def hostile_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile_src")
    project = make_package(root, "acme-hostile", "hostile", "acme_hostile", HOSTILE)
    target = tmp_path_factory.mktemp("hostile_site")
    pip_install_target([project], target)
    return target


# -- tools call ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args_json", "expected"),
    [
        ('{"path": ' + "1" * 5000 + "}", "error: ARGS_JSON cannot be read: Exceeds the limit"),
        ('{"path": ' + "[" * 50000 + "]" * 50000 + "}", "error: ARGS_JSON is nested too deeply"),
        ("{oops", "error: ARGS_JSON is not valid JSON"),
    ],
)
def test_tools_call_with_hostile_args_json_is_one_line_exit_2(tmp_path, args_json, expected):
    out = run_autoplug("tools", "call", "read_file", args_json, cwd=tmp_path)
    assert out.returncode == 2
    assert one_line_error(out).startswith(expected)
    assert out.stdout == ""


def test_tools_call_with_valid_args_json_still_works(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    out = run_autoplug("tools", "call", "read_file", '{"path": "a.txt"}', cwd=tmp_path)
    assert out.returncode == 0 and json.loads(out.stdout) == "hello"


@pytest.mark.parametrize(
    ("args_json", "said"),
    [("[1, 2]", "an array"), ("null", "null"), ('"x"', "a string"), ("3", "a number")],
)
def test_tools_call_names_the_json_type_of_arguments_that_are_not_an_object(
    tmp_path, args_json, said
):
    proc = run_autoplug("tools", "call", "read_file", args_json, cwd=tmp_path)

    assert proc.returncode == 2
    assert (
        last_error_line(proc) == f"error: ARGS_JSON must be a JSON object, not {said}: {args_json}"
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_a_tool_value_json_cannot_hold_is_one_line_exit_1(hostile_path, as_json):
    flags = ["--json"] if as_json else []
    out = run_autoplug("tools", "call", "huge", *flags, env={"PYTHONPATH": str(hostile_path)})
    assert out.returncode == 1
    error = one_line_error(out)
    assert "cannot be written as JSON" in error and "4300 digits" in error
    assert out.stdout == ""


# -- the last-resort guard -------------------------------------------------------------------


def test_an_unexpected_exception_is_one_internal_error_line(hostile_path):
    out = run_autoplug("boom", env={"PYTHONPATH": str(hostile_path)})
    assert out.returncode == 1
    assert one_line_error(out) == (
        "error: internal error: RuntimeError: a bug in a plugin command spanning lines "
        "(please report)"
    )


def test_autoplug_traceback_shows_the_traceback_of_an_internal_error(hostile_path):
    out = run_autoplug("boom", env={"PYTHONPATH": str(hostile_path), "AUTOPLUG_TRACEBACK": "1"})
    assert out.returncode == 1
    assert "Traceback (most recent call last)" in out.stderr
    assert out.stderr.rstrip().splitlines()[-1].startswith("error: internal error: RuntimeError")


# -- memory -----------------------------------------------------------------------------------


@pytest.fixture
def memory_home(tmp_path) -> Path:
    """A home holding one memory in a real LanceDB store (the hashing embedder)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[memory]\nembedder = "hashing"\n')
    kernel = Kernel(builtins=["autoplug_memory"], home=home)
    open_memory(kernel).remember([NewMemory("The capital of Norway is Oslo", "fact")])
    return home


def damage_manifests(home: Path) -> Path:
    table = next((home / "memory").glob("*.lance"))
    for manifest in (table / "_versions").iterdir():
        manifest.write_bytes(b"garbage\n")
    return table


def damage_data(home: Path) -> Path:
    table = next((home / "memory").glob("*.lance"))
    for data in (table / "data").iterdir():
        data.unlink()
    return table


COMMANDS = [
    ("memory", "list"),
    ("memory", "list", "--json"),
    ("memory", "stats"),
    ("memory", "search", "Oslo"),
    ("memory", "prune"),
    ("memory", "forget", "0123456789abcdef"),
]


@pytest.mark.parametrize("damage", [damage_manifests, damage_data])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_damaged_lancedb_store_is_one_error_line_naming_the_store(memory_home, damage, args):
    damage(memory_home)
    out = run_autoplug(*args, env={"AUTOPLUG_HOME": str(memory_home)})
    if damage is damage_data and args == ("memory", "stats"):
        # stats reads only the table's metadata, which is intact
        assert out.returncode == 0, out.stderr
        return
    assert out.returncode == 1
    error = one_line_error(out)
    assert error.startswith(f"error: the memory store in {memory_home / 'memory'} cannot be used")
    assert "it may be damaged" in error and len(error) < 700
    assert out.stdout == ""


def test_the_same_store_undamaged_answers(memory_home):
    out = run_autoplug(
        "memory", "search", "Oslo", "--json", env={"AUTOPLUG_HOME": str(memory_home)}
    )
    assert out.returncode == 0 and json.loads(out.stdout)[0]["text"].endswith("Oslo")


def read_only_prefix(home: Path) -> list[str] | None:
    """A command prefix running the rest with ``home`` mounted read-only, or None if impossible."""
    if os.geteuid() != 0:
        home.chmod(0o555)
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", f"mount --bind -o ro '{home}' '{home}' && ! touch '{home}/x'"],
        capture_output=True,
    )
    if probe.returncode != 0:
        return None
    return [unshare, "-rm", "sh", "-c", f'mount --bind -o ro "{home}" "{home}" && exec "$@"', "sh"]


@pytest.mark.parametrize(
    "args", [("memory", "list"), ("memory", "stats"), ("memory", "search", "x")]
)
def test_memory_reading_commands_work_on_a_home_that_cannot_be_written(tmp_path, args):
    home = tmp_path / "home"
    home.mkdir()
    assert run_autoplug("tools", env={"AUTOPLUG_HOME": str(home)}).returncode == 0
    prefix = read_only_prefix(home)
    if prefix is None:
        pytest.skip("cannot make a read-only folder here")
    try:
        out = subprocess.run(
            [*prefix, sys.executable, "-m", "autoplug.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "AUTOPLUG_HOME": str(home)},
        )
    finally:
        home.chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "autoplug: warning: cannot keep the embedder choice in" in out.stderr
    assert str(home / "state") in out.stderr


# -- wrong-shaped run state -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, str]:
    """A home with one real finished run (its folder is copied before each damage)."""
    home = tmp_path_factory.mktemp("runs_home")
    work = tmp_path_factory.mktemp("runs_work")
    (home / "config.toml").write_text('[memory]\nbackend = "none"\n')
    (work / "notes.txt").write_text("Jupiter is the largest planet.\n")
    (work / "replies.json").write_text(json.dumps(READ_NOTES))
    out = run_autoplug(
        "run",
        "which planet?",
        "--model",
        f"scripted:{work / 'replies.json'}",
        cwd=work,
        env={"AUTOPLUG_HOME": str(home)},
    )
    assert out.returncode == 0, out.stderr
    return home, next(p.name for p in (home / "runs").iterdir())


# (record kind, field, the field's raw JSON, what the error names, the fault, listed as)
DEEP = "[" * 5000 + "]" * 5000
DAMAGES = [
    ("decision", "record", "[1, 2]", "(decision 1)", "expected an object, found a list", "failed"),
    ("decision", "record", '{"arguments": 7}', "(decision 1)", "'arguments' should be", "failed"),
    ("plan", "plan", '"x"', "(the plan of act 1)", "expected an object, found text", "failed"),
    ("plan", "plan", '{"steps": [1]}', "(the plan of act 1)", "step 1 is corrupt", "failed"),
    ("plan", "plan", '{"steps": 5}', "(the plan of act 1)", "'steps' should be", "failed"),
    ("plan", "plan", DEEP, "", "nested too deeply", "corrupt"),
    ("step", "record", "[]", "(step 's1' of act 1)", "expected an object", "failed"),
    ("step", "record", '{"n": ' + "9" * 5000 + "}", "", "not valid JSON", "corrupt"),
    ("step", "act", '"1"', "", "act number or step id", "failed"),
    ("run", "usage", "[1]", "(the run record)", "'usage' should be", "corrupt"),
    ("run", "task", "7", "(the run record)", "'task' should be text", "corrupt"),
    ("run", "owner_pid", '"abc"', "(the run record)", "'owner_pid' should be", "corrupt"),
    ("run", "status", "5", "(the run record)", "'status' should be text", "corrupt"),
    ("run", "status", '"done"', "(the run record)", "unknown status", "corrupt"),
]


def damage(state: Path, kind: str, field: str, raw: str) -> None:
    """Replace ``field`` of the first ``kind`` record of the journal by the JSON text ``raw``,
    and end the run ``failed`` (resumable, so resume reads it all)."""
    lines = state.read_text().splitlines()
    for number, line in enumerate(lines):
        record = json.loads(line)
        if record["k"] == kind:
            record[field] = "@@RAW@@"
            lines[number] = json.dumps(record).replace('"@@RAW@@"', raw)
            break
    else:
        raise AssertionError(f"no {kind} record in {state}")
    lines.append(json.dumps({"k": "status", "status": "failed", "reason": "x"}))
    state.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("kind", "field", "raw", "where", "fault", "listed"),
    DAMAGES,
    ids=[f"{d[0]}.{d[1]}={d[2][:20]}" for d in DAMAGES],
)
def test_wrong_shaped_run_state_is_one_error_line_naming_the_file(
    finished_run, tmp_path, kind, field, raw, where, fault, listed
):
    source, run_id = finished_run
    home = tmp_path / "home"
    shutil.copytree(source, home)
    state = home / "runs" / run_id / "state.jsonl"
    damage(state, kind, field, raw)
    env = {"AUTOPLUG_HOME": str(home)}
    expected = f"error: run {run_id!r}: {state} line "
    for args in (("runs", "show", run_id), ("runs", "show", run_id, "--json")):
        out = run_autoplug(*args, env=env)
        assert out.returncode == 1, out.stderr
        error = one_line_error(out)
        assert error.startswith(expected) and where in error and fault in error, error
    listing = run_autoplug("runs", "--json", env=env)
    assert listing.returncode == 0
    (entry,) = json.loads(listing.stdout)
    assert entry["status"] == listed
    resume = run_autoplug("resume", run_id, env=env, cwd=tmp_path)
    if listed == "corrupt" or kind == "decision":
        assert resume.returncode == 1
        assert one_line_error(resume).startswith(expected)
    assert "Traceback" not in resume.stderr


def test_a_run_trace_line_of_the_wrong_shape_is_skipped_and_counted(finished_run, tmp_path):
    source, run_id = finished_run
    home = tmp_path / "home"
    shutil.copytree(source, home)
    trace = home / "runs" / run_id / "trace.jsonl"
    trace.write_text('{"type": 5, "data": []}\n' + trace.read_text())
    out = run_autoplug("runs", "show", run_id, "--json", env={"AUTOPLUG_HOME": str(home)})
    # A line of the wrong shape is unreadable like a garbled one: skipped and counted.
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["unreadable_trace_lines"] == 1
