"""A run's journal lines on their way to disk (autoplug.runs.writer): checkpoints at once,
events and model calls by the end of the event loop's turn, in few writes, few files open."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autoplug.errors import RunError
from autoplug.events import Event
from autoplug.runs import RunStore, writer
from autoplug.runs.journal import HANDLES, HANDLES_MAX, AppendHandles


def make(home: Path) -> RunStore:
    return RunStore.create(home, task="t", model="scripted:test", auto="runner", workspace=home)


def event(store: RunStore, seq: int, kind: str = "step_started") -> Event:
    return Event(type=kind, run_id=store.run_id, seq=seq, data={"step": f"s{seq}"})


def on_disk(path: Path) -> list[dict]:
    return [json.loads(text) for text in path.read_text().splitlines()]


@pytest.fixture
def writes(monkeypatch):
    """Every ``write`` of a journal: (file name, number of lines)."""
    made: list[tuple[str, int]] = []
    original = AppendHandles.append

    def counting(self, path, data):
        made.append((os.path.basename(path), data.count(b"\n")))
        return original(self, path, data)

    monkeypatch.setattr(AppendHandles, "append", counting)
    return made


def test_an_event_is_on_disk_by_the_end_of_the_loop_turn_it_happened_in(tmp_path):
    store = make(tmp_path)

    async def run() -> tuple[list, list]:
        store.append_event(event(store, 1))
        store.append_event(event(store, 2, "tool_call"))
        during = on_disk(store.trace_path)
        await asyncio.sleep(0)  # the turn ends
        return during, on_disk(store.trace_path)

    during, after = asyncio.run(run())
    assert during == []
    assert [e["seq"] for e in after] == [1, 2]
    store.close()


def test_the_events_of_one_turn_go_out_in_one_write(tmp_path, writes):
    store = make(tmp_path)

    async def run() -> None:
        for seq in range(1, 6):
            store.append_event(event(store, seq))
        await asyncio.sleep(0)
        store.append_event(event(store, 6))
        await asyncio.sleep(0)

    asyncio.run(run())
    assert [w for w in writes if w[0] == "trace.jsonl"] == [("trace.jsonl", 5), ("trace.jsonl", 1)]
    store.close()


def test_a_finished_step_is_on_disk_when_save_step_returns_inside_a_loop(tmp_path):
    store = make(tmp_path)

    async def run() -> list:
        store.exchanges.save(
            1,
            agent="planner",
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            reply={"content": "ok"},
            usage={},
            duration_s=0.1,
        )  # not a checkpoint: it waits, and goes out with the step's record, in its order
        store.checkpoint.save_step(1, "s1", {"status": "succeeded", "asset": "a1"})
        return on_disk(store.state_path)  # before the turn ends

    records = asyncio.run(run())
    assert [r["k"] for r in records] == ["run", "part", "part", "call", "step"]
    assert RunStore.open(tmp_path, store.run_id).checkpoint.finished_step(1, "s1")["asset"] == "a1"
    store.close()


def test_without_a_running_loop_an_event_is_written_at_once(tmp_path):
    store = make(tmp_path)
    store.append_event(event(store, 1))
    assert [e["seq"] for e in on_disk(store.trace_path)] == [1]
    store.close()


def test_lines_past_the_bound_are_written_without_waiting_for_the_turn(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "PENDING_MAX", 300)
    store = make(tmp_path)

    async def run() -> int:
        for seq in range(1, 20):
            store.append_event(event(store, seq))
        return len(on_disk(store.trace_path))

    written = asyncio.run(run())
    assert written >= 19 - 300 // 80  # at most the bound's worth of lines still waits
    store.close()
    assert len(on_disk(store.trace_path)) == 19


def test_close_and_the_readers_write_what_waits(tmp_path):
    store = make(tmp_path)

    async def run() -> list:
        store.append_event(event(store, 1))
        seen = [e["seq"] for e in store.events()]  # this store's reader sees its own events
        store.append_event(event(store, 2))
        store.close()
        return seen

    assert asyncio.run(run()) == [1]
    assert [e["seq"] for e in on_disk(store.trace_path)] == [1, 2]


def test_a_failed_write_at_the_end_of_a_turn_is_raised_by_the_next_write(tmp_path):
    store = make(tmp_path)
    HANDLES.forget([str(store.trace_path)])
    store.trace_path.unlink()
    store.trace_path.mkdir()  # the trace cannot be opened for writing any more

    async def run() -> None:
        store.append_event(event(store, 1))
        await asyncio.sleep(0)  # the write fails here, with nobody to tell
        store.append_event(event(store, 2))

    with pytest.raises(RunError, match=r"cannot write .*trace\.jsonl"):
        asyncio.run(run())
    store.checkpoint.save_step(1, "s1", {"status": "succeeded"})  # the journal still works
    assert RunStore.open(tmp_path, store.run_id).checkpoint.finished_step(1, "s1")


def test_kill_9_in_the_middle_of_a_turn_loses_no_checkpoint(tmp_path):
    script = f"""
import asyncio, os, signal
from pathlib import Path
from autoplug.events import Event
from autoplug.runs import RunStore
home = Path({str(tmp_path)!r})
store = RunStore.create(home, task="t", model="m", auto="runner", workspace=home)
print(store.run_id, flush=True)
async def run():
    for n in range(5):
        store.append_event(Event("step_started", store.run_id, 2 * n + 1, data={{}}))
        store.checkpoint.save_step(1, f"s{{n}}", {{"status": "succeeded"}})
        store.append_event(Event("step_finished", store.run_id, 2 * n + 2, data={{}}))
    os.kill(os.getpid(), signal.SIGKILL)  # before the turn ends
asyncio.run(run())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    again = RunStore.open(tmp_path, done.stdout.strip())
    assert [s for _, s, _ in again.steps()] == [f"s{n}" for n in range(5)]
    assert again.info()["status"] == "interrupted"


def test_open_journals_stay_bounded_with_many_interleaved_live_runs(tmp_path):
    HANDLES.close_all()

    async def run() -> int:
        before = len(os.listdir("/proc/self/fd"))  # the loop's own descriptors counted
        stores = [make(tmp_path) for _ in range(120)]
        peak = 0
        for step in range(3):  # every run writes each turn, interleaved with all the others
            for store in stores:
                store.append_event(event(store, 2 * step + 1))
                store.checkpoint.save_step(1, f"s{step}", {"status": "succeeded"})
                store.append_event(event(store, 2 * step + 2, "step_finished"))
            await asyncio.sleep(0)
            peak = max(peak, len(os.listdir("/proc/self/fd")))
        for store in stores:
            store.close()
        return peak - before

    grown = asyncio.run(run())
    assert len(HANDLES) <= HANDLES_MAX
    assert grown <= HANDLES_MAX + 1  # the kept journals (and the process lock), not a run's each
    some = sorted((tmp_path / "runs").iterdir())[57]
    again = RunStore.open(tmp_path, some.name)
    assert [s for _, s, _ in again.steps()] == ["s0", "s1", "s2"]
    assert [e["seq"] for e in again.events()] == [1, 2, 3, 4, 5, 6]


def test_a_loop_closed_before_its_turn_ended_leaves_no_line_waiting_in_the_next(tmp_path):
    store = make(tmp_path)

    async def one() -> None:
        store.append_event(event(store, 1))
        asyncio.get_running_loop().stop()  # it stops before its turn's end comes

    first = asyncio.new_event_loop()
    first.run_until_complete(one())
    first.close()

    async def two() -> list:
        store.append_event(event(store, 2))
        await asyncio.sleep(0)
        return [e["seq"] for e in on_disk(store.trace_path)]

    assert asyncio.run(two()) == [1, 2]
    store.close()


def broken_trace(store: RunStore) -> None:
    """Make the trace impossible to open for writing (a folder in its place)."""
    HANDLES.forget([str(store.trace_path)])
    store.trace_path.unlink()
    store.trace_path.mkdir()


def test_a_failed_end_of_turn_write_keeps_no_later_checkpoint_off_disk(tmp_path):
    store = make(tmp_path)
    broken_trace(store)

    async def run() -> None:
        store.append_event(event(store, 1))
        await asyncio.sleep(0)  # the trace's write fails here, with nobody to tell
        # The run's end: recorded, then the trace's failure is reported.
        store.set_status("failed", reason="the trace could not be written")

    with pytest.raises(RunError, match=r"cannot write .*trace\.jsonl"):
        asyncio.run(run())
    assert store.info()["status"] == "failed"
    assert RunStore.open(tmp_path, store.run_id, read_only=True).info()["status"] == "failed"


def test_close_gives_up_the_claim_even_when_its_last_lines_cannot_be_written(tmp_path):
    store = make(tmp_path)
    broken_trace(store)

    async def run() -> None:
        store.append_event(event(store, 1, "run_finished"))

    asyncio.run(run())  # its write fails at the end of the turn, with nobody to tell
    with pytest.raises(RunError, match=r"cannot write .*trace\.jsonl"):
        store.close()
    # The run's folder is free for a resumer: the failed write did not keep the claim.
    again = RunStore.open(tmp_path, store.run_id)
    again.claim()
    again.close()


def test_a_file_that_cannot_be_written_loses_no_line_of_the_other_files(tmp_path):
    store = make(tmp_path)
    broken_trace(store)
    message = {"role": "user", "content": "hi"}

    async def run() -> None:
        store.append_event(event(store, 1, "llm_call"))  # the trace's line waits first
        store.exchanges.save(
            1,
            agent="dynamic",
            model="scripted:test",
            messages=[message],
            reply={"role": "assistant", "content": "ok"},
            usage={"input_tokens": 1, "output_tokens": 1},
            duration_s=0.0,
        )
        await asyncio.sleep(0)  # the trace's write fails; the journal's must still be made

    asyncio.run(run())
    with pytest.raises(RunError, match=r"cannot write .*trace\.jsonl"):
        store.flush()  # told, as the next write would
    again = RunStore.open(tmp_path, store.run_id, read_only=True)
    assert list(again.exchanges.calls()) == [1]
    assert again.exchanges.calls()[1]["reply"] == {"role": "assistant", "content": "ok"}


def test_events_sent_from_another_threads_loop_wait_for_that_loops_turn(tmp_path):
    import threading

    first, second = make(tmp_path), make(tmp_path)
    seen: dict[str, list] = {}

    async def turn(store: RunStore, key: str) -> None:
        store.append_event(event(store, 1))
        seen[key + " during"] = on_disk(store.trace_path)
        await asyncio.sleep(0)
        seen[key + " after"] = on_disk(store.trace_path)

    asyncio.run(turn(first, "first"))  # the writer now knows the main thread's loop
    worker = threading.Thread(target=lambda: asyncio.run(turn(second, "second")))
    worker.start()
    worker.join()
    assert seen["first during"] == [] and seen["second during"] == []
    assert [e["seq"] for e in seen["second after"]] == [1]
    for store in (first, second):
        store.close()


def test_an_event_sent_with_no_loop_running_after_one_ran_is_written_at_once(tmp_path):
    store = make(tmp_path)

    async def turn() -> None:
        store.append_event(event(store, 1))

    asyncio.run(turn())
    store.append_event(event(store, 2))  # the loop has ended: no turn to wait for
    assert [e["seq"] for e in on_disk(store.trace_path)] == [1, 2]
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_inside_a_running_loop_writes_its_events_at_once(tmp_path):
    store = make(tmp_path)

    async def fork_here() -> int:
        store.append_event(event(store, 1))
        await asyncio.sleep(0)
        pid = os.fork()
        if pid == 0:  # the child has no running loop (asyncio says so): written at once
            try:
                store.append_event(event(store, 2))
                os._exit(0 if len(on_disk(store.trace_path)) == 2 else 3)
            finally:
                os._exit(4)
        return os.waitpid(pid, 0)[1]

    status = asyncio.run(fork_here())
    assert os.waitstatus_to_exitcode(status) == 0
    store.close()


FAILING_WRITE = r"""
import asyncio, os, resource, signal, sys
from pathlib import Path
from autoplug.assets import AssetStore
from autoplug.errors import RunError
from autoplug.runs import RunStore
home, room, lasting = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "lasting"
store = RunStore.create(home, task="t", model="m", auto="runner", workspace=home)
assets = AssetStore(store.assets_dir, log=store.asset_log)
print(store.run_id, flush=True)
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
async def run():
    # No file of this process may grow past `room` more bytes of the journal (a full disk).
    limit = os.path.getsize(store.state_path) + room
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    assets.put("big", "x" * 3000, step="s", tool="t")  # its record waits for the turn's end
    await asyncio.sleep(0)  # written here: it does not fit (`room` bytes of it are written)
    if not lasting:
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # room again
    try:
        store.checkpoint.save_step(1, "s", {"status": "succeeded", "asset": "big", "error": None})
    except RunError as exc:
        print("refused:", exc, flush=True)
    else:
        print("saved", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
asyncio.run(run())
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
@pytest.mark.parametrize("room", [0, 1000])
@pytest.mark.parametrize("lasting", [False, True])
def test_a_step_is_never_on_disk_without_the_asset_record_whose_write_failed(
    tmp_path, room, lasting
):
    from autoplug.assets import AssetStore

    done = subprocess.run(
        [sys.executable, "-c", FAILING_WRITE, str(tmp_path), str(room), str(lasting and "lasting")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    run_id, told = done.stdout.splitlines()
    again = RunStore.open(tmp_path, run_id)  # every line whole: a part written was cut
    assets = AssetStore.load(again.assets_dir)
    if lasting:
        # Refused, naming the file and why; neither record is on disk.
        assert told.startswith(f"refused: run {run_id!r}: cannot write {again.state_path}: ")
        assert "too large" in told
        assert again.steps() == [] and "big" not in assets
    else:
        # The kept record went out with the step's, in one write: nothing lost.
        assert told == "saved"
        assert [s for _, s, _ in again.steps()] == ["s"]
        assert assets.get("big").value == "x" * 3000


TWO_WRITERS = r"""
import asyncio, os, resource, signal, sys
from pathlib import Path
from autoplug.assets import AssetStore
from autoplug.errors import RunError
from autoplug.runs import RunStore
home = Path(sys.argv[1])
store = RunStore.create(home, task="t", model="m", auto="runner", workspace=home)
other = RunStore.open(home, store.run_id)  # a second writable store of the run
print(store.run_id, flush=True)
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
ok = {"status": "succeeded", "asset": None, "error": None}
other.checkpoint.save_step(1, "first", ok)
async def run():
    assets = AssetStore(store.assets_dir, log=store.asset_log)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(store.state_path) + 1000, hard))
    assets.put("big", "x" * 3000, step="s", tool="t")
    try:  # 1,000 bytes of the asset's record reach the file, then the disk is full
        store.checkpoint.save_step(1, "failed", {**ok, "asset": "big"})
    except RunError:
        print("refused", flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # room again
    other.checkpoint.save_step(1, "second", ok)  # told durable
    print("saved", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
asyncio.run(run())
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_step_saved_by_another_store_after_a_failed_partial_write_is_whole_on_disk(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", TWO_WRITERS, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    run_id, *told = done.stdout.splitlines()
    assert told == ["refused", "saved"]
    again = RunStore.open(tmp_path, run_id)  # every line whole: the part written was cut
    assert [s for _, s, _ in again.steps()] == ["first", "second"]
