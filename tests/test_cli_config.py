"""The config file under AUTOPLUG_HOME and the CLI's treatment of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_cli import last_error_line

from autoplug.config import CONFIG_TEMPLATE, Config
from autoplug.errors import ConfigError


def autoplug(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run the real ``autoplug`` command; stdin is never a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **env},
        timeout=60,
    )


def test_help_and_version_do_not_create_the_config(isolated_home):
    assert autoplug("--help").returncode == 0
    version = autoplug("--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout
    assert not (isolated_home / "config.toml").exists()


def test_first_command_writes_fully_commented_config(isolated_home):
    assert autoplug("tools").returncode == 0
    text = (isolated_home / "config.toml").read_text()
    assert "[limits]" in text and "iterations = 25" in text
    assert all(line.startswith("#") for line in text.splitlines() if line.strip())


def test_an_autoplug_home_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("AUTOPLUG_HOME", str(home))

    proc = autoplug("tools", cwd=tmp_path)

    assert proc.returncode == 2
    assert last_error_line(proc) == (
        f"error: cannot create the config file {home / 'config.toml'}: File exists; the "
        f"autoplug home {home} must be a folder autoplug can write (AUTOPLUG_HOME chooses another)"
    )


def test_a_fresh_autoplug_home_gets_the_commented_config(tmp_path, monkeypatch):
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("AUTOPLUG_HOME", str(home))

    proc = autoplug("tools", "--json", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert (home / "config.toml").read_text() == CONFIG_TEMPLATE


def test_invalid_config_exits_2_naming_the_file(isolated_home):
    path = isolated_home / "config.toml"
    path.write_text("[limits\niterations = 3\n")
    out = autoplug("tools")
    assert out.returncode == 2
    assert str(path) in out.stderr and "Traceback" not in out.stderr


def test_config_rejects_wrong_value_types_naming_the_key(tmp_path):
    (tmp_path / "config.toml").write_text("[limits]\niterations = 'many'\n")
    with pytest.raises(ConfigError, match=r"\[limits\] iterations must be a whole number >= 1"):
        Config.load(tmp_path)
    (tmp_path / "config.toml").write_text("[limits]\nitterations = 3\n")
    with pytest.raises(ConfigError, match=r"unknown key \[limits\] itterations"):
        Config.load(tmp_path)


def test_config_limits_merge_over_defaults(tmp_path):
    (tmp_path / "config.toml").write_text("[limits]\niterations = 7\n")
    limits = Config.load(tmp_path).limits
    assert limits["iterations"] == 7 and limits["concurrency"] == 4


def test_default_home_follows_xdg_data_home(tmp_path, monkeypatch):
    from autoplug.config import default_home

    monkeypatch.delenv("AUTOPLUG_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_home() == tmp_path / "autoplug"


def test_unknown_command_and_option_exit_2():
    command = autoplug("frobnicate")
    assert command.returncode == 2 and "No such command 'frobnicate'" in command.stderr
    option = autoplug("tools", "--nope")
    assert option.returncode == 2 and "No such option '--nope'" in option.stderr
    assert "Traceback" not in command.stderr + option.stderr
    # one line each, like every other user error
    assert command.stderr == "error: No such command 'frobnicate'. (see 'autoplug --help')\n"
    assert option.stderr == "error: No such option '--nope'. (see 'autoplug tools --help')\n"


def test_tools_call_side_effect_refused_without_terminal(tmp_path):
    args = ("tools", "call", "write_file", '{"path": "a.txt", "content": "x"}')
    out = autoplug(*args, cwd=tmp_path)
    assert out.returncode == 1
    assert "has side effects and was not approved" in out.stderr
    assert not (tmp_path / "a.txt").exists()
    ok = autoplug(*args, "--yes", cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout) == {"path": "a.txt", "bytes": 1}
    assert (tmp_path / "a.txt").read_text() == "x"


def test_malformed_args_json_exit_2():
    out = autoplug("tools", "call", "read_file", "{oops")
    assert out.returncode == 2 and "ARGS_JSON is not valid JSON" in out.stderr
    out = autoplug("tools", "call", "read_file", "[1]")
    assert out.returncode == 2 and "must be a JSON object" in out.stderr


# -- autoplug never edits the config: its own choices go to the state folder ---------

FINAL = json.dumps([{"call": "final", "arguments": {"answer": "Jupiter"}}])


def first_run(home: Path, workdir: Path, task: str = "Which is the largest planet?"):
    (workdir / "r.json").write_text(FINAL)
    return subprocess.Popen(
        [sys.executable, "-m", "autoplug.cli", "run", task, "--model", "scripted:r.json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "AUTOPLUG_HOME": str(home)},
    )


@pytest.mark.slow
def test_a_config_with_a_commented_memory_table_is_byte_identical_after_a_run(
    isolated_home, tmp_path
):
    text = "# mine\n[memory]  # note\ntop_k = 3\n\n[limits]\niterations = 9\n"
    (isolated_home / "config.toml").write_bytes(text.encode())
    proc = first_run(isolated_home, tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert (isolated_home / "config.toml").read_bytes() == text.encode()
    kept = json.loads((isolated_home / "state" / "memory.json").read_text())
    assert kept["embedder"] in ("minilm", "hashing")
    listed = autoplug("memory", "list", "--json", AUTOPLUG_HOME=str(isolated_home))
    assert [m["kind"] for m in json.loads(listed.stdout)] == ["answer"]  # memory was used


@pytest.mark.slow
def test_two_processes_making_their_first_run_at_once_leave_valid_state(tmp_path):
    from autoplug.config import CONFIG_TEMPLATE

    home = tmp_path / "home"
    procs = []
    for n in range(3):
        workdir = tmp_path / f"w{n}"
        workdir.mkdir()
        procs.append(first_run(home, workdir, f"Which is the largest planet? ({n})"))
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert (home / "config.toml").read_text() == CONFIG_TEMPLATE
    kept = json.loads((home / "state" / "memory.json").read_text())
    assert set(kept) == {"embedder"} and kept["embedder"] in ("minilm", "hashing")
    state = sorted(p.name for p in (home / "state").iterdir())
    assert state == ["memory.json", "memory.lock", "owners"]  # owners: the runs' process locks
    # The three processes ended: the next claimer sweeps their locks; none is half-made.
    assert all(p.name.endswith(".lock") for p in (home / "state" / "owners").iterdir())
    listed = autoplug("memory", "list", "--json", AUTOPLUG_HOME=str(home))
    assert len(json.loads(listed.stdout)) == 3  # every run stored with the one embedder


def test_an_appended_embedder_block_of_an_older_version_keeps_working_and_is_noted_once(
    isolated_home,
):
    from autoplug.config import CONFIG_TEMPLATE

    text = CONFIG_TEMPLATE + '\n[memory]\nembedder = "hashing"\n'
    (isolated_home / "config.toml").write_text(text)
    first = autoplug("memory", "stats", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["embedder"] == "hashing"
    assert "were written by an older autoplug" in first.stderr
    assert "you can remove those two lines" in first.stderr
    second = autoplug("memory", "stats", "--json")
    assert second.returncode == 0 and "older autoplug" not in second.stderr
    assert (isolated_home / "config.toml").read_text() == text
    # removing the lines, as the note says, keeps the same embedder
    (isolated_home / "config.toml").write_text(CONFIG_TEMPLATE)
    third = autoplug("memory", "stats", "--json")
    assert json.loads(third.stdout)["embedder"] == "hashing"


def test_an_embedder_the_user_sets_is_not_taken_for_an_appended_block(isolated_home):
    (isolated_home / "config.toml").write_text('[memory]\nembedder = "hashing"\ntop_k = 2\n')
    out = autoplug("memory", "stats", "--json")
    assert out.returncode == 0 and out.stderr == ""
    assert not (isolated_home / "state" / "memory.json").exists()
