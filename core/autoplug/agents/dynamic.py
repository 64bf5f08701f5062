"""The dynamic agent: a ReAct loop that decides, one turn at a time, to think, act or answer.

Each turn the model is offered exactly three functions — ``brainstorm {thoughts}``,
``act {subtask, assets}`` and ``final {answer}`` — and must reply with exactly
one call. ``act`` hands the subtask to the static agent, whose report (JSON) is
the observation. A reply that is not exactly one valid call is answered with
the error and counts as a turn, so a confused model gets told what was wrong
instead of being re-sampled blindly.

Guards: the iteration cap (``[limits] iterations``), loop detection (the same
function with the same canonical arguments made ``loop_repeats`` times in one
run, in a row or not), and — through :meth:`RunContext.complete` — the LLM-call
cap and the token and USD budgets.

Every turn is saved (``RunStore.save_decision``) with the exact messages it
added, so :func:`history_from_records` rebuilds the same conversation on
resume and a replayed model still matches its recorded requests.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..errors import ModelError
from ..llm import ChatRequest, ChatResponse, FunctionCall, FunctionSpec, Message, canonical_json
from ..tools import _compile_fast as compile_fast
from .context import GuardStop, RunContext
from .prompting import QUOTE_CHARS, clip, offered_schema, role_block, violation_lines
from .report import render_report
from .turns import LoopTurns

BRAINSTORM_ACK = "Noted. Decide the next turn: brainstorm, act or final."

# Each turn offers these three, so every word here is paid on every turn: the
# descriptions are short and the system prompt says the rest once. A reply is
# checked against these schemas; the model is offered them without the keywords
# that only narrow a value (DECIDE_FUNCTIONS, see ``offered_schema``).
_CHECKED: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="brainstorm",
        description="Think; nothing runs.",
        parameters={
            "type": "object",
            "properties": {"thoughts": {"type": "string"}},
            "required": ["thoughts"],
            "additionalProperties": False,
        },
    ),
    FunctionSpec(
        name="act",
        description="Hand a subtask to the static agent.",
        parameters={
            "type": "object",
            "properties": {
                "subtask": {"type": "string", "minLength": 1},
                "assets": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["subtask", "assets"],
            "additionalProperties": False,
        },
    ),
    FunctionSpec(
        name="final",
        description="The answer; ends the run.",
        parameters={
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
            "additionalProperties": False,
        },
    ),
)

#: The three functions as offered each turn.
DECIDE_FUNCTIONS: tuple[FunctionSpec, ...] = tuple(
    FunctionSpec(f.name, f.description, offered_schema(f.parameters)) for f in _CHECKED
)

_FUNCTIONS = {f.name: f for f in _CHECKED}
_checks: dict[str, Any] = {}  # the decide functions' compiled checks, by name

SYSTEM_PROMPT = """\
Solve the task. Reply with exactly one function call each turn. act hands a \
self-contained subtask to the static agent: it plans and runs calls of these tools and \
reports each result as a named asset (with a preview) and each failure. You never call \
the tools yourself.

{tools}"""

#: How much of a tool's description the dynamic agent reads: enough to know what it
#: is for (the planner reads the whole description and the parameters).
TOOL_LINE_CHARS = 100


def tool_lines(kernel: Any) -> str:
    """The tools offered to the static agent, one line each: name and first sentence."""
    lines = []
    for found in kernel.tools.all():
        if found.unusable is not None:
            continue  # never offered: its schema cannot validate a call
        summary = " ".join((found.description or "").split())
        text = _first_sentence(summary)
        flag = " (needs approval)" if found.side_effects else ""
        lines.append(f"- {kernel.tools.model_name(found)}: {text}{flag}")
    return "\n".join(lines) or "- (none)"


def _first_sentence(text: str) -> str:
    """The description up to its first full stop, bounded by :data:`TOOL_LINE_CHARS`."""
    end = text.find(". ")
    if end != -1:
        text = text[: end + 1]
    if len(text) > TOOL_LINE_CHARS:
        text = text[: TOOL_LINE_CHARS - 1].rstrip() + "…"
    return text


def system_prompt(kernel: Any) -> str:
    """The dynamic agent's system prompt: how to decide, then the tools (stable content)."""
    return SYSTEM_PROMPT.format(tools=tool_lines(kernel))


def first_prompt(
    task: str,
    *,
    memories: str = "",
    asset_names: Iterable[str] = (),
    conversation: Iterable[dict[str, Any]] = (),
) -> str:
    """The first user message: the conversation so far, the task, memories, existing assets."""
    parts = []
    earlier = [m for m in conversation if m.get("content")]
    if earlier:
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in earlier]
        parts.append("Conversation so far:\n" + "\n".join(lines))
    parts.append(f"Task: {task}")
    if memories:
        parts.append(f"Relevant memories:\n{memories}")
    # Sorted, not in the order stored: concurrent steps store theirs in whatever order
    # they finish, and the prompt must come out the same when a recorded run replays.
    names = sorted(asset_names)
    parts.append("Existing assets: " + (", ".join(names) if names else "none"))
    return "\n\n".join(parts)


def initial_messages(
    ctx: RunContext,
    *,
    memories: str = "",
    conversation: Iterable[dict[str, Any]] = (),
) -> list[Message]:
    """The system prompt and the first prompt of a run of ``ctx.task``."""
    return [
        Message("system", system_prompt(ctx.kernel) + role_block(ctx)),
        Message(
            "user",
            first_prompt(
                ctx.task,
                memories=memories,
                asset_names=ctx.assets.names(),
                conversation=conversation,
            ),
        ),
    ]


def history_from_records(records: list[dict[str, Any]]) -> list[Message]:
    """The messages of a run rebuilt from its saved turns (resume).

    The first record holds the prompt; each record holds the messages its turn added.
    """
    from ..errors import RunError

    if not records:
        return []
    prompt = records[0].get("prompt")
    if not isinstance(prompt, list):
        raise RunError("the run's first saved turn holds no prompt; it cannot be resumed")
    messages = [Message.from_dict(m) for m in prompt]
    for record in records:
        messages += [Message.from_dict(m) for m in record.get("messages", [])]
    return messages


def _violations(
    spec: FunctionSpec, arguments: dict[str, Any], compiled: dict[str, Any]
) -> list[str]:
    """The ways ``arguments`` break ``spec``'s schema, checked by the checks in ``compiled``.

    ``compiled`` maps a function's name to its (validator, quick acceptor): the
    module's table for the three decide functions, an agent's own for the extra
    functions it was given (another agent may offer another schema under the
    same name, such as a ``delegate`` with other roles).
    """
    checks = compiled.get(spec.name)
    if checks is None:
        from jsonschema import Draft202012Validator

        checks = compiled[spec.name] = (
            Draft202012Validator(spec.parameters),
            compile_fast(spec.parameters) or False,
        )
    # Compiled once per function; the quick acceptor answers a well-formed call, and
    # jsonschema's errors are built only for a bad one.
    validator, fast = checks
    if fast and fast(arguments):
        return []
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    return violation_lines((e.json_path, e.message) for e in errors)


class DynamicAgent:
    """The ReAct loop of one run (or of one Assistant turn).

    :param ctx: the run's context (model, guards, assets, events, store).
    :param static: the static agent that carries out ``act``.
    :param memories: memories for the first prompt (``format_memories`` text).
    :param history: the messages so far (resume, or a prompt built by the caller);
        None builds the first prompt from ``ctx.task``.
    :param resumed: the saved turns already made by this loop (resume): they
        count against the iteration cap, the loop guard and act numbering.
    :param iteration_base: turns saved by earlier loops of the same run (an
        Assistant's earlier turns), so saved iteration numbers stay unique.
    :param act_base: acts made by earlier loops of the same run, so act numbers
        (the checkpoint keys) stay unique.
    :param conversation: earlier turns of an Assistant conversation for the first prompt.
    :param extra: more functions offered after ``act`` (a manager's ``delegate``):
        objects with ``spec`` (a :class:`FunctionSpec`), ``problem(arguments)``
        (the error for a call to reject before anything runs, or None) and async
        ``run(arguments)`` (the observation text).
    """

    def __init__(
        self,
        ctx: RunContext,
        static: Any,
        *,
        memories: str = "",
        history: list[Any] | None = None,
        resumed: list[dict[str, Any]] | None = None,
        iteration_base: int = 0,
        act_base: int = 0,
        conversation: list[dict[str, Any]] | None = None,
        extra: Iterable[Any] = (),
    ) -> None:
        self.ctx = ctx
        self.extra = {e.spec.name: e for e in extra}
        self._extra_checks: dict[str, Any] = {}  # this agent's own: see _violations
        self.static = static
        if history is not None:
            self.messages = [m if isinstance(m, Message) else Message.from_dict(m) for m in history]
        else:
            self.messages = initial_messages(
                ctx, memories=memories, conversation=conversation or ()
            )
        self.iteration_base = iteration_base
        self.act_base = act_base
        self.turns = 0
        self.acts = 0
        self.seen: Counter[tuple[str, str]] = Counter()
        self.rejected = 0  # rejected replies in a row
        self.repairs = 0  # answers sent back for breaking the output schema
        self.output = ctx.output_schema
        final = self.output.final if self.output is not None else DECIDE_FUNCTIONS[2]
        more = tuple(e.spec for e in self.extra.values())
        self.functions = (*DECIDE_FUNCTIONS[:2], *more, final)
        self._prompt_saved = bool(resumed)
        for record in resumed or []:
            self.turns += 1
            if record.get("repair"):
                self.repairs += 1
                self.rejected = 0  # a well-formed call, as when it was made
                continue
            self.rejected = self.rejected + 1 if record.get("error") else 0
            if record.get("act_no") is not None:
                self.acts += 1
            if record.get("function") and not record.get("error"):
                self.seen[(record["function"], canonical_json(record.get("arguments") or {}))] += 1

    async def run(self) -> tuple[str, str | None, str | None]:
        """Decide turns until ``final`` or a guard; returns ``(status, answer, reason)``.

        ``status`` is ``succeeded`` (answered), ``stopped`` (a guard; ``reason``
        names it) or ``failed`` (a model error; ``reason`` is the error).
        """
        cap = self.ctx.limits.get("iterations")
        self.ctx.output = None  # an Assistant's earlier message may have left one
        turns = LoopTurns()
        try:
            while True:
                if cap is not None and self.turns >= cap:
                    return (
                        "stopped",
                        None,
                        f"iterations limit reached: {self.turns} turns without a final answer "
                        f"(iterations = {cap})",
                    )
                self.turns += 1
                request = ChatRequest(messages=tuple(self.messages), functions=self.functions)
                response = await self.ctx.complete(request, purpose="decide")
                outcome = await self._turn(self.iteration_base + self.turns, response)
                if outcome is not None:
                    return outcome
                # Let stream consumers, the trace's waiting lines and other runs have
                # the loop now, even when the model answered without suspending
                # (scripted, replay) — when any of them needs it (see .turns).
                if turns.due():
                    await turns.let_run()
        except GuardStop as exc:
            return "stopped", None, str(exc)
        except ModelError as exc:
            return "failed", None, f"model error: {exc}"

    # -- one turn ----------------------------------------------------------------

    def _problem(self, calls: tuple[FunctionCall, ...], refused: bool = False) -> str | None:
        """Why a reply is not one valid decision, or None."""
        if not calls:
            what = "a refusal" if refused else "text"
            return (
                "error: reply with exactly one function call (brainstorm, act or final); "
                f"your reply was {what} with no call"
            )
        if len(calls) > 1:
            names = ", ".join(c.name for c in calls)
            return (
                f"error: exactly one function call per reply; this reply made {len(calls)} "
                f"calls ({names}) and none was run"
            )
        call = calls[0]
        if call.name not in _FUNCTIONS and call.name not in self.extra:
            offered = ", ".join(f.name for f in self.functions)
            return f"error: unknown function {call.name!r}; call one of {offered}"
        if call.error:
            return f"error: the arguments of {call.name!r} are not a JSON object: {call.error}"
        if call.name == "final" and self.output is not None:
            return None  # checked against the output schema: a repair, not a rejection
        if call.name in self.extra:
            spec, compiled = self.extra[call.name].spec, self._extra_checks
        else:
            spec, compiled = _FUNCTIONS[call.name], _checks
        problems = _violations(spec, call.arguments, compiled)
        if problems:
            return f"error: invalid arguments for {call.name!r}: " + "; ".join(problems)
        if call.name in self.extra:
            return self.extra[call.name].problem(call.arguments)
        if call.name == "act" and call.arguments["assets"]:
            unknown = [a for a in call.arguments["assets"] if a not in self.ctx.assets]
            if unknown:
                known = ", ".join(sorted(self.ctx.assets.names())) or "none"
                listed = ", ".join(repr(a) for a in unknown)
                return f"error: act names unknown assets {listed}; existing assets: {known}"
        return None

    async def _turn(
        self, iteration: int, response: ChatResponse
    ) -> tuple[str, str | None, str | None] | None:
        ctx = self.ctx
        calls = response.function_calls
        reply = response.message()
        # A refusal is a reply with no call: answered and counted as one.
        problem = self._problem(calls, refused=response.refusal is not None)
        if problem is not None:
            # Bounded: a reply can quote anything back (a 10 MB function name).
            problem = clip(problem, QUOTE_CHARS)
            if calls:
                answers = [Message("tool", problem, call_id=c.id, name=c.name) for c in calls]
            else:
                answers = [Message("user", problem)]
            ctx.emit("decision_rejected", iteration=iteration, error=problem)
            ctx.emit("observation", text=problem)
            name = calls[0].name if len(calls) == 1 else None
            args = calls[0].arguments if len(calls) == 1 else None
            self._save(iteration, name, args, problem, [reply, *answers], error=problem)
            return self._count_rejection()
        self.rejected = 0

        call = calls[0]
        name, args = call.name, call.arguments
        ctx.emit("decision", function=name, arguments=args, iteration=iteration)
        if name == "final" and self.output is not None:
            return self._structured(iteration, call, reply)
        if name == "final":
            ctx.emit("answer", answer=args["answer"])
            self._save(iteration, name, args, None, [reply])
            return "succeeded", args["answer"], None

        key = (name, canonical_json(args))
        seen = self.seen
        times = seen[key] = seen.get(key, 0) + 1  # a Counter's += calls __missing__ first
        repeats = ctx.limits.get("loop_repeats")
        if repeats and times >= repeats:
            reason = (
                f"loop detected: {name} {json.dumps(args, sort_keys=True, ensure_ascii=False)} "
                f"decided {times} times (loop_repeats = {repeats})"
            )
            self._save(iteration, name, args, reason, [reply])
            return "stopped", None, reason

        act_no = None
        if name == "brainstorm":
            observation = BRAINSTORM_ACK
        elif name in self.extra:
            observation = await self.extra[name].run(args)
        else:
            self.acts += 1
            act_no = self.act_base + self.acts
            report = await self.static.run(args["subtask"], list(args["assets"]), act_no)
            observation = render_report(report)
        ctx.emit("observation", text=observation)
        answer = Message("tool", observation, call_id=call.id, name=name)
        self._save(iteration, name, args, observation, [reply, answer], act_no=act_no)
        return None

    def _structured(
        self, iteration: int, call: FunctionCall, reply: Message
    ) -> tuple[str, str | None, str | None] | None:
        """A ``final`` under an output schema: the answer, or its violations sent back."""
        from ..output import answer_text

        problems = violation_lines(self.output.violations(call.arguments))
        if not problems:
            value = call.arguments["answer"]
            text = answer_text(value)
            self.ctx.output = value
            self.ctx.emit("answer", answer=text)
            self._save(iteration, "final", call.arguments, None, [reply])
            return "succeeded", text, None
        listed = clip("; ".join(problems), QUOTE_CHARS)
        limit = self.ctx.limits.get("output_repairs", 2)
        if self.repairs >= limit:
            reason = (
                f"output_repairs limit reached: the answer broke the output schema after "
                f"{self.repairs} repairs (output_repairs = {limit}): {listed}"
            )
            self._save(iteration, "final", call.arguments, reason, [reply], error=reason)
            return "failed", None, reason
        self.repairs += 1
        problem = (
            f"error: the answer does not match the output schema: {listed}. "
            "Call final again with an answer that matches it."
        )
        self.ctx.emit("decision_rejected", iteration=iteration, error=problem)
        self.ctx.emit("observation", text=problem)
        answer = Message("tool", problem, call_id=call.id, name="final")
        self._save(
            iteration, "final", call.arguments, problem, [reply, answer], error=problem, repair=True
        )
        return None

    def _count_rejection(self) -> tuple[str, str | None, str | None] | None:
        """Count one more rejected reply; stop the run when ``rejected_replies`` in a row."""
        self.rejected += 1
        limit = self.ctx.limits.get("rejected_replies")
        if self.rejected < limit:
            return None
        model_id = str(getattr(self.ctx.model, "model_id", "") or "")
        provider = model_id.partition(":")[0] if ":" in model_id else "NAME"
        return (
            "stopped",
            None,
            f"rejected_replies limit reached: {self.rejected} replies in a row had no valid "
            f"function call (rejected_replies = {limit}); if model {model_id or '?'} cannot call "
            f"functions natively, set function_calling = false under [providers.{provider}]",
        )

    def _save(
        self,
        iteration: int,
        function: str | None,
        arguments: dict[str, Any] | None,
        observation: str | None,
        added: list[Message],
        *,
        act_no: int | None = None,
        error: str | None = None,
        repair: bool = False,
    ) -> None:
        """Append the turn's messages to the history and save the turn in the run store."""
        store = self.ctx.store
        if store is None:
            # A run kept in memory: nothing reads the record back, so none is written.
            self.messages.extend(added)
            return
        record: dict[str, Any] = {
            "iteration": iteration,
            "function": function,
            "arguments": arguments,
            "observation": observation,
            "act_no": act_no,
            "error": error,
            "messages": [m.to_dict() for m in added],
        }
        if repair:
            record["repair"] = True  # counted against output_repairs again on resume
        if not self._prompt_saved:
            # The prompt holds recalled memories, which may differ later: keep it for resume.
            record["prompt"] = [m.to_dict() for m in self.messages]
            self._prompt_saved = True
        self.messages.extend(added)
        store.save_decision(record)
