"""The cookiecutter template's own output: the files, a valid pyproject, Python that compiles."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
import yaml

from autoplug.cli.new_plugin import render_plugin, template_dir
from autoplug.testing import call_tool, isolated_kernel

EXPECTED_FILES = [
    ".github/workflows/test.yml",
    ".gitignore",
    "README.md",
    "autoplug_weather/__init__.py",
    "autoplug_weather/py.typed",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_autoplug_weather.py",
    "wheels/README.md",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The template rendered for the plugin name "Weather"."""
    return render_plugin("Weather", tmp_path)


def files_of(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_template_renders_the_expected_files(project, tmp_path):
    assert project == tmp_path / "autoplug-weather"
    assert files_of(project) == EXPECTED_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["autoplug-weather"]


def test_the_template_declares_every_variable_it_uses():
    source = template_dir()
    context = (source / "cookiecutter.json").read_text()
    declared = set(json.loads(context))
    used = set(re.findall(r"cookiecutter\.(\w+)", context))
    for path in source.glob("{{*/**/*"):
        text = str(path.relative_to(source)) + (path.read_text() if path.is_file() else "")
        used |= set(re.findall(r"cookiecutter\.(\w+)", text))
    assert {"distribution", "module", "slug"} <= used
    assert used <= declared, f"undeclared: {sorted(used - declared)}"


def test_pyproject_parses_and_declares_the_plugin(project):
    data = tomllib.loads((project / "pyproject.toml").read_text())
    assert data["build-system"] == {"requires": ["hatchling"], "build-backend": "hatchling.build"}
    meta = data["project"]
    assert meta["name"] == "autoplug-weather"
    assert meta["version"] == "0.1.0"
    assert meta["requires-python"] == ">=3.11"
    assert [d for d in meta["dependencies"] if re.match(r"autoplug\b", d)] == ["autoplug>=0.1"]
    assert any(d.startswith("pytest") for d in meta["optional-dependencies"]["test"])
    assert meta["entry-points"]["autoplug"] == {"weather": "autoplug_weather"}
    assert data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["autoplug_weather"]


def test_every_generated_python_file_compiles(project):
    sources = sorted(project.rglob("*.py"))
    assert len(sources) == 3
    for path in sources:
        compile(path.read_text(), str(path), "exec")


def test_no_template_syntax_is_left_outside_the_ci_workflow(project):
    for path in project.rglob("*"):
        if path.is_file() and path.suffix != ".yml":
            text = path.read_text()
            assert "{{" not in text and "{%" not in text, path


def test_the_ci_workflow_installs_the_test_extra_and_runs_pytest(project):
    workflow = yaml.safe_load((project / ".github/workflows/test.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    assert "pip install --find-links wheels -e '.[test]'" in commands
    assert "pytest" in commands
    # GitHub's own ${{ }} expressions survive rendering untouched.
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"


def test_the_readme_names_the_distribution_and_the_plugin(project):
    readme = (project / "README.md").read_text()
    assert readme.startswith("# autoplug-weather\n")
    assert "pip install autoplug-weather" in readme
    # Until autoplug is published, the README says to install it from a path or wheel.
    assert "not published on PyPI yet" in readme and "pip install /path/to/autoplug" in readme
    wheels = (project / "wheels" / "README.md").read_text()
    assert "--find-links wheels" in wheels and "not on PyPI yet" in wheels
    assert "`weather`" in readme


def test_the_generated_module_registers_a_working_tool(project, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(project))
    module = importlib.import_module("autoplug_weather")
    try:
        kernel = isolated_kernel(module, home=tmp_path / "home")
        assert kernel.plugins["autoplug_weather"].status == "loaded"
        value = call_tool(kernel, "word_stats", {"text": "Rain, rain, go away.", "top": 1})
        assert value == {"words": 4, "distinct": 3, "top": [{"word": "rain", "count": 2}]}
        bad = kernel.tools.call("word_stats", {"text": ["not", "a", "string"]})
        assert bad.kind == "invalid_args" and bad.violations[0][0] == "$.text"
    finally:
        sys.modules.pop("autoplug_weather", None)


def test_quotes_and_backslashes_in_the_name_and_description_keep_files_valid(tmp_path):
    project = render_plugin(
        'Bob\'s "Best" \\ Tools',
        tmp_path,
        description='Says "hi" \\ and more',
        author='Ann "A" O\'Neil',
    )
    assert project.name == "autoplug-bob-s-best-tools"
    data = tomllib.loads((project / "pyproject.toml").read_text())
    assert data["project"]["description"] == 'Says "hi" \\ and more'
    assert data["project"]["authors"][0]["name"] == 'Ann "A" O\'Neil'
    for path in project.rglob("*.py"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an invalid escape sequence is a warning
            compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize(
    "name", ["Weather", "A plugin with a very long name that goes on and on and on"]
)
def test_the_generated_project_is_ruff_clean_under_its_own_config(tmp_path, name):
    project = render_plugin(name, tmp_path)
    for command in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
