"""Planning: one request offering ``submit_plan``, checked, with bounded repairs.

The system prompt lists every tool (its name as offered to models, description
and parameters), the user prompt the subtask and the assets ``act`` passed (name and a bounded JSON preview). A reply
that is not exactly one ``submit_plan`` call, or a plan that fails
:func:`autoplug.agents.plan_checks.check_plan`, goes back to the model with the
errors verbatim, at most ``plan_repairs`` times.
"""

from __future__ import annotations

import json
from typing import Any

from ..llm import ChatRequest, FunctionSpec, Message
from .plan_checks import PLAN_SCHEMA, PlanAnalysis, check_plan, structure_errors
from .prompting import bounded_json, error_turn, role_block, single_call

SUBMIT_PLAN = FunctionSpec(
    name="submit_plan",
    description="Submit the whole plan for the subtask: the steps, each one tool call.",
    parameters=PLAN_SCHEMA,
)

PLANNER_SYSTEM = """\
You are the planner of an agent. Turn the subtask into a plan: the tool calls \
(steps) that together accomplish it. Call submit_plan exactly once with the whole plan.

Each step has:
- id: a short id, unique in the plan (s1, s2, ...)
- tool: the name of one of the tools listed
- args: the tool's arguments, an object; each argument's value is one of
  - a literal JSON value;
  - {"$asset": "NAME"}: the asset NAME (the output of another step, or an asset \
listed as available), or {"$asset": "NAME", "path": "/a/0"} for a part of a JSON \
asset (a JSON pointer, RFC 6901);
  - {"$fill": "what belongs here"}: a value that can only be written after reading \
other results; it is written when the step runs, from the assets the step reads \
(list them in inputs). This is also how a step writes text made from other \
results, such as a summary to save.
  $asset and $fill are recognised only as the whole value of a top-level argument.
- output: the asset name the step's result is stored as (unique in the plan)
- inputs (optional): asset names the step reads beyond those in args, for its $fill values

A step runs as soon as every asset it reads exists; independent steps run at the \
same time. Prefer literals and $asset references: they need no further model call."""

#: How many plan errors one rejection lists (the rest are counted).
MAX_LISTED_ERRORS = 50

#: How much of each passed asset the planner sees.
PLANNER_PREVIEW_CHARS = 500


def tool_catalog(tools: Any) -> str:
    """Every tool as the planner sees it, sorted by the name offered to models."""
    # An unusable tool (a schema that cannot validate) is never offered.
    entries = sorted((tools.model_name(t), t) for t in tools.all() if t.unusable is None)
    if not entries:
        return "(no tools are registered)"
    lines = []
    for name, tool in entries:
        description = " ".join(tool.description.split()) or "(no description)"
        side = " [side effects: needs approval]" if tool.side_effects else ""
        lines.append(f"- {name}: {description}{side}")
        lines.append(f"  parameters: {json.dumps(tool.parameters, sort_keys=True)}")
    return "\n".join(lines)


def asset_catalog(assets: Any, names: list[str]) -> str:
    """The assets ``act`` passed: name, type, size and a bounded JSON preview.

    The preview is ``json.dumps`` of the value (a text asset is a quoted string), so
    each asset stays on one line and the model sees exactly what ``$asset`` gives.
    """
    if not names:
        return "none"
    lines = []
    for name in names:
        asset = assets.get(name)
        preview = bounded_json(asset.value, PLANNER_PREVIEW_CHARS)
        lines.append(f"- {name} ({asset.type}, {asset.size} bytes): {preview}")
    return "\n".join(lines)


def planner_messages(ctx: Any, subtask: str, available: list[str]) -> list[Message]:
    """The first planning request's messages (no run ids, times or absolute paths).

    The tool catalog, the same for every plan of a kernel, is in the system message
    and the subtask and assets after it (DESIGN *Prompt layout*), so a provider's
    prompt cache holds the catalog from one plan to the next.
    """
    system = f"{PLANNER_SYSTEM}{role_block(ctx)}\n\nTools:\n{tool_catalog(ctx.kernel.tools)}"
    user = f"Subtask: {subtask}\n\nAssets available:\n{asset_catalog(ctx.assets, available)}"
    return [Message("system", system), Message("user", user)]


def rejection(errors: list[str]) -> str:
    """The message that sends plan errors back to the model."""
    shown = errors[:MAX_LISTED_ERRORS]
    listed = "\n".join(f"- {e}" for e in shown)
    if len(errors) > len(shown):
        listed += f"\n- …and {len(errors) - len(shown)} more"
    return (
        f"The plan was rejected:\n{listed}\nCall submit_plan again with the whole corrected plan."
    )


async def make_plan(
    ctx: Any, subtask: str, available: list[str]
) -> tuple[PlanAnalysis | None, list[str]]:
    """Ask for a plan until one passes the checks or repairs run out.

    Returns the accepted analysis and no errors, or None and the last errors.
    Lets :class:`GuardStop` and model errors through.
    """
    messages = planner_messages(ctx, subtask, available)
    attempts = 1 + int(ctx.limits.get("plan_repairs", 2))
    errors: list[str] = []
    for attempt in range(1, attempts + 1):
        request = ChatRequest(messages=tuple(messages), functions=(SUBMIT_PLAN,))
        response = await ctx.complete(request, purpose="plan")
        call, error = single_call(response, SUBMIT_PLAN.name)
        if call is None:
            errors = [str(error)]
        else:
            errors = structure_errors(call.arguments)
            if not errors:
                analysis, errors = check_plan(call.arguments["steps"], ctx.kernel.tools, available)
                if not errors:
                    return analysis, []
        ctx.emit("plan_rejected", subtask=subtask, errors=errors, attempt=attempt)
        messages += error_turn(response, rejection(errors))
    return None, errors
