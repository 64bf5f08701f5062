"""A run's assets as records of its journal (schema 3), and the older folders' manifests."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from old_folders import asset_records, to_schema_2
from threads import in_busy_threads

from autoplug.assets import INLINE_MAX, AssetStore
from autoplug.errors import RunError
from autoplug.runs import RunStore
from autoplug.runs.journal import HANDLES, HANDLES_MAX

DONE = {"status": "succeeded", "asset": None, "error": None}


def make(home: Path) -> RunStore:
    return RunStore.create(home, task="t", model="scripted:test", auto="runner", workspace=home)


def kinds(store: RunStore) -> list[str]:
    """The kinds of the journal's records as they are on disk now (nothing flushed)."""
    return [json.loads(line)["k"] for line in store.state_path.read_text().splitlines()]


def test_a_run_whose_assets_are_small_has_no_assets_folder_and_reads_them_back(tmp_path):
    store = make(tmp_path)
    assets = AssetStore(store.assets_dir, log=store.asset_log)
    assets.put("notes", "Jupiter is the largest planet.", step="read", tool="read_file")
    store.checkpoint.save_step(1, "read", DONE)
    assets.put("words", {"count": 5, "list": [1, 2.5, None]}, step="count", tool="word_count")
    store.checkpoint.save_step(1, "count", DONE)
    store.close()
    assert not store.assets_dir.exists()
    assert kinds(store) == ["run", "asset", "step", "asset", "step"]
    again = AssetStore.load(RunStore.open(tmp_path, store.run_id).assets_dir)
    assert [(a.name, a.value, a.type, a.step, a.tool, a.size) for a in again.all()] == [
        ("notes", "Jupiter is the largest planet.", "text", "read", "read_file", 30),
        ("words", {"count": 5, "list": [1, 2.5, None]}, "json", "count", "word_count", 36),
    ]
    assert again.lost == []


def test_an_asset_record_goes_out_with_its_steps_record_in_a_running_loop(tmp_path):
    store = make(tmp_path)
    assets = AssetStore(store.assets_dir, log=store.asset_log)

    async def step() -> tuple[list[str], list[str]]:
        assets.put("a", "x" * 100, step="s")
        waiting = kinds(store)  # the record waits for the journal's next checkpoint
        store.checkpoint.save_step(1, "s", DONE)
        return waiting, kinds(store)

    waiting, written = asyncio.run(step())
    store.close()
    assert waiting == ["run"]
    assert written == ["run", "asset", "step"]  # the asset before its step, one write


def test_a_big_asset_gets_its_own_file_named_by_its_journal_record(tmp_path):
    store = make(tmp_path)
    big = "y" * (INLINE_MAX + 1)
    AssetStore(store.assets_dir, log=store.asset_log).put("big", big, step="s")
    store.checkpoint.save_step(1, "s", DONE)
    store.close()
    (record,) = asset_records(store.folder)
    assert "value" not in record
    assert (store.assets_dir / record["file"]).read_text() == big
    assert not (store.assets_dir / "manifest.jsonl").exists()
    assert AssetStore.load(store.assets_dir).get("big").value == big


def test_a_replaced_big_assets_record_is_on_disk_before_its_old_file_goes(tmp_path):
    store = make(tmp_path)
    assets = AssetStore(store.assets_dir, log=store.asset_log)

    async def replace() -> list[dict]:
        assets.put("big", "1" * (INLINE_MAX + 1))
        store.checkpoint.save_step(1, "s", DONE)
        assets.put("big", "small now")  # in a running loop, and still written at once
        return asset_records(store.folder)

    records = asyncio.run(replace())
    assert [r.get("value") for r in records] == [None, "small now"]
    assert os.listdir(store.assets_dir) == []  # the first version's file is gone
    store.close()
    assert AssetStore.load(store.assets_dir).get("big").value == "small now"


def test_a_lost_asset_file_named_by_a_journal_record_is_listed_as_lost(tmp_path):
    store = make(tmp_path)
    AssetStore(store.assets_dir, log=store.asset_log).put("big", b"\x00" * 10, step="s")
    store.close()
    for name in os.listdir(store.assets_dir):
        (store.assets_dir / name).unlink()
    again = AssetStore.load(store.assets_dir)
    assert again.lost == ["big"] and "big" not in again


def test_an_asset_store_of_a_closed_run_writes_into_its_journal(tmp_path):
    store = make(tmp_path)
    store.close()
    AssetStore.load(store.assets_dir).put("later", [1, 2])  # no store open: written at once
    assert kinds(store) == ["run", "asset"]
    assert AssetStore.load(store.assets_dir).get("later").value == [1, 2]
    assert not store.assets_dir.exists()


def test_a_partial_last_asset_record_is_ignored_and_cut_before_the_next(tmp_path):
    store = make(tmp_path)
    AssetStore(store.assets_dir, log=store.asset_log).put("a", "1")
    store.close()
    with open(store.state_path, "a") as journal:
        journal.write('{"k":"asset","name":"b","type":"te')  # a writer killed mid-line
    assert AssetStore.load(store.assets_dir).names() == ["a"]
    resumed = RunStore.open(tmp_path, store.run_id)
    AssetStore.load(resumed.assets_dir, log=resumed.asset_log).put("c", "3")
    resumed.close()
    assert AssetStore.load(store.assets_dir).names() == ["a", "c"]
    assert kinds(store) == ["run", "asset", "asset"]


def test_an_asset_record_of_the_wrong_shape_is_an_error_naming_the_journal_line(tmp_path):
    store = make(tmp_path)
    store.close()
    with open(store.state_path, "a") as journal:
        journal.write('{"k":"asset","name":"a","type":"text","size":"big","value":"x"}\n')
    with pytest.raises(RunError, match=f"corrupt asset manifest {store.state_path}: entry 2"):
        AssetStore.load(store.assets_dir)


def test_an_old_folders_manifest_still_reads_and_gets_the_new_assets(tmp_path):
    store = make(tmp_path)
    AssetStore(store.assets_dir, log=store.asset_log).put("a", {"v": 1}, step="s")
    store.checkpoint.save_step(1, "s", DONE)
    store.close()
    to_schema_2(store.folder)
    resumed = RunStore.open(tmp_path, store.run_id)
    assets = AssetStore.load(resumed.assets_dir, log=resumed.asset_log)
    assert assets.get("a").value == {"v": 1}
    assets.put("b", "two")
    resumed.close()
    manifest = store.assets_dir / "manifest.jsonl"
    assert [json.loads(line)["name"] for line in manifest.read_text().splitlines()] == ["a", "b"]
    assert asset_records(store.folder) == []
    assert AssetStore.load(store.assets_dir).names() == ["a", "b"]


def test_a_folder_of_its_own_keeps_its_manifest(tmp_path):
    AssetStore(tmp_path / "own").put("a", "1")
    assert (tmp_path / "own" / "manifest.jsonl").is_file()
    assert AssetStore.load(tmp_path / "own").get("a").value == "1"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_many_interleaved_live_runs_with_assets_keep_open_files_bounded(tmp_path):
    make(tmp_path).close()  # the process lock of this home, held for the process's life
    HANDLES.close_all()
    before = set(os.listdir("/proc/self/fd"))
    runs = [
        (store, AssetStore(store.assets_dir, log=store.asset_log))
        for store in (make(tmp_path) for _ in range(60))
    ]
    peak = 0

    async def interleaved() -> None:
        nonlocal peak
        in_loop = set(os.listdir("/proc/self/fd"))  # with the event loop's own
        for step in range(3):
            for store, assets in runs:
                assets.put(f"a{step}", f"{store.run_id}-{step}", step=f"s{step}")
                store.checkpoint.save_step(1, f"s{step}", DONE)
                peak = max(peak, len(set(os.listdir("/proc/self/fd")) - in_loop))
            await asyncio.sleep(0)

    asyncio.run(interleaved())
    assert len(HANDLES) <= HANDLES_MAX
    assert peak <= HANDLES_MAX + 1  # the listing's own descriptor
    for store, _ in runs:
        store.close()
    assert set(os.listdir("/proc/self/fd")) - before == set()
    for store, _ in runs:
        values = [a.value for a in AssetStore.load(store.assets_dir).all()]
        assert values == [f"{store.run_id}-{step}" for step in range(3)]
        assert not store.assets_dir.exists()


def order_holds(store: RunStore) -> list[str]:
    """The step ids of the journal on disk now, each checked to follow its asset's record."""
    seen: set[str] = set()
    steps = []
    for text in store.state_path.read_text().splitlines():
        record = json.loads(text)
        if record["k"] == "asset":
            seen.add(record["name"])
        elif record["k"] == "step":
            assert record["record"]["asset"] in seen, f"step {record['id']} before its asset"
            steps.append(record["id"])
    return steps


def done(asset: str) -> dict:
    return {**DONE, "asset": asset}


def test_two_writable_stores_of_one_run_each_write_their_own_assets_records(tmp_path):
    first = make(tmp_path)
    second = RunStore.open(tmp_path, first.run_id)  # a second writable store of the live run
    mine = AssetStore(first.assets_dir, log=first.asset_log)
    theirs = AssetStore(second.assets_dir, log=second.asset_log)

    async def steps() -> tuple[list[str], list[str]]:
        mine.put("a", "from the first", step="s1")
        first.checkpoint.save_step(1, "s1", done("a"))
        after_first = order_holds(first)  # nothing flushed: as a kill -9 would find it
        theirs.put("b", "from the second", step="s2")
        second.checkpoint.save_step(1, "s2", done("b"))
        return after_first, order_holds(first)

    assert asyncio.run(steps()) == (["s1"], ["s1", "s2"])
    first.close()
    second.close()
    assert [a.name for a in AssetStore.load(first.assets_dir).all()] == ["a", "b"]


def test_a_resumed_run_writes_its_assets_records_through_its_own_store(tmp_path):
    first = make(tmp_path)
    AssetStore(first.assets_dir, log=first.asset_log).put("a", "1", step="s1")
    first.checkpoint.save_step(1, "s1", done("a"))
    first.close()
    resumed = RunStore.open(tmp_path, first.run_id)
    resumed.claim()
    assets = AssetStore.load(resumed.assets_dir, log=resumed.asset_log)

    async def step() -> list[str]:
        assets.put("b", "2", step="s2")
        resumed.checkpoint.save_step(1, "s2", done("b"))
        return order_holds(resumed)

    assert assets.get("a").value == "1"
    assert asyncio.run(step()) == ["s1", "s2"]
    resumed.close()


def test_stores_of_runs_in_many_threads_keep_each_asset_with_its_step(tmp_path):
    shared = make(tmp_path)  # every thread has a store of this run, and a run of its own
    own = [make(tmp_path) for _ in range(4)]

    def work(i: int) -> None:
        store = RunStore.open(tmp_path, shared.run_id)
        pairs = [(store, AssetStore(store.assets_dir, log=store.asset_log))]
        pairs.append((own[i], AssetStore(own[i].assets_dir, log=own[i].asset_log)))

        async def steps() -> None:
            for n in range(20):
                for where, assets in pairs:
                    name = f"t{i}-{n}"
                    assets.put(name, name * 10, step=name)
                    where.checkpoint.save_step(1, name, done(name))
                await asyncio.sleep(0)

        asyncio.run(steps())
        store.close()

    failed: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # told below: a thread's error is not the test's
            failed.append(exc)

    in_busy_threads(guarded, 4)
    assert failed == []
    names = {f"t{i}-{n}" for i in range(4) for n in range(20)}
    assert set(order_holds(shared)) == names
    for i, store in enumerate(own):
        assert order_holds(store) == [f"t{i}-{n}" for n in range(20)]
        store.close()
    assert set(AssetStore.load(shared.assets_dir).names()) == names
