"""The ``autoplug`` command line (click).

Plugins are loaded once at start so their ``register_commands`` hooks can add
subcommands; the config file is created only by a command that reads it, never
by ``--help`` or ``--version``.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import nullcontext
from typing import Any, NoReturn

import click

from ..errors import AutoplugError, PluginError, describe_error
from ..kernel import Kernel
from ..plugins import RESERVED_COMMANDS, strict_plugins
from .stdout import reserved, reserved_stdout, wants_json

# The kernel's own top-level commands, by the module under autoplug.cli that adds them
# (each module has add_commands(cli)). A module is imported when one of its commands
# is run, or when every command is listed: `autoplug tools` imports only listing.
COMMANDS = {
    "plugins": "listing",
    "tools": "listing",
    "models": "listing",
    "autos": "listing",
    "roles": "roles",
    "run": "run",
    "chat": "run",
    "runs": "runs",
    "resume": "runs",
    "memory": "memory",
    "new-plugin": "new_plugin",
    "mcp": "mcp",
    "batch": "batch",
    "ui": "ui",
}

#: The modules that add the kernel's own commands.
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


class CommandsGroup(click.Group):
    """The ``autoplug`` group: its own commands' modules imported when first needed.

    Running a command imports the one module that adds it; reading ``commands``
    (listing every command, ``--help``, a plugin's ``register_commands``, the
    reference page) imports every module first, so it always holds them all.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending: dict[str, str] = {}  # command name -> module not imported yet
        self._loading = False
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        """Every command (each pending module imported first)."""
        if self._pending and not self._loading:
            self._load(set(self._pending.values()))
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def defer(self, commands: dict[str, str]) -> None:
        """Add the commands of ``commands`` (name -> module) when first needed."""
        self._pending.update({n: m for n, m in commands.items() if n not in self._commands})

    def _load(self, modules: set[str]) -> None:
        self._pending = {n: m for n, m in self._pending.items() if m not in modules}
        self._loading = True  # add_command reads ``commands``: no loading inside
        try:
            for name in [m for m in COMMAND_MODULES if m in modules] + sorted(
                modules - set(COMMAND_MODULES)
            ):
                importlib.import_module(f"{__name__}.{name}").add_commands(self)
        finally:
            self._loading = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, its module imported now if it was pending."""
        module = self._pending.get(cmd_name)
        if module is not None and not self._loading:
            self._load({module})
        return self._commands.get(cmd_name)


class State:
    """What every command shares: the kernel loaded at start, or the error that stopped it."""

    def __init__(self) -> None:
        self.kernel: Kernel | None = None
        self.error: AutoplugError | None = None
        # The warning of each plugin that failed in register_commands, by plugin name.
        self.command_failures: dict[str, str] = {}
        # True under main(), which ends the process with the command's status: only then
        # may an interrupted command leave its "exit now" Ctrl-C handler installed.
        self.ends_process = False
        # Set by an interrupted run or batch that left its "exit now" handler installed.
        self.exiting = False

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
    """Print ``data`` as indented JSON on stdout (the reserved stream under ``--json``).

    A value JSON cannot hold (an integer of more than 4,300 digits, nesting past
    the recursion limit) is an :class:`AutoplugError`, not a traceback.
    """
    import json

    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as exc:
        raise AutoplugError(
            f"the result cannot be written as JSON: {describe_error(exc)}"
        ) from None
    click.echo(text, file=reserved())


def echo_table(rows: list[list[Any]], headers: list[str]) -> None:
    """Print rows as a plain aligned table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    click.echo(fmt.format(*headers).rstrip())
    for row in rows:
        click.echo(fmt.format(*[str(c) for c in row]).rstrip())


@click.group(cls=CommandsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="autoplug", prog_name="autoplug")
def cli() -> None:
    """autoplug: plugin-first autonomous LLM agents.

    Run a task with `autoplug run TASK --model ID`; list what plugins provide
    with `autoplug plugins`, `tools`, `models` and `autos`.
    """


def _groups(group: click.Group) -> list[click.Group]:
    """``group`` and every group under it."""
    found = [group]
    for command in group.commands.values():
        if isinstance(command, click.Group):
            found += _groups(command)
    return found


def _tree(group: click.Group, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every command under ``group`` by its path of names."""
    found: dict[tuple[str, ...], Any] = {}
    for name, command in group.commands.items():
        found[(*path, name)] = command
        if isinstance(command, click.Group):
            found.update(_tree(command, (*path, name)))
    return found


def _overreach(
    before: dict[tuple[str, ...], Any], after: dict[tuple[str, ...], Any], builtin: bool
) -> str | None:
    """What a plugin's register_commands did that it may not, or None.

    It may add commands (also under the builtin groups); it may not replace or
    remove one that was there, nor add a reserved top-level name unless it is a
    builtin plugin.
    """
    for path, command in before.items():
        if after.get(path) is not command:
            verb = "removed" if path not in after else "replaced"
            return f"register_commands {verb} the command 'autoplug {' '.join(path)}'"
    added = sorted(p[0] for p in after if len(p) == 1 and p not in before)
    reserved = [name for name in added if name in RESERVED_COMMANDS]
    if reserved and not builtin:
        return (
            f"register_commands added the reserved command 'autoplug {reserved[0]}' "
            f"(the CLI's own names: {', '.join(RESERVED_COMMANDS)})"
        )
    return None


def _add_plugin_commands(kernel: Kernel, group: click.Group) -> None:
    """Call each plugin's register_commands; a plugin that fails or overreaches is ``failed``.

    Its commands are taken out again, so the CLI is as it was before the plugin.
    """
    for impl in sorted(
        kernel.pm.hook.register_commands.get_hookimpls(), key=lambda i: i.plugin_name
    ):
        name = impl.plugin_name
        before = _tree(group)
        saved = [(g, dict(g.commands)) for g in _groups(group)]
        try:
            impl.function(*([group] if impl.argnames else []))
            problem = _overreach(before, _tree(group), kernel.plugins[name].builtin)
        except Exception as exc:
            problem = f"register_commands failed: {describe_error(exc)}"
        if problem is None:
            continue
        for owner, commands in saved:
            owner.commands.clear()
            owner.commands.update(commands)
        kernel.fail_plugin(name, problem)
        message = f"plugin {name!r} {problem}"
        if strict_plugins():  # DESIGN: any plugin failure is an error exit under strict
            raise PluginError(message)
        STATE.command_failures[name] = message


def warn_failed_plugins(args: list[str]) -> None:
    """One stderr warning per failed plugin, unless the command is ``plugins`` (it lists them).

    Never on stdout, so ``--json`` output stays one JSON document.
    """
    if STATE.kernel is None or STATE.error is not None or _command_name(args) == "plugins":
        return
    for name in sorted(STATE.kernel.plugins):
        info = STATE.kernel.plugins[name]
        if info.status != "failed":
            continue
        message = STATE.command_failures.get(name) or (
            f"plugin {name!r} failed: {_one_line(info.error or 'unknown error')} "
            "(see 'autoplug plugins')"
        )
        click.echo(f"autoplug: warning: {message}", err=True)


def _command_name(args: list[str]) -> str | None:
    """The top-level command a command line names (its first word that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)


def build_cli() -> click.Group:
    """The ``autoplug`` group with the kernel's commands and every plugin's."""
    cli.defer(COMMANDS)
    try:
        STATE.kernel = Kernel.load(create_config=False)
        _add_plugin_commands(STATE.kernel, cli)
    except AutoplugError as exc:
        STATE.error = exc
    return cli


#: click's "no arguments given, the help is shown" error (click >= 8.2; older clicks print it).
NO_ARGS_IS_HELP: type[Exception] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("NoArgsIsHelpError", (Exception,), {})
)

#: Set to 1 to see the traceback of an internal error (a bug in autoplug or a plugin).
TRACEBACK_ENV = "AUTOPLUG_TRACEBACK"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``autoplug`` console script.

    With ``--json`` the whole command, plugin import included, runs inside
    :func:`~autoplug.cli.stdout.reserved_stdout`: only the JSON reaches stdout.
    It ends with ``sys.exit``: after an interrupted ``run`` or ``batch`` (status 130)
    a further Ctrl-C exits 130 at once until the process is gone.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not _AT_EXIT:
        import atexit

        # Registered before any plugin is imported: the last exit function to run.
        atexit.register(_ignore_late_ctrl_c)
        _AT_EXIT.append(True)
    # For this command only: a caller that goes on after main() (catching SystemExit)
    # runs its later commands as its own (CliRunner's) again.
    ends, STATE.ends_process = STATE.ends_process, True
    try:
        _main_then_exit(args)
    finally:
        STATE.ends_process = ends


_AT_EXIT: list[bool] = []


def sigint_handler_after(previous: Any, interrupted: bool) -> None:
    """At the end of a command that installed its own Ctrl-C handler: put ``previous`` back.

    Except after an interrupted command under :func:`main`: the process is on its way
    out with 130, and a further Ctrl-C until it is gone must still exit 130 at once
    (Python's own handler, put back, would end it with a KeyboardInterrupt, -2), so the
    command's handler stays. A caller running the command in its own process
    (CliRunner, an application) goes on: its handler is put back.
    """
    import signal

    if interrupted and STATE.ends_process:
        STATE.exiting = True
    else:
        signal.signal(signal.SIGINT, previous)


def _ignore_late_ctrl_c() -> None:
    """After an interrupted command, the last exit function: a Ctrl-C from here on is ignored.

    Past the exit functions Python puts its default SIGINT action back while it tears
    down, and a Ctrl-C then would end the process by the signal (status -2) instead of
    the 130 it is already exiting with.
    """
    if STATE.exiting:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _main_then_exit(args: list[str]) -> None:
    """:func:`main`'s command line run, then ``sys.exit`` with its status."""
    if "mcp" in args:  # only `mcp serve` claims stdio: other commands skip the import
        from .mcp_serve import claim_stdio, wants_serve

        if wants_serve(args):
            claim_stdio()  # before any plugin is imported: stdin and stdout are the protocol's
    with reserved_stdout() if wants_json(args) else nullcontext():
        try:
            code = _main(args)
        finally:
            if STATE.kernel is not None:
                STATE.kernel.close()  # stops the MCP servers this command started
    sys.exit(code)


def _main(args: list[str]) -> int | str | None:
    """Run one command line; the exit status (every error already printed as one line)."""
    try:
        group = build_cli()
        warn_failed_plugins(args)
        result = group.main(args=args, prog_name="autoplug", standalone_mode=False)
    except SystemExit as exc:
        return exc.code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("\ninterrupted", err=True)
        return 130
    except NO_ARGS_IS_HELP as exc:
        # `autoplug` (or a group) alone: its help is what was asked for, on stdout.
        click.echo(exc.ctx.get_help() if exc.ctx is not None else "")
        return 0
    except click.UsageError as exc:
        # One line, like every other user error; the command's --help has the rest.
        where = exc.ctx.command_path if exc.ctx is not None else "autoplug"
        click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except AutoplugError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        if os.environ.get(TRACEBACK_ENV, "").strip() not in ("", "0"):
            import traceback

            traceback.print_exc()
        detail = _one_line(describe_error(exc))
        click.echo(f"error: internal error: {detail} (please report)", err=True)
        return 1
    return result if isinstance(result, int) else 0


def _one_line(text: str, limit: int = 2000) -> str:
    """``text`` folded onto one line and cut to ``limit`` characters, keeping start and end."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    half = (limit - 5) // 2
    return f"{flat[:half]} […] {flat[-half:]}"
