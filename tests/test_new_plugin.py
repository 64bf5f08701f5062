"""``autoplug new-plugin``: naming, refusals, and a generated plugin installed for real."""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplug.cli import main
from autoplug.cli.new_plugin import distribution_name, slugify

REPO = Path(__file__).resolve().parent.parent


def new_plugin(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``autoplug new-plugin ARGS`` in-process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as stopped:
        main(["new-plugin", *args])
    out, err = capsys.readouterr()
    return stopped.value.code, out, err


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("weather", "weather"),
        ("Weather", "weather"),
        ("My Weather-Tool", "my_weather_tool"),
        ("  --Acme  Tools!! ", "acme_tools"),
        ("a__b..c", "a_b_c"),
        ("_private_", "private"),
        ("Café Menu", "cafe_menu"),
        ("Météo Tools", "meteo_tools"),
        ("Straße Øl", "strasse_ol"),
        ("ＷＥＢ２ tools", "web2_tools"),
        ("autoplug-weather", "weather"),
        ("Autoplug Weather", "weather"),
        ("autoplugger", "autoplugger"),
        ("tool2go", "tool2go"),
    ],
)
def test_slug_is_ascii_lower_cased_with_runs_of_other_characters_as_one_underscore(name, slug):
    assert slugify(name) == slug


@given(st.text(max_size=40))
def test_every_slug_is_ascii_letters_digits_and_inner_underscores(name):
    slug = slugify(name)
    assert slug.isascii()
    assert re.fullmatch(r"([a-z0-9]+(_[a-z0-9]+)*)?", slug), slug
    assert not slug.startswith("autoplug_") and slug != "autoplug"
    assert distribution_name(slug) == "autoplug-" + slug.replace("_", "-")


def test_new_plugin_makes_an_ascii_module_and_a_hyphenated_distribution(capsys, tmp_path):
    code, out, err = new_plugin(capsys, "Météo Tools", "-o", str(tmp_path))
    assert code == 0, err
    target = tmp_path / "autoplug-meteo-tools"
    assert out.strip() == str(target)
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["name"] == "autoplug-meteo-tools"
    assert project["entry-points"]["autoplug"] == {"meteo_tools": "autoplug_meteo_tools"}
    assert (target / "autoplug_meteo_tools" / "__init__.py").is_file()


@pytest.mark.parametrize("name", ["天气", "autoplug", "Autoplug--"])
def test_new_plugin_refuses_a_name_with_nothing_ascii_can_spell(capsys, tmp_path, name):
    code, _, err = new_plugin(capsys, name, "-o", str(tmp_path))
    assert code == 2
    assert "has no letters or digits that ASCII can spell" in err
    assert list(tmp_path.iterdir()) == []


def test_new_plugin_creates_the_project_named_by_the_slug(capsys, tmp_path):
    code, out, err = new_plugin(capsys, "My Weather", "-o", str(tmp_path))
    target = tmp_path / "autoplug-my-weather"
    assert code == 0, err
    assert out.strip() == str(target)
    assert f"created {target}" in err
    assert (target / "autoplug_my_weather" / "__init__.py").is_file()
    entry_points = tomllib.loads((target / "pyproject.toml").read_text())["project"][
        "entry-points"
    ]["autoplug"]
    assert entry_points == {"my_weather": "autoplug_my_weather"}


def test_new_plugin_defaults_to_the_current_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = new_plugin(capsys, "weather")
    assert code == 0, err
    assert (tmp_path / "autoplug-weather" / "pyproject.toml").is_file()


def test_new_plugin_creates_a_missing_parent_folder(capsys, tmp_path):
    code, _, err = new_plugin(capsys, "weather", "-o", str(tmp_path / "a" / "b"))
    assert code == 0, err
    assert (tmp_path / "a" / "b" / "autoplug-weather" / "README.md").is_file()


def test_new_plugin_takes_description_and_author(capsys, tmp_path):
    code, _, err = new_plugin(
        capsys,
        "weather",
        "-o",
        str(tmp_path),
        "--description",
        'Forecasts from the "met" office.',
        "--author",
        "Ada Lovelace",
    )
    assert code == 0, err
    project = tomllib.loads((tmp_path / "autoplug-weather" / "pyproject.toml").read_text())[
        "project"
    ]
    assert project["description"] == 'Forecasts from the "met" office.'
    assert project["authors"][0]["name"] == "Ada Lovelace"


@pytest.mark.parametrize("name", ["9lives", "2 fast"])
def test_new_plugin_refuses_a_slug_starting_with_a_digit(capsys, tmp_path, name):
    code, out, err = new_plugin(capsys, name, "-o", str(tmp_path))
    assert code == 2
    assert out == ""
    assert f"plugin name {name!r}" in err and "not a valid Python identifier" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "!!!", "__", " - "])
def test_new_plugin_refuses_a_name_with_no_letters_or_digits(capsys, tmp_path, name):
    code, _, err = new_plugin(capsys, "-o", str(tmp_path), "--", name)
    assert code == 2
    assert "has no letters or digits" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["web", "Files", "autos"])
def test_new_plugin_refuses_a_name_whose_module_is_a_builtin_plugin(capsys, tmp_path, name):
    code, _, err = new_plugin(capsys, name, "-o", str(tmp_path))
    assert code == 2
    assert f"module 'autoplug_{name.lower()}', the name of a builtin plugin" in err
    assert list(tmp_path.iterdir()) == []


def test_new_plugin_refuses_an_existing_target_and_leaves_it_alone(capsys, tmp_path):
    target = tmp_path / "autoplug-weather"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    code, _, err = new_plugin(capsys, "Weather", "-o", str(tmp_path))
    assert code == 2
    assert f"{target} already exists" in err
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert (target / "mine.txt").read_text() == "keep me"


def test_new_plugin_refuses_a_parent_that_is_a_file(capsys, tmp_path):
    parent = tmp_path / "file.txt"
    parent.write_text("")
    code, _, err = new_plugin(capsys, "weather", "-o", str(parent))
    assert code == 2
    assert "file.txt" in err


def test_new_plugin_prompts_for_nothing_and_writes_nothing_in_home(tmp_path):
    home = tmp_path / "user"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "AUTOPLUG_HOME": str(tmp_path / "ah")}
    proc = subprocess.run(
        [sys.executable, "-m", "autoplug.cli", "new-plugin", "weather", "-o", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "autoplug-weather").is_dir()
    assert list(home.iterdir()) == []  # no ~/.cookiecutter_replay, no ~/.cookiecutterrc read


# -- the "done when": render, install in a fresh venv, load, call, test --


def run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a command, capturing text output; never raises on a non-zero exit."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def make_venv(folder: Path) -> Path:
    """A fresh venv that sees this test run's packages (autoplug's dependencies, pytest, hatchling).

    ``python -m venv --system-site-packages`` run from a venv's interpreter exposes
    the *base* interpreter's site-packages, not this venv's; so the new venv gets
    a .pth file that adds the running interpreter's site-packages after its own.
    Its own site-packages come first, so what is pip-installed there wins.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    outer.append(sysconfig.get_paths()["purelib"])
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(outer))
    (Path(purelib) / "_autoplug_test_outer.pth").write_text(lines)
    return python


def pip_install(python: Path, project: Path, env: dict[str, str], *extra: str) -> None:
    """Install ``project`` into ``python``'s venv with no network and no build isolation."""
    proc = run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            *extra,
            project,
        ],
        project,
        env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_new_plugin_installs_loads_runs_its_tool_and_passes_its_own_tests(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env["AUTOPLUG_HOME"] = str(tmp_path / "home")
    python = make_venv(tmp_path / "venv")
    bin_dir = python.parent

    # autoplug from this checkout, as a wheel: so new-plugin finds the template inside it.
    pip_install(python, REPO, env)
    site_packages = Path(
        run(
            [python, "-c", "import autoplug; print(autoplug.__file__)"], tmp_path, env
        ).stdout.strip()
    ).parent
    assert site_packages.is_relative_to(tmp_path / "venv")
    assert (site_packages / "plugin_template" / "cookiecutter.json").is_file()

    made = run(
        [bin_dir / "autoplug", "new-plugin", "Word Tools", "-o", tmp_path / "src"], tmp_path, env
    )
    assert made.returncode == 0, made.stderr
    project = tmp_path / "src" / "autoplug-word-tools"
    assert made.stdout.strip() == str(project)

    pip_install(python, project, env)

    listed = run([bin_dir / "autoplug", "plugins", "--json"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["word_tools"] == {
        "name": "word_tools",
        "distribution": "autoplug-word-tools",
        "version": "0.1.0",
        "builtin": False,
        "status": "loaded",
        "hooks": ["register_tools"],
        "error": None,
    }

    called = run(
        [
            bin_dir / "autoplug",
            "tools",
            "call",
            "word_stats",
            '{"text": "to be or not to be", "top": 2}',
        ],
        tmp_path,
        env,
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {
        "words": 6,
        "distinct": 4,
        "top": [{"word": "to", "count": 2}, {"word": "be", "count": 2}],
    }
    refused = run(
        [bin_dir / "autoplug", "tools", "call", "word_stats", '{"top": "2"}'], tmp_path, env
    )
    assert refused.returncode == 2
    assert "word_stats" in refused.stderr and "$.top" in refused.stderr

    tested = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
    assert "10 passed" in tested.stdout

    # A plugin grows: its generated tests find their tool by name, so a second tool
    # (registered before the first, to move it in any listing) breaks none of them.
    module = project / "autoplug_word_tools" / "__init__.py"
    code = module.read_text()
    assert "    register(word_stats)\n" in code
    code = code.replace(
        "    register(word_stats)\n", "    register(shout)\n    register(word_stats)\n"
    )
    module.write_text(code + SECOND_TOOL)
    pip_install(python, project, env, "--force-reinstall")
    grown = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert grown.returncode == 0, grown.stdout[-4000:] + grown.stderr[-2000:]
    assert "10 passed" in grown.stdout
    shouted = run([bin_dir / "autoplug", "tools", "call", "shout", '{"text": "hi"}'], tmp_path, env)
    assert shouted.returncode == 0, shouted.stderr
    assert json.loads(shouted.stdout) == "HI"


SECOND_TOOL = '''

@tool
def shout(text: str) -> str:
    """Say a text in capitals.

    text: what to shout
    """
    return text.upper()
'''
