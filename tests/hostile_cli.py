"""Run the real ``autoplug`` CLI in a subprocess and check its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_autoplug(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``python -m autoplug.cli ARGS`` with the test's environment (and ``env`` over it)."""
    return subprocess.run(
        [sys.executable, "-m", "autoplug.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The whole stderr of a command that failed cleanly: exactly one ``error:`` line."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def last_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The last ``error:`` line of a command that failed cleanly (no traceback); notes may precede it."""
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert lines, proc.stderr
    return lines[-1]
