"""The static agent: plans a subtask in one model call, checks the plan, executes it.

``StaticAgent.run(subtask, asset_names, act_no)`` is what the dynamic agent's
``act`` does. It never raises for a plan or tool problem: those end up in the
report. :class:`GuardStop`, model errors and cancellation pass through.

Checkpoints make a resumed run cheap: an accepted plan saved for ``act_no`` is
reused with no model call, and a step saved as finished is not run again.
"""

from __future__ import annotations

from typing import Any

from .executor import Executor
from .plan_checks import PlanAnalysis, check_plan
from .planner import make_plan
from .report import build_report, render_report

__all__ = ["StaticAgent", "render_report"]


class StaticAgent:
    """Plans and executes the subtasks the dynamic agent hands over with ``act``."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    async def run(self, subtask: str, asset_names: list[str], act_no: int) -> dict[str, Any]:
        """Plan ``subtask`` with the assets ``asset_names`` passed, run the plan, report.

        ``act_no`` numbers the dynamic agent's ``act`` decisions from 1 (the
        checkpoint key). Returns the report dict (see :func:`build_report`).
        """
        ctx = self.ctx
        names = list(dict.fromkeys(asset_names)) if asset_names else []
        missing = [n for n in names if n not in ctx.assets] if names else names
        if missing:
            known = ", ".join(repr(n) for n in sorted(ctx.assets.names())) or "none"
            errors = [
                f"act passed asset {n!r}, which does not exist (existing assets: {known})"
                for n in missing
            ]
            ctx.emit("plan_rejected", subtask=subtask, errors=errors, attempt=0)
            return build_report(subtask, [], ctx.assets, errors)

        saved = ctx.checkpoint.saved_plan(act_no)
        analysis: PlanAnalysis | None
        if saved is not None:
            # A resumed run: the plan was accepted before; check it against today's
            # tools without asking the model again.
            analysis, errors = check_plan(list(saved.get("steps", [])), ctx.kernel.tools, names)
            resumed = True
        else:
            analysis, errors = await make_plan(ctx, subtask, names)
            resumed = False
        if analysis is None or errors:
            return build_report(subtask, [], ctx.assets, errors)
        steps = analysis.normalized()
        if not resumed:
            ctx.checkpoint.save_plan(act_no, {"steps": steps})
        if resumed:
            ctx.emit("plan", subtask=subtask, steps=steps, resumed=True)
        else:
            ctx.emit("plan", subtask=subtask, steps=steps)
        outcomes = await Executor(ctx, subtask, act_no, analysis).run()
        return build_report(subtask, outcomes, ctx.assets)
