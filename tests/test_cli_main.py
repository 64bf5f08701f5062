"""The ``autoplug`` entry point: bare help, usage errors, "did you mean", failed-plugin warnings."""

from __future__ import annotations

import json

import pytest
from hostile_cli import one_line_error, run_autoplug
from plugin_packages import dist_info_plugin

BROKEN = "raise RuntimeError('the broken plugin cannot import')\n"


@pytest.mark.parametrize("args", [[], ["memory"], ["runs", "--help"]])
def test_a_command_alone_prints_its_help_on_stdout_and_exits_0(isolated_home, args):
    out = run_autoplug(*args)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: autoplug")
    assert "Commands:" in out.stdout or "Options:" in out.stdout
    assert "error" not in out.stderr


def test_a_parser_error_points_at_the_subcommands_help(isolated_home):
    out = run_autoplug("tools", "show")
    assert out.returncode == 2
    assert one_line_error(out).endswith("(see 'autoplug tools show --help')")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--model", "scriptd:x"],
            "unknown model provider 'scriptd' in 'scriptd:x'; did you mean 'scripted'?",
        ),
        (
            ["--model", "scripted:x", "--auto", "runer"],
            "unknown auto 'runer'; did you mean 'runner', 'manager'?",
        ),
    ],
)
def test_unknown_providers_and_autos_get_did_you_mean(isolated_home, args, expected):
    out = run_autoplug("run", "task", *args)
    assert out.returncode == 2
    assert expected in one_line_error(out)


def test_an_unknown_provider_far_from_every_name_gets_no_guess(isolated_home):
    out = run_autoplug("run", "task", "--model", "zzzzzz:x")
    assert "did you mean" not in one_line_error(out)
    assert "known providers:" in out.stderr


def test_tools_call_refused_says_how_to_approve_on_stderr(isolated_home, tmp_path):
    out = run_autoplug(
        "tools", "call", "write_file", '{"path": "a.txt", "content": "x"}', cwd=tmp_path
    )
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        "error: tool 'write_file' has side effects and was not approved",
        "hint: tools with side effects run only when approved: add --yes, or answer yes on a terminal",
    ]
    assert not (tmp_path / "a.txt").exists()


@pytest.fixture
def broken_site(tmp_path):
    site = dist_info_plugin(tmp_path / "site", "broken_one", BROKEN)
    return dist_info_plugin(site, "broken_two", "import no_such_module_anywhere\n")


@pytest.mark.parametrize(
    "args", [["tools"], ["tools", "--json"], ["models", "--json"], ["runs"], ["autos"]]
)
def test_every_command_but_plugins_warns_once_per_failed_plugin_on_stderr(
    broken_site, isolated_home, args
):
    out = run_autoplug(*args, env={"PYTHONPATH": str(broken_site)})
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "autoplug: warning: plugin 'broken_one' failed: RuntimeError: the broken plugin cannot "
        "import (see 'autoplug plugins')",
        "autoplug: warning: plugin 'broken_two' failed: ModuleNotFoundError: No module named "
        "'no_such_module_anywhere' (see 'autoplug plugins')",
    ]
    assert "broken" not in out.stdout
    if "--json" in args:
        json.loads(out.stdout)


def test_plugins_lists_the_failures_without_warning(broken_site, isolated_home):
    out = run_autoplug("plugins", "--json", env={"PYTHONPATH": str(broken_site)})
    assert out.returncode == 0
    assert out.stderr == ""
    status = {p["name"]: p["status"] for p in json.loads(out.stdout)}
    assert status["broken_one"] == status["broken_two"] == "failed"


def test_running_a_command_imports_only_the_module_that_adds_it(isolated_home):
    import subprocess
    import sys

    code = (
        "import sys; from autoplug.cli import main\n"
        "try:\n    main(['tools', '--json'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('autoplug.cli.')), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)  # the tools, as `autoplug tools --json` prints them
    loaded = out.stderr.strip().splitlines()[-1]
    assert loaded == "['autoplug.cli.listing', 'autoplug.cli.stdout']"


def test_the_command_map_names_exactly_what_each_module_adds():
    import importlib

    import click

    from autoplug.cli import COMMAND_MODULES, COMMANDS

    for module in COMMAND_MODULES:
        group = click.Group("probe")
        importlib.import_module(f"autoplug.cli.{module}").add_commands(group)
        assert sorted(group.commands) == sorted(n for n, m in COMMANDS.items() if m == module)


def test_listing_every_command_imports_every_module():
    from autoplug.cli import COMMANDS, CommandsGroup

    group = CommandsGroup("probe")
    group.defer(COMMANDS)
    assert group.get_command(None, "tools") is not None  # type: ignore[arg-type]
    assert set(group._pending) == set(COMMANDS) - {"plugins", "tools", "models", "autos"}
    assert sorted(group.commands) == sorted(COMMANDS) and not group._pending
    assert group.get_command(None, "nosuch") is None  # type: ignore[arg-type]
