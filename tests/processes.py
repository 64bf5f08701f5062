"""Reading a child process's output while it runs (the CLI tests' Ctrl-C cases)."""

from __future__ import annotations

import os
import select
import subprocess
import time


def stderr_until(proc: subprocess.Popen, text: str, timeout: float = 60) -> str:
    """What ``proc`` wrote on stderr up to and including ``text`` (read from the pipe itself,
    so that ``communicate`` later reads the rest and nothing is lost in a buffer).

    The process may have ended after writing ``text``: what it wrote is still read.
    """
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"not seen on stderr in {timeout} s: {text!r}; seen: {seen!r}"
        if select.select([proc.stderr], [], [], min(left, 0.5))[0]:
            chunk = os.read(proc.stderr.fileno(), 65536)
            assert chunk, f"stderr ended (status {proc.wait()}) before {text!r}: {seen!r}"
            seen += chunk
    return seen.decode()
