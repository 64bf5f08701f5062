"""The ``autoplug`` command line (click).

Plugins are loaded once at start so their ``register_commands`` hooks can add
subcommands; the config file is created only by a command that reads it, never
by ``--help`` or ``--version``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

import click

from ..errors import AutoplugError, PluginError, describe_error
from ..kernel import Kernel
from ..plugins import strict_plugins

# Modules under autoplug.cli that add the kernel's own commands, each with add_commands(cli).
COMMAND_MODULES = ("listing", "run", "runs", "memory", "new_plugin", "mcp")


class State:
    """What every command shares: the kernel loaded at start, or the error that stopped it."""

    def __init__(self) -> None:
        self.kernel: Kernel | None = None
        self.error: AutoplugError | None = None

    def get_kernel(self) -> Kernel:
        """The kernel, with the config file written if it did not exist yet."""
        if self.error is not None:
            raise self.error
        assert self.kernel is not None
        if not self.kernel.config.path.exists():
            from ..config import write_template

            write_template(self.kernel.home)
        return self.kernel


STATE = State()


def get_kernel() -> Kernel:
    """The kernel of this invocation (for commands, including plugins' commands)."""
    return STATE.get_kernel()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_table(rows: list[list[Any]], headers: list[str]) -> None:
    """Print rows as a plain aligned table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    click.echo(fmt.format(*headers).rstrip())
    for row in rows:
        click.echo(fmt.format(*[str(c) for c in row]).rstrip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="autoplug", prog_name="autoplug")
def cli() -> None:
    """autoplug: plugin-first autonomous LLM agents.

    Run a task with `autoplug run TASK --model ID`; list what plugins provide
    with `autoplug plugins`, `tools`, `models` and `autos`.
    """


def build_cli() -> click.Group:
    """The ``autoplug`` group with the kernel's commands and every plugin's."""
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        module.add_commands(cli)
    try:
        STATE.kernel = Kernel.load(create_config=False)
    except AutoplugError as exc:
        STATE.error = exc
        return cli
    for impl in sorted(
        STATE.kernel.pm.hook.register_commands.get_hookimpls(), key=lambda i: i.plugin_name
    ):
        try:
            impl.function(*([cli] if impl.argnames else []))
        except Exception as exc:
            problem = f"plugin {impl.plugin_name!r} register_commands failed: {describe_error(exc)}"
            if strict_plugins():  # DESIGN: any plugin failure is an error exit under strict
                STATE.error = PluginError(problem)
                return cli
            click.echo(f"autoplug: warning: {problem}", err=True)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``autoplug`` console script."""
    from .mcp_serve import claim_stdio, wants_serve

    if wants_serve(sys.argv[1:] if argv is None else argv):
        claim_stdio()  # before any plugin is imported: stdout is the protocol's alone
    group = build_cli()
    try:
        result = _run(group, argv)
    finally:
        if STATE.kernel is not None:
            STATE.kernel.close()  # stops the MCP servers this command started
    sys.exit(result if isinstance(result, int) else 0)


def _run(group: click.Group, argv: list[str] | None) -> Any:
    try:
        return group.main(args=argv, prog_name="autoplug", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("\ninterrupted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # One line, like every other user error; the command's --help has the rest.
        where = exc.ctx.command_path if exc.ctx is not None else "autoplug"
        click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AutoplugError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
