"""The README's first command: the shipped cassette replays a complete run offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK = "Which is the largest planet? Check the notes file."


def run(*extra: str, task: str = TASK) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "autoplug.cli",
            "run",
            task,
            "--model",
            "replay:examples/planets.jsonl",
            "--workspace",
            "examples/workspace",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_shipped_example_replays_a_complete_run():
    out = run("--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "succeeded"
    assert "Jupiter" in result["answer"] and "139,820" in result["answer"]
    assert sorted(a["name"] for a in result["assets"]) == ["files", "notes"]
    assert result["usage"]["llm_calls"] == 3


def test_shipped_example_replays_again_in_the_same_home():
    assert run().returncode == 0
    second = run()
    assert second.returncode == 0 and second.stdout.startswith("Jupiter")


def test_a_different_task_is_not_in_the_cassette():
    out = run(task="Which is the smallest planet?")
    assert out.returncode == 1
    assert "replay cassette examples/planets.jsonl has no recorded answer" in out.stderr
