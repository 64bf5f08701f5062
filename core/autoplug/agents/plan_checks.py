"""The checks a plan passes before anything runs, and what they learn about it.

:func:`check_plan` takes the ``steps`` of a ``submit_plan`` call and returns a
:class:`PlanAnalysis` (each step's tool, the assets it reads, its open
arguments, the steps it waits for) with a list of errors, each a clear message
that goes back to the model verbatim: unknown tool (with close names), an asset
that nothing produces, two steps with one output, duplicate step ids, a cycle,
and literal arguments that break the tool's schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fastcheck import MAX_ARGUMENT_CHARS
from ..fastcheck import compile_fast as _compile_fast
from ..safejson import _MAX_INT_BITS, value_problem
from ..tools import Tool
from .prompting import QUOTE_CHARS, VIOLATION_CHARS, clip

#: The JSON Schema of ``submit_plan``'s arguments.
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "minItems": 1,
            "description": "The whole plan, every step needed for the subtask.",
            "items": {
                "type": "object",
                "properties": {
                    "id": {
                        "type": "string",
                        "minLength": 1,
                        "description": "A short id, unique in the plan (s1, s2, ...).",
                    },
                    "tool": {"type": "string", "description": "The tool this step calls."},
                    "args": {
                        "type": "object",
                        "description": (
                            "The tool's arguments. Each value is a literal, "
                            '{"$asset": "name", "path": "/json/pointer"} (path optional) '
                            'or {"$fill": "what belongs here"}.'
                        ),
                    },
                    "output": {
                        "type": "string",
                        "minLength": 1,
                        "description": "The asset name the step's result is stored as.",
                    },
                    "inputs": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "description": "Assets the step reads beyond those in args (for $fill).",
                    },
                },
                "required": ["id", "tool", "args", "output"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["steps"],
    "additionalProperties": False,
}


@dataclass
class StepInfo:
    """What the checks learned about one step."""

    id: str
    tool_name: str
    tool: Any = None
    model_name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    inputs: list[str] = field(default_factory=list)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # arg -> (asset, pointer)
    fills: dict[str, str] = field(default_factory=dict)  # arg -> what belongs there
    reads: list[str] = field(default_factory=list)  # every asset read, in order, no repeats
    deps: dict[str, str] = field(default_factory=dict)  # asset -> producing step id


def _step_info(
    ident: str, tool_name: str, args: dict[str, Any], output: str, inputs: list[str]
) -> StepInfo:
    """``StepInfo(id=ident, tool_name=..., args=..., output=..., inputs=...)`` with every
    other field at its default, without the dataclass ``__init__``'s six default
    factories (one per step of every plan checked); an equal StepInfo."""
    made = object.__new__(StepInfo)
    made.__dict__.update(
        id=ident,
        tool_name=tool_name,
        tool=None,
        model_name="",
        args=args,
        output=output,
        inputs=list(dict.fromkeys(inputs)) if inputs else [],
        refs={},
        fills={},
        reads=[],
        deps={},
    )
    return made


@dataclass
class PlanAnalysis:
    """The checked plan: its steps in plan order (an empty list when it is unusable)."""

    steps: list[StepInfo] = field(default_factory=list)

    def normalized(self) -> list[dict[str, Any]]:
        """The steps as saved and shown in events: ``{id, tool, args, output, inputs}``."""
        steps = []
        for s in self.steps:  # a loop: a comprehension is one more call on 3.11
            steps.append(
                {
                    "id": s.id,
                    "tool": s.tool_name,
                    "args": s.args,
                    "output": s.output,
                    "inputs": s.inputs,
                }
            )
        return steps


def classify_arg(value: Any) -> tuple[str, Any]:
    """What one top-level argument value is.

    Returns ``("asset", (name, pointer))``, ``("fill", text)``, ``("literal",
    value)``, or ``("bad", message)`` for a ``$asset`` / ``$fill`` object of the
    wrong shape.
    """
    if not isinstance(value, dict):
        return "literal", value
    if "$asset" in value:
        extra = set(value) - {"$asset", "path"}
        name, pointer = value.get("$asset"), value.get("path", "")
        if extra or not isinstance(name, str) or not name or not isinstance(pointer, str):
            return "bad", (
                '{"$asset": ...} takes a non-empty asset name and an optional string "path" '
                "(a JSON pointer), nothing else"
            )
        if pointer and not pointer.startswith("/"):
            return "bad", f'"path" {pointer!r} is not a JSON pointer: it must start with "/"'
        return "asset", (name, pointer)
    if "$fill" in value:
        text = value.get("$fill")
        if set(value) != {"$fill"} or not isinstance(text, str) or not text.strip():
            return "bad", '{"$fill": ...} takes one non-empty string saying what belongs here'
        return "fill", text
    return "literal", value


_plan_validator: Any = None
_STEP_KEYS = frozenset({"id", "tool", "args", "output", "inputs"})


def _plan_fits(arguments: Any) -> bool:
    """True only when ``arguments`` match :data:`PLAN_SCHEMA` (what jsonschema would accept).

    The common, well-formed plan is accepted in one loop; anything else (False:
    "not sure") goes to jsonschema, which also writes the messages.
    """
    if type(arguments) is not dict or len(arguments) != 1:
        return False
    steps = arguments.get("steps")
    if type(steps) is not list or not steps:
        return False
    for step in steps:
        if type(step) is not dict or not step.keys() <= _STEP_KEYS:
            return False
        get = step.get
        ident, name, args, output = get("id"), get("tool"), get("args"), get("output")
        if type(ident) is not str or not ident or type(name) is not str:
            return False
        if type(args) is not dict or type(output) is not str or not output:
            return False
        if "inputs" in step:
            inputs = step["inputs"]
            if type(inputs) is not list:
                return False
            for item in inputs:
                if type(item) is not str or not item:
                    return False
    return True


def structure_errors(arguments: Any, *, walked: bool = False) -> list[str]:
    """Where ``submit_plan``'s arguments break :data:`PLAN_SCHEMA`; empty when they fit.

    ``walked``: the arguments are a reply's call that
    :func:`autoplug.agents.context.usable_response` already walked and found usable
    (what :meth:`RunContext.complete` returns), so :func:`value_problem` is not
    asked again; any other caller leaves it False.
    """
    problem = None if walked else value_problem(arguments)
    if problem is not None:
        # Before the schema: its messages quote the value, and repr recurses.
        return [f"submit_plan arguments: {problem}"]
    if _plan_fits(arguments):
        return []
    global _plan_validator
    if _plan_validator is None:
        from jsonschema import Draft202012Validator

        _plan_validator = Draft202012Validator(PLAN_SCHEMA)  # compiled once, not per plan
    found = sorted(_plan_validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    return [
        f"submit_plan arguments {e.json_path}: {clip(e.message, VIOLATION_CHARS)}" for e in found
    ]


def _close_model_names(tools: Any, name: str) -> list[str]:
    """Close names as offered to models (``plugin__tool``, not ``plugin.tool``)."""
    out: list[str] = []
    for close in tools.close_names(name):
        found = tools.get(close)
        shown = tools.model_name(found) if found is not None else close
        if shown not in out:
            out.append(shown)
    return out


def _schema_errors(info: StepInfo, literal: dict[str, Any], open_keys: set[str]) -> list[str]:
    """Schema violations of the literal arguments; open keys count as present."""
    tool = info.tool
    if not open_keys and type(tool).violations is Tool.violations:
        # The common step, every argument a literal: the tool's compiled check first
        # (what open_violations would try first, without its set of open names).
        fast = tool._fast
        if fast is None:
            fast = tool._fast = _compile_fast(tool.parameters) or False
        if fast and fast(literal, MAX_ARGUMENT_CHARS):
            return []
    where = f"step {info.id!r} (tool {info.model_name!r})"
    errors: list[str] = []
    schema = tool.parameters if isinstance(tool.parameters, dict) else {}
    known = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        for key in sorted(open_keys - set(known)):
            params = ", ".join(known) or "none"
            errors.append(
                f"{where}: argument {key!r} is not a parameter of the tool (parameters: {params})"
            )
    excused = {("$", f"{key!r} is a required property") for key in open_keys}
    for path, message in tool.open_violations(literal, open_keys):
        if (path, message) not in excused:
            # Bounded: a schema message quotes the offending value, which may be huge.
            errors.append(f"{where}: argument {path}: {clip(message, VIOLATION_CHARS)}")
    return errors


def _find_cycles(steps: list[StepInfo]) -> list[list[str]]:
    """Each cycle of the step graph once, as the ids along it (first id repeated at the end).

    Iterative depth-first search: a valid chain of thousands of steps listed
    consumer-first is as deep as it is long, too deep for recursion.
    """
    by_id = {s.id: s for s in steps}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for step in steps:
        if step.id in state:
            continue
        path: list[str] = [step.id]
        on_path: dict[str, int] = {step.id: 0}
        state[step.id] = 1
        pending = [iter(sorted(set(by_id[step.id].deps.values())))]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                pending.pop()
                done = path.pop()
                del on_path[done]
                state[done] = 2
                continue
            if state.get(dep) == 1:
                loop = path[on_path[dep] :]
                key = frozenset(loop)
                if key not in seen:
                    seen.add(key)
                    # Written in the order things happen: a step before the one needing it.
                    cycles.append(list(reversed(loop)) + [loop[-1]])
            elif dep not in state:
                state[dep] = 1
                on_path[dep] = len(path)
                path.append(dep)
                pending.append(iter(sorted(set(by_id[dep].deps.values()))))
    return cycles


def check_plan(
    steps: list[dict[str, Any]], tools: Any, available: list[str]
) -> tuple[PlanAnalysis, list[str]]:
    """Check structurally valid ``steps`` against the tools and the assets passed with ``act``.

    ``available`` are the asset names ``act`` passed (existing in the run).
    Returns the analysis and the errors (empty when the plan may run).
    """
    errors: list[str] = []
    infos: list[StepInfo] = []
    first_index: dict[str, int] = {}
    scope = getattr(tools, "role_scope", None)  # a manager's child: only its role's tools
    offered: dict[str, str] = {}  # tool name -> its name as offered to models, once per plan
    for index, raw in enumerate(steps, 1):
        inputs = raw.get("inputs")
        info = _step_info(raw["id"], raw["tool"], dict(raw["args"]), raw["output"], inputs or [])
        infos.append(info)
        if info.id in first_index:
            errors.append(
                f"duplicate step id {info.id!r} (steps {first_index[info.id]} and {index}); "
                "each step needs its own id"
            )
        else:
            first_index[info.id] = index
        tool = tools.get(info.tool_name)
        if tool is None and scope is not None and scope.everything.get(info.tool_name) is not None:
            errors.append(f"step {info.id!r}: {scope.refusal(info.tool_name)}")
        elif tool is None:
            close = _close_model_names(tools, info.tool_name)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            errors.append(f"step {info.id!r}: unknown tool {info.tool_name!r}{hint}")
        elif tool.unusable is not None:
            errors.append(f"step {info.id!r}: tool {info.tool_name!r} is unusable: {tool.unusable}")
        else:
            info.tool = tool
            shown = offered.get(info.tool_name)
            if shown is None:
                shown = offered[info.tool_name] = tools.model_name(tool)
            info.model_name = shown
        literal: dict[str, Any] = {}
        malformed: set[str] = set()
        for key, value in info.args.items():
            kind = type(value)
            # A scalar literal, the common argument, is checked here; the rest as before.
            if kind is int or kind is bool or value is None or (kind is str and value.isascii()):
                # An int of _MAX_INT_BITS bits may have 4,301 digits: classify_arg tells.
                if kind is not int or value.bit_length() < _MAX_INT_BITS:
                    literal[key] = value
                    continue
            kind, detail = classify_arg(value)
            if kind == "asset":
                info.refs[key] = detail
            elif kind == "fill":
                info.fills[key] = detail
            elif kind == "bad":
                errors.append(f"step {info.id!r}: argument {key!r}: {detail}")
                malformed.add(key)  # reported once, not again as a missing argument
            else:
                problem = value_problem(value)
                if problem is not None:
                    # Checked before the schema: validation and the plan's own storage recurse.
                    errors.append(f"step {info.id!r}: argument {key!r}: the value is {problem}")
                    malformed.add(key)
                    continue
                literal[key] = value
        if info.refs or info.inputs:
            info.reads = list(dict.fromkeys([n for n, _ in info.refs.values()] + info.inputs))
        if info.tool is not None:
            errors += _schema_errors(info, literal, set(info.refs) | set(info.fills) | malformed)

    producers: dict[str, str] = {}
    for info in infos:
        other = producers.get(info.output)
        if other is not None and other != info.id:
            errors.append(
                f"steps {other!r} and {info.id!r} both output asset {info.output!r}; "
                "each step needs its own output name"
            )
        producers.setdefault(info.output, info.id)

    passed = set(available)
    for info in infos:
        for name in info.reads:
            producer = producers.get(name)
            if producer is not None and producer != info.id:
                info.deps[name] = producer
            elif name in passed:
                continue  # read the asset act passed (also when the step replaces it)
            elif producer == info.id:
                errors.append(
                    f"step {info.id!r} reads asset {name!r}, which only it produces (its own output)"
                )
            else:
                shown = ", ".join(repr(n) for n in available) or "none"
                errors.append(
                    f"step {info.id!r} reads asset {name!r}, which no step produces and act "
                    f"did not pass (passed assets: {shown})"
                )

    # The graph is only well defined with unique ids; with no step waiting, no cycle.
    if len(first_index) == len(infos) and any(info.deps for info in infos):
        for cycle in _find_cycles(infos):
            errors.append(
                "steps form a cycle: "
                + " -> ".join(repr(s) for s in cycle)
                + " (each needs an asset the one before it produces)"
            )
    # Bounded: an error can quote what the model wrote (a 10 MB tool name).
    return PlanAnalysis(infos), [clip(e, QUOTE_CHARS) for e in errors]
