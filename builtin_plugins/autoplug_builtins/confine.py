"""Race-free confinement of the file tools to the workspace (Linux and macOS).

Checking a path and then opening it by name leaves a gap: another process can
swap a folder for a symbolic link in between, and the open lands outside the
workspace. So nothing is opened by a full name here. The workspace is opened
once per call, and every component of a path below it is opened relative to
the descriptor of the folder before it (``os.open(name, dir_fd=...)``) with
``O_NOFOLLOW``: a symbolic link is never followed, whenever it appears, so no
interleaving of another process can lead a file tool outside the workspace.

A consequence: a symbolic link inside the workspace is refused too, even one
pointing inside it (following it safely would mean re-walking its target, and
file tools have no need to).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: Recursion bound of ``**`` in list_files: deeper folders are not listed.
MAX_DEPTH = 64


def parts_of(workspace: Path, path: str) -> list[str]:
    """The components of ``path`` below the workspace; ValueError when it leaves it.

    ``..`` is applied to the text of the path (links are never followed, so the
    text is the truth); an absolute path is accepted only under the workspace.
    """
    if "\x00" in path:
        raise ValueError(f"path {path!r} holds a NUL character")
    text = path
    if posixpath.isabs(text):
        root = os.path.realpath(workspace)
        normal = posixpath.normpath(text)
        if normal != root and not normal.startswith(root.rstrip("/") + "/"):
            raise ValueError(f"path {path!r} is outside the workspace")
        text = normal[len(root) :].lstrip("/") or "."
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../"):
        # No absolute path in the message: it reaches the model's prompt.
        raise ValueError(f"path {path!r} is outside the workspace")
    return [] if normal == "." else normal.split("/")


def _link_error(path: str, name: str) -> ValueError:
    return ValueError(
        f"path {path!r} goes through the symbolic link {name!r}; file tools do not "
        "follow links (one could lead outside the workspace)"
    )


def open_workspace(workspace: Path) -> int:
    """A descriptor of the workspace folder itself (its own path is the user's choice)."""
    return os.open(os.fspath(workspace), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_subdir(dir_fd: int, name: str, path: str, *, create: bool = False) -> int:
    """Open folder ``name`` in ``dir_fd`` without following a link; optionally make it."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            raise FileNotFoundError(f"no folder {name!r} on the way to {path!r}") from None
        try:
            os.mkdir(name, 0o777, dir_fd=dir_fd)
        except FileExistsError:
            pass  # made meanwhile by someone else: opened (and checked) below
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(dir_fd, name):
            raise _link_error(path, name) from None
        if exc.errno == errno.ENOTDIR:
            raise NotADirectoryError(f"{name!r} in {path!r} is a file, not a folder") from None
        raise


@contextmanager
def parent_of(workspace: Path, path: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
    """``(dir_fd, name)``: the open folder holding ``path``'s last component, and that name.

    For the workspace itself the name is ``"."``. The descriptor is closed on exit.
    """
    parts = parts_of(workspace, path)
    fd = open_workspace(workspace)
    try:
        for name in parts[:-1]:
            inner = open_subdir(fd, name, path, create=create)
            os.close(fd)
            fd = inner
        yield fd, parts[-1] if parts else "."
    finally:
        os.close(fd)


def open_file(dir_fd: int, name: str, path: str, flags: int, mode: int = 0o666) -> int:
    """Open ``name`` in ``dir_fd`` with ``flags``, never following a link, never blocking
    on a FIFO; only a regular file is accepted."""
    try:
        fd = os.open(
            name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode, dir_fd=dir_fd
        )
    except IsADirectoryError:
        raise IsADirectoryError(f"{path!r} is a folder, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and _is_link(dir_fd, name)):
            raise _link_error(path, name) from None
        raise
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise IsADirectoryError(f"{path!r} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"{path!r} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def walk(
    dir_fd: int, segments: list[str], prefix: str = "", depth: int = 0
) -> Iterator[tuple[str, bool, int | None]]:
    """``(relative path, is_dir, size)`` of every entry under ``dir_fd`` matching the
    glob ``segments`` (``*``, ``?``, ``[...]`` within a name; ``**`` any folders deep).

    Links are neither followed nor listed; entries vanishing meanwhile are skipped.
    """
    if not segments or depth > MAX_DEPTH:
        return
    head, rest = segments[0], segments[1:]
    with os.scandir(dir_fd) as listing:
        entries = [(e.name, e.stat(follow_symlinks=False)) for e in _lstat_ok(listing)]
    if head == "**" and rest:
        yield from walk(dir_fd, rest, prefix, depth)  # ** as no folder at all
    for name, info in entries:
        if stat.S_ISLNK(info.st_mode):
            continue
        is_dir = stat.S_ISDIR(info.st_mode)
        rel = f"{prefix}{name}"
        if head == "**":
            if is_dir:
                if not rest:
                    yield rel, True, None
                yield from _descend(dir_fd, name, segments, rel, depth)
        elif fnmatchcase(name, head):
            if not rest:
                yield rel, is_dir, None if is_dir else info.st_size
            elif is_dir:
                yield from _descend(dir_fd, name, rest, rel, depth)


def _lstat_ok(listing: Iterator[os.DirEntry[str]]) -> Iterator[os.DirEntry[str]]:
    for entry in listing:
        try:
            entry.stat(follow_symlinks=False)
        except OSError:
            continue
        yield entry


def _descend(
    dir_fd: int, name: str, segments: list[str], rel: str, depth: int
) -> Iterator[tuple[str, bool, int | None]]:
    try:
        inner = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        return  # replaced by a link or removed meanwhile: not listed
    try:
        yield from walk(inner, segments, rel + "/", depth + 1)
    finally:
        os.close(inner)
