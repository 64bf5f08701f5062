"""``autoplug roles [--json]``: the roles a manager Auto can delegate to (DESIGN *Teams*)."""

from __future__ import annotations

import click

from . import echo_json, echo_table, get_kernel


def add_commands(cli: click.Group) -> None:
    """Add ``roles`` to ``cli``."""
    cli.add_command(roles_command)


@click.command("roles")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def roles_command(as_json: bool) -> None:
    """List the roles (from [roles.NAME] config tables and plugins) for --auto manager."""
    kernel = get_kernel()
    roles = [role.to_dict(source) for role, source in kernel.roles.items()]
    if as_json:
        echo_json(roles)
        return
    if not roles:
        click.echo(
            "no roles: add a [roles.NAME] table to the config or a plugin with register_roles",
            err=True,
        )
        return
    echo_table(
        [
            [
                r["name"],
                "all" if r["tools"] is None else (",".join(r["tools"]) or "none"),
                r["model"] or "-",
                r["source"],
                r["description"],
            ]
            for r in roles
        ],
        ["ROLE", "TOOLS", "MODEL", "SOURCE", "DESCRIPTION"],
    )
