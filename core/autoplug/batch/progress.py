"""A batch's progress on stderr and its summary at the end.

On a terminal one status line is redrawn in place (done / failed / running,
rate, ETA); elsewhere (a log file, CI) one line is printed per finished task,
so the log says what happened to each id.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

#: The usage keys summed over the batch (``usd`` is summed where priced).
USAGE_KEYS = (
    "llm_calls",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
)


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.0f} s"
    if value < 3600:
        return f"{value // 60:.0f} min {value % 60:.0f} s"
    return f"{value // 3600:.0f} h {value % 3600 // 60:.0f} min"


@dataclass
class BatchProgress:
    """Counts of a batch as it runs; prints progress to ``stream``.

    :param total: the tasks to run (those skipped as already succeeded excluded).
    :param stream: where progress goes (stderr).
    :param live: redraw one line in place (a terminal) instead of a line per task.
    """

    total: int
    stream: IO[str]
    live: bool = False
    skipped: int = 0
    bad_lines: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    running: int = 0
    usage: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS, 0))
    usd: float | None = None
    started: float = field(default_factory=time.monotonic)
    _drawn: bool = False

    @property
    def done(self) -> int:
        """Tasks ended, whatever their status."""
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        """Tasks ended with any status but ``succeeded``."""
        return self.done - self.statuses["succeeded"]

    def start(self, _task: Any = None) -> None:
        """A task started."""
        self.running += 1
        if self.live:
            self._draw()

    def end(self, line: dict[str, Any]) -> None:
        """A task ended with result ``line``: count it and show it."""
        self.running = max(0, self.running - 1)
        self.statuses[str(line.get("status"))] += 1
        usage = line.get("usage") or {}
        for key in USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.usage[key] += value
        usd = usage.get("usd")
        if isinstance(usd, (int, float)) and not isinstance(usd, bool):
            self.usd = (self.usd or 0.0) + usd
        reason = f": {_short(line['reason'])}" if line.get("reason") else ""
        run = f" (run {line['run_id']})" if line.get("run_id") else ""
        what = f"{line.get('id')} {line.get('status')}{run}{reason}"
        if not self.live:
            self.say(f"[{self.done}/{self.total}] {what}; {self.counts()}")
        elif line.get("status") != "succeeded":
            self.say(what)  # a failure stays on screen above the status line
        else:
            self._draw()

    def counts(self) -> str:
        """failed / running, rate and ETA."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        left = self.total - self.done
        eta = f", ETA {_seconds(left / rate)}" if rate > 0 and left > 0 else ""
        return f"{self.failed} failed, {self.running} running, {rate:.1f} tasks/s{eta}"

    def status(self) -> str:
        """done / failed / running, rate and ETA, on one line."""
        return f"batch: {self.done}/{self.total} done, {self.counts()}"

    def _draw(self) -> None:
        self.stream.write("\r\x1b[2K" + self.status())
        self.stream.flush()
        self._drawn = True

    def say(self, text: str) -> None:
        """One line of its own (under a live status line, the status is redrawn after it)."""
        if self._drawn:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        if self.live and self._drawn:
            self.stream.write(self.status())
        self.stream.flush()

    def finish_line(self) -> None:
        """End the live status line, so what follows starts on a fresh line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def summary(self) -> dict[str, Any]:
        """The ``--json`` summary: counts by status, skipped, bad lines, usage and cost, time."""
        return {
            "total": self.total,
            "done": self.done,
            "statuses": dict(sorted(self.statuses.items())),
            "skipped": self.skipped,
            "bad_lines": self.bad_lines,
            "usage": {**self.usage, "usd": None if self.usd is None else round(self.usd, 6)},
            "duration_s": round(time.monotonic() - self.started, 3),
        }

    def summary_text(self) -> str:
        """The summary as one line for people."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "nothing run"
        extra = f", {self.skipped} skipped (already succeeded)" if self.skipped else ""
        extra += f", {self.bad_lines} bad line(s)" if self.bad_lines else ""
        cost = f", ${self.usd:.4f}" if self.usd is not None else ""
        took = time.monotonic() - self.started
        return (
            f"batch: {counts}{extra} in {took:.1f} s; {self.usage['llm_calls']} model calls, "
            f"{self.usage['total_tokens']} tokens{cost}"
        )
