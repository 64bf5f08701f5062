"""A run's owner: is the process that runs it still alive?

A killed process cannot write its own status, so a run records its owner's pid,
host and start time; a ``running`` run whose owner is gone was interrupted.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def process_start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, from /proc), if readable.

    Stored with the owner so that a recycled pid is not mistaken for the owner.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].startswith("Z")


def owner_alive(pid: int | None, host: str | None, start: str | None) -> bool:
    """Whether the owner recorded in a run row still runs.

    An owner on another host cannot be checked and counts as alive.
    """
    if pid is None:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    except OSError:
        return False
    if _zombie(pid):
        return False
    if start is not None:
        current = process_start_time(pid)
        if current is not None and current != start:
            return False  # the pid was reused by another process
    return True
