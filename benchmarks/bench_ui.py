"""`autoplug ui` figures: the runs page with 10,000 runs, a 200-step run page, server memory.

Run: python benchmarks/bench_ui.py [--runs 10000]

The home is made like this: one real run (``kernel.run`` with the scripted model,
a three-step plan) is copied ``--runs`` times, each copy given its own run id and
start time in its ``state.sqlite`` (one UPDATE each), so every folder is a real
run folder; then one more real run with a 200-step plan (100 independent
fetches, each read by one more step) is made through ``kernel.run``. The server is
the real ``autoplug ui`` command in a subprocess; requests go over loopback with
httpx. ``autoplug runs --json`` over the same home is timed for comparison (it
reads every run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ui_helpers import UiServer, make_run  # noqa: E402

from autoplug.ui.listing import RunIndex  # noqa: E402

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))


def fill_home(home: Path, count: int) -> str:
    """``count`` copies of one real run with fresh ids; returns the id of the template run."""
    template = make_run(home, task="How warm is Oslo?").run_id
    source = home / "runs" / template
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        moment = start + timedelta(seconds=i * 7)
        run_id = f"{moment:%Y%m%d-%H%M%S}-{i % 1_000_000:06d}-{i % 65536:04x}"
        target = home / "runs" / run_id
        shutil.copytree(source, target)
        with sqlite3.connect(target / "state.sqlite") as conn:
            conn.execute(
                "UPDATE run SET run_id = ?, task = ?, started = ?, finished = ?",
                (
                    run_id,
                    f"task number {i}: how warm is city {i % 97}?",
                    moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    (moment + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                ),
            )
        conn.close()
    return template


def big_plan_run(home: Path, steps: int) -> str:
    """A real run whose one act has a ``steps``-step plan; its run id."""
    half = steps // 2
    plan = [
        {"id": f"get{i}", "tool": "fetch", "args": {"city": f"city {i}"}, "output": f"w{i}"}
        for i in range(half)
    ]
    plan += [
        {
            "id": f"use{i}",
            "tool": "fetch",
            "args": {"city": f"again {i}"},
            "output": f"u{i}",
            "inputs": [f"w{i}"],
        }
        for i in range(steps - half)
    ]
    config = home / "config.toml"
    config.write_text("[limits]\nconcurrency = 16\n")
    result = make_run(home, task="A plan of many steps", steps=plan)
    assert result.status == "succeeded", result.reason
    return result.run_id


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[float, float]:
    """(first request ms, median of ``repeat`` more ms) for GET ``path``."""
    began = time.perf_counter()
    answer = client.get(path)
    first = (time.perf_counter() - began) * 1000
    assert answer.status_code in (200, 204), (path, answer.status_code, answer.text[:300])
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        assert client.get(path).status_code in (200, 204)
        times.append((time.perf_counter() - began) * 1000)
    return first, statistics.median(times)


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=200)
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-ui-")) / "home"
    home.mkdir()
    began = time.perf_counter()
    fill_home(home, options.runs)
    made = time.perf_counter() - began
    big = big_plan_run(home, options.steps)
    total = len(list((home / "runs").iterdir()))
    print(f"home: {total} run folders ({made:.1f} s to make {options.runs} copies)")
    # In-process: the listing alone, cold (nothing cached), then warm.
    index = RunIndex(home)
    began = time.perf_counter()
    index.page()
    print(f"listing in-process, first page, cold: {(time.perf_counter() - began) * 1000:.0f} ms")
    began = time.perf_counter()
    index.page(status="failed")
    print(
        f"listing in-process, a filter reading all runs, cold: {time.perf_counter() - began:.1f} s"
    )
    began = time.perf_counter()
    index.page(status="failed")
    print(
        f"listing in-process, the same filter, warm: {(time.perf_counter() - began) * 1000:.0f} ms"
    )
    del index
    with UiServer(home) as server, httpx.Client(base_url=server.base, timeout=120) as client:
        pid = server.proc.pid
        print(f"server idle: {rss_mb(pid):.0f} MB RSS")
        # Before the background warm-up starts (1 s after the server): a cold first page.
        began = time.perf_counter()
        client.get("/runs.json").raise_for_status()
        print(f"server, first page (JSON), cold: {(time.perf_counter() - began) * 1000:.0f} ms")
        began = time.perf_counter()
        while True:  # the warm-up is done when a filter over every run is quick
            time.sleep(1)
            tick = time.perf_counter()
            client.get("/runs.json", params={"status": "failed"}).raise_for_status()
            if time.perf_counter() - tick < 1.5:
                break
        print(f"background warm-up of every row: about {time.perf_counter() - began:.0f} s")
        cursor = client.get("/runs.json").json()
        for _ in range(99):
            cursor = client.get("/runs.json", params={"before": cursor["next"]}).json()
        version = client.get(f"/runs/{big}.json").json()["version"]
        rows = [
            ("runs page, first page (HTML)", "/runs"),
            ("runs page, first page (JSON)", "/runs.json"),
            ("runs page, page 100 (JSON, cursor)", f"/runs.json?before={cursor['before']}"),
            (f"run page, {options.steps}-step plan (HTML)", f"/runs/{big}"),
            (f"run page, {options.steps}-step plan (JSON)", f"/runs/{big}.json"),
            ("live poll, unchanged (204)", f"/runs/{big}/live?v={version}"),
            ("search 'city 13?' over every run (JSON)", "/runs.json?q=city%2013%3F"),
            ("filter status=failed, no match (JSON)", "/runs.json?status=failed"),
        ]
        print("\n| request | first (ms) | then, median of 10 (ms) |\n|---|---|---|")
        for label, path in rows:
            first, then = timed(client, path, 10)
            print(f"| {label} | {first:.0f} | {then:.1f} |")
        print(f"\nserver after all of these: {rss_mb(pid):.0f} MB RSS")
    env = dict(os.environ, AUTOPLUG_HOME=str(home))
    began = time.perf_counter()
    listed = subprocess.run(
        [AUTOPLUG, "runs", "--json"], capture_output=True, text=True, env=env, check=True
    )
    count = listed.stdout.count('"run_id"')
    print(
        f"`autoplug runs --json` over the same home: {time.perf_counter() - began:.1f} s ({count} runs)"
    )
    shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
