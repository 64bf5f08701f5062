"""Append-only JSON-lines files, written through a small process-wide cache of handles.

A run's state (``state.jsonl``), its trace and its asset manifest are journals:
each change is one line appended with a single ``write`` to a descriptor opened
``O_APPEND``. When ``write`` returns, the line is in the operating system's
hands, so a ``kill -9`` of the process a moment later cannot lose it (see
docs/runs.md on why this, and not ``fsync``, is the guarantee).

The descriptors are kept in :data:`HANDLES`, a least-recently-used cache of at
most :data:`HANDLES_MAX` of them for the whole process: a lone run keeps its few
journals open between writes (an ``open`` and ``close`` cost more than the
``write``), while a thousand live runs still hold no more than the cap — the
least recently written is closed to make room, and reopened when written again.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)

HANDLES_MAX = 16
"""The most journal descriptors the process keeps open between writes (all runs together)."""

# Built once: json.dumps with options other than the defaults builds an encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))

try:  # a declared dependency; the json module stands in where it has no wheel
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is installed with autoplug
    _orjson = None
    _OPTIONS = 0
else:
    # Dataclasses and datetimes go to ``default`` (and from there to json, which
    # writes them with str); keys that are not text become text as json makes them.
    _OPTIONS = (
        _orjson.OPT_NON_STR_KEYS
        | _orjson.OPT_PASSTHROUGH_DATACLASS
        | _orjson.OPT_PASSTHROUGH_DATETIME
        | _orjson.OPT_APPEND_NEWLINE
    )


def _not_native(value: Any) -> Any:
    """orjson's ``default``: refuse, so that ``json`` (``default=str``) writes the record.

    Values orjson cannot write itself (a float subclass such as numpy's, a dataclass,
    a datetime) are then written exactly as before: ``str`` of one would differ
    from what ``json`` makes of it (``1.5`` against ``"1.5"``).
    """
    raise TypeError(type(value).__name__)


def line(value: Any) -> bytes:
    """One record as one line of compact UTF-8 JSON, its newline included.

    Encoded by ``orjson`` (ten times faster than ``json``: encoding was most of
    what persisting a step cost); what it refuses — an integer past 64 bits, a
    lone surrogate, nesting deeper than 254 — is encoded by ``json`` instead, so
    a record is written (or refused) exactly when ``json`` would, and a value orjson
    does not know (a float subclass, a dataclass) as ``json`` writes it. A NaN or an
    infinity is written as ``null``, an ``Enum`` as its value.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value, default=_not_native, option=_OPTIONS)
        except (TypeError, _orjson.JSONEncodeError):
            pass
    return (_ENCODER.encode(value) + "\n").encode("utf-8")


def dumps(value: Any) -> str:
    """One record as compact JSON text (never a newline inside: ``json`` escapes them)."""
    return line(value)[:-1].decode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``; an :class:`OSError` raised carries ``written``, how many of
    its bytes reached the file first (a short write, then a full disk or a size limit)."""
    written = 0
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write (a signal, a full pipe): write the rest
            view = memoryview(data)
            while written < len(data):
                written += os.write(fd, view[written:])
    except OSError as exc:
        exc.written = written  # type: ignore[attr-defined]
        raise


def append(path: Path | str, data: bytes) -> None:
    """Append ``data`` (whole lines) to ``path``, creating it; one open, write, close."""
    os.close(new_journal(path, data))


def new_journal(path: Path | str, data: bytes) -> int:
    """Create the journal ``path`` holding ``data``; its open descriptor, for
    :meth:`AppendHandles.adopt` (or to close)."""
    try:
        fd = os.open(path, _FLAGS, 0o644)
    except OSError as exc:
        if exc.errno not in (errno.EMFILE, errno.ENFILE) or not len(HANDLES):
            raise
        HANDLES.close_all()  # the kept descriptors make room, as for an append
        fd = os.open(path, _FLAGS, 0o644)
    try:
        if data:  # (an empty file is made by the open alone)
            _write_all(fd, data)
    except BaseException:
        os.close(fd)
        raise
    return fd


class AppendHandles:
    """A bounded least-recently-used cache of ``O_APPEND`` descriptors, by path.

    :meth:`append` writes through a kept descriptor (opening it, and closing the
    least recently used one beyond ``limit``); :meth:`forget` closes those of a
    run that ends. Thread-safe: a write holds the cache's lock, so a descriptor is
    never closed under a writer. A forked child starts with an empty cache.
    """

    def __init__(self, limit: int = HANDLES_MAX) -> None:
        self.limit = max(1, limit)
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            # The child's copies of these descriptors are its parent's to manage.
            mine = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forked(mine))

    def append(self, path: str, data: bytes) -> None:
        """Append ``data`` (whole lines) to the file at ``path``, creating it.

        Durable against ``kill -9`` when this returns (the ``write`` has returned).
        Raises :class:`OSError` (see :func:`os_problem`) when it cannot be opened
        or written, with ``written``: how many bytes of ``data`` are in the file
        (0 when it could not be opened; a part of a line a failed write left is cut
        at once when it can be, so only whole lines count); running out of
        descriptors first closes every kept one and tries once more.
        """
        with self._lock:
            fd = self._fds.get(path)
            if fd is None:
                try:
                    fd = self._open(path)
                except OSError as exc:
                    exc.written = 0  # type: ignore[attr-defined]
                    raise
            else:
                self._fds.move_to_end(path)
            try:
                _write_all(fd, data)
            except OSError as exc:
                self._close(path)  # the next write opens the file afresh
                whole = data.rfind(b"\n", 0, exc.written) + 1  # type: ignore[attr-defined]
                if whole < exc.written:  # type: ignore[attr-defined]
                    # Part of a line is in the file: cut it now, under the lock, before
                    # any other writer of the file (another store of the run) appends to it.
                    try:
                        cut_partial_line(path)
                        exc.written = whole  # type: ignore[attr-defined]
                    except OSError:
                        pass  # still there: its writer cuts it before it writes again
                raise

    def _open(self, path: str) -> int:
        try:
            fd = os.open(path, _FLAGS, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE) or not self._fds:
                raise
            self._close_all()
            fd = os.open(path, _FLAGS, 0o644)
        self._fds[path] = fd
        while len(self._fds) > self.limit:
            _, oldest = self._fds.popitem(last=False)
            os.close(oldest)
        return fd

    def adopt(self, path: str, fd: int) -> None:
        """Keep ``fd``, a descriptor of :func:`new_journal` now reached by ``path`` (a new
        run's journal, its folder renamed into place), as if :meth:`append` had opened it."""
        with self._lock:
            self._close(path)
            self._fds[path] = fd
            while len(self._fds) > self.limit:
                os.close(self._fds.popitem(last=False)[1])

    def _close(self, path: str) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def _close_all(self) -> None:
        while self._fds:
            os.close(self._fds.popitem()[1])

    def forget(self, paths: Iterable[str]) -> None:
        """Close the kept descriptors of ``paths`` (a run that ends, a folder renamed)."""
        with self._lock:
            for path in paths:
                self._close(path)

    def close_all(self) -> None:
        """Close every kept descriptor."""
        with self._lock:
            self._close_all()

    def __len__(self) -> int:
        return len(self._fds)

    def __contains__(self, path: object) -> bool:
        return path in self._fds


def _forked(ref: weakref.ref[AppendHandles]) -> None:
    handles = ref()
    if handles is not None:
        handles._fds = OrderedDict()  # forgotten, not closed: the parent still writes them
        handles._lock = threading.Lock()  # another thread may have held it at the fork


HANDLES = AppendHandles()
"""The process's cache of journal descriptors (see :class:`AppendHandles`)."""


def cut_partial_line(path: Path | str) -> None:
    """Cut off a partial last line (a writer killed mid-line), so appends start clean."""
    try:
        with open(path, "rb+") as raw:
            size = raw.seek(0, os.SEEK_END)
            if size == 0:
                return
            raw.seek(size - 1)
            if raw.read(1) == b"\n":
                return
            raw.seek(0)
            data = raw.read()
            raw.truncate(data.rfind(b"\n") + 1)
    except FileNotFoundError:
        pass


def os_problem(exc: OSError) -> str:
    """What went wrong, in words; running out of descriptors is said as that."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        try:
            import resource

            limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            where = f"this process may open {limit} (ulimit -n)"
        except (ImportError, OSError, ValueError):
            where = "the limit is reached"
        scope = "the system" if exc.errno == errno.ENFILE else "the process"
        return f"too many open files in {scope}; {where}"
    return exc.strerror or str(exc)


def lines(path: Path) -> list[str]:
    """The complete lines of ``path`` (a partial last line is left out)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = text.split("\n")
    found.pop()  # "" when the file ends with a newline, else a partial last line
    return found
