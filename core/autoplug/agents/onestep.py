"""The one-step plan, checked by a direct path: the common plan of an ``act``.

An ``act`` that asks for one tool call gets a plan of one step whose arguments
are plain values. :func:`~autoplug.agents.plan_checks.structure_errors` and
:func:`~autoplug.agents.plan_checks.check_plan` walk every plan through every
check (its shape, ids, tools, arguments, producers, reads, cycles); a plan of one
step that lists no ``inputs`` and whose arguments are all scalar literals reads no
asset, so only its shape, its tool and its arguments' schema are left to check.
:func:`one_step_plan` checks exactly those and returns the analysis the general
checks make of it. Anything else, or any doubt (more steps, an ``$asset`` or
``$fill``, an ``inputs`` list, a nested or non-ASCII value, an unknown or unusable
tool, arguments the tool's compiled check does not accept), returns None and is
left to the general checks, which also write the errors: the verdicts are theirs.
"""

from __future__ import annotations

from typing import Any

from ..fastcheck import MAX_ARGUMENT_CHARS
from ..fastcheck import compile_fast as _compile_fast
from ..safejson import _MAX_INT_BITS, value_problem
from ..tools import Tool
from .plan_checks import PlanAnalysis, StepInfo

_new = object.__new__


def one_step_plan(arguments: Any, tools: Any, *, walked: bool = False) -> PlanAnalysis | None:
    """What the general checks make of ``submit_plan``'s ``arguments`` when they are an
    accepted one-step plan of plain values; None when not sure.

    None: ask :func:`~autoplug.agents.plan_checks.structure_errors` and
    :func:`~autoplug.agents.plan_checks.check_plan`. An analysis: they would find no
    error and make an equal one. ``walked`` as in ``structure_errors``: the
    arguments are a reply's call that ``usable_response`` walked already.
    """
    if type(arguments) is not dict or len(arguments) != 1:
        return None
    steps = arguments.get("steps")
    if type(steps) is not list or len(steps) != 1:
        return None
    step = steps[0]
    # Exactly the four required keys: an "inputs" list (or any other key) goes the long way.
    if type(step) is not dict or len(step) != 4:
        return None
    get = step.get
    ident, name, args, output = get("id"), get("tool"), get("args"), get("output")
    if type(ident) is not str or not ident or type(name) is not str:
        return None
    if type(args) is not dict or type(output) is not str or not output:
        return None
    for value in args.values():
        kind = type(value)
        # The scalar literals check_plan takes at once; anything else is classified there.
        if kind is str:
            if not value.isascii():
                return None
        elif kind is int:
            if value.bit_length() >= _MAX_INT_BITS:
                return None  # perhaps of 4,301 digits: check_plan tells exactly
        elif kind is not bool and value is not None:
            return None
    if not walked and value_problem(arguments) is not None:
        return None  # a lone surrogate in a key or name: structure_errors says so
    tool = tools.get(name)
    if tool is None or tool.unusable is not None or type(tool).violations is not Tool.violations:
        return None
    fast = tool._fast
    if fast is None:
        fast = tool._fast = _compile_fast(tool.parameters) or False
    if not fast or not fast(args, MAX_ARGUMENT_CHARS):
        return None  # the schema check may fail: check_plan writes its messages
    # check_plan's StepInfo of this step, every field as it sets it.
    info = _new(StepInfo)
    info.__dict__.update(
        id=ident,
        tool_name=name,
        tool=tool,
        model_name=tools.model_name(tool),
        args=dict(args),
        output=output,
        inputs=[],
        refs={},
        fills={},
        reads=[],
        deps={},
    )
    analysis = _new(PlanAnalysis)
    analysis.__dict__["steps"] = [info]
    return analysis
