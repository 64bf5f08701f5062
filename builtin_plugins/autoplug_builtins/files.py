"""Builtin plugin ``autoplug_files``: read, write and list files inside the run's workspace.

Every path is taken relative to ``CallContext.workspace`` (the current directory
outside a run, or ``autoplug run --workspace DIR``); a path that leaves it
(``..``, an absolute path elsewhere) or goes through a symbolic link is refused.
Each path is opened component by component from a descriptor of the workspace,
never following a link (:mod:`autoplug_builtins.confine`), so another process
swapping folders and links meanwhile cannot lead a call outside.
Writing is a side effect and needs approval.
"""

from __future__ import annotations

import codecs
import os
from pathlib import PurePosixPath
from typing import Any

from autoplug import CallContext, hookimpl, tool

from .confine import open_file, open_subdir, parent_of, parts_of, walk

MAX_READ_CHARS = 100_000
#: The default of ``[plugins.autoplug_files] max_read_bytes``: the most bytes of a
#: file ``read_file`` reads, whatever ``max_chars`` asks for.
DEFAULT_MAX_READ_BYTES = 1_000_000


def max_read_bytes(context: Any) -> int:
    """``[plugins.autoplug_files] max_read_bytes`` of the kernel's home (or the default home).

    Raises ValueError naming the setting when it is not a whole number ≥ 1.
    """
    from autoplug.config import Config

    config = Config.load(getattr(context, "home", None), create=False)
    table = config.section("plugins").get("autoplug_files", {})
    value = table.get("max_read_bytes", DEFAULT_MAX_READ_BYTES) if isinstance(table, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            "[plugins.autoplug_files] max_read_bytes in config.toml must be a whole number "
            f"of bytes ≥ 1, not {value!r}"
        )
    return value


@tool
def read_file(path: str, max_chars: int = MAX_READ_CHARS, *, context: CallContext) -> str:
    """Read a UTF-8 text file from the workspace.

    path: the file's path, relative to the workspace
    max_chars: return at most this many characters
    """
    cap = max_read_bytes(context)
    limit = max(0, max_chars)
    try:
        with parent_of(context.workspace, path) as (folder, name):
            if name == ".":
                raise IsADirectoryError(f"{path!r} is a folder, not a file (list_files lists it)")
            try:
                fd = open_file(folder, name, path, os.O_RDONLY)
            except FileNotFoundError:
                raise FileNotFoundError(f"no file {path!r} in the workspace") from None
            except IsADirectoryError:
                raise IsADirectoryError(
                    f"{path!r} is a folder, not a file (list_files lists it)"
                ) from None
            with os.fdopen(fd, "rb") as handle:
                # At most `cap` bytes are ever read, however large the file or max_chars.
                raw = handle.read(min(cap, 4 * limit) + 1)
                size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"no file {path!r} in the workspace") from None
    except (ValueError, IsADirectoryError, NotADirectoryError):
        raise
    except OSError as exc:  # said with the relative path: the message reaches the prompt
        raise OSError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    capped = len(raw) > cap
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # Not final: a character cut in two at the cap is left out, not shown as U+FFFD.
    text = decoder.decode(raw[:cap], final=not capped)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        return text[:limit]
    if capped:
        text += (
            f"\n…[read_file stopped at {cap:,} bytes of the file's {size:,}: "
            "[plugins.autoplug_files] max_read_bytes]"
        )
    return text


@tool(side_effects=True)
def write_file(path: str, content: str, append: bool = False, *, context: CallContext) -> dict:
    """Write a UTF-8 text file in the workspace, creating folders as needed.

    path: the file's path, relative to the workspace
    content: the text to write
    append: add to the end of the file instead of replacing it
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    try:
        with parent_of(context.workspace, path, create=True) as (folder, name):
            if name == ".":
                raise IsADirectoryError(f"{path!r} is a folder, not a file")
            with os.fdopen(open_file(folder, name, path, flags), "w", encoding="utf-8") as out:
                out.write(content)
    except (ValueError, IsADirectoryError):
        raise
    except OSError as exc:  # said with the relative path: the message reaches the prompt
        raise OSError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    return {"path": path, "bytes": len(content.encode("utf-8"))}


@tool
def list_files(path: str = ".", pattern: str = "*", *, context: CallContext) -> list[dict]:
    """List the files and folders under a folder of the workspace.

    path: the folder, relative to the workspace
    pattern: a glob pattern such as '*.md' or '**/*.py'
    """
    parts = parts_of(context.workspace, path)
    segments = [p for p in pattern.split("/") if p not in ("", ".")]
    if any(p == ".." for p in segments):
        raise ValueError(f"pattern {pattern!r} is outside the workspace")
    with parent_of(context.workspace, path) as (parent, name):
        try:
            folder = parent if name == "." else open_subdir(parent, name, path)
        except FileNotFoundError:
            raise NotADirectoryError(f"no folder {path!r} in the workspace") from None
        except NotADirectoryError:
            raise NotADirectoryError(f"no folder {path!r} in the workspace") from None
        try:
            prefix = "".join(f"{p}/" for p in parts)
            found = {rel: (is_dir, size) for rel, is_dir, size in walk(folder, segments, prefix)}
        finally:
            if folder != parent:
                os.close(folder)
    return [
        {"path": rel, "type": "dir" if found[rel][0] else "file", "size": found[rel][1]}
        for rel in sorted(found, key=PurePosixPath)
    ]


@hookimpl
def register_tools(register):
    """Register read_file, write_file and list_files."""
    register(read_file)
    register(write_file)
    register(list_files)
