"""Builtin plugin ``autoplug_files``: read, write and list files inside the run's workspace.

Every path is resolved against ``CallContext.workspace`` (the current directory
outside a run, or ``autoplug run --workspace DIR``); a path that leaves it
(``..``, an absolute path elsewhere, a symlink pointing out) is refused.
Writing is a side effect and needs approval.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from autoplug import CallContext, hookimpl, tool

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


def confined(workspace: Path, path: str) -> Path:
    """``path`` resolved inside ``workspace``; ValueError when it would leave it."""
    root = Path(workspace).resolve()
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        # No absolute path in the message: it reaches the model's prompt, which must replay
        # from any folder (DESIGN: prompts hold no absolute paths).
        raise ValueError(f"path {path!r} is outside the workspace")
    return target


@tool
def read_file(path: str, max_chars: int = MAX_READ_CHARS, *, context: CallContext) -> str:
    """Read a UTF-8 text file from the workspace.

    path: the file's path, relative to the workspace
    max_chars: return at most this many characters
    """
    cap = max_read_bytes(context)
    target = confined(context.workspace, path)
    if target.is_dir():
        raise IsADirectoryError(f"{path!r} is a folder, not a file (list_files lists it)")
    if not target.is_file():
        raise FileNotFoundError(f"no file {path!r} in the workspace")
    limit = max(0, max_chars)
    try:
        with target.open("rb") as handle:
            # At most `cap` bytes are ever read, however large the file or max_chars.
            raw = handle.read(min(cap, 4 * limit) + 1)
            size = target.stat().st_size
    except OSError as exc:  # said with the relative path: the message reaches the prompt
        raise OSError(f"cannot read {path!r}: {exc.strerror}") from None
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
    target = confined(context.workspace, path)
    if target.is_dir():
        raise IsADirectoryError(f"{path!r} is a folder, not a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(content)
    except OSError as exc:  # said with the relative path: the message reaches the prompt
        raise OSError(f"cannot write {path!r}: {exc.strerror}") from None
    return {"path": path, "bytes": len(content.encode("utf-8"))}


@tool
def list_files(path: str = ".", pattern: str = "*", *, context: CallContext) -> list[dict]:
    """List the files and folders under a folder of the workspace.

    path: the folder, relative to the workspace
    pattern: a glob pattern such as '*.md' or '**/*.py'
    """
    root = Path(context.workspace).resolve()
    folder = confined(root, path)
    if not folder.is_dir():
        raise NotADirectoryError(f"no folder {path!r} in the workspace")
    entries = []
    for item in sorted(folder.glob(pattern)):
        try:
            confined(root, str(item))
        except ValueError:
            continue
        entries.append(
            {
                "path": item.relative_to(root).as_posix(),
                "type": "dir" if item.is_dir() else "file",
                "size": item.stat().st_size if item.is_file() else None,
            }
        )
    return entries


@hookimpl
def register_tools(register):
    """Register read_file, write_file and list_files."""
    register(read_file)
    register(write_file)
    register(list_files)
