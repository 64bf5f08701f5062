"""Filling: a step's open ``$fill`` arguments written by the model when the step runs.

One request offers one function, the step's tool with its full schema. The
prompt holds the subtask, the tool's description, each open argument with its
``$fill`` text, the arguments already resolved, and a bounded JSON preview of
every asset the step reads. Only the open keys are taken from the reply; the
merged arguments are validated and errors go back verbatim (each schema message
bounded, so a large value is never pasted whole), at most ``fill_retries``
times. A reply that leaves an open argument out is an error too: the plan
asked for that value.
"""

from __future__ import annotations

from typing import Any

from ..llm import ChatRequest, FunctionSpec, Message
from .plan_checks import StepInfo
from .prompting import bounded_json, error_turn, single_call, violation_lines

#: How much of each asset the step reads the filler sees.
FILL_ASSET_CHARS = 4000
#: How much of each already-resolved argument the filler sees.
FILL_ARG_CHARS = 1000


def fill_messages(
    subtask: str, info: StepInfo, resolved: dict[str, Any], assets: Any
) -> list[Message]:
    """The first fill request's messages."""
    name = info.model_name
    system = (
        f"Write the open arguments of one step of a plan: call {name} once; only the open "
        "arguments are taken from the call, the others are set."
    )
    description = " ".join(info.tool.description.split()) or "(no description)"
    open_lines = "\n".join(f"- {key}: {text}" for key, text in info.fills.items())
    set_lines = (
        "\n".join(f"- {k}: {bounded_json(v, FILL_ARG_CHARS)}" for k, v in resolved.items())
        or "none"
    )
    asset_lines = []
    for asset_name in info.reads:
        asset = assets.get(asset_name)
        preview = bounded_json(asset.value, FILL_ASSET_CHARS)
        asset_lines.append(f"- {asset_name} ({asset.type}, {asset.size} bytes): {preview}")
    user = (
        f"Subtask: {subtask}\n\n"
        f"Step {info.id!r} calls {name}: {description}\n\n"
        f"Open arguments (write these):\n{open_lines}\n\n"
        f"Arguments already set:\n{set_lines}\n\n"
        f"Assets the step reads:\n{chr(10).join(asset_lines) or 'none'}"
    )
    return [Message("system", system), Message("user", user)]


def unwritten_error(name: str, keys: list[str]) -> str:
    """The error for a fill reply that left open arguments out."""
    listed = ", ".join(repr(k) for k in keys)
    noun = "argument" if len(keys) == 1 else "arguments"
    return f"your {name} call did not write the open {noun} {listed}; write every open argument"


async def fill_arguments(
    ctx: Any, subtask: str, info: StepInfo, resolved: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    """The step's complete arguments, or None and the error once retries run out."""
    tool = info.tool
    name = info.model_name
    spec = FunctionSpec(name=name, description=tool.description, parameters=tool.parameters)
    messages = fill_messages(subtask, info, resolved, ctx.assets)
    attempts = 1 + int(ctx.limits.get("fill_retries", 2))
    error: str | None = None
    for attempt in range(1, attempts + 1):
        request = ChatRequest(messages=tuple(messages), functions=(spec,))
        response = await ctx.complete(request, purpose="fill")
        call, error = single_call(response, name)
        filled: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        if call is not None:
            filled = {k: call.arguments[k] for k in info.fills if k in call.arguments}
            merged = {**resolved, **filled}
            unwritten = [k for k in info.fills if k not in filled]
            if unwritten:
                # The plan asked for these values: a default taken silently is not what it meant.
                error = unwritten_error(name, unwritten)
            elif problems := tool.violations(merged):
                error = f"invalid arguments for {name}: " + "; ".join(violation_lines(problems))
        ctx.emit(
            "fill",
            step=info.id,
            tool=name,
            arguments=filled,
            attempt=attempt,
            errors=[error] if error else [],
        )
        if error is None:
            return merged, None
        messages += error_turn(response, f"{error}\nCall {name} again.")
    return None, (
        f"could not fill the arguments of step {info.id!r} after {attempts} attempts: {error}"
    )
