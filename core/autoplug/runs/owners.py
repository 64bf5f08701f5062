"""A run's owner: is the process that runs it still alive?

A killed process cannot write its own status, so a run records its owner's pid,
host and start time; a ``running`` run whose owner is gone was interrupted.

Liveness is asked with signal 0, which checks that a process exists and sends
it nothing. A pid may have been reused by a newer process, so the owner's start
time is compared too: from ``/proc`` on Linux, else (macOS, the BSDs, where
there is no ``/proc``) from ``ps -o stat=,lstart=``. Windows is not supported.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

PROC = Path("/proc")
"""Where Linux describes processes; when it is missing, ``ps`` is asked instead."""


def _proc_stat(pid: int) -> tuple[str, str | None] | None:
    """``(state, start)`` of ``pid`` from /proc, None when it cannot be read."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields:
        return None
    return fields[0], (fields[19] if len(fields) > 19 else None)


def _ps_stat(pid: int) -> tuple[str, str | None] | None:
    """``(state, start)`` of ``pid`` from ``ps`` (POSIX ``stat``, BSD ``lstart``), if it runs."""
    try:
        out = subprocess.run(
            ["ps", "-o", "stat=,lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={**os.environ, "LC_ALL": "C"},  # one spelling of the date, whatever the locale
        )
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.stdout.strip()
    if out.returncode != 0 or not line:
        return None
    state, _, start = line.partition(" ")
    return state, " ".join(start.split()) or None


def _stat(pid: int) -> tuple[str, str | None] | None:
    if PROC.is_dir():
        return _proc_stat(pid)
    return _ps_stat(pid)


def process_start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot from /proc, else ``ps``'s
    ``lstart``), if it can be read.

    Stored with the owner so that a recycled pid is not mistaken for the owner.
    This process's own is read once (every new run records it).
    """
    if _MINE[0] == (pid, PROC) and _MINE[1] is not None:
        return _MINE[1]
    found = _stat(pid)
    start = found[1] if found else None
    if pid == os.getpid():
        _MINE[:] = [(pid, PROC), start]  # by pid: a forked child reads its own
    return start


_MINE: list = [None, None]  # ((this process's pid, where it was read), its start time)


def owner_alive(pid: int | None, host: str | None, start: str | None) -> bool:
    """Whether the owner recorded in a run row still runs.

    An owner on another host cannot be checked and counts as alive.
    """
    if pid is None:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)  # signal 0: existence and permission only, nothing is delivered
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    except OSError:
        return False
    found = _stat(pid)
    if found is None:
        return True  # it exists (signal 0 said so) but cannot be described here
    state, current = found
    if state.startswith("Z"):
        return False  # a zombie has ended; its parent has not collected it yet
    if start is not None and current is not None and current != start:
        return False  # the pid was reused by another process
    return True
