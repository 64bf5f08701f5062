"""Typed events of a run: what happened, in order, for observers, streams and the trace.

Every event is an :class:`Event` with a ``type`` from :data:`EVENT_TYPES`, the
``run_id``, a sequence number, a UTC time, and type-specific ``data``. They reach
``on_event`` hook implementations, ``Kernel.stream`` and the run's JSONL trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: Every event type, with what its ``data`` holds.
EVENT_TYPES: dict[str, str] = {
    "run_started": "task, model, auto, workspace",
    "run_resumed": "decisions (turns already made), acts, assets (names reloaded)",
    "memory_recalled": "memories: [{id, text, kind, score}]",
    "llm_call": "purpose, model, input_tokens, output_tokens, calls (so far), duration_s",
    "turn_started": "turn, message (an Assistant turn begins)",
    "decision": "function (brainstorm|act|final), arguments, iteration",
    "decision_rejected": "iteration, error (a reply that was not exactly one valid call)",
    "plan": "subtask, steps: [{id, tool, args, output, inputs}], resumed (true only when reused on resume)",
    "plan_rejected": "subtask, errors: [str], attempt",
    "step_started": "step, tool, args",
    "fill": "step, tool, arguments (the filled open keys), attempt, errors",
    "approval_asked": "step, tool, args, approved",
    "step_finished": "step, tool, asset, duration_s, resumed (true only when reused on resume)",
    "step_failed": "step, tool, error, kind, resumed (true only when reused on resume)",
    "step_skipped": "step, tool, reason",
    "asset_stored": "name, step, tool, type, size, preview",
    "observation": "text (what the dynamic agent was told)",
    "answer": "answer",
    "turn_finished": "turn, status, reason, answer, usage (an Assistant turn ends)",
    "run_finished": "status, reason, answer, usage",
}

#: The agent that makes a model call of each ``purpose`` (the transcript's ``agent``).
AGENT_OF_PURPOSE: dict[str, str] = {"decide": "dynamic", "plan": "planner", "fill": "fill"}


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run."""

    type: str
    run_id: str | None
    seq: int
    time: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape written to the trace: ``{type, run_id, seq, time, data}``."""
        return {
            "type": self.type,
            "run_id": self.run_id,
            "seq": self.seq,
            "time": self.time,
            "data": self.data,
        }
