"""``autoplug ui``: the read-only run viewer in the browser (extra ``ui``).

Nothing heavy is imported here: Starlette, uvicorn and Jinja2 load only when the
command runs, so ``autoplug --help`` and ``autoplug tools`` stay fast.
"""

from __future__ import annotations

import importlib.util

import click

from . import STATE, fail

#: The modules of the ``ui`` extra.
EXTRA_MODULES = ("starlette", "uvicorn", "jinja2")


def add_commands(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(ui_command)


def missing_extra() -> list[str]:
    """The modules of the ``ui`` extra that are not installed."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # e.g. blocked as None in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


@click.command("ui")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any but 127.0.0.1 or ::1 requires the printed token.",
)
@click.option(
    "--port",
    default=8484,
    show_default=True,
    type=int,
    help="Port to listen on (0: any free port, printed).",
)
@click.option("--no-open", "no_open", is_flag=True, help="Do not open a browser.")
def ui_command(host: str, port: int, no_open: bool) -> None:
    """Browse the runs, their plans as graphs, assets, transcripts and memory.

    A local web app over the home that changes nothing in it: every page is also
    JSON (add .json). It prints its URL on stdout and runs until Ctrl-C.
    """
    missing = missing_extra()
    if missing:
        fail(
            f"autoplug ui needs the 'ui' extra ({', '.join(missing)} not installed): "
            "pip install 'autoplug[ui]'",
            1,
        )
    if STATE.error is not None:
        raise STATE.error
    assert STATE.kernel is not None
    from ..ui.server import bind, serve

    bound = bind(host, port)
    # The kernel as loaded, without get_kernel(): the viewer must not create the config.
    serve(
        STATE.kernel,
        bound,
        open_browser=not no_open,
        announce=_announce,
    )


def _announce(line: str) -> None:
    """The URL on stdout (a script reads it there), everything else on stderr."""
    if line.startswith("http"):
        click.echo(line)
    else:
        click.echo(f"autoplug ui: {line}", err=True)
