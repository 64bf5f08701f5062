"""Commands of the memory part (filled in by its issue)."""

from __future__ import annotations

import click


def add_commands(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
