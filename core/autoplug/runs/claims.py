"""Who runs a run: a claim that holds no file open for the run's life.

Each process that runs runs holds one *process lock* per home: an exclusive
``flock`` on ``state/owners/<pid>-<token>.lock``, taken once and held until the
process ends (the OS drops it when the process dies, even by ``kill -9``). A
run's ``owner.lock`` names the process lock of the process that claimed it.

Claiming a run takes a short ``flock`` on its ``owner.lock`` (so two claimers
take turns), reads which process lock it names, and tests that lock: still held
means its process lives and the claim is refused; free (or gone) means the
owner died and the claim is taken over. The run's file is closed again at once,
so a thousand live runs hold one descriptor, not a thousand.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path

OWNERS_DIR = ("state", "owners")
"""The folder (in the home) of the process locks."""

CLAIM_SIZE = 512
"""The size ``owner.lock`` is always written at (see :func:`_padded`)."""

_LOCK = threading.Lock()
# Folders as text: these are looked up for every run, and a Path is slow to make.
_PROCESS: dict[str, tuple[int, int, str]] = {}  # owners folder -> (pid, fd, file name)
_HELD: dict[str, str] = {}  # run folder's real path -> the claim token this process wrote there
_REAL: dict[str, str] = {}  # a runs folder as given -> its real path (realpath stats each part)
_HOST: list[str] = []  # this host's name, once (it is written into every claim)


class ClaimRefused(Exception):
    """The run is claimed by a live process; ``holder`` says which ("pid N on HOST")."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def owners_dir(folder: Path | str) -> Path:
    """The folder of the process locks of the home holding the run ``folder``."""
    return Path(_owners(os.fspath(folder)))


def _owners(folder: str) -> str:
    home = os.path.dirname(os.path.dirname(folder))
    return os.path.join(home, *OWNERS_DIR)


def host() -> str:
    """This host's name (asked once: it goes into every run's record and claim)."""
    if not _HOST:
        _HOST.append(socket.gethostname())
    return _HOST[0]


def _process_lock(owners: str) -> str:
    """This process's lock file in ``owners`` (made and locked on first use): its name."""
    import fcntl

    pid = os.getpid()
    found = _PROCESS.get(owners)
    if found is not None and found[0] == pid:
        return found[2]
    os.makedirs(owners, exist_ok=True)
    _sweep(owners)
    name = f"{pid}-{secrets.token_hex(4)}.lock"
    # Locked under a temporary name, then renamed: a sweeper never sees it unlocked.
    staging = os.path.join(owners, f".{name}.tmp")
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"pid {pid} on {host()}\n".encode())
    os.rename(staging, os.path.join(owners, name))
    _PROCESS[owners] = (pid, fd, name)
    return name


def _sweep(owners: str) -> None:
    """Delete the process locks of processes that ended (none is ever named again)."""
    try:
        names = [n for n in os.listdir(owners) if n.endswith(".lock")]
    except OSError:
        return
    for name in names:
        if not _alive(owners, name):
            try:
                os.unlink(os.path.join(owners, name))
            except OSError:
                pass


def _alive(owners: str, name: str) -> bool:
    """Whether the process lock ``name`` is held (its process still runs)."""
    import fcntl

    try:
        fd = os.open(os.path.join(owners, name), os.O_RDONLY)
    except OSError:
        return False  # gone: its process ended and a sweeper deleted it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock just taken
    return False


def _real(folder: Path | str) -> str:
    """One key for a run folder however its home is spelled (the parent's realpath, cached)."""
    parent, name = os.path.split(os.fspath(folder))
    real = _REAL.get(parent)
    if real is None:
        if len(_REAL) > 64:  # a process with many homes: keep the cache small
            _REAL.clear()
        real = _REAL[parent] = os.path.realpath(parent)
    return os.path.join(real, name)


def fresh_claim(staging: Path | str, lock_file: str) -> str:
    """Write this process's claim into a new run's folder while it is still hidden.

    No other process can know the run yet, so no lock is taken: the claim is
    written whole before the folder is renamed into place. Returns the token to
    give :func:`hold` once it is. Raises :class:`OSError` like :func:`claim`.
    """
    staging = os.fspath(staging)
    owners = _owners(staging)
    with _LOCK:
        mine = _process_lock(owners)
    token = secrets.token_hex(8)
    text = f"pid {os.getpid()} on {host()}\n{mine}\n{token}\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(os.path.join(staging, lock_file), flags, 0o644)
    try:
        os.write(fd, _padded(text))
    finally:
        os.close(fd)
    return token


def hold(folder: Path | str, token: str) -> None:
    """Record that this process holds the claim ``token`` written by :func:`fresh_claim`."""
    with _LOCK:
        _HELD[_real(folder)] = token


def claim(folder: Path | str, lock_file: str) -> None:
    """Make this process the one running the run in ``folder``, or raise :class:`ClaimRefused`.

    Raises :class:`OSError` when the files cannot be opened (the caller names them).
    """
    import fcntl

    owners = _owners(os.fspath(folder))
    real = _real(folder)
    with _LOCK:
        mine = _process_lock(owners)
        if real in _HELD:
            raise ClaimRefused(f"pid {os.getpid()} on {host()}")
        path = os.path.join(real, lock_file)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # brief: only while this claim is decided
            text = os.read(fd, 4096).decode("utf-8", "replace")
            lines = text.strip().splitlines()
            named = lines[1] if len(lines) > 2 else ""
            if named and named != mine and _alive(owners, named):
                raise ClaimRefused(lines[0][:200] or "another process")
            token = secrets.token_hex(8)
            text = f"pid {os.getpid()} on {host()}\n{mine}\n{token}\n"
            os.pwrite(fd, _padded(text), 0)
            _HELD[real] = token
        finally:
            os.close(fd)


def release(folder: Path | str, lock_file: str) -> None:
    """Give up this process's claim on the run in ``folder`` (nothing if it holds none)."""
    import fcntl

    real = _real(folder)
    with _LOCK:
        token = _HELD.pop(real, None)
        if token is None:
            return
        try:
            fd = os.open(os.path.join(real, lock_file), os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            return  # the folder was deleted: nothing left to release
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            lines = os.read(fd, 4096).decode("utf-8", "replace").strip().splitlines()
            if len(lines) > 2 and lines[2] == token:
                os.pwrite(fd, _padded(""), 0)
        finally:
            os.close(fd)


def _padded(text: str) -> bytes:
    """``text`` padded with blank lines to a fixed size.

    The claim is always rewritten in place at that size, never truncated: on ext4 a
    truncated-then-rewritten file is flushed to disk at close (~2 ms a claim).
    """
    data = text.encode("utf-8")[:CLAIM_SIZE]
    return data + b"\n" * (CLAIM_SIZE - len(data))


def holds(folder: Path | str) -> bool:
    """Whether this process holds the claim on the run in ``folder``."""
    return _real(folder) in _HELD
