"""The generated command reference (docs/cli-commands.md): every command's ``--help``.

``python -m autoplug.cli.reference > docs/cli-commands.md`` writes it; a test
and the docs build fail when the file is stale, so it always says what the
commands really accept.
"""

from __future__ import annotations

import click

HEADER = """\
# Every command's help

This page is generated from the code: `python -m autoplug.cli.reference >
docs/cli-commands.md` (a test fails when it is stale). It shows what `--help`
prints for each command of autoplug and its builtin plugins; the
[command-line reference](cli.md) explains them, with their JSON shapes and exit
statuses.
"""


def _commands(
    group: click.Group, path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    for name in sorted(group.commands):
        command = group.commands[name]
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def cli_reference(group: click.Group) -> str:
    """The Markdown page: one section per command, its ``--help`` text verbatim."""
    parts = [HEADER]
    for path, command in _commands(group, ("autoplug",)):
        name = " ".join(path)
        # A fixed width, so the page is the same on every terminal.
        ctx = click.Context(
            command,
            info_name=path[-1],
            terminal_width=80,
            max_content_width=80,
            help_option_names=["-h", "--help"],
        )
        if len(path) > 1:
            ctx.parent = click.Context(click.Group(), info_name=" ".join(path[:-1]))
        parts.append(f"## {name}\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    """Print the reference for the CLI as installed (its builtin plugins' commands included)."""
    from . import build_cli

    click.echo(cli_reference(build_cli()), nl=False)


if __name__ == "__main__":
    main()
