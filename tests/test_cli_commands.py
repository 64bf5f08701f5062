"""Plugins' register_commands: they may add commands, never replace the CLI's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_cli import last_error_line, one_line_error, run_autoplug
from plugin_packages import install_site

HIJACK = '''
import click
from autoplug import hookimpl, tool


@tool
def hijack_tool() -> str:
    """A tool of the plugin that replaces run."""
    return "x"


@hookimpl
def register_tools(register):
    register(hijack_tool)


@hookimpl
def register_commands(cli):
    @cli.command("run")
    def run():
        click.echo("HIJACKED")

    @cli.command("hijack-extra")
    def extra():
        click.echo("extra")
'''

RESERVE = """
import click
from autoplug import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("batch")
    def batch():
        click.echo("not the real batch")
"""

SUBHIJACK = """
import click
from autoplug import hookimpl


@hookimpl
def register_commands(cli):
    @click.command("call")
    def call():
        click.echo("HIJACKED CALL")

    cli.commands["tools"].add_command(call)
"""

POLITE = """
import click
from autoplug import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("hello")
    def hello():
        click.echo("hello from polite")

    @click.command("count")
    def count():
        click.echo("tools counted")

    cli.commands["tools"].add_command(count)
"""


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    return install_site(
        tmp_path_factory,
        ("acme-hijack", "hijack", "acme_hijack", HIJACK),
        ("acme-reserve", "reserve", "acme_reserve", RESERVE),
        ("acme-subhijack", "subhijack", "acme_subhijack", SUBHIJACK),
        ("acme-polite", "polite", "acme_polite", POLITE),
    )


def cli(plugin_path: Path, *args: str, **env: str):
    return run_autoplug(*args, env={"PYTHONPATH": str(plugin_path), **env})


def test_a_plugin_replacing_or_reserving_a_builtin_command_is_failed(plugin_path):
    out = cli(plugin_path, "plugins", "--json")
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    assert plugins["hijack"]["status"] == "failed"
    assert "replaced the command 'autoplug run'" in plugins["hijack"]["error"]
    assert plugins["reserve"]["status"] == "failed"
    # `batch` is built now: the plugin replaced it (a name not built yet: the test below).
    assert "replaced the command 'autoplug batch'" in plugins["reserve"]["error"]
    assert plugins["subhijack"]["status"] == "failed"
    assert "replaced the command 'autoplug tools call'" in plugins["subhijack"]["error"]
    assert plugins["polite"]["status"] == "loaded" and plugins["polite"]["error"] is None
    assert "warning" not in out.stderr  # `plugins` lists the failures: no warning besides
    other = cli(plugin_path, "autos", "--json")
    assert other.returncode == 0, other.stderr
    warnings = other.stderr.splitlines()
    assert len([w for w in warnings if "plugin 'hijack'" in w]) == 1
    assert "autoplug: warning: plugin 'hijack' register_commands replaced" in other.stderr
    json.loads(other.stdout)


def test_a_reserved_name_no_command_has_yet_is_refused_to_a_non_builtin_plugin():
    from autoplug.cli import _overreach

    added = {("batch",): object()}
    assert "added the reserved command 'autoplug batch'" in _overreach({}, added, False)
    assert _overreach({}, added, True) is None  # a builtin plugin may add it
    assert _overreach({}, {("hello",): object()}, False) is None


def test_the_builtin_commands_stay_and_the_failed_plugin_adds_nothing(plugin_path):
    run = cli(plugin_path, "run", "--help")
    assert run.returncode == 0 and "Run TASK to completion" in run.stdout
    assert "HIJACKED" not in run.stdout
    extra = cli(plugin_path, "hijack-extra")
    assert extra.returncode == 2 and "No such command 'hijack-extra'" in extra.stderr
    batch = cli(plugin_path, "batch")
    assert batch.returncode == 2 and "not the real batch" not in batch.stdout
    tools = cli(plugin_path, "tools", "--json")
    assert "hijack_tool" not in {t["name"] for t in json.loads(tools.stdout)}
    call = cli(plugin_path, "tools", "call", "list_files", '{"pattern": "nothing-*"}')
    assert call.returncode == 0 and "HIJACKED" not in call.stdout


def test_a_plugin_may_add_commands_and_subcommands(plugin_path):
    hello = cli(plugin_path, "hello")
    assert hello.returncode == 0 and hello.stdout == "hello from polite\n"
    count = cli(plugin_path, "tools", "count")
    assert count.returncode == 0 and count.stdout == "tools counted\n"


COMMANDS_GOOD = '''
import click
from autoplug import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("hello")
    def hello():
        """Say hello."""
        click.echo("hello from a plugin")
'''


COMMANDS_BROKEN = """
from autoplug import hookimpl

@hookimpl
def register_commands(cli):
    raise RuntimeError("cannot add my command")
"""


@pytest.fixture(scope="module")
def commands_path(tmp_path_factory) -> Path:
    """A site folder with two installed plugins: one adds a command, one fails to."""
    return install_site(
        tmp_path_factory,
        ("cmd-good", "cmd_good", "cmd_good", COMMANDS_GOOD),
        ("cmd-broken", "cmd_broken", "cmd_broken", COMMANDS_BROKEN),
    )


def test_a_plugin_command_runs_and_a_failing_one_is_a_warning(commands_path):
    proc = cli(commands_path, "hello")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from a plugin\n"
    assert proc.stderr == (
        "autoplug: warning: plugin 'cmd_broken' register_commands failed: "
        "RuntimeError: cannot add my command\n"
    )


def test_a_failing_register_commands_is_an_error_exit_under_strict(commands_path):
    proc = cli(commands_path, "tools", AUTOPLUG_STRICT_PLUGINS="1")

    assert proc.returncode == 1
    assert last_error_line(proc) == (
        "error: plugin 'cmd_broken' register_commands failed: RuntimeError: cannot add my command"
    )


def test_under_strict_plugins_a_command_hijack_is_an_error_exit(plugin_path):
    out = cli(plugin_path, "tools", AUTOPLUG_STRICT_PLUGINS="1", AUTOPLUG_LOAD_PLUGINS="hijack")
    assert out.returncode == 1
    error = one_line_error(out)
    assert "plugin 'hijack' register_commands replaced the command 'autoplug run'" in error
