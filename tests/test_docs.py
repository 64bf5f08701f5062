"""The docs cannot drift from the code: every hook and command is documented."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autoplug import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def hook_functions():
    return [
        (name, fn)
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, "autoplug_spec")
    ]


def test_every_hook_is_in_the_hook_reference_with_its_signature():
    text = (DOCS / "hooks.md").read_text()
    hooks = hook_functions()
    assert len(hooks) >= 9
    for name, fn in hooks:
        signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
        assert f"## {signature}" in text, f"docs/hooks.md lacks a heading '## {signature}'"


def test_every_hook_has_a_docstring_with_params():
    for name, fn in hook_functions():
        doc = inspect.getdoc(fn) or ""
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"hookspec {name} does not document {param}"
        assert ":return:" in doc, f"hookspec {name} does not document its return"


def test_every_top_level_command_is_in_the_cli_reference():
    from autoplug.cli import build_cli

    text = (DOCS / "cli.md").read_text()
    for name in build_cli().commands:
        assert f"autoplug {name}" in text, f"docs/cli.md does not document 'autoplug {name}'"


def test_the_config_excerpt_in_getting_started_is_the_real_template():
    from autoplug.config import CONFIG_TEMPLATE

    text = (DOCS / "getting-started.md").read_text()
    excerpt = text.split("## The config file", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    lines = [line for line in excerpt.splitlines() if line.strip()]
    assert len(lines) >= 10
    template = CONFIG_TEMPLATE.splitlines()
    for line in lines:
        assert line in template, f"docs/getting-started.md shows {line!r}, not in the template"


def _commands(group, path=("autoplug",)):
    import click

    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_every_option_of_every_command_is_in_the_cli_reference():
    from autoplug.cli import build_cli

    text = (DOCS / "cli.md").read_text()
    missing = []
    for path, command in _commands(build_cli()):
        for param in command.params:
            for flag in getattr(param, "opts", []):
                if flag.startswith("--") and flag not in ("--help",) and flag not in text:
                    missing.append(f"{' '.join(path)} {flag}")
    assert missing == [], f"docs/cli.md does not mention: {missing}"


def test_the_generated_command_help_is_current():
    from autoplug.cli import build_cli
    from autoplug.cli.reference import cli_reference

    text = (DOCS / "cli-commands.md").read_text()
    assert text == cli_reference(build_cli()), (
        "docs/cli-commands.md is stale: run python -m autoplug.cli.reference > docs/cli-commands.md"
    )
    assert "## autoplug tools show\n" in text and "## autoplug run\n" in text


def _mkdocs_build(root: Path) -> subprocess.CompletedProcess[str]:
    site = root.parent / f"{root.name}-site"
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_docs(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DOCS, root / "docs")
    shutil.copy(DOCS.parent / "mkdocs.yml", root / "mkdocs.yml")
    return root


def test_the_docs_site_builds_strictly_with_every_page_in_the_nav(tmp_path):
    import yaml

    built = _mkdocs_build(_copy_docs(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "repo-site" / "changelog" / "index.html").is_file()

    def pages(nav):
        for entry in nav:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            yield from pages(value) if isinstance(value, list) else [value]

    config = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text())
    assert sorted(pages(config["nav"])) == sorted(p.name for p in DOCS.glob("*.md"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "stray.md").write_text("# A page no one links\n"), "stray.md"),
        (
            lambda d: (d / "changelog.md").write_text("# Changelog\n\n[gone](gone.md)\n"),
            "gone.md",
        ),
        (
            lambda d: (d / "changelog.md").write_text("# Changelog\n\n[x](cli.md#no-such-part)\n"),
            "no-such-part",
        ),
    ],
    ids=["page-not-in-nav", "broken-link", "broken-anchor"],
)
def test_the_docs_build_fails_on_a_stray_page_or_a_broken_link(tmp_path, change, message):
    root = _copy_docs(tmp_path)
    change(root / "docs")
    built = _mkdocs_build(root)
    assert built.returncode != 0
    assert message in built.stdout + built.stderr
