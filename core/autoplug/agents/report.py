"""The static agent's report: the observation the dynamic agent gets back from ``act``."""

from __future__ import annotations

import json
from typing import Any

from .executor import StepOutcome


def build_report(
    subtask: str,
    outcomes: list[StepOutcome],
    assets: Any,
    plan_errors: list[str] | None = None,
) -> dict[str, Any]:
    """The report dict (DESIGN.md "Report").

    ``status`` is ``succeeded`` when every step succeeded, ``partial`` when some
    did, ``failed`` when none did or the plan never passed its checks. The assets
    listed are those this act's steps produced, each with a bounded preview.
    """
    succeeded = [o for o in outcomes if o.status == "succeeded"]
    if plan_errors or not succeeded:
        status = "failed"
    elif len(succeeded) == len(outcomes):
        status = "succeeded"
    else:
        status = "partial"
    listed = [assets.get(o.asset).to_dict() for o in succeeded if o.asset in assets]
    return {
        "subtask": subtask,
        "status": status,
        "assets": listed,
        "failed": [
            {"step": o.step, "tool": o.tool, "error": o.error}
            for o in outcomes
            if o.status == "failed"
        ],
        "skipped": [
            {"step": o.step, "tool": o.tool, "reason": o.error}
            for o in outcomes
            if o.status == "skipped"
        ],
        "plan_errors": list(plan_errors or []),
    }


def render_report(report: dict[str, Any]) -> str:
    """The report as the observation text: its JSON."""
    return json.dumps(report, ensure_ascii=False)
