"""The README's first command: the shipped cassette replays a complete run offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_packages import make_package, pip_install_target

ROOT = Path(__file__).resolve().parent.parent
TASK = "Which is the largest planet? Check the notes file."

FORECAST_PLUGIN = """
from autoplug import hookimpl, tool


@tool
def forecast(city: str) -> dict:
    \"\"\"Forecast the weather for a city.

    city: the city's name
    \"\"\"
    return {"city": city, "sky": "clear"}


@hookimpl
def register_tools(register):
    register(forecast)
"""


def run(
    *extra: str, task: str = TASK, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
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
        env={**os.environ, **(env or {})},
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


def test_a_different_task_is_not_in_the_cassette_and_the_error_says_what_differs():
    out = run(task="Which is the smallest planet?")
    assert out.returncode == 1
    assert "replay cassette examples/planets.jsonl has no recorded answer" in out.stderr
    assert (
        "nearest recorded request (line 2): message 2 (user) differs: "
        "recorded 'Task: Which is the largest planet?" in out.stderr
    )
    assert "but now 'Task: Which is the smallest planet?" in out.stderr


@pytest.mark.slow
def test_the_readme_command_works_with_a_third_party_plugin_with_tools_installed(tmp_path):
    project = make_package(tmp_path, "acme-forecast", "acme", "acme_forecast", FORECAST_PLUGIN)
    target = tmp_path / "site"
    pip_install_target([project], target)
    env = {"PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    tools = subprocess.run(
        [sys.executable, "-m", "autoplug.cli", "tools", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert "forecast" in {t["name"] for t in json.loads(tools.stdout)}  # it is installed
    out = run(env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Jupiter")
    assert (
        "replay: offering the 5 tools examples/planets.jsonl was recorded with "
        "(not offering installed forecast)" in out.stderr
    )


def test_a_replay_fails_before_the_first_call_naming_the_missing_tools(isolated_home):
    env = {"AUTOPLUG_LOAD_PLUGINS": "autoplug_files,autoplug_models,autoplug_autos"}
    out = run(env=env)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == (
        "error: replay cassette examples/planets.jsonl was recorded with tools that are not "
        "installed: browse_url (plugin autoplug_web), web_search (plugin autoplug_web); "
        "install their plugins (or record the cassette again)"
    )
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


@pytest.mark.slow
def test_the_shipped_cassette_is_what_record_planets_records_now(tmp_path):
    """A prompt change makes this fail until `python examples/record_planets.py` is run."""
    fresh = tmp_path / "planets.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "record_planets.py"), str(fresh)],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=300,
    )

    def shape(path: Path) -> tuple[dict, list[str]]:
        head, *lines = path.read_text().splitlines()
        return json.loads(head), sorted(json.loads(line)["hash"] for line in lines)

    assert shape(fresh) == shape(ROOT / "examples" / "planets.jsonl"), (
        "examples/planets.jsonl is stale: run python examples/record_planets.py"
    )


def test_shipped_team_example_replays_a_manager_whose_roles_write_files(tmp_path):
    """The README's team command: three roles write their files into a fresh workspace."""
    home, workspace = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    workspace.mkdir()
    shutil.copy(ROOT / "examples" / "team" / "config.toml", home / "config.toml")
    out = subprocess.run(
        [sys.executable, "-m", "autoplug.cli", "run", "Build a tiny todo app.", "--auto", "manager"]
        + ["--model", "replay:examples/team.jsonl", "--workspace", str(workspace), "--yes"]
        + ["--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AUTOPLUG_HOME": str(home)},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "succeeded" and "todo app is built" in result["answer"]
    assert sorted(p.name for p in workspace.iterdir()) == ["design.md", "index.html", "server.py"]
    assert "GET /todos" in (workspace / "design.md").read_text()
    assert "HTTPServer" in (workspace / "server.py").read_text()
    assert result["usage"]["llm_calls"] == 12  # manager 3 + each of three children 3
    names = sorted(a["name"] for a in result["assets"])
    assert names == ["architect.1.design", "backend.1.design", "backend.1.server"] + [
        "frontend.1.design",
        "frontend.1.page",
    ]
    for role in ("architect", "backend", "frontend"):  # each role's progress, under its name
        assert f"{role}| " in out.stderr
