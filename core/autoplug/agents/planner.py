"""Planning: one request offering ``submit_plan``, checked, with bounded repairs.

The system prompt lists every tool (its name as offered to models, description
and parameters as a typed signature), the user prompt the subtask and the assets ``act`` passed (name and a bounded JSON preview). A reply
that is not exactly one ``submit_plan`` call, or a plan that fails
:func:`autoplug.agents.plan_checks.check_plan`, goes back to the model with the
errors verbatim, at most ``plan_repairs`` times.
"""

from __future__ import annotations

from typing import Any

from ..llm import ChatRequest, FunctionSpec, Message
from ..toolindex import ToolIndex
from ..tools import EDITION
from .context import RunContext
from .onestep import one_step_plan
from .plan_checks import PLAN_SCHEMA, PlanAnalysis, check_plan, structure_errors
from .prompting import (
    bounded_json,
    error_turn,
    json_preview,
    offered_schema,
    role_block,
    single_call,
)
from .signatures import signature

#: What the planner is offered: the plan's shape, without the descriptions
#: (PLANNER_SYSTEM explains each field once) or the keywords that only narrow a
#: value; a reply is still checked against the whole PLAN_SCHEMA (``structure_errors``).
SUBMIT_PLAN = FunctionSpec(
    name="submit_plan",
    description="Submit the whole plan.",
    parameters=offered_schema(PLAN_SCHEMA, descriptions=False),
)

PLANNER_SYSTEM = """\
Plan the subtask as tool calls: call submit_plan once with every step. A step: id \
(unique), tool, args, output (a new asset name for its result), inputs (optional: \
assets its $fill reads). Each argument is a JSON value, or {"$asset": "NAME"} (an \
available asset or a step's output; add "path": "/json/pointer" for a part), or \
{"$fill": "what goes here"}, written by a model from the step's inputs when it runs \
(a model call: prefer values and $asset); either only as a whole argument. Steps run \
once what they read exists, independent ones at once."""

#: The catalog's heading: how to read the typed signatures under each tool.
CATALOG_HEADING = (
    'Tools (arguments as NAME: TYPE — description; NAME? optional; [T] a list; "a"|"b" one of):'
)

#: How many plan errors one rejection lists (the rest are counted).
MAX_LISTED_ERRORS = 50

#: How much of each passed asset the planner sees.
PLANNER_PREVIEW_CHARS = 500


#: How many catalogs (and planner system prompts) are kept written: one per
#: distinct tool set and role in use; the oldest is dropped past this.
CATALOGS_KEPT = 64

# The written catalogs by their key (see ``_catalog_key``). Each value holds the
# tools and schemas the key names by id, so no id in a live key can be reused.
_catalogs: dict[tuple[Any, ...], tuple[Any, str]] = {}
# The planner system messages by (catalog text, role paragraph).
_systems: dict[tuple[str, str], Message] = {}
#: The functions every planning request offers: one tuple, so a model that measures
#: what it is offered (the scripted model's estimate) finds it again at once.
PLAN_FUNCTIONS: tuple[FunctionSpec, ...] = (SUBMIT_PLAN,)


def _catalog_key(tools: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """What a catalog is written from: each registered tool's identity and shown fields.

    The registry's tools can change at any time (a plugin registered later, an MCP
    server listing its tools again): a new or replaced tool is a new object, and a
    description, flag or schema set on a registered tool is a new value or object,
    so each changes the key. The names offered need not be in it: which tool a
    bare name reaches follows from the set of tools registered, which the
    identities fix. (A schema dict edited in place is not seen; the door's
    compiled check would not see it either.) Returns the key and the tools.
    """
    # all()'s tools without its sort: the same set, so the same catalog (written
    # sorted); another order of registration is only another key.
    registered = _registered(tools)
    key = tuple(
        [(id(t), id(t.parameters), t.description, t.side_effects, t.unusable) for t in registered]
    )
    return key, registered


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    # Kernels plan from several threads at once: another thread may take the oldest
    # entry first, or change the table between finding its first key and popping it.
    while len(cache) >= CATALOGS_KEPT:
        try:
            cache.pop(next(iter(cache)), None)  # the oldest
        except (RuntimeError, StopIteration):
            pass  # another thread changed the table first; look again
    cache[key] = value


def tool_catalog(tools: Any) -> str:
    """Every tool as the planner sees it, sorted by the name offered to models.

    Each tool is its name and description on one line, then its arguments as a
    typed signature (:func:`autoplug.agents.signatures.signature`): every
    argument, type, enum, nested shape, default, constraint and description of the
    schema, in about a third of the tokens of its JSON.

    Written once per set of offered tools and kept (see :func:`_catalog_key`):
    every plan of a kernel offers the same catalog, and writing the signatures
    was a third of an ``act``'s own cost. The catalog answered last is answered
    again at once while the tools' :data:`~autoplug.tools.EDITION` is the one it
    was answered in (no tool's field set, no registry changed since).
    """
    last = _last  # read once: another thread may set it meanwhile
    edition = EDITION[0]  # before the tools are read: a change meanwhile is a later one
    if last is not None and last[1] == edition and last[0] is tools:
        return last[2]
    key, registered = _catalog_key(tools)
    found = _catalogs.get(key)
    if found is not None:
        text = found[1]
    else:
        # An unusable tool (a schema that cannot validate) is never offered.
        offered = [t for t in registered if t.unusable is None]
        text = _write_catalog(sorted((tools.model_name(t), t) for t in offered))
        _remember(_catalogs, key, ([(t, t.parameters) for t in registered], text))
    _remember_last(tools, edition, text)
    return text


#: The registry, the tools' edition and the catalog of the last :func:`tool_catalog`
#: that looked its key up (one tuple: read and set at once).
_last: tuple[Any, int, str] | None = None


def _remember_last(tools: Any, edition: int, text: str) -> None:
    """Keep ``text`` as the catalog of ``tools`` in the tools' ``edition``.

    Only for a registry listed as :class:`~autoplug.toolindex.ToolIndex` lists (each
    of its changes makes a new edition); one with its own ``all()`` is asked each time.
    """
    global _last
    _last = (tools, edition, text) if getattr(type(tools), "all", None) is ToolIndex.all else None


def _registered(tools: Any) -> list[Any]:
    """The registry's tools, as :func:`_catalog_key` reads them."""
    if getattr(type(tools), "all", None) is ToolIndex.all:
        return list(tools._by_qualified.values())
    return list(tools.all())


def _write_catalog(entries: list[tuple[str, Any]]) -> str:
    if not entries:
        return "(no tools are registered)"
    lines = []
    for name, tool in entries:
        description = " ".join(tool.description.split()) or "(no description)"
        side = " [side effects: needs approval]" if tool.side_effects else ""
        lines.append(f"- {name}: {description}{side}")
        lines.append(signature(tool.parameters))
    return "\n".join(lines)


def asset_catalog(assets: Any, names: list[str]) -> str:
    """The assets ``act`` passed: name, type, size and a bounded JSON preview.

    The preview is ``json.dumps`` of the value (a text asset is a quoted string), so
    each asset stays on one line and the model sees exactly what ``$asset`` gives; a
    JSON value too long to show whole keeps its keys and cuts its long strings and
    lists (:func:`~autoplug.agents.prompting.json_preview`), so paths can be written.
    """
    if not names:
        return "none"
    lines = []
    for name in names:
        asset = assets.get(name)
        if asset.type == "json":
            # Its shape whole (long strings and lists cut): the planner writes paths into it.
            preview = json_preview(asset.value, PLANNER_PREVIEW_CHARS)
        else:
            preview = bounded_json(asset.value, PLANNER_PREVIEW_CHARS)
        lines.append(f"- {name} ({asset.type}, {asset.size} bytes): {preview}")
    return "\n".join(lines)


def planner_system(tools: Any, role: str = "") -> str:
    """The planner's system prompt: how to plan, a child run's ``role`` paragraph, then
    the tool catalog (stable, first).

    The catalog is a paragraph of its own, so a run's stored transcript keeps it once.
    """
    return _system_message(tools, role).content or ""


def _system_message(tools: Any, role: str) -> Message:
    """The planner's system message, one object for the same catalog and role: a model
    that measures or hashes its prompt (the scripted model's estimate) keeps what it
    found. A kept message whose ``extra`` was written into is made again."""
    catalog = tool_catalog(tools)
    found = _systems.get((catalog, role))
    # ``extra`` is the one mutable field: a model or reader that wrote into the message
    # it was sent must not reach the prompts of later plans, runs or other models.
    if found is None or found.extra:
        found = Message("system", f"{PLANNER_SYSTEM}{role}\n\n{CATALOG_HEADING}\n{catalog}")
        _remember(_systems, (catalog, role), found)
    return found


def planner_messages(ctx: Any, subtask: str, available: list[str]) -> list[Message]:
    """The first planning request's messages (no run ids, times or absolute paths).

    The tool catalog, the same for every plan of a kernel, is in the system message
    and the subtask and assets after it (DESIGN *Prompt layout*), so a provider's
    prompt cache holds the catalog from one plan to the next.
    """
    system = _system_message(ctx.kernel.tools, role_block(ctx))
    user = f"Subtask: {subtask}\n\nAssets available:\n{asset_catalog(ctx.assets, available)}"
    return [system, Message("user", user)]


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
    # RunContext.complete hands back usable_response's reply: its calls' arguments are
    # walked already, so the plan's structure check need not walk them again.
    walked = getattr(type(ctx), "complete", None) is RunContext.complete
    errors: list[str] = []
    for attempt in range(1, attempts + 1):
        request = ChatRequest(tuple(messages), PLAN_FUNCTIONS)
        response = await ctx.complete(request, purpose="plan")
        call, error = single_call(response, SUBMIT_PLAN.name)
        if call is None:
            errors = [str(error)]
        else:
            # The common plan of one step of plain values: checked by the direct path,
            # which answers only what the general checks would (else None: not sure).
            tools = ctx.kernel.tools
            analysis = one_step_plan(call.arguments, tools, walked=walked)
            if analysis is not None:
                return analysis, []
            errors = structure_errors(call.arguments, walked=walked)
            if not errors:
                analysis, errors = check_plan(call.arguments["steps"], tools, available)
                if not errors:
                    return analysis, []
        ctx.emit("plan_rejected", subtask=subtask, errors=errors, attempt=attempt)
        messages += error_turn(response, rejection(errors))
    return None, errors
