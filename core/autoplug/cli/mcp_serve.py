"""``autoplug mcp serve``: offer the kernel's tools (and its agent) to any MCP client.

Over stdio, standard output carries nothing but the protocol. A plugin may
print when it is imported and a tool (or its subprocess) may print while it
runs, so :func:`claim_stdio` works at the descriptor level and is called by
``main`` before any plugin is imported: the real fd 1 and fd 0 are kept for
the protocol, fd 1 and ``sys.stdout`` then lead to stderr and fd 0 reads the
null device. The server itself (the SDK) is imported only when serving.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

import click

from . import fail, get_kernel
from .stdout import divert_stdout

_CLAIMED: list[tuple[BinaryIO, BinaryIO]] = []  # (protocol in, protocol out), once claimed


def wants_serve(argv: list[str]) -> bool:
    """Whether a command line is ``mcp serve ...`` (it then needs :func:`claim_stdio`)."""
    words = [a for a in argv if not a.startswith("-")]
    return words[:2] == ["mcp", "serve"] and "--http" not in argv and not _asks_help(argv)


def _asks_help(argv: list[str]) -> bool:
    return any(a in ("-h", "--help") for a in argv)


def claim_stdio() -> None:
    """Keep the real stdin/stdout for the protocol; stray output and reads go elsewhere.

    When stdout is not a real descriptor (an in-process test runner), nothing
    is claimed and the serve command speaks on ``sys.stdin``/``sys.stdout``.
    """
    try:
        in_fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return
    saved = divert_stdout()
    if saved is None:
        return
    protocol_out = os.fdopen(saved, "wb", buffering=0)
    protocol_in = os.fdopen(os.dup(in_fd), "rb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, in_fd)  # a tool that reads stdin must not eat the client's messages
    os.close(null)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    _CLAIMED.append((protocol_in, protocol_out))


def _stdio() -> tuple[BinaryIO, BinaryIO]:
    if _CLAIMED:
        return _CLAIMED[-1]
    return sys.stdin.buffer, sys.stdout.buffer


def _parse_http(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        fail(f"--http {value!r}: expected HOST:PORT, for example 127.0.0.1:8765", 2)
    return host, int(port)


def _offered(kernel: Any, wanted: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """The (model name, tool) pairs to offer: every usable tool, or those ``--tool`` names."""
    tools = kernel.tools
    usable = [(tools.model_name(t), t) for t in tools.all() if not getattr(t, "unusable", None)]
    if not wanted:
        return tuple(usable)
    by_name = dict(usable)
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        hint = "; ".join(tools.unknown_error(w) for w in unknown)
        fail(f"--tool: {hint} (names as `autoplug tools` shows them, qualified ones with __)", 2)
    return tuple((w, by_name[w]) for w in dict.fromkeys(wanted))


@click.command("serve")
@click.option("--yes", is_flag=True, help="Approve every tool with side effects.")
@click.option(
    "--tool", "tool_names", multiple=True, metavar="NAME", help="Offer only this tool (repeatable)."
)
@click.option(
    "--agent", is_flag=True, help="Also offer run_task {task}: a Runner on the default model."
)
@click.option("--workspace", metavar="DIR", help="The folder file tools work in (default: .).")
@click.option("--http", "http", metavar="HOST:PORT", help="Serve streamable HTTP instead of stdio.")
def serve_command(
    yes: bool, tool_names: tuple[str, ...], agent: bool, workspace: str | None, http: str | None
) -> None:
    """Serve autoplug's tools over MCP: stdio by default, or streamable HTTP at HOST:PORT/mcp.

    Every call passes the door: validated against the tool's schema, and a tool
    with side effects runs only under --yes. Off loopback, --http requires the
    bearer token it prints on stderr. Exit 0 when the client disconnects.
    """
    from autoplug_builtins.mcp import sdk_installed

    if not sdk_installed():
        fail("autoplug mcp serve needs the MCP SDK: pip install 'autoplug[mcp]'", 2)
    kernel = get_kernel()
    folder = Path(workspace or ".").resolve()
    if not folder.is_dir():
        fail(f"--workspace {workspace!r} is not a folder", 2)
    from autoplug_builtins.mcp.server import ServeOptions, run

    options = ServeOptions(
        tools=_offered(kernel, tool_names),
        yes=yes,
        agent=agent,
        workspace=folder,
        http=_parse_http(http) if http is not None else None,
    )
    try:
        run(kernel, options, None if http is not None else _stdio())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except OSError as exc:
        if http is None:
            raise
        fail(f"--http {http}: {exc.strerror or exc}", 1)
