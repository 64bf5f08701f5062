"""The home's state folder: atomic JSON files, damaged ones read as empty, locked updates."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from autoplug.state import read_state, state_dir, update_state, write_state


def test_write_state_then_read_state_round_trips(tmp_path: Path) -> None:
    write_state(tmp_path, "embedder", {"name": "hashing", "dimension": 256})
    assert read_state(tmp_path, "embedder") == {"name": "hashing", "dimension": 256}
    assert json.loads((state_dir(tmp_path) / "embedder.json").read_text())["name"] == "hashing"
    assert [p.name for p in state_dir(tmp_path).iterdir() if p.suffix == ".tmp"] == []


def test_read_state_of_a_missing_or_damaged_file_is_empty(tmp_path: Path) -> None:
    assert read_state(tmp_path, "nothing") == {}
    state_dir(tmp_path).mkdir()
    (state_dir(tmp_path) / "torn.json").write_text('{"name": "hash')
    (state_dir(tmp_path) / "list.json").write_text("[1, 2]")
    assert read_state(tmp_path, "torn") == {}
    assert read_state(tmp_path, "list") == {}


@pytest.mark.parametrize("name", ["", "../config", "A", "a/b", "a..b", "x."])
def test_state_names_outside_the_folder_or_odd_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid state name"):
        write_state(tmp_path, name, {})


def _add_many(home: str, key: str) -> None:
    for i in range(50):
        update_state(Path(home), "counter", lambda d, i=i: {**d, f"{key}{i}": i})


def test_update_state_from_two_processes_loses_no_update(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(tmp_path), k)) for k in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(read_state(tmp_path, "counter")) == 100
