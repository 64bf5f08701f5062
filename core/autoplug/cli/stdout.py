"""Standard output reserved for one machine-read stream: ``--json`` (and, later, ``mcp serve``).

A plugin may print when it is imported, a tool may print while it runs, and a
tool's subprocess inherits file descriptor 1. Under ``--json`` none of that may
reach stdout, or the JSON stops being JSON. :func:`reserved_stdout` works at
the descriptor level, so it catches all three::

    with reserved_stdout() as out:     # fd 1 and sys.stdout now go to stderr
        load_plugins_and_run()         # prints, os.write(1, ...), subprocesses: stderr
        out.write(json.dumps(result))  # the only text on the real stdout

The CLI's ``main`` enters it for the whole life of a command given ``--json``
(plugin import included); :func:`autoplug.cli.echo_json` writes to it. A
command speaking a protocol over stdio (``autoplug mcp serve``) enters it the
same way and writes its messages to the stream it yields.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_ACTIVE: list[TextIO] = []


def reserved() -> TextIO | None:
    """The stream of the innermost :func:`reserved_stdout`, or None outside one."""
    return _ACTIVE[-1] if _ACTIVE else None


def _fileno(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


def divert_stdout() -> int | None:
    """Point fd 1 and ``sys.stdout`` at stderr; a new descriptor on the real stdout.

    None (and nothing changed) when stdout or stderr is not a real descriptor, or
    both are the same one. The one mechanism behind :func:`reserved_stdout` and
    ``mcp serve``'s claim of stdio.
    """
    out_fd, err_fd = _fileno(sys.stdout), _fileno(sys.stderr)
    if out_fd is None or err_fd is None or out_fd == err_fd:
        return None
    sys.stdout.flush()
    saved = os.dup(out_fd)
    os.dup2(err_fd, out_fd)  # print(), os.write(1, ...) and children's stdout: stderr
    sys.stdout = sys.stderr
    return saved


@contextmanager
def reserved_stdout() -> Iterator[TextIO]:
    """Point fd 1 and ``sys.stdout`` at stderr; yield a text stream on the real stdout.

    The stream writes UTF-8 with ``backslashreplace`` (a lone surrogate in a
    JSON string comes out as its ``\\uXXXX`` escape, not an encoding error). On
    exit everything is flushed and fd 1 and ``sys.stdout`` are restored. When
    stdout is not a real descriptor (an in-process test runner's buffer) only
    ``sys.stdout`` is redirected, and the yielded stream is the original one.
    """
    original = sys.stdout
    out_fd = _fileno(original)
    saved = divert_stdout()
    if saved is None or out_fd is None:
        sys.stdout = sys.stderr
        _ACTIVE.append(original)
        try:
            yield original
        finally:
            _ACTIVE.pop()
            sys.stdout = original
            original.flush()
        return
    out = os.fdopen(saved, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    _ACTIVE.append(out)
    try:
        yield out
    finally:
        _ACTIVE.pop()
        try:
            out.flush()
            # Text written meanwhile through the original object (sys.__stdout__) is still
            # in its buffer: flush it while fd 1 still leads to stderr.
            original.flush()
            sys.stderr.flush()
        finally:
            sys.stdout = original
            os.dup2(saved, out_fd)
            out.close()
            os.close(saved)


def wants_json(argv: list[str]) -> bool:
    """Whether a command line asks for ``--json`` (an option before any ``--``)."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def terminal_columns(fallback: int = 80) -> int:
    """The terminal's width, as ``shutil.get_terminal_size().columns`` reports it.

    ``COLUMNS`` when it is a positive integer, else the width of the terminal on
    stdout, else ``fallback``. Written here because importing shutil (and the
    compression modules it imports) cost ``autoplug tools`` 2% of its start.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or fallback
